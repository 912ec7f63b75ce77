#include "wasm/host/results.h"

#include <cstring>
#include <functional>
#include <optional>
#include <vector>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "pdata/wire.h"

namespace weft::wasm {
namespace {

namespace v1 = opentelemetry::proto;
using Attributes = google::protobuf::RepeatedPtrField<v1::common::v1::KeyValue>;

// What an edit can reach of one item.
struct ItemRef {
  Attributes* attributes = nullptr;
  v1::trace::v1::Span* span = nullptr;
  v1::logs::v1::LogRecord* log = nullptr;
};

// Removes the elements of a repeated field for which keep(element) is false, in order.
template <class T, class F>
void retain(google::protobuf::RepeatedPtrField<T>& field, F&& keep) {
  int out = 0;
  for (int i = 0; i < field.size(); ++i) {
    if (keep(*field.Mutable(i))) field.SwapElements(out++, i);
  }
  while (field.size() > out) field.RemoveLast();
}

template <class Metric, class F>
void for_each_point_field(Metric& metric, F&& f) {
  if (metric.has_gauge()) f(*metric.mutable_gauge()->mutable_data_points());
  if (metric.has_sum()) f(*metric.mutable_sum()->mutable_data_points());
  if (metric.has_histogram()) f(*metric.mutable_histogram()->mutable_data_points());
  if (metric.has_exponential_histogram()) {
    f(*metric.mutable_exponential_histogram()->mutable_data_points());
  }
  if (metric.has_summary()) f(*metric.mutable_summary()->mutable_data_points());
}

// Visits every item in wire order with its resource attributes; optionally filters.
// keep(index, ref) returning false removes the item.
using Visitor = std::function<bool(size_t index, ItemRef item)>;

// With prune, scopes, metrics and resources left empty are removed; without it nothing is
// removed, so the collected resource pointers stay valid.
void visit(pdata::Telemetry& data, const Visitor& visit_item, std::vector<Attributes*>* resources,
           bool prune) {
  size_t index = 0;
  auto& message = data.mutable_message();
  switch (data.signal()) {
    case Signal::kTraces: {
      auto& req = static_cast<v1::collector::trace::v1::ExportTraceServiceRequest&>(message);
      for (auto& rs : *req.mutable_resource_spans()) {
        if (resources) resources->push_back(rs.mutable_resource()->mutable_attributes());
        for (auto& ss : *rs.mutable_scope_spans()) {
          retain(*ss.mutable_spans(), [&](v1::trace::v1::Span& s) {
            return visit_item(index++, {s.mutable_attributes(), &s, nullptr});
          });
        }
        if (prune) retain(*rs.mutable_scope_spans(), [](auto& ss) { return ss.spans_size() > 0; });
      }
      if (prune)
        retain(*req.mutable_resource_spans(), [](auto& rs) { return rs.scope_spans_size() > 0; });
      break;
    }
    case Signal::kLogs: {
      auto& req = static_cast<v1::collector::logs::v1::ExportLogsServiceRequest&>(message);
      for (auto& rl : *req.mutable_resource_logs()) {
        if (resources) resources->push_back(rl.mutable_resource()->mutable_attributes());
        for (auto& sl : *rl.mutable_scope_logs()) {
          retain(*sl.mutable_log_records(), [&](v1::logs::v1::LogRecord& l) {
            return visit_item(index++, {l.mutable_attributes(), nullptr, &l});
          });
        }
        if (prune)
          retain(*rl.mutable_scope_logs(), [](auto& sl) { return sl.log_records_size() > 0; });
      }
      if (prune)
        retain(*req.mutable_resource_logs(), [](auto& rl) { return rl.scope_logs_size() > 0; });
      break;
    }
    case Signal::kMetrics: {
      auto& req = static_cast<v1::collector::metrics::v1::ExportMetricsServiceRequest&>(message);
      for (auto& rm : *req.mutable_resource_metrics()) {
        if (resources) resources->push_back(rm.mutable_resource()->mutable_attributes());
        for (auto& sm : *rm.mutable_scope_metrics()) {
          retain(*sm.mutable_metrics(), [&](v1::metrics::v1::Metric& m) {
            size_t left = 0;
            for_each_point_field(m, [&](auto& points) {
              retain(points, [&](auto& p) {
                return visit_item(index++, {p.mutable_attributes(), nullptr, nullptr});
              });
              left += static_cast<size_t>(points.size());
            });
            return left > 0 || !prune;
          });
        }
        if (prune)
          retain(*rm.mutable_scope_metrics(), [](auto& sm) { return sm.metrics_size() > 0; });
      }
      if (prune) {
        retain(*req.mutable_resource_metrics(),
               [](auto& rm) { return rm.scope_metrics_size() > 0; });
      }
      break;
    }
  }
}

// ---- edits ----

struct Edit {
  uint8_t op = 0;
  uint8_t target = 0;
  uint32_t index = 0;
  std::string_view key;
  std::string_view text;  // string value, new key, name, body
  int64_t i = 0;
  double d = 0;
  bool b = false;
};

class EditReader {
 public:
  explicit EditReader(std::string_view bytes) : bytes_(bytes) {}
  bool done() const { return pos_ >= bytes_.size(); }
  bool read(Edit& e) {
    if (!u8(e.op) || !u8(e.target) || !u32(e.index) || !str(e.key)) return false;
    switch (e.op) {
      case 1:
      case 6:
      case 7:
      case 8:
        return str(e.text);
      case 2: {
        uint64_t v = 0;
        if (!u64(v)) return false;
        e.i = static_cast<int64_t>(v);
        return true;
      }
      case 3: {
        uint64_t v = 0;
        if (!u64(v)) return false;
        std::memcpy(&e.d, &v, 8);
        return true;
      }
      case 4: {
        uint8_t v = 0;
        if (!u8(v)) return false;
        e.b = v != 0;
        return true;
      }
      case 5:
        return true;
      default:
        return false;
    }
  }

 private:
  bool take(size_t n, const char*& p) {
    if (bytes_.size() - pos_ < n) return false;
    p = bytes_.data() + pos_;
    pos_ += n;
    return true;
  }
  bool u8(uint8_t& v) {
    const char* p = nullptr;
    if (!take(1, p)) return false;
    v = static_cast<uint8_t>(*p);
    return true;
  }
  bool u32(uint32_t& v) {
    const char* p = nullptr;
    if (!take(4, p)) return false;
    v = 0;
    for (int k = 3; k >= 0; --k) v = (v << 8) | static_cast<uint8_t>(p[k]);
    return true;
  }
  bool u64(uint64_t& v) {
    uint32_t lo = 0, hi = 0;
    if (!u32(lo) || !u32(hi)) return false;
    v = (static_cast<uint64_t>(hi) << 32) | lo;
    return true;
  }
  bool str(std::string_view& s) {
    uint32_t n = 0;
    const char* p = nullptr;
    if (!u32(n) || !take(n, p)) return false;
    s = std::string_view(p, n);
    return true;
  }

  std::string_view bytes_;
  size_t pos_ = 0;
};

v1::common::v1::KeyValue* find(Attributes& attrs, std::string_view key) {
  for (auto& kv : attrs) {
    if (kv.key() == key) return &kv;
  }
  return nullptr;
}

void apply(const Edit& e, Attributes& attrs, const ItemRef* item) {
  auto set = [&]() -> v1::common::v1::AnyValue* {
    auto* kv = find(attrs, e.key);
    if (kv == nullptr) {
      kv = attrs.Add();
      kv->set_key(std::string(e.key));
    }
    return kv->mutable_value();
  };
  switch (e.op) {
    case 1:
      set()->set_string_value(std::string(e.text));
      break;
    case 2:
      set()->set_int_value(e.i);
      break;
    case 3:
      set()->set_double_value(e.d);
      break;
    case 4:
      set()->set_bool_value(e.b);
      break;
    case 5:
      retain(attrs, [&](auto& kv) { return kv.key() != e.key; });
      break;
    case 6:
      if (auto* kv = find(attrs, e.key); kv != nullptr && find(attrs, e.text) == nullptr) {
        kv->set_key(std::string(e.text));
      }
      break;
    case 7:
      if (item && item->span) item->span->set_name(std::string(e.text));
      break;
    case 8:
      if (item && item->log) item->log->mutable_body()->set_string_value(std::string(e.text));
      break;
    default:
      break;
  }
}

}  // namespace

Status undecodable() {
  return Status::invalid_argument(
      "the batch does not decode in full (invalid UTF-8 or a malformed nested field)");
}

Status apply_keep_mask(pdata::Telemetry& data, std::string_view mask) {
  if (mask.size() != data.item_count()) {
    return Status::invalid_argument("keep-mask has " + std::to_string(mask.size()) +
                                    " entries for " + std::to_string(data.item_count()) + " items");
  }
  if (data.signal() != Signal::kMetrics) {  // on the wire: nothing decoded or re-encoded
    data = pdata::Telemetry::from_valid_wire(data.signal(),
                                             pdata::wire::keep_items(data.wire(), mask));
    return Status::ok();
  }
  if (!data.decodes()) return undecodable();
  visit(
      data, [&](size_t index, ItemRef) { return mask[index] != 0; }, nullptr, true);
  return Status::ok();
}

// ---- edits on the wire (spans and log records) ----

namespace wire = pdata::wire;

// An attribute field of a message: its key and its encoding (tag included), as it came or
// as an edit rewrote it. Views point into the message or the edit list.
struct WireAttribute {
  std::string_view key;
  std::string_view encoded;
  bool rewritten = false;
  std::string owned;  // the encoding once rewritten
};

void append_any_value(std::string& v, const Edit& e) {
  switch (e.op) {
    case 1:
    case 8:
      wire::append_len_field(v, 1, e.text);  // string_value
      break;
    case 2:
      wire::append_varint(v, 3 << 3);  // int_value
      wire::append_varint(v, static_cast<uint64_t>(e.i));
      break;
    case 3: {
      wire::append_varint(v, (4 << 3) | 1);  // double_value
      char bytes[8];
      std::memcpy(bytes, &e.d, 8);
      v.append(bytes, 8);
      break;
    }
    case 4:
      wire::append_varint(v, 2 << 3);  // bool_value
      wire::append_varint(v, e.b ? 1 : 0);
      break;
    default:
      break;
  }
}

// The value of an encoded attribute field (tag included), if it has one.
std::optional<std::string_view> attribute_value(std::string_view encoded) {
  wire::Reader outer(encoded);
  wire::Field kv_field;
  if (!outer.next(kv_field)) return std::nullopt;
  std::optional<std::string_view> value;
  wire::Reader kv(kv_field.bytes);
  wire::Field f;
  while (kv.next(f)) {
    if (f.number == 2 && f.type == wire::WireType::kLen) value = f.bytes;
  }
  return value;
}

// Rewrites an attribute field: the key, and the value if there is one.
void rewrite_attribute(WireAttribute& a, uint32_t field, std::string_view key,
                       std::optional<std::string_view> value) {
  std::string kv;
  wire::append_len_field(kv, 1, key);
  if (value) wire::append_len_field(kv, 2, *value);
  std::string encoded;
  wire::append_len_field(encoded, field, kv);
  a.owned = std::move(encoded);
  a.key = key;
  a.rewritten = true;
}

// Applies an item's (or a Resource's) edits to its encoding: the same effect as apply() on
// the decoded message, without decoding anything but the attribute keys. Other fields keep
// their bytes and order; the attributes follow them.
void edit_on_wire(std::string_view message, uint32_t attributes_field, uint32_t text_field,
                  const std::vector<const Edit*>& edits, std::string& out) {
  thread_local std::vector<WireAttribute> attrs;
  thread_local std::vector<wire::Field> rest;
  attrs.clear();
  rest.clear();
  wire::Reader reader(message);
  wire::Field field;
  while (reader.next(field)) {
    if (field.number == attributes_field && field.type == wire::WireType::kLen) {
      WireAttribute& a = attrs.emplace_back();
      a.encoded = field.raw;
      wire::Reader kv(field.bytes);
      wire::Field kf;
      while (kv.next(kf)) {
        if (kf.number == 1 && kf.type == wire::WireType::kLen) a.key = kf.bytes;
      }
    } else {
      rest.push_back(field);
    }
  }
  auto find = [&](std::string_view key) -> WireAttribute* {
    for (auto& a : attrs) {
      if (a.key == key) return &a;
    }
    return nullptr;
  };
  const Edit* text_edit = nullptr;  // the last name or body edit wins
  std::string value;
  for (const Edit* e : edits) {
    switch (e->op) {
      case 1:
      case 2:
      case 3:
      case 4: {
        WireAttribute* a = find(e->key);
        if (a == nullptr) a = &attrs.emplace_back();
        value.clear();
        append_any_value(value, *e);
        rewrite_attribute(*a, attributes_field, e->key, value);
        break;
      }
      case 5:
        std::erase_if(attrs, [&](const WireAttribute& a) { return a.key == e->key; });
        break;
      case 6:
        if (WireAttribute* a = find(e->key); a != nullptr && find(e->text) == nullptr) {
          const std::string_view encoded = a->rewritten ? a->owned : a->encoded;
          const auto old = attribute_value(encoded);
          const std::string kept = old ? std::string(*old) : std::string();
          rewrite_attribute(*a, attributes_field, e->text,
                            old ? std::optional<std::string_view>(kept) : std::nullopt);
        }
        break;
      case 7:  // span name
      case 8:  // log body
        text_edit = e;
        break;
      default:
        break;
    }
  }
  out.reserve(message.size() + 64);
  for (const auto& f : rest) {
    if (text_edit == nullptr || f.number != text_field) out.append(f.raw);
  }
  if (text_edit != nullptr) {
    if (text_edit->op == 7) {
      wire::append_len_field(out, text_field, text_edit->text);  // a string
    } else {
      value.clear();
      append_any_value(value, *text_edit);
      wire::append_len_field(out, text_field, value);  // an AnyValue holding a string
    }
  }
  for (const auto& a : attrs) out.append(a.rewritten ? std::string_view(a.owned) : a.encoded);
}

// Spans and log records: only the edited items and resources are rewritten, each on its
// own; nothing is decoded into messages.
Status apply_edits_on_wire(pdata::Telemetry& data,
                           const std::vector<std::vector<const Edit*>>& by_item,
                           const std::vector<const Edit*>& on_resources) {
  constexpr uint32_t kResourceAttributes = 1;
  constexpr uint32_t kNameOrBody = 5;  // Span.name, LogRecord.body
  const uint32_t item_attributes = data.signal() == Signal::kTraces ? 9 : 6;
  size_t resources = 0;
  wire::Reader reader(data.wire());
  wire::Field field;
  while (reader.next(field)) {
    if (field.number == 1) ++resources;
  }
  std::vector<std::vector<const Edit*>> by_resource(resources);
  for (const Edit* e : on_resources) {
    if (e->index >= resources) {
      return Status::invalid_argument("edit targets resource " + std::to_string(e->index) + " of " +
                                      std::to_string(resources));
    }
    by_resource[e->index].push_back(e);
  }
  // Valid by construction: the batch was checked, and the edits' strings were (apply_edits).
  data = pdata::Telemetry::from_valid_wire(
      data.signal(), wire::rewrite_items(
                         data.wire(),
                         [&](size_t index, std::string_view item, std::string& out) {
                           if (index >= by_item.size() || by_item[index].empty()) return false;
                           edit_on_wire(item, item_attributes, kNameOrBody, by_item[index], out);
                           return true;
                         },
                         [&](size_t index, std::string_view resource, std::string& out) {
                           if (index >= by_resource.size() || by_resource[index].empty())
                             return false;
                           edit_on_wire(resource, kResourceAttributes, 0, by_resource[index], out);
                           return true;
                         }));
  return Status::ok();
}

Status apply_edits(pdata::Telemetry& data, std::string_view bytes) {
  std::vector<Edit> edits;
  EditReader reader(bytes);
  const size_t items = data.item_count();
  while (!reader.done()) {
    Edit e;
    if (!reader.read(e)) return Status::invalid_argument("malformed edit list");
    if (e.target > 1) {
      return Status::invalid_argument("edit " + std::to_string(edits.size()) + " has target " +
                                      std::to_string(e.target) +
                                      "; targets are 0 (an item) and 1 (a resource)");
    }
    if (!pdata::wire::valid_utf8(e.key) || !pdata::wire::valid_utf8(e.text)) {
      return Status::invalid_argument("edit " + std::to_string(edits.size()) +
                                      " has a key or value that is not valid UTF-8");
    }
    if (e.target == 0 && e.index >= items) {
      return Status::invalid_argument("edit targets item " + std::to_string(e.index) + " of " +
                                      std::to_string(items));
    }
    if ((e.op == 7 && data.signal() != Signal::kTraces) ||
        (e.op == 8 && data.signal() != Signal::kLogs) || (e.op >= 7 && e.target != 0)) {
      return Status::invalid_argument("edit op " + std::to_string(e.op) + " does not apply to " +
                                      std::string(signal_name(data.signal())));
    }
    edits.push_back(e);
  }
  if (edits.empty()) return Status::ok();
  // Group by item so that one pass over the batch applies everything.
  std::vector<std::vector<const Edit*>> by_item(items);
  std::vector<const Edit*> on_resources;
  for (const auto& e : edits) {
    if (e.target == 0) {
      by_item[e.index].push_back(&e);
    } else {
      on_resources.push_back(&e);
    }
  }
  if (data.signal() != Signal::kMetrics) return apply_edits_on_wire(data, by_item, on_resources);
  if (!data.decodes()) return undecodable();
  std::vector<Attributes*> resources;
  visit(
      data, [](size_t, ItemRef) { return true; }, &resources, false);
  for (const Edit* e : on_resources) {
    if (e->index >= resources.size()) {
      return Status::invalid_argument("edit targets resource " + std::to_string(e->index) + " of " +
                                      std::to_string(resources.size()));
    }
  }
  visit(
      data,
      [&](size_t index, ItemRef item) {
        for (const Edit* e : by_item[index]) apply(*e, *item.attributes, &item);
        return true;
      },
      nullptr, false);
  for (const Edit* e : on_resources) apply(*e, *resources[e->index], nullptr);
  return Status::ok();
}

}  // namespace weft::wasm
