// Weft plugin SDK for C++: header-only, on top of the C SDK (weft.h, weft.c).
//
//   #include <weft.hpp>
//   weft::Status configure(weft::Json config) { ... return weft::ok(); }
//   weft::Status process(const weft::Batch& batch) {
//     for (const weft::Item& item : batch.items()) { ... }
//     return weft::ok();
//   }
//   WEFT_CPP_PLUGIN(configure)
//   WEFT_CPP_PROCESS_TRACES(process)   // one line per signal the plugin handles
//
// Everything reads the batch in place (std::string_view into the plugin's memory): no
// decoding, no allocation. C++17, no exceptions, no RTTI. See sdk/cpp/README.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weft.h"

namespace weft {

// ---- status ------------------------------------------------------------------------------

// The result of configure and process: ok, or an error with a message for weft's log.
class Status {
 public:
  static Status ok() { return Status(nullptr); }
  static Status error(const char* message) { return Status(message); }
  [[nodiscard]] bool is_ok() const { return message_ == nullptr; }
  [[nodiscard]] const char* message() const { return message_; }
  // The ABI code: 0, or 1 after handing the message to weft.
  [[nodiscard]] int32_t report() const {
    if (is_ok()) return WEFT_OK;
    weft_set_error(message_);
    return WEFT_ERROR;
  }

 private:
  explicit Status(const char* message) : message_(message) {}
  const char* message_;
};
inline Status ok() {
  return Status::ok();
}
inline Status error(const char* message) {
  return Status::error(message);
}

// ---- bytes and values --------------------------------------------------------------------

inline std::string_view view(weft_bytes b) {
  return {reinterpret_cast<const char*>(b.data), b.len};
}
inline weft_bytes bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// An AnyValue of an attribute (or a log body).
class Value {
 public:
  Value() { std::memset(&v_, 0, sizeof v_); }
  explicit Value(const weft_value& v) : v_(v) {}
  [[nodiscard]] weft_value_type type() const { return v_.type; }
  [[nodiscard]] bool is_string() const { return v_.type == WEFT_VALUE_STRING; }
  [[nodiscard]] bool is_int() const { return v_.type == WEFT_VALUE_INT; }
  [[nodiscard]] bool is_double() const { return v_.type == WEFT_VALUE_DOUBLE; }
  [[nodiscard]] bool is_bool() const { return v_.type == WEFT_VALUE_BOOL; }
  [[nodiscard]] std::string_view str() const { return is_string() ? view(v_.str) : ""; }
  [[nodiscard]] int64_t as_int() const { return v_.i; }
  [[nodiscard]] double as_double() const { return v_.d; }
  [[nodiscard]] bool as_bool() const { return v_.b != 0; }
  // An int or double as a double; false for anything else.
  bool number(double* out) const {
    if (is_int()) *out = static_cast<double>(v_.i);
    if (is_double()) *out = v_.d;
    return is_int() || is_double();
  }

 private:
  weft_value v_;
};

struct Attribute {
  std::string_view key;
  Value value;
};

// The attributes (KeyValue, field `field`) of a message, iterated in wire order.
class Attributes {
 public:
  Attributes(weft_bytes message, uint32_t field) : message_(message), field_(field) {}

  class iterator {
   public:
    iterator(weft_bytes message, uint32_t field, bool end)
        : message_(message), field_(field), done_(end) {
      if (!end) ++*this;
    }
    const Attribute& operator*() const { return current_; }
    const Attribute* operator->() const { return &current_; }
    iterator& operator++() {
      weft_bytes key;
      weft_value value;
      done_ = weft_attr_next(message_, field_, &pos_, &key, &value) == 0;
      if (!done_) current_ = {view(key), Value(value)};
      return *this;
    }
    bool operator!=(const iterator& other) const { return done_ != other.done_; }

   private:
    weft_bytes message_;
    uint32_t field_;
    size_t pos_ = 0;
    bool done_;
    Attribute current_;
  };
  [[nodiscard]] iterator begin() const { return {message_, field_, false}; }
  [[nodiscard]] iterator end() const { return {message_, field_, true}; }

  // The first attribute with this key (NUL-terminated); only its value is decoded.
  bool find(const char* key, Value* out) const {
    weft_value v;
    if (weft_attr_find(message_, field_, key, &v) == 0) return false;
    *out = Value(v);
    return true;
  }

 private:
  weft_bytes message_;
  uint32_t field_;
};

// ---- items -------------------------------------------------------------------------------

// A span, log record or data point, with its resource, scope and (metrics) metric.
class Item {
 public:
  Item(const weft_item& item, weft_signal signal) : item_(item), signal_(signal) {}
  [[nodiscard]] size_t index() const { return item_.index; }
  [[nodiscard]] size_t resource_index() const { return item_.resource_index; }
  [[nodiscard]] weft_bytes raw() const { return item_.item; }
  [[nodiscard]] weft_bytes resource() const { return item_.resource; }
  [[nodiscard]] weft_bytes scope() const { return item_.scope; }
  [[nodiscard]] Attributes attributes() const { return {item_.item, item_.attributes_field}; }
  [[nodiscard]] Attributes resource_attributes() const {
    return {item_.resource, WEFT_RESOURCE_ATTRIBUTES};
  }
  // Span name (traces) or metric name (metrics); empty for log records.
  [[nodiscard]] std::string_view name() const {
    if (signal_ == WEFT_TRACES) return view(weft_pb_bytes(item_.item, WEFT_SPAN_NAME));
    if (signal_ == WEFT_METRICS) return view(weft_pb_bytes(item_.metric, WEFT_METRIC_NAME));
    return {};
  }
  // Log records: severity number (0 if unset) and body.
  [[nodiscard]] uint64_t severity() const {
    return signal_ == WEFT_LOGS ? weft_pb_u64(item_.item, WEFT_LOG_SEVERITY_NUMBER) : 0;
  }
  [[nodiscard]] Value body() const {
    if (signal_ != WEFT_LOGS) return {};
    return Value(weft_value_read(weft_pb_bytes(item_.item, WEFT_LOG_BODY)));
  }

 private:
  weft_item item_;
  weft_signal signal_;
};

class Items {
 public:
  explicit Items(const weft_batch* batch) : batch_(batch) {}
  class iterator {
   public:
    iterator(const weft_batch* batch, bool end) : signal_(batch->signal), done_(end) {
      weft_items_init(&it_, batch);
      if (!end) ++*this;
    }
    Item operator*() const { return {it_.current, signal_}; }
    iterator& operator++() {
      done_ = weft_items_next(&it_) == 0;
      return *this;
    }
    bool operator!=(const iterator& other) const { return done_ != other.done_; }

   private:
    weft_items it_;
    weft_signal signal_;
    bool done_;
  };
  [[nodiscard]] iterator begin() const { return {batch_, false}; }
  [[nodiscard]] iterator end() const { return {batch_, true}; }

 private:
  const weft_batch* batch_;
};

// One batch: an Export*ServiceRequest in the plugin's memory.
class Batch {
 public:
  explicit Batch(const weft_batch* batch) : batch_(batch) {}
  [[nodiscard]] weft_signal signal() const { return batch_->signal; }
  [[nodiscard]] size_t size() const { return batch_->item_count; }
  [[nodiscard]] Items items() const { return Items(batch_); }
  [[nodiscard]] weft_bytes request() const { return batch_->request; }

 private:
  const weft_batch* batch_;
};

// ---- results (drop or replace alone; keep and edits may go together) ----------------------------

inline Status drop_all() {
  return weft_drop_all() == 0 ? ok() : error("weft refused drop_all");
}

// Replaces the batch with these request bytes (same signal; weft checks them).
inline Status replace(std::string_view request) {
  return weft_replace(reinterpret_cast<const uint8_t*>(request.data()), request.size()) == 0
             ? ok()
             : error("weft refused the replacement");
}

// A keep-mask: every item kept until dropped. Owns its buffer.
class KeepMask {
 public:
  explicit KeepMask(size_t items)
      : mask_(static_cast<uint8_t*>(std::malloc(items ? items : 1))), size_(items) {
    if (mask_ != nullptr) std::memset(mask_, 1, size_);
  }
  ~KeepMask() { std::free(mask_); }
  KeepMask(const KeepMask&) = delete;
  KeepMask& operator=(const KeepMask&) = delete;
  [[nodiscard]] bool valid() const { return mask_ != nullptr; }
  void drop(size_t index) {
    if (mask_[index] != 0) ++dropped_;
    mask_[index] = 0;
  }
  [[nodiscard]] size_t dropped() const { return dropped_; }
  // Hands the mask to weft: nothing when nothing was dropped, drop_all when all were.
  Status submit() const {
    if (mask_ == nullptr) return error("out of memory for the keep-mask");
    if (dropped_ == 0) return ok();
    if (dropped_ == size_) return drop_all();
    return weft_keep(mask_, size_) == 0 ? ok() : error("weft refused the keep-mask");
  }

 private:
  uint8_t* mask_;
  size_t size_;
  size_t dropped_ = 0;
};

enum class Target { item = WEFT_TARGET_ITEM, resource = WEFT_TARGET_RESOURCE };

// An edit list that weft applies natively (docs/abi.md). Keys are NUL-terminated.
class Edits {
 public:
  Edits() { weft_edits_init(&e_); }
  ~Edits() { weft_edits_free(&e_); }
  Edits(const Edits&) = delete;
  Edits& operator=(const Edits&) = delete;

  void set(Target t, size_t index, const char* key, std::string_view value) {
    weft_edit_set_string(&e_, static_cast<int>(t), index, key, value.data(), value.size());
  }
  void set_int(Target t, size_t index, const char* key, int64_t value) {
    weft_edit_set_int(&e_, static_cast<int>(t), index, key, value);
  }
  void set_double(Target t, size_t index, const char* key, double value) {
    weft_edit_set_double(&e_, static_cast<int>(t), index, key, value);
  }
  void set_bool(Target t, size_t index, const char* key, bool value) {
    weft_edit_set_bool(&e_, static_cast<int>(t), index, key, value ? 1 : 0);
  }
  void remove(Target t, size_t index, const char* key) {
    weft_edit_delete(&e_, static_cast<int>(t), index, key);
  }
  void rename(Target t, size_t index, const char* key, const char* new_key) {
    weft_edit_rename(&e_, static_cast<int>(t), index, key, new_key);
  }
  void set_name(size_t index, std::string_view name) {
    weft_edit_set_name(&e_, index, name.data(), name.size());
  }
  void set_body(size_t index, std::string_view body) {
    weft_edit_set_body(&e_, index, body.data(), body.size());
  }
  [[nodiscard]] bool empty() const { return e_.len == 0; }
  // Hands the list to weft (if not empty).
  Status submit() {
    if (e_.failed != 0) return error("out of memory for the edit list");
    return weft_edits_submit(&e_) == 0 ? ok() : error("weft refused the edit list");
  }

 private:
  weft_edits e_;
};

// ---- host services -----------------------------------------------------------------------

enum class Level { debug = WEFT_DEBUG, info = WEFT_INFO, warn = WEFT_WARN, error = WEFT_ERR };
inline void log(Level level, std::string_view message) {
  weft_logn(static_cast<int>(level), message.data(), message.size());
}
// Metric attributes are "key=value" lines separated by '\n' (or nullptr).
inline int counter_add(const char* name, double value, const char* attributes = nullptr) {
  return weft_counter_add(name, value, attributes);
}
inline int gauge_set(const char* name, double value, const char* attributes = nullptr) {
  return weft_gauge_set(name, value, attributes);
}
inline int histogram_record(const char* name, double value, const char* attributes = nullptr) {
  return weft_histogram_record(name, value, attributes);
}
inline int64_t now_unix_nano() {
  return weft_now_unix_nano();
}
// Key-value state: -1 absent, else the value's size (copied if it fits).
inline int kv_get(const char* key, void* out, size_t cap) {
  return weft_kv_get(key, out, cap);
}
inline int kv_set(const char* key, std::string_view value) {
  return weft_kv_set(key, value.data(), value.size());
}
inline int kv_delete(const char* key) {
  return weft_kv_delete(key);
}
inline int env_get(const char* name, char* out, size_t cap) {
  return weft_env_get(name, out, cap);
}
// SHA-256 of data as 64 lowercase hex characters (out[64] is NUL).
inline void sha256_hex(std::string_view data, char out[65]) {
  weft_sha256_hex(data.data(), data.size(), out);
}

// ---- building protobuf (requests to emit or to replace a batch with) ---------------------

// A protobuf message written field by field: `Proto m; m.string(1, "x").message(2, inner);`
class Proto {
 public:
  Proto& varint(uint32_t field, uint64_t value) {
    key(field, 0);
    raw_varint(value);
    return *this;
  }
  Proto& fixed64(uint32_t field, uint64_t value) {
    key(field, 1);
    raw_fixed64(value);
    return *this;
  }
  Proto& number(uint32_t field, double value) {  // a `double` field
    uint64_t bits = 0;
    std::memcpy(&bits, &value, sizeof bits);
    return fixed64(field, bits);
  }
  Proto& bytes(uint32_t field, std::string_view value) {
    key(field, 2);
    raw_varint(value.size());
    buf_.append(value);
    return *this;
  }
  Proto& string(uint32_t field, std::string_view value) { return bytes(field, value); }
  Proto& message(uint32_t field, const Proto& m) { return bytes(field, m.buf_); }
  Proto& packed_fixed64(uint32_t field, const std::vector<uint64_t>& values) {
    key(field, 2);
    raw_varint(values.size() * 8);
    for (uint64_t v : values) raw_fixed64(v);
    return *this;
  }
  Proto& packed_double(uint32_t field, const std::vector<double>& values) {
    key(field, 2);
    raw_varint(values.size() * 8);
    for (double v : values) {
      uint64_t bits = 0;
      std::memcpy(&bits, &v, sizeof bits);
      raw_fixed64(bits);
    }
    return *this;
  }
  // A KeyValue with a string AnyValue as field `field` (OTLP attributes), written in place.
  Proto& string_attribute(uint32_t field, std::string_view key_text, std::string_view value) {
    const uint64_t any = 1 + varint_size(value.size()) + value.size();
    key(field, 2);
    raw_varint(1 + varint_size(key_text.size()) + key_text.size() + 1 + varint_size(any) + any);
    string(1, key_text);
    key(2, 2);
    raw_varint(any);
    return string(1, value);
  }
  [[nodiscard]] const std::string& data() const { return buf_; }
  [[nodiscard]] bool empty() const { return buf_.empty(); }
  [[nodiscard]] size_t size() const { return buf_.size(); }
  void clear() { buf_.clear(); }

 private:
  static uint64_t varint_size(uint64_t v) {
    uint64_t n = 1;
    while (v >= 0x80) {
      v >>= 7;
      ++n;
    }
    return n;
  }
  void key(uint32_t field, uint32_t wire) { raw_varint((uint64_t{field} << 3) | wire); }
  void raw_varint(uint64_t v) {
    while (v >= 0x80) {
      buf_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    buf_.push_back(static_cast<char>(v));
  }
  void raw_fixed64(uint64_t v) {
    for (int i = 0; i < 8; ++i) buf_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  std::string buf_;
};

enum class Signal { traces = WEFT_TRACES, metrics = WEFT_METRICS, logs = WEFT_LOGS };

// Connectors and receivers: hands an encoded Export<Signal>ServiceRequest to weft (0, or
// the ABI's negative code).
inline int emit(Signal signal, const Proto& request) {
  weft_buf view{reinterpret_cast<uint8_t*>(const_cast<char*>(request.data().data())),
                request.size(), request.size(), 0};
  return weft_emit(static_cast<weft_signal>(signal), &view);
}

namespace detail {
// Reads through a call that NUL-terminates into out and returns the full length (-1 absent).
template <class Call>
std::optional<std::string> read_text(Call call) {
  std::string out(256, '\0');
  int n = call(out.data(), out.size());
  if (n < 0) return std::nullopt;
  if (static_cast<size_t>(n) >= out.size()) {
    out.assign(static_cast<size_t>(n) + 1, '\0');
    n = call(out.data(), out.size());
    if (n < 0) return std::nullopt;
  }
  out.resize(static_cast<size_t>(n));
  return out;
}
}  // namespace detail

// ---- receivers -----------------------------------------------------------------------------

// What a receiver's request is (docs/abi.md, "Receiver plugins").
enum class RequestInfo {
  method = WEFT_REQUEST_METHOD,
  path = WEFT_REQUEST_PATH,
  query = WEFT_REQUEST_QUERY,
  target = WEFT_REQUEST_TARGET,  // pull: the URL fetched
  peer = WEFT_REQUEST_PEER,      // push: the client's address
  status = WEFT_REQUEST_STATUS   // pull: the target's HTTP status
};
inline std::optional<std::string> request_info(RequestInfo which) {
  return detail::read_text([which](char* out, size_t cap) {
    return weft_request_info(static_cast<int>(which), out, cap);
  });
}
// A header of the request (push) or of the target's response (pull), name without case.
inline std::optional<std::string> request_header(const char* name) {
  return detail::read_text(
      [name](char* out, size_t cap) { return weft_request_header(name, out, cap); });
}
// Push: the answer's status and body for an accepted request (or a 4xx with an error).
inline int respond(int status, std::string_view body = {}) {
  return weft_respond(status, body.data(), body.size());
}

// ---- exporters: outbound HTTP --------------------------------------------------------------

// One request made by weft (docs/abi.md, "Exporter plugins"): the response's HTTP status, or
// WEFT_HTTP_INVALID, _DENIED, _LIMIT or _FAILED. `headers`: "Name: value" lines.
inline int http_request(const char* method, const char* url, const char* headers,
                        std::string_view body) {
  return weft_http_request(method, url, headers, body.data(), body.size());
}
inline std::optional<std::string> http_response_header(const char* name) {
  return detail::read_text(
      [name](char* out, size_t cap) { return weft_http_response_header(name, out, cap); });
}
inline std::string http_response_body() {
  weft_buf b;
  weft_buf_init(&b);
  std::string out;
  if (weft_http_response_body(&b) > 0 && !b.failed) {
    out.assign(reinterpret_cast<const char*>(b.data), b.len);
  }
  weft_buf_free(&b);
  return out;
}
// What an export returns (WEFT_CPP_EXPORT_*): sent, retryable, permanent or partial.
enum class Export {
  sent = WEFT_EXPORT_SENT,
  retryable = WEFT_EXPORT_RETRYABLE,
  permanent = WEFT_EXPORT_PERMANENT,
  partial = WEFT_EXPORT_PARTIAL
};
inline Export retry_after(int64_t milliseconds) {
  weft_export_retry_after(milliseconds);
  return Export::retryable;
}
inline Export rejected(int64_t items) {
  weft_export_rejected(items);
  return Export::partial;
}
// The usual meaning of an HTTP answer (weft_export_status): 2xx sent; 429/502/503/504 and
// no response retryable; anything else permanent, with the reason set.
inline Export export_status(int http_status, const char* who) {
  return static_cast<Export>(weft_export_status(http_status, who));
}

// ---- the plugin's config -----------------------------------------------------------------

// A JSON value of the config, read in place.
class Json {
 public:
  Json() : j_{nullptr, 0} {}
  explicit Json(weft_json j) : j_(j) {}
  Json(const char* text, size_t len) : j_{text, len} {}
  [[nodiscard]] bool present() const { return j_.len != 0; }
  [[nodiscard]] Json operator[](const char* key) const { return Json(weft_json_get(j_, key)); }
  [[nodiscard]] bool is_string() const { return weft_json_is(j_, '"') != 0; }
  [[nodiscard]] bool is_array() const { return weft_json_is(j_, '[') != 0; }
  [[nodiscard]] bool is_object() const { return weft_json_is(j_, '{') != 0; }
  [[nodiscard]] std::string_view text() const { return {j_.p, j_.len}; }
  // Unescapes a string into out (NUL-terminated); its length, or -1 if not a string or
  // too long.
  int string(char* out, size_t cap) const { return weft_json_string(j_, out, cap); }
  bool number(double* out) const { return weft_json_number(j_, out) != 0; }
  bool boolean(bool* out) const {
    int b = 0;
    if (weft_json_bool(j_, &b) == 0) return false;
    *out = b != 0;
    return true;
  }

  class iterator {
   public:
    iterator(weft_json array, bool end) : array_(array), done_(end) {
      if (!end) ++*this;
    }
    Json operator*() const { return Json(current_); }
    iterator& operator++() {
      done_ = weft_json_next(array_, &pos_, &current_) == 0;
      return *this;
    }
    bool operator!=(const iterator& other) const { return done_ != other.done_; }

   private:
    weft_json array_;
    size_t pos_ = 0;
    weft_json current_{nullptr, 0};
    bool done_;
  };
  // The elements of an array.
  [[nodiscard]] iterator begin() const { return {j_, false}; }
  [[nodiscard]] iterator end() const { return {j_, true}; }
  // fn(const std::string& key, Json value) for each member of an object (keys unescaped).
  template <class Fn>
  void for_each_member(Fn fn) const {
    size_t it = 0;
    weft_json key{nullptr, 0}, value{nullptr, 0};
    while (weft_json_member_next(j_, &it, &key, &value) != 0) {
      fn(Json(key).str().value_or(std::string()), Json(value));
    }
  }
  // The string's value (unescaped), or nullopt if this is not a string.
  [[nodiscard]] std::optional<std::string> str() const {
    std::string out(j_.len + 1, '\0');
    int n = weft_json_string(j_, out.data(), out.size());
    if (n < 0) return std::nullopt;
    out.resize(static_cast<size_t>(n));
    return out;
  }

 private:
  weft_json j_;
};

}  // namespace weft

// ---- declaring the plugin ------------------------------------------------------------------

// configure_fn: weft::Status (weft::Json config)
#define WEFT_CPP_PLUGIN(configure_fn)                                      \
  extern "C" int weft__configure(const char* json, size_t len) {           \
    return static_cast<int>(configure_fn(weft::Json(json, len)).report()); \
  }

// fn: weft::Status (const weft::Batch&)
#define WEFT_CPP__PROCESS(export_name, fn_name, signal, fn)                                   \
  static int fn_name##_cpp(const weft_batch* batch) {                                         \
    return static_cast<int>(fn(weft::Batch(batch)).report());                                 \
  }                                                                                           \
  extern "C" WEFT_EXPORT(export_name) int32_t fn_name(weft_addr ptr, int32_t len) {           \
    return weft__process(signal, (const uint8_t*)(uintptr_t)ptr, (size_t)len, fn_name##_cpp); \
  }
#define WEFT_CPP_PROCESS_TRACES(fn) \
  WEFT_CPP__PROCESS("weft_process_traces", weft_process_traces, WEFT_TRACES, fn)
#define WEFT_CPP_PROCESS_METRICS(fn) \
  WEFT_CPP__PROCESS("weft_process_metrics", weft_process_metrics, WEFT_METRICS, fn)
#define WEFT_CPP_PROCESS_LOGS(fn) \
  WEFT_CPP__PROCESS("weft_process_logs", weft_process_logs, WEFT_LOGS, fn)

// Receivers: fn: weft::Status (std::string_view body); an error is the client's 400.
#define WEFT_CPP_RECEIVE(fn)                                                                \
  static int weft_receive_cpp(weft_bytes body) {                                            \
    return static_cast<int>(fn(weft::view(body)).report());                                 \
  }                                                                                         \
  extern "C" WEFT_EXPORT("weft_receive") int32_t weft_receive(weft_addr ptr, int32_t len) { \
    return weft__receive((const uint8_t*)(uintptr_t)ptr, (size_t)len, weft_receive_cpp);    \
  }

// Exporters: fn: weft::Export (const weft::Batch&), sending the batch with http_request.
#define WEFT_CPP__EXPORT(export_name, fn_name, signal, fn)                                    \
  static int fn_name##_cpp(const weft_batch* batch) {                                         \
    return static_cast<int>(fn(weft::Batch(batch)));                                          \
  }                                                                                           \
  extern "C" WEFT_EXPORT(export_name) int32_t fn_name(weft_addr ptr, int32_t len) {           \
    return weft__process(signal, (const uint8_t*)(uintptr_t)ptr, (size_t)len, fn_name##_cpp); \
  }
#define WEFT_CPP_EXPORT_TRACES(fn) \
  WEFT_CPP__EXPORT("weft_export_traces", weft_export_traces, WEFT_TRACES, fn)
#define WEFT_CPP_EXPORT_METRICS(fn) \
  WEFT_CPP__EXPORT("weft_export_metrics", weft_export_metrics, WEFT_METRICS, fn)
#define WEFT_CPP_EXPORT_LOGS(fn) \
  WEFT_CPP__EXPORT("weft_export_logs", weft_export_logs, WEFT_LOGS, fn)
