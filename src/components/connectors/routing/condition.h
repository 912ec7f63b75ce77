#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "opentelemetry/proto/common/v1/common.pb.h"
#include "weft/client.h"
#include "weft/result.h"

// The part of OTTL that routing conditions use (docs/configuration.md, "routing"):
//
//   condition  := or
//   or         := and ("or" and)*
//   and        := unary ("and" unary)*
//   unary      := "not" unary | "(" condition ")" | "true" | "false"
//               | IsMatch(value, "regex") | value op value
//   op         := == != < <= > >=
//   value      := path | "string" | number | true | false | nil | SEVERITY_NUMBER_<LEVEL>
//   path       := attributes["k"] | resource.attributes["k"] | request["k"] | name
//               | metric.name | severity_number | severity_text
//
// Which paths a condition may use depends on its context (resource, request, span, log,
// metric, datapoint), as in the Go collector's routing connector; anything else is refused
// when the configuration loads, with what was expected.
namespace weft::connectors::routing {

enum class Context { kResource, kRequest, kSpan, kLog, kMetric, kDataPoint };

std::optional<Context> parse_context(std::string_view name);

using Attributes = google::protobuf::RepeatedPtrField<opentelemetry::proto::common::v1::KeyValue>;

// What a condition can read of one item (or resource, or request).
struct Subject {
  const Attributes* resource = nullptr;
  const Attributes* attributes = nullptr;  // the item's: span, log record, data point
  std::string_view name;                   // a span's or a metric's
  std::string_view metric_name;            // a data point's metric
  int64_t severity_number = 0;
  std::string_view severity_text;
  const ClientInfo* client = nullptr;
};

class Condition {
 public:
  struct Node;
  // `text` is a condition, or with `statement` a statement "route() where <condition>".
  static Result<Condition> parse(std::string_view text, Context context, bool statement = false);
  [[nodiscard]] bool matches(const Subject& subject) const;
  [[nodiscard]] Context context() const { return context_; }

 private:
  Context context_ = Context::kResource;
  std::shared_ptr<const Node> root_;
};

}  // namespace weft::connectors::routing
