#include "pdata/wire.h"

#include <cstring>
#include <string>

#include "pdata/schema.h"

namespace weft::pdata::wire {
namespace {

constexpr uint32_t kResourceEntries = 1;  // Export*ServiceRequest.resource_*
constexpr uint32_t kScopeEntries = 2;     // Resource*.scope_*
constexpr uint32_t kItems = 2;            // Scope*.spans / log_records / metrics
constexpr uint32_t kDataPoints = 1;       // Gauge/Sum/Histogram/...data_points

bool is_metric_data_field(uint32_t number) {
  // Metric oneof data: gauge=5, sum=7, histogram=9, exponential_histogram=10, summary=11.
  return number == 5 || number == 7 || number == 9 || number == 10 || number == 11;
}

// Checks one message's fields (not their contents) and returns false if malformed.
bool well_formed(std::string_view message) {
  Reader reader(message);
  Field field;
  while (reader.next(field)) {
  }
  return !reader.failed();
}

// Items an entry in a scope counts for: 1 for a span or log record, the data points for a metric.
bool item_weight(Signal signal, std::string_view item, size_t& weight) {
  if (signal != Signal::kMetrics) {
    weight = 1;
    return well_formed(item);
  }
  weight = 0;
  Reader metric(item);
  Field field;
  while (metric.next(field)) {
    if (field.type != WireType::kLen || !is_metric_data_field(field.number)) continue;
    Reader data(field.bytes);
    Field point;
    while (data.next(point)) {
      if (point.number == kDataPoints && point.type == WireType::kLen) ++weight;
    }
    if (data.failed()) return false;
  }
  return !metric.failed();
}

// Calls on_entry(bytes) for each length-delimited field `number`; false on malformed input
// or a field `number` that is not length-delimited.
template <class F>
bool for_each_entry(std::string_view message, uint32_t number, F&& on_entry) {
  Reader reader(message);
  Field field;
  while (reader.next(field)) {
    if (field.number != number) continue;
    if (field.type != WireType::kLen) return false;
    if (!on_entry(field)) return false;
  }
  return !reader.failed();
}

// Everything of a message but the fields `number`, tags included.
std::string without_field(std::string_view message, uint32_t number) {
  std::string out;
  Reader reader(message);
  Field field;
  while (reader.next(field)) {
    if (field.number != number) out.append(field.raw);
  }
  return out;
}

}  // namespace

bool Reader::read_varint(uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos_ >= data_.size()) return false;
    const auto byte = static_cast<uint8_t>(data_[pos_++]);
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

bool Reader::next(Field& field) {
  if (failed_ || pos_ >= data_.size()) return false;
  const size_t start = pos_;
  uint64_t tag = 0;
  if (!read_varint(tag) || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff) {
    failed_ = true;
    return false;
  }
  field.number = static_cast<uint32_t>(tag >> 3);
  field.bytes = {};
  field.varint = 0;
  switch (tag & 7) {
    case 0:
      field.type = WireType::kVarint;
      if (!read_varint(field.varint)) failed_ = true;
      break;
    case 1:
      field.type = WireType::kFixed64;
      if (data_.size() - pos_ < 8) failed_ = true;
      pos_ += failed_ ? 0 : 8;
      break;
    case 5:
      field.type = WireType::kFixed32;
      if (data_.size() - pos_ < 4) failed_ = true;
      pos_ += failed_ ? 0 : 4;
      break;
    case 2: {
      field.type = WireType::kLen;
      uint64_t length = 0;
      if (!read_varint(length) || length > data_.size() - pos_) {
        failed_ = true;
        break;
      }
      field.bytes = data_.substr(pos_, length);
      pos_ += length;
      break;
    }
    default:  // groups (3, 4) are not used by OTLP; 6 and 7 do not exist
      failed_ = true;
  }
  if (failed_) return false;
  field.raw = data_.substr(start, pos_ - start);
  return true;
}

void append_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void append_len_field(std::string& out, uint32_t number, std::string_view payload) {
  append_varint(out, (static_cast<uint64_t>(number) << 3) | 2);
  append_varint(out, payload.size());
  out.append(payload);
}

bool valid_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    while (end - p >= 8) {  // ASCII, eight bytes at a time
      uint64_t word = 0;
      std::memcpy(&word, p, 8);
      if ((word & 0x8080808080808080ULL) != 0) break;
      p += 8;
    }
    if (p == end) break;
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    ptrdiff_t follow = 0;
    uint32_t code = 0;
    if (c >= 0xc2 && c <= 0xdf) {
      follow = 1;
      code = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      follow = 2;
      code = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      follow = 3;
      code = c & 0x07;
    } else {
      return false;  // a continuation byte first, an overlong lead, or past U+10FFFF
    }
    if (end - p <= follow) return false;
    for (ptrdiff_t k = 1; k <= follow; ++k) {
      if ((p[k] & 0xc0) != 0x80) return false;
      code = (code << 6) | (p[k] & 0x3f);
    }
    if (follow == 2 && (code < 0x800 || (code >= 0xd800 && code <= 0xdfff))) return false;
    if (follow == 3 && (code < 0x10000 || code > 0x10ffff)) return false;
    p += follow + 1;
  }
  return true;
}

namespace {

// protobuf's own nesting limit: what it can decode, the walker accepts.
constexpr int kMaxDepth = 100;

// A varint at p (one byte in the common case); false if it runs past end or past 10 bytes.
inline bool read_varint_at(const uint8_t*& p, const uint8_t* end, uint64_t& value) {
  if (p < end && *p < 0x80) {
    value = *p++;
    return true;
  }
  value = 0;
  for (int shift = 0; shift < 64 && p < end; shift += 7) {
    const uint8_t byte = *p++;
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

bool packed_varints(const uint8_t* p, const uint8_t* end) {
  uint64_t value = 0;
  while (p < end) {
    if (!read_varint_at(p, end, value)) return false;
  }
  return true;
}

// Whether a short string is ASCII, without a call (most OTLP strings are short and ASCII):
// a word at a time, the last word overlapping the one before it.
inline bool short_ascii(const uint8_t* p, size_t n) {
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  if (n >= 8) {
    uint64_t any = 0;
    uint64_t word = 0;
    for (size_t i = 0; i + 8 <= n; i += 8) {
      std::memcpy(&word, p + i, 8);
      any |= word;
    }
    std::memcpy(&word, p + n - 8, 8);
    return ((any | word) & kHigh) == 0;
  }
  if (n >= 4) {
    uint32_t head = 0;
    uint32_t tail = 0;
    std::memcpy(&head, p, 4);
    std::memcpy(&tail, p + n - 4, 4);
    return ((head | tail) & static_cast<uint32_t>(kHigh)) == 0;
  }
  uint8_t any = 0;
  for (size_t i = 0; i < n; ++i) any |= p[i];
  return any < 0x80;
}

inline bool utf8_at(const uint8_t* p, uint64_t n) {
  return (n <= 32 && short_ascii(p, n)) || valid_utf8({reinterpret_cast<const char*>(p), n});
}

// A KeyValue of a key and a scalar AnyValue (a string, bool, int or double), fields in their
// usual order: the shape of nearly every attribute, checked without the general loop. False
// for anything else, which the general walk then checks (and names any problem of).
inline bool simple_key_value(const uint8_t* p, const uint8_t* end) {
  uint64_t n = 0;
  if (p == end || *p++ != 0x0a) return false;  // key: field 1, length-delimited
  if (!read_varint_at(p, end, n) || n > static_cast<uint64_t>(end - p) || !utf8_at(p, n)) {
    return false;
  }
  p += n;
  if (p == end) return true;
  if (*p++ != 0x12) return false;  // value: field 2, an AnyValue to the end
  if (!read_varint_at(p, end, n) || n != static_cast<uint64_t>(end - p)) return false;
  if (p == end) return true;
  const uint8_t tag = *p++;
  switch (tag) {
    case 0x0a:  // string_value
      return read_varint_at(p, end, n) && n == static_cast<uint64_t>(end - p) && utf8_at(p, n);
    case 0x10:  // bool_value
    case 0x18:  // int_value
      return read_varint_at(p, end, n) && p == end;
    case 0x21:  // double_value
      return end - p == 8;
    default:
      return false;
  }
}

// Walks a request against its schema, counting items; the first problem ends it, with the
// path of the field it is in. On the hot path of every receiver: one pass over the bytes,
// iterative (a stack of open messages, no call per message), one table load per one-byte tag,
// no allocation unless something is wrong.
class Validator {
 public:
  explicit Validator(const Schema& schema) : schema_(schema) {}

  bool walk(const uint8_t* p, const uint8_t* end) {
    int depth = 0;
    stack_[0] = {0, 0, end};
    const Entry* tags = schema_.tags_of(0);
    while (true) {
      const uint8_t* open_end = stack_[depth].end;
      if (p == open_end) {
        if (depth == 0) return true;
        --depth;
        tags = schema_.tags_of(stack_[depth].message);
        continue;
      }
      uint64_t tag = *p;
      Entry entry = 0;
      if (tag < 0x80) {
        entry = tags[tag];
        ++p;
      } else {
        if (!read_varint_at(p, open_end, tag) || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff) {
          return fail(depth, "a field that is not protobuf");
        }
        entry = schema_.entry(stack_[depth].message, tag >> 3, tag & 7);
      }
      const uint64_t number = tag >> 3;
      const FieldAction action = action_of(entry);
      if (action == FieldAction::kVarint) {
        uint64_t value = 0;
        if (!read_varint_at(p, open_end, value)) return truncated(depth);
        continue;
      }
      if (action == FieldAction::kFixed64 || action == FieldAction::kFixed32) {
        const ptrdiff_t n = action == FieldAction::kFixed64 ? 8 : 4;
        if (open_end - p < n) return truncated(depth);
        p += n;
        continue;
      }
      if (action == FieldAction::kBadWire) {
        return fail(depth, number == 0 ? "a field that is not protobuf"
                                       : "a group or an unknown wire type");
      }
      if (action == FieldAction::kWrongType) return wrong_type(depth, number, tag & 7);
      uint64_t length = 0;
      if (!read_varint_at(p, open_end, length) || length > static_cast<uint64_t>(open_end - p)) {
        return truncated(depth);
      }
      const uint8_t* payload = p;
      p += length;
      // Opens the message payload..p as the field's message type.
      auto push = [&] {
        if (depth >= kMaxDepth) {
          return fail(depth, name(depth, number) + ": nested more than 100 deep");
        }
        stack_[depth + 1] = {operand_of(entry), static_cast<uint32_t>(number), p};
        ++depth;
        tags = schema_.tags_of(operand_of(entry));
        p = payload;
        return true;
      };
      // By how often each comes: attributes, strings, ids, items.
      if (action == FieldAction::kKeyValue) {
        // Attributes come in runs: the run's simple ones are taken here, without the dispatch.
        while (simple_key_value(payload, p)) {
          payload = nullptr;
          if (p == open_end || *p != tag) break;
          const uint8_t* next = p + 1;
          if (!read_varint_at(next, open_end, length) ||
              length > static_cast<uint64_t>(open_end - next)) {
            break;  // p is at the next field: the general walk names its problem
          }
          payload = next;
          p = next + length;
        }
        if (payload != nullptr && !push()) return false;  // not simple: the general walk
      } else if (action == FieldAction::kString) {
        if (!utf8_at(payload, length)) {
          return fail(depth, name(depth, number) + ": a string that is not valid UTF-8");
        }
      } else if (action == FieldAction::kId) {
        if (length != 0 && length != operand_of(entry)) {
          return fail(depth, name(depth, number) + ": " + std::to_string(length) +
                                 " bytes; an id has " + std::to_string(operand_of(entry)) +
                                 " (or none)");
        }
      } else if (action == FieldAction::kItem || action == FieldAction::kMessage) {
        if (action == FieldAction::kItem) ++items;
        if (!push()) return false;
      } else if (action == FieldAction::kPackedVarint) {
        if (!packed_varints(payload, p)) return wrong_type(depth, number, 2);
      } else if (action == FieldAction::kPackedFixed64) {
        if (length % 8 != 0) return wrong_type(depth, number, 2);
      } else if (action == FieldAction::kPackedFixed32) {
        if (length % 4 != 0) return wrong_type(depth, number, 2);
      }  // else kBytes: nothing to check
    }
  }

  size_t items = 0;
  std::string error;

 private:
  struct Open {
    uint16_t message;  // its index in the schema
    uint32_t number;   // the number of the field that holds it, in the message below
    const uint8_t* end;
  };

  // The name of field `number` of the message open at depth.
  [[nodiscard]] const std::string& name(int depth, uint64_t number) const {
    return schema_.rule(stack_[depth].message, number).name;
  }
  // The error, after the path of the messages it is in ("resource_spans.scope_spans.").
  bool fail(int depth, const std::string& what) {
    error.clear();
    for (int i = 1; i <= depth; ++i) error += name(i - 1, stack_[i].number) + ".";
    error += what;
    return false;
  }
  bool truncated(int depth) { return fail(depth, "a field that runs past its message"); }
  bool wrong_type(int depth, uint64_t number, uint32_t wire) {
    static constexpr const char* kWireTypes[] = {"varint", "fixed64", "length-delimited",
                                                 "",       "",        "fixed32"};
    const FieldRule& r = schema_.rule(stack_[depth].message, number);
    return fail(depth, r.name + ": wire type " + kWireTypes[wire] + " where the schema has " +
                           (r.kind == FieldKind::kMessage  ? "a message"
                            : r.kind == FieldKind::kString ? "a string"
                            : r.kind == FieldKind::kBytes  ? "bytes"
                                                           : "a number"));
  }

  const Schema& schema_;
  Open stack_[kMaxDepth + 1];  // NOLINT(*-member-init): written before read
};

}  // namespace

Result<size_t> count_items(Signal signal, std::string_view request) {
  Validator validator(Schema::of(signal));
  const auto* begin = reinterpret_cast<const uint8_t*>(request.data());
  if (!validator.walk(begin, begin + request.size())) {
    return Status::invalid_argument("malformed protobuf payload: " + validator.error);
  }
  return validator.items;
}

size_t count_valid_items(Signal signal, std::string_view request) {
  size_t total = 0;
  for_each_entry(request, kResourceEntries, [&](const Field& resource) {
    return for_each_entry(resource.bytes, kScopeEntries, [&](const Field& scope) {
      return for_each_entry(scope.bytes, kItems, [&](const Field& item) {
        size_t weight = 0;
        item_weight(signal, item.bytes, weight);
        total += weight;
        return true;
      });
    });
  });
  return total;
}

namespace {

// Builds one output request while items are added to it.
class ChunkBuilder {
 public:
  // Ids number the resource and scope entries of the input, so that consecutive items of
  // one scope share one scope entry in the output.
  void add_item(size_t resource_id, std::string_view resource_header, size_t scope_id,
                std::string_view scope_header, std::string_view item_raw) {
    if (resource_open_ && resource_id != resource_id_) close_resource();
    if (!resource_open_) {
      resource_open_ = true;
      resource_id_ = resource_id;
      resource_body_.assign(resource_header);
    }
    if (scope_open_ && scope_id != scope_id_) close_scope();
    if (!scope_open_) {
      scope_open_ = true;
      scope_id_ = scope_id;
      scope_body_.assign(scope_header);
    }
    scope_body_.append(item_raw);
  }

  [[nodiscard]] bool empty() const { return !resource_open_ && request_.empty(); }

  std::string take() {
    close_resource();
    std::string out;
    out.swap(request_);
    return out;
  }

 private:
  void close_scope() {
    if (!scope_open_) return;
    append_len_field(resource_body_, kScopeEntries, scope_body_);
    scope_open_ = false;
  }
  void close_resource() {
    close_scope();
    if (!resource_open_) return;
    append_len_field(request_, kResourceEntries, resource_body_);
    resource_open_ = false;
  }

  std::string request_, resource_body_, scope_body_;
  size_t resource_id_ = 0, scope_id_ = 0;
  bool resource_open_ = false, scope_open_ = false;
};

}  // namespace

std::vector<std::string> split(Signal signal, std::string_view request, size_t max_items) {
  auto total = count_items(signal, request);
  if (!total.ok() || max_items == 0 || total.value() <= max_items) {
    return {std::string(request)};
  }
  std::vector<std::string> chunks;
  ChunkBuilder builder;
  size_t in_chunk = 0, resource_id = 0, scope_id = 0;
  for_each_entry(request, kResourceEntries, [&](const Field& resource) {
    std::string resource_header = without_field(resource.bytes, kScopeEntries);
    ++resource_id;
    return for_each_entry(resource.bytes, kScopeEntries, [&](const Field& scope) {
      std::string scope_header = without_field(scope.bytes, kItems);
      ++scope_id;
      return for_each_entry(scope.bytes, kItems, [&](const Field& item) {
        size_t weight = 0;
        item_weight(signal, item.bytes, weight);
        if (in_chunk > 0 && in_chunk + weight > max_items) {
          chunks.push_back(builder.take());
          in_chunk = 0;
        }
        builder.add_item(resource_id, resource_header, scope_id, scope_header, item.raw);
        in_chunk += weight;
        return true;
      });
    });
  });
  if (!builder.empty()) chunks.push_back(builder.take());
  return chunks;
}

std::string keep_items(std::string_view request, std::string_view mask) {
  ChunkBuilder builder;
  size_t index = 0, resource_id = 0, scope_id = 0;
  for_each_entry(request, kResourceEntries, [&](const Field& resource) {
    std::string resource_header;
    ++resource_id;
    return for_each_entry(resource.bytes, kScopeEntries, [&](const Field& scope) {
      std::string scope_header;
      ++scope_id;
      return for_each_entry(scope.bytes, kItems, [&](const Field& item) {
        if (index >= mask.size() || mask[index++] == 0) return true;
        if (resource_header.empty()) resource_header = without_field(resource.bytes, kScopeEntries);
        if (scope_header.empty()) scope_header = without_field(scope.bytes, kItems);
        builder.add_item(resource_id, resource_header, scope_id, scope_header, item.raw);
        return true;
      });
    });
  });
  return builder.empty() ? std::string() : builder.take();
}

std::string rewrite_items(std::string_view request, const Rewriter& item,
                          const Rewriter& resource) {
  constexpr uint32_t kResource = 1;
  std::string out, entry, scope_entry, payload;
  out.reserve(request.size());
  size_t item_index = 0, resource_index = 0;
  Reader req(request);
  Field f;
  while (req.next(f)) {
    if (f.number != kResourceEntries || f.type != WireType::kLen) {
      out.append(f.raw);
      continue;
    }
    entry.clear();
    bool had_resource = false;
    const size_t this_resource = resource_index++;
    Reader r(f.bytes);
    Field rf;
    while (r.next(rf)) {
      if (rf.number == kResource && rf.type == WireType::kLen) {
        had_resource = true;
        payload.clear();
        if (resource(this_resource, rf.bytes, payload)) {
          append_len_field(entry, kResource, payload);
        } else {
          entry.append(rf.raw);
        }
      } else if (rf.number == kScopeEntries && rf.type == WireType::kLen) {
        scope_entry.clear();
        Reader sr(rf.bytes);
        Field sf;
        while (sr.next(sf)) {
          payload.clear();
          if (sf.number == kItems && sf.type == WireType::kLen &&
              item(item_index++, sf.bytes, payload)) {
            append_len_field(scope_entry, kItems, payload);
          } else {
            scope_entry.append(sf.raw);
          }
        }
        append_len_field(entry, kScopeEntries, scope_entry);
      } else {
        entry.append(rf.raw);
      }
    }
    payload.clear();
    if (!had_resource && resource(this_resource, {}, payload)) {
      append_len_field(entry, kResource, payload);
    }
    append_len_field(out, kResourceEntries, entry);
  }
  return out;
}

}  // namespace weft::pdata::wire
