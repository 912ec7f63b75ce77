#include "pdata/otlp_json.h"

#include <gtest/gtest.h>

#include <google/protobuf/util/message_differencer.h>

#include <string>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace weft::pdata {
namespace {

using google::protobuf::util::MessageDifferencer;
using opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest;
using opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest;
using opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;

// The ids of the OTLP/JSON example in the specification, and their bytes.
constexpr char kTraceIdHex[] = "5b8efff798038103d269b633813fc60c";
constexpr char kSpanIdHex[] = "eee19b7ec3c1b174";
constexpr char kParentIdHex[] = "eee19b7ec3c1b173";
constexpr std::string_view kTraceId(
    "\x5b\x8e\xff\xf7\x98\x03\x81\x03\xd2\x69\xb6\x33\x81\x3f\xc6\x0c", 16);
constexpr std::string_view kSpanId("\xee\xe1\x9b\x7e\xc3\xc1\xb1\x74", 8);
constexpr std::string_view kParentId("\xee\xe1\x9b\x7e\xc3\xc1\xb1\x73", 8);

template <class Request>
Request decode(Signal signal, const std::string& json) {
  auto t = telemetry_from_json(signal, json);
  EXPECT_TRUE(t.ok()) << t.status().message();
  Request request;
  if (t.ok()) {
    EXPECT_TRUE(request.ParseFromString(t->wire()));
  }
  return request;
}

std::string traces_json() {
  return std::string(R"({
  "resourceSpans": [{
    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
    "unknownResourceLevelKey": [1, 2, 3],
    "scopeSpans": [{
      "scope": {"name": "lib", "version": "1.0.0"},
      "spans": [{
        "traceId": ")") +
         kTraceIdHex +
         R"(",
        "spanId": ")" +
         kSpanIdHex +
         R"(",
        "parentSpanId": ")" +
         kParentIdHex +
         R"(",
        "name": "op",
        "kind": 2,
        "startTimeUnixNano": "1544712660000000001",
        "endTimeUnixNano": 1544712661000000003,
        "droppedAttributesCount": 4,
        "attributes": [
          {"key": "big", "value": {"intValue": "9007199254740993"}},
          {"key": "num", "value": {"intValue": 42}}
        ],
        "links": [{"traceId": "0102030405060708090a0b0c0d0e0f10", "spanId": "A1B2C3D4E5F60718"}],
        "status": {"code": 2, "message": "boom"},
        "someFutureField": {"nested": true}
      }]
    }]
  }]
})";
}

TEST(OtlpJsonTest, DecodesSpansWithHexIdsIntegerEnumsAndInt64s) {
  const auto request = decode<ExportTraceServiceRequest>(Signal::kTraces, traces_json());
  ASSERT_EQ(request.resource_spans_size(), 1);
  const auto& rs = request.resource_spans(0);
  EXPECT_EQ(rs.resource().attributes(0).key(), "service.name");
  EXPECT_EQ(rs.resource().attributes(0).value().string_value(), "svc");
  ASSERT_EQ(rs.scope_spans_size(), 1);
  EXPECT_EQ(rs.scope_spans(0).scope().name(), "lib");
  EXPECT_EQ(rs.scope_spans(0).scope().version(), "1.0.0");
  ASSERT_EQ(rs.scope_spans(0).spans_size(), 1);
  const auto& span = rs.scope_spans(0).spans(0);
  EXPECT_EQ(span.trace_id(), kTraceId);
  EXPECT_EQ(span.span_id(), kSpanId);
  EXPECT_EQ(span.parent_span_id(), kParentId);
  EXPECT_EQ(span.name(), "op");
  EXPECT_EQ(span.kind(), opentelemetry::proto::trace::v1::Span::SPAN_KIND_SERVER);
  // int64/fixed64 as strings and as numbers, beyond the precision of a double.
  EXPECT_EQ(span.start_time_unix_nano(), 1544712660000000001ull);
  EXPECT_EQ(span.end_time_unix_nano(), 1544712661000000003ull);
  EXPECT_EQ(span.attributes(0).value().int_value(), 9007199254740993ll);
  EXPECT_EQ(span.attributes(1).value().int_value(), 42);
  EXPECT_EQ(span.dropped_attributes_count(), 4u);
  ASSERT_EQ(span.links_size(), 1);
  EXPECT_EQ(span.links(0).trace_id(),
            std::string("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10", 16));
  // Upper-case hex is accepted.
  EXPECT_EQ(span.links(0).span_id(), std::string("\xa1\xb2\xc3\xd4\xe5\xf6\x07\x18", 8));
  EXPECT_EQ(span.status().code(), opentelemetry::proto::trace::v1::Status::STATUS_CODE_ERROR);
  EXPECT_EQ(span.status().message(), "boom");
}

TEST(OtlpJsonTest, TelemetryFromJsonCountsItems) {
  auto t = telemetry_from_json(Signal::kTraces, traces_json());
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->signal(), Signal::kTraces);
  EXPECT_EQ(t->item_count(), 1u);
}

TEST(OtlpJsonTest, AcceptsSnakeCaseKeysToo) {
  const std::string json = std::string(R"({"resource_spans": [{"scope_spans": [{"spans": [{
      "trace_id": ")") + kTraceIdHex +
                           R"(", "span_id": ")" + kSpanIdHex + R"(",
      "start_time_unix_nano": "5"}]}]}]})";
  const auto request = decode<ExportTraceServiceRequest>(Signal::kTraces, json);
  ASSERT_EQ(request.resource_spans_size(), 1);
  const auto& span = request.resource_spans(0).scope_spans(0).spans(0);
  EXPECT_EQ(span.trace_id(), kTraceId);
  EXPECT_EQ(span.span_id(), kSpanId);
  EXPECT_EQ(span.start_time_unix_nano(), 5u);
}

TEST(OtlpJsonTest, DecodesLogRecords) {
  const std::string json = std::string(R"({"resourceLogs": [{"scopeLogs": [{"logRecords": [{
      "timeUnixNano": "1544712660300000000",
      "observedTimeUnixNano": 1544712660300000001,
      "severityNumber": 10,
      "severityText": "Information",
      "traceId": ")") + kTraceIdHex +
                           R"(",
      "spanId": ")" + kSpanIdHex +
                           R"(",
      "flags": 1,
      "body": {"stringValue": "Example log record"},
      "attributes": [{"key": "n", "value": {"intValue": "-7"}}],
      "whatever": "ignored"
    }]}]}]})";
  const auto request = decode<ExportLogsServiceRequest>(Signal::kLogs, json);
  ASSERT_EQ(request.resource_logs_size(), 1);
  const auto& record = request.resource_logs(0).scope_logs(0).log_records(0);
  EXPECT_EQ(record.time_unix_nano(), 1544712660300000000ull);
  EXPECT_EQ(record.observed_time_unix_nano(), 1544712660300000001ull);
  EXPECT_EQ(record.severity_number(), opentelemetry::proto::logs::v1::SEVERITY_NUMBER_INFO2);
  EXPECT_EQ(record.severity_text(), "Information");
  EXPECT_EQ(record.trace_id(), kTraceId);
  EXPECT_EQ(record.span_id(), kSpanId);
  EXPECT_EQ(record.flags(), 1u);
  EXPECT_EQ(record.body().string_value(), "Example log record");
  EXPECT_EQ(record.attributes(0).value().int_value(), -7);
}

TEST(OtlpJsonTest, DecodesMetricsWithExemplarIds) {
  const std::string json = std::string(R"({"resourceMetrics": [{"scopeMetrics": [{"metrics": [
      {"name": "requests", "sum": {
         "aggregationTemporality": 2, "isMonotonic": true,
         "dataPoints": [
           {"asInt": "9007199254740993", "timeUnixNano": "10",
            "exemplars": [{"asDouble": 1.5, "traceId": ")") +
                           kTraceIdHex + R"(", "spanId": ")" + kSpanIdHex + R"("}]},
           {"asInt": -3, "timeUnixNano": 11}
         ]}},
      {"name": "latency", "histogram": {"aggregationTemporality": 1, "dataPoints": [
           {"count": "3", "bucketCounts": ["1", 2], "explicitBounds": [10],
            "exemplars": [{"asInt": "5", "traceId": "0102030405060708090a0b0c0d0e0f10",
                           "spanId": "0102030405060708"}]}]}}
    ]}]}]})";
  auto t = telemetry_from_json(Signal::kMetrics, json);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->item_count(), 3u);
  ExportMetricsServiceRequest request;
  ASSERT_TRUE(request.ParseFromString(t->wire()));
  const auto& metrics = request.resource_metrics(0).scope_metrics(0).metrics();
  ASSERT_EQ(metrics.size(), 2);
  const auto& sum = metrics[0].sum();
  EXPECT_EQ(sum.aggregation_temporality(),
            opentelemetry::proto::metrics::v1::AGGREGATION_TEMPORALITY_CUMULATIVE);
  EXPECT_TRUE(sum.is_monotonic());
  EXPECT_EQ(sum.data_points(0).as_int(), 9007199254740993ll);
  EXPECT_EQ(sum.data_points(0).time_unix_nano(), 10u);
  EXPECT_EQ(sum.data_points(0).exemplars(0).trace_id(), kTraceId);
  EXPECT_EQ(sum.data_points(0).exemplars(0).span_id(), kSpanId);
  EXPECT_EQ(sum.data_points(1).as_int(), -3);
  const auto& hist = metrics[1].histogram();
  EXPECT_EQ(hist.aggregation_temporality(),
            opentelemetry::proto::metrics::v1::AGGREGATION_TEMPORALITY_DELTA);
  EXPECT_EQ(hist.data_points(0).count(), 3u);
  ASSERT_EQ(hist.data_points(0).bucket_counts_size(), 2);
  EXPECT_EQ(hist.data_points(0).bucket_counts(1), 2u);
  EXPECT_EQ(hist.data_points(0).exemplars(0).as_int(), 5);
  EXPECT_EQ(hist.data_points(0).exemplars(0).span_id(),
            std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
}

ExportTraceServiceRequest sample_traces() {
  ExportTraceServiceRequest request;
  auto* rs = request.add_resource_spans();
  auto* attr = rs->mutable_resource()->add_attributes();
  attr->set_key("service.name");
  attr->mutable_value()->set_string_value("svc");
  auto* span = rs->add_scope_spans()->add_spans();
  span->set_trace_id(std::string(kTraceId));
  span->set_span_id(std::string(kSpanId));
  span->set_parent_span_id(std::string(kParentId));
  span->set_name("op");
  span->set_kind(opentelemetry::proto::trace::v1::Span::SPAN_KIND_CLIENT);
  span->set_start_time_unix_nano(1544712660000000001ull);
  span->mutable_status()->set_code(opentelemetry::proto::trace::v1::Status::STATUS_CODE_OK);
  auto* big = span->add_attributes();
  big->set_key("big");
  big->mutable_value()->set_int_value(-9007199254740993ll);
  auto* link = span->add_links();
  link->set_trace_id(std::string(16, '\xab'));
  link->set_span_id(std::string(8, '\xcd'));
  return request;
}

TEST(OtlpJsonTest, WritesHexIdsIntEnumsInt64StringsAndCamelCaseKeys) {
  auto t = Telemetry::from_wire(Signal::kTraces, sample_traces().SerializeAsString());
  ASSERT_TRUE(t.ok());
  auto json = telemetry_to_json(t.value());
  ASSERT_TRUE(json.ok()) << json.status().message();
  const std::string& out = json.value();
  EXPECT_NE(out.find(std::string("\"traceId\":\"") + kTraceIdHex + "\""), std::string::npos) << out;
  EXPECT_NE(out.find(std::string("\"spanId\":\"") + kSpanIdHex + "\""), std::string::npos) << out;
  EXPECT_NE(out.find(std::string("\"parentSpanId\":\"") + kParentIdHex + "\""), std::string::npos)
      << out;
  // Lower-case hex for the link ids.
  EXPECT_NE(out.find("\"traceId\":\"abababababababababababababababab\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"spanId\":\"cdcdcdcdcdcdcdcd\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"kind\":3"), std::string::npos) << out;
  EXPECT_NE(out.find("\"code\":1"), std::string::npos) << out;
  EXPECT_NE(out.find("\"startTimeUnixNano\":\"1544712660000000001\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"intValue\":\"-9007199254740993\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"resourceSpans\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"scopeSpans\""), std::string::npos) << out;
  EXPECT_EQ(out.find("trace_id"), std::string::npos) << out;
  EXPECT_EQ(out.find("SPAN_KIND"), std::string::npos) << out;
  EXPECT_EQ(out.find("STATUS_CODE"), std::string::npos) << out;
}

TEST(OtlpJsonTest, WritesLogAndExemplarIdsAsHex) {
  ExportLogsServiceRequest logs;
  auto* record = logs.add_resource_logs()->add_scope_logs()->add_log_records();
  record->set_trace_id(std::string(kTraceId));
  record->set_span_id(std::string(kSpanId));
  record->set_severity_number(opentelemetry::proto::logs::v1::SEVERITY_NUMBER_WARN);
  auto tl = Telemetry::from_wire(Signal::kLogs, logs.SerializeAsString());
  ASSERT_TRUE(tl.ok());
  auto json = telemetry_to_json(tl.value());
  ASSERT_TRUE(json.ok());
  EXPECT_NE(json->find(std::string("\"traceId\":\"") + kTraceIdHex + "\""), std::string::npos)
      << json.value();
  EXPECT_NE(json->find(std::string("\"spanId\":\"") + kSpanIdHex + "\""), std::string::npos)
      << json.value();
  EXPECT_NE(json->find("\"severityNumber\":13"), std::string::npos) << json.value();

  ExportMetricsServiceRequest metrics;
  auto* point = metrics.add_resource_metrics()
                    ->add_scope_metrics()
                    ->add_metrics()
                    ->mutable_gauge()
                    ->add_data_points();
  point->set_as_int(7);
  auto* exemplar = point->add_exemplars();
  exemplar->set_trace_id(std::string(kTraceId));
  exemplar->set_span_id(std::string(kSpanId));
  auto tm = Telemetry::from_wire(Signal::kMetrics, metrics.SerializeAsString());
  ASSERT_TRUE(tm.ok());
  auto mjson = telemetry_to_json(tm.value());
  ASSERT_TRUE(mjson.ok());
  EXPECT_NE(mjson->find(std::string("\"traceId\":\"") + kTraceIdHex + "\""), std::string::npos)
      << mjson.value();
  EXPECT_NE(mjson->find(std::string("\"spanId\":\"") + kSpanIdHex + "\""), std::string::npos)
      << mjson.value();
  EXPECT_NE(mjson->find("\"asInt\":\"7\""), std::string::npos) << mjson.value();
}

TEST(OtlpJsonTest, ToJsonLeavesTheTelemetryUnchanged) {
  const std::string wire = sample_traces().SerializeAsString();
  auto t = Telemetry::from_wire(Signal::kTraces, wire);
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(telemetry_to_json(t.value()).ok());
  EXPECT_EQ(t->wire(), wire);
  const auto& request = dynamic_cast<const ExportTraceServiceRequest&>(t->message());
  EXPECT_EQ(request.resource_spans(0).scope_spans(0).spans(0).trace_id(), kTraceId);
}

TEST(OtlpJsonTest, RoundTripsEverySignal) {
  ExportMetricsServiceRequest metrics;
  auto* m = metrics.add_resource_metrics()->add_scope_metrics()->add_metrics();
  m->set_name("m");
  auto* p = m->mutable_exponential_histogram()->add_data_points();
  p->set_count(UINT64_MAX);
  p->set_scale(-2);
  p->mutable_positive()->add_bucket_counts(1ull << 60);
  auto* ex = p->add_exemplars();
  ex->set_trace_id(std::string(16, '\x00'));  // all-zero ids stay ids
  ex->set_span_id(std::string(8, '\xff'));
  ExportLogsServiceRequest logs;
  auto* record = logs.add_resource_logs()->add_scope_logs()->add_log_records();
  record->set_trace_id(std::string(kTraceId));
  record->set_span_id(std::string(kSpanId));
  record->mutable_body()->set_bytes_value(std::string("\x00\x01\xfe", 3));  // bytes stay base64
  record->set_time_unix_nano(UINT64_MAX);

  const std::pair<Signal, std::string> cases[] = {
      {Signal::kTraces, sample_traces().SerializeAsString()},
      {Signal::kMetrics, metrics.SerializeAsString()},
      {Signal::kLogs, logs.SerializeAsString()},
  };
  for (const auto& [signal, wire] : cases) {
    auto original = Telemetry::from_wire(signal, wire);
    ASSERT_TRUE(original.ok());
    auto json = telemetry_to_json(original.value());
    ASSERT_TRUE(json.ok()) << json.status().message();
    auto back = telemetry_from_json(signal, json.value());
    ASSERT_TRUE(back.ok()) << back.status().message() << "\n" << json.value();
    EXPECT_TRUE(MessageDifferencer::Equals(back->message(), original->message()))
        << signal_name(signal) << "\n"
        << json.value();
    EXPECT_EQ(back->item_count(), original->item_count());
    // And JSON -> JSON is stable.
    auto again = telemetry_to_json(back.value());
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again.value(), json.value());
  }
}

TEST(OtlpJsonTest, MessageJsonRoundTripForAnyMessage) {
  opentelemetry::proto::trace::v1::Span span;
  span.set_trace_id(std::string(kTraceId));
  span.set_name("alone");
  auto json = message_to_json(span);
  ASSERT_TRUE(json.ok());
  EXPECT_NE(json->find(kTraceIdHex), std::string::npos) << json.value();
  opentelemetry::proto::trace::v1::Span back;
  ASSERT_TRUE(message_from_json(json.value(), back).is_ok());
  EXPECT_TRUE(MessageDifferencer::Equals(back, span));
}

TEST(OtlpJsonTest, InvalidHexIdIsAnError) {
  const std::string bad_ids[] = {
      "zz8efff798038103d269b633813fc60c",  // base64 letters, not hex
      "5b8efff798038103d269b633813fc60",   // odd length
      "5b8e-ff798038103d269b633813fc60c",  // not even base64
      "5b8efff798038103d269b633813fc6",    // 30 digits: not a whole number of base64 quads
  };
  for (const auto& id : bad_ids) {
    const std::string json = R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":")" + id +
                             R"(","name":"x"}]}]}]})";
    auto t = telemetry_from_json(Signal::kTraces, json);
    ASSERT_FALSE(t.ok()) << id;
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  }
  // The message names the id field.
  const std::string in_link = R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"links":[{
      "spanId":"ghijklmnopqrstuv"}]}]}]}]})";
  auto t = telemetry_from_json(Signal::kTraces, in_link);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("spanId"), std::string::npos) << t.status().message();

  const std::string in_log = R"({"resourceLogs":[{"scopeLogs":[{"logRecords":[{
      "traceId":"not a hex id"}]}]}]})";
  EXPECT_FALSE(telemetry_from_json(Signal::kLogs, in_log).ok());
}

TEST(OtlpJsonTest, IdOfTheWrongLengthIsAnError) {
  const std::string json = R"({"resourceSpans":[{"scopeSpans":[{"spans":[{
      "traceId":"5b8efff7","spanId":"eee19b7ec3c1b174eee19b7e"}]}]}]})";
  EXPECT_FALSE(telemetry_from_json(Signal::kTraces, json).ok());
}

TEST(OtlpJsonTest, MalformedJsonIsAnError) {
  const char* bad[] = {
      "",
      "not json",
      R"({"resourceSpans": [)",
      R"({"resourceSpans": 5})",
      R"({"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": "soon"}]}]}]})",
  };
  for (const char* json : bad) {
    auto t = telemetry_from_json(Signal::kTraces, json);
    ASSERT_FALSE(t.ok()) << json;
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument) << json;
  }
}

TEST(OtlpJsonTest, EmptyObjectIsAnEmptyRequest) {
  for (Signal signal : kAllSignals) {
    auto t = telemetry_from_json(signal, "{}");
    ASSERT_TRUE(t.ok()) << signal_name(signal);
    EXPECT_EQ(t->item_count(), 0u);
    EXPECT_TRUE(t->wire().empty());
  }
}

}  // namespace
}  // namespace weft::pdata
