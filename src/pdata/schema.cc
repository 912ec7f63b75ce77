#include "pdata/schema.h"

#include <google/protobuf/descriptor.h>

#include <map>
#include <string_view>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace weft::pdata::wire {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

bool is_item(std::string_view name) {
  for (std::string_view item :
       {"opentelemetry.proto.trace.v1.Span", "opentelemetry.proto.logs.v1.LogRecord",
        "opentelemetry.proto.metrics.v1.NumberDataPoint",
        "opentelemetry.proto.metrics.v1.HistogramDataPoint",
        "opentelemetry.proto.metrics.v1.ExponentialHistogramDataPoint",
        "opentelemetry.proto.metrics.v1.SummaryDataPoint"}) {
    if (name == item) return true;
  }
  return false;
}

FieldKind kind_of(const FieldDescriptor& field) {
  switch (field.type()) {
    case FieldDescriptor::TYPE_DOUBLE:
    case FieldDescriptor::TYPE_FIXED64:
    case FieldDescriptor::TYPE_SFIXED64:
      return FieldKind::kFixed64;
    case FieldDescriptor::TYPE_FLOAT:
    case FieldDescriptor::TYPE_FIXED32:
    case FieldDescriptor::TYPE_SFIXED32:
      return FieldKind::kFixed32;
    case FieldDescriptor::TYPE_STRING:
      return FieldKind::kString;
    case FieldDescriptor::TYPE_BYTES:
      return FieldKind::kBytes;
    case FieldDescriptor::TYPE_MESSAGE:
      return FieldKind::kMessage;
    case FieldDescriptor::TYPE_GROUP:
      return FieldKind::kUnknown;  // OTLP has none; the walker refuses group wire types
    default:
      return FieldKind::kVarint;
  }
}

}  // namespace

void set_actions(FieldRule& rule) {
  using A = FieldAction;
  rule.actions.fill(A::kBadWire);
  const bool unknown = rule.kind == FieldKind::kUnknown;
  auto allow = [&](FieldKind kind, A action) {
    return unknown || rule.kind == kind ? action : A::kWrongType;
  };
  rule.actions[0] = allow(FieldKind::kVarint, A::kVarint);
  rule.actions[1] = allow(FieldKind::kFixed64, A::kFixed64);
  rule.actions[5] = allow(FieldKind::kFixed32, A::kFixed32);
  switch (rule.kind) {
    case FieldKind::kUnknown:
    case FieldKind::kBytes:
      rule.actions[2] = rule.id_bytes != 0 ? A::kId : A::kBytes;
      break;
    case FieldKind::kString:
      rule.actions[2] = A::kString;
      break;
    case FieldKind::kMessage:
      rule.actions[2] = A::kMessage;
      break;
    case FieldKind::kVarint:
      rule.actions[2] = rule.packable ? A::kPackedVarint : A::kWrongType;
      break;
    case FieldKind::kFixed64:
      rule.actions[2] = rule.packable ? A::kPackedFixed64 : A::kWrongType;
      break;
    case FieldKind::kFixed32:
      rule.actions[2] = rule.packable ? A::kPackedFixed32 : A::kWrongType;
      break;
  }
}

namespace {

Schema build(const Descriptor* request) {
  Schema schema;
  std::map<const Descriptor*, uint16_t> index;
  std::vector<const Descriptor*> order = {request};
  index[request] = 0;
  for (size_t i = 0; i < order.size(); ++i) {  // breadth first; messages grow as it goes
    const Descriptor* d = order[i];
    MessageRule rule;
    rule.name = d->full_name();
    rule.item = is_item(rule.name);
    rule.key_value = rule.name == "opentelemetry.proto.common.v1.KeyValue";
    for (int f = 0; f < d->field_count(); ++f) {
      const FieldDescriptor* field = d->field(f);
      const auto number = static_cast<size_t>(field->number());
      if (rule.fields.size() <= number) rule.fields.resize(number + 1);
      FieldRule& r = rule.fields[number];
      r.kind = kind_of(*field);
      r.name = field->name();
      r.packable = field->is_repeated() && field->is_packable();
      if (r.kind == FieldKind::kBytes) {
        if (r.name == "trace_id") r.id_bytes = 16;
        if (r.name == "span_id" || r.name == "parent_span_id") r.id_bytes = 8;
      }
      if (r.kind == FieldKind::kMessage) {
        const Descriptor* child = field->message_type();
        auto [it, added] = index.emplace(child, static_cast<uint16_t>(order.size()));
        if (added) order.push_back(child);
        r.message = it->second;
      }
    }
    for (FieldRule& r : rule.fields) set_actions(r);
    schema.messages.push_back(std::move(rule));
  }
  schema.tags.resize(schema.messages.size() * 128);
  for (size_t m = 0; m < schema.messages.size(); ++m) {
    for (uint32_t tag = 8; tag < 128; ++tag) {
      schema.tags[m * 128 + tag] = schema.entry(static_cast<uint16_t>(m), tag >> 3, tag & 7);
    }
    for (uint32_t tag = 0; tag < 8; ++tag) {  // field number 0, whatever the wire type
      schema.tags[m * 128 + tag] = static_cast<Entry>(FieldAction::kBadWire);
    }
  }
  return schema;
}

const FieldRule& unknown_rule() {
  static const FieldRule kRule = [] {
    FieldRule rule;
    set_actions(rule);
    return rule;
  }();
  return kRule;
}

}  // namespace

const FieldRule& Schema::rule(uint16_t message, uint64_t number) const {
  const auto& fields = messages[message].fields;
  return number < fields.size() ? fields[number] : unknown_rule();
}

Entry Schema::entry(uint16_t message, uint64_t number, uint32_t wire) const {
  const FieldRule& r = rule(message, number);
  FieldAction action = r.actions[wire & 7];
  uint16_t operand = 0;
  if (action == FieldAction::kId) operand = r.id_bytes;
  if (action == FieldAction::kMessage) {
    operand = r.message;
    if (messages[r.message].item) action = FieldAction::kItem;
    if (messages[r.message].key_value) action = FieldAction::kKeyValue;
  }
  return static_cast<Entry>(operand << 4 | static_cast<uint16_t>(action));
}

const Schema& Schema::of(Signal signal) {
  namespace collector = opentelemetry::proto::collector;
  static const Schema kTraces =
      build(collector::trace::v1::ExportTraceServiceRequest::descriptor());
  static const Schema kMetrics =
      build(collector::metrics::v1::ExportMetricsServiceRequest::descriptor());
  static const Schema kLogs = build(collector::logs::v1::ExportLogsServiceRequest::descriptor());
  switch (signal) {
    case Signal::kTraces:
      return kTraces;
    case Signal::kMetrics:
      return kMetrics;
    case Signal::kLogs:
      return kLogs;
  }
  return kTraces;
}

}  // namespace weft::pdata::wire
