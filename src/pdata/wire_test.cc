#include "pdata/wire.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace weft::pdata::wire {
namespace {

using opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest;
using opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest;
using opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;
using opentelemetry::proto::metrics::v1::Metric;

// One item with the identity of the resource and scope it sits under.
struct FlatItem {
  std::string resource;
  std::string scope;
  std::string item;
  bool operator==(const FlatItem&) const = default;
};

template <class ResourceEntry>
std::string resource_key(const ResourceEntry& entry) {
  return entry.resource().SerializeAsString() + "|" + entry.schema_url();
}

template <class ScopeEntry>
std::string scope_key(const ScopeEntry& entry) {
  return entry.scope().SerializeAsString() + "|" + entry.schema_url();
}

std::vector<FlatItem> flatten(const ExportTraceServiceRequest& request) {
  std::vector<FlatItem> out;
  for (const auto& rs : request.resource_spans()) {
    for (const auto& ss : rs.scope_spans()) {
      for (const auto& span : ss.spans()) {
        out.push_back({resource_key(rs), scope_key(ss), span.SerializeAsString()});
      }
    }
  }
  return out;
}

std::vector<FlatItem> flatten(const ExportMetricsServiceRequest& request) {
  std::vector<FlatItem> out;
  for (const auto& rm : request.resource_metrics()) {
    for (const auto& sm : rm.scope_metrics()) {
      for (const auto& metric : sm.metrics()) {
        out.push_back({resource_key(rm), scope_key(sm), metric.SerializeAsString()});
      }
    }
  }
  return out;
}

std::vector<FlatItem> flatten(const ExportLogsServiceRequest& request) {
  std::vector<FlatItem> out;
  for (const auto& rl : request.resource_logs()) {
    for (const auto& sl : rl.scope_logs()) {
      for (const auto& record : sl.log_records()) {
        out.push_back({resource_key(rl), scope_key(sl), record.SerializeAsString()});
      }
    }
  }
  return out;
}

// Parses every chunk and concatenates their items in order.
template <class Request>
std::vector<FlatItem> flatten_chunks(const std::vector<std::string>& chunks) {
  std::vector<FlatItem> out;
  for (const auto& chunk : chunks) {
    Request request;
    EXPECT_TRUE(request.ParseFromString(chunk));
    auto items = flatten(request);
    out.insert(out.end(), items.begin(), items.end());
  }
  return out;
}

void set_service(opentelemetry::proto::resource::v1::Resource* resource, const std::string& name) {
  auto* attr = resource->add_attributes();
  attr->set_key("service.name");
  attr->mutable_value()->set_string_value(name);
}

// resources x scopes x spans, each span named "r<i>/s<j>/span<k>".
ExportTraceServiceRequest make_traces(int resources, int scopes, int spans) {
  ExportTraceServiceRequest request;
  for (int r = 0; r < resources; ++r) {
    auto* rs = request.add_resource_spans();
    set_service(rs->mutable_resource(), "svc-" + std::to_string(r));
    rs->set_schema_url("https://example.com/resource/" + std::to_string(r));
    for (int s = 0; s < scopes; ++s) {
      auto* ss = rs->add_scope_spans();
      ss->mutable_scope()->set_name("scope-" + std::to_string(r) + "-" + std::to_string(s));
      ss->mutable_scope()->set_version("1." + std::to_string(s));
      ss->set_schema_url("https://example.com/scope/" + std::to_string(s));
      for (int k = 0; k < spans; ++k) {
        auto* span = ss->add_spans();
        span->set_name("r" + std::to_string(r) + "/s" + std::to_string(s) + "/span" +
                       std::to_string(k));
        span->set_trace_id(std::string(16, static_cast<char>(k + 1)));
        span->set_span_id(std::string(8, static_cast<char>(k + 1)));
        span->set_start_time_unix_nano(1000 + k);
      }
    }
  }
  return request;
}

ExportLogsServiceRequest make_logs(int resources, int scopes, int records) {
  ExportLogsServiceRequest request;
  for (int r = 0; r < resources; ++r) {
    auto* rl = request.add_resource_logs();
    set_service(rl->mutable_resource(), "svc-" + std::to_string(r));
    for (int s = 0; s < scopes; ++s) {
      auto* sl = rl->add_scope_logs();
      sl->mutable_scope()->set_name("scope-" + std::to_string(r) + "-" + std::to_string(s));
      for (int k = 0; k < records; ++k) {
        auto* record = sl->add_log_records();
        record->mutable_body()->set_string_value("r" + std::to_string(r) + "/s" +
                                                 std::to_string(s) + "/log" + std::to_string(k));
        record->set_severity_number(opentelemetry::proto::logs::v1::SEVERITY_NUMBER_INFO);
      }
    }
  }
  return request;
}

// A metric of the given kind with `points` data points.
void fill_metric(Metric* metric, const std::string& kind, int points) {
  metric->set_name(kind + "-" + std::to_string(points));
  for (int i = 0; i < points; ++i) {
    if (kind == "gauge") {
      metric->mutable_gauge()->add_data_points()->set_as_int(i);
    } else if (kind == "sum") {
      metric->mutable_sum()->add_data_points()->set_as_double(i + 0.5);
    } else if (kind == "histogram") {
      auto* point = metric->mutable_histogram()->add_data_points();
      point->set_count(3);
      point->add_bucket_counts(1);
      point->add_bucket_counts(2);
      point->add_explicit_bounds(10.0);
    } else if (kind == "exponential_histogram") {
      auto* point = metric->mutable_exponential_histogram()->add_data_points();
      point->set_count(2);
      point->set_scale(3);
      point->mutable_positive()->add_bucket_counts(2);
    } else if (kind == "summary") {
      auto* point = metric->mutable_summary()->add_data_points();
      point->set_count(4);
      auto* q = point->add_quantile_values();
      q->set_quantile(0.5);
      q->set_value(1.0);
    }
  }
  // Touch the data field even with no points, so an empty data message is on the wire.
  if (points == 0 && kind == "gauge") metric->mutable_gauge();
}

// 2 + 3 + 1 + 4 + 2 = 12 data points over five metrics of every kind.
ExportMetricsServiceRequest make_mixed_metrics() {
  ExportMetricsServiceRequest request;
  auto* rm = request.add_resource_metrics();
  set_service(rm->mutable_resource(), "svc");
  auto* sm = rm->add_scope_metrics();
  sm->mutable_scope()->set_name("meter");
  fill_metric(sm->add_metrics(), "gauge", 2);
  fill_metric(sm->add_metrics(), "sum", 3);
  fill_metric(sm->add_metrics(), "histogram", 1);
  fill_metric(sm->add_metrics(), "exponential_histogram", 4);
  fill_metric(sm->add_metrics(), "summary", 2);
  return request;
}

size_t count_ok(Signal signal, std::string_view request) {
  auto count = count_items(signal, request);
  EXPECT_TRUE(count.ok()) << count.status().message();
  return count.ok() ? count.value() : SIZE_MAX;
}

TEST(WireReaderTest, ReadsEveryWireType) {
  std::string message;
  append_varint(message, (1 << 3) | 0);  // field 1, varint 300
  append_varint(message, 300);
  message.push_back(static_cast<char>((2 << 3) | 1));  // field 2, fixed64
  message.append(8, '\x01');
  message.push_back(static_cast<char>((3 << 3) | 5));  // field 3, fixed32
  message.append(4, '\x02');
  append_len_field(message, 4, "payload");

  Reader reader(message);
  Field field;
  ASSERT_TRUE(reader.next(field));
  EXPECT_EQ(field.number, 1u);
  EXPECT_EQ(field.type, WireType::kVarint);
  EXPECT_EQ(field.varint, 300u);
  EXPECT_EQ(field.raw.size(), 3u);  // tag + two varint bytes
  ASSERT_TRUE(reader.next(field));
  EXPECT_EQ(field.number, 2u);
  EXPECT_EQ(field.type, WireType::kFixed64);
  EXPECT_EQ(field.raw.size(), 9u);
  ASSERT_TRUE(reader.next(field));
  EXPECT_EQ(field.number, 3u);
  EXPECT_EQ(field.type, WireType::kFixed32);
  EXPECT_EQ(field.raw.size(), 5u);
  ASSERT_TRUE(reader.next(field));
  EXPECT_EQ(field.number, 4u);
  EXPECT_EQ(field.type, WireType::kLen);
  EXPECT_EQ(field.bytes, "payload");
  EXPECT_FALSE(reader.next(field));
  EXPECT_FALSE(reader.failed());
}

TEST(WireReaderTest, AppendVarintMatchesProtobuf) {
  for (uint64_t value : std::vector<uint64_t>{0, 1, 127, 128, 300, 16384, UINT64_MAX}) {
    std::string out;
    append_varint(out, value);
    opentelemetry::proto::trace::v1::Span span;
    span.set_dropped_attributes_count(static_cast<uint32_t>(value));  // varint field 10
    if (value <= UINT32_MAX && value != 0) {
      EXPECT_EQ(span.SerializeAsString(), "\x50" + out) << value;
    }
    const std::string field_one = "\x08" + out;  // the Reader views it: keep it alive
    Reader reader(field_one);
    Field field;
    ASSERT_TRUE(reader.next(field)) << value;
    EXPECT_EQ(field.varint, value);
  }
}

TEST(CountItemsTest, EmptyRequestHasNoItems) {
  for (Signal signal : kAllSignals) EXPECT_EQ(count_ok(signal, ""), 0u);
}

TEST(CountItemsTest, CountsSpansAcrossResourcesAndScopes) {
  EXPECT_EQ(count_ok(Signal::kTraces, make_traces(1, 1, 1).SerializeAsString()), 1u);
  EXPECT_EQ(count_ok(Signal::kTraces, make_traces(3, 2, 5).SerializeAsString()), 30u);
  // Resource and scope entries without items count nothing.
  EXPECT_EQ(count_ok(Signal::kTraces, make_traces(2, 3, 0).SerializeAsString()), 0u);
}

TEST(CountItemsTest, CountsLogRecords) {
  EXPECT_EQ(count_ok(Signal::kLogs, make_logs(2, 2, 3).SerializeAsString()), 12u);
}

TEST(CountItemsTest, CountsMetricDataPointsOfEveryKind) {
  for (const char* kind : {"gauge", "sum", "histogram", "exponential_histogram", "summary"}) {
    ExportMetricsServiceRequest request;
    auto* sm = request.add_resource_metrics()->add_scope_metrics();
    fill_metric(sm->add_metrics(), kind, 3);
    EXPECT_EQ(count_ok(Signal::kMetrics, request.SerializeAsString()), 3u) << kind;
  }
  EXPECT_EQ(count_ok(Signal::kMetrics, make_mixed_metrics().SerializeAsString()), 12u);
}

TEST(CountItemsTest, MetricWithoutDataPointsCountsZero) {
  ExportMetricsServiceRequest request;
  auto* sm = request.add_resource_metrics()->add_scope_metrics();
  sm->add_metrics()->set_name("no data at all");
  fill_metric(sm->add_metrics(), "gauge", 0);
  fill_metric(sm->add_metrics(), "sum", 2);
  EXPECT_EQ(count_ok(Signal::kMetrics, request.SerializeAsString()), 2u);
}

TEST(CountItemsTest, UnknownFieldsAreSkipped) {
  std::string request = make_traces(1, 1, 2).SerializeAsString();
  std::string with_unknown;
  append_varint(with_unknown, (99 << 3) | 0);
  append_varint(with_unknown, 7);
  append_len_field(with_unknown, 98, "opaque");
  with_unknown += request;
  EXPECT_EQ(count_ok(Signal::kTraces, with_unknown), 2u);
}

TEST(CountItemsTest, ConcatenatedRequestsCountTheSum) {
  const std::string a = make_traces(2, 1, 3).SerializeAsString();
  const std::string b = make_traces(1, 2, 2).SerializeAsString();
  EXPECT_EQ(count_ok(Signal::kTraces, a + b), 6u + 4u);

  // Concatenation on the wire is a protobuf merge: the resource entries add up.
  ExportTraceServiceRequest merged;
  ASSERT_TRUE(merged.ParseFromString(a + b));
  EXPECT_EQ(merged.resource_spans_size(), 3);

  const std::string m1 = make_mixed_metrics().SerializeAsString();
  EXPECT_EQ(count_ok(Signal::kMetrics, m1 + m1), 24u);
  const std::string l1 = make_logs(1, 1, 4).SerializeAsString();
  const std::string l2 = make_logs(2, 1, 1).SerializeAsString();
  EXPECT_EQ(count_ok(Signal::kLogs, l1 + l2), 6u);
}

TEST(CountItemsTest, TextIsNotARequest) {
  EXPECT_FALSE(count_items(Signal::kTraces, "hello world").ok());
  EXPECT_FALSE(count_items(Signal::kLogs, "{\"resourceLogs\": []}").ok());
}

TEST(CountItemsTest, RandomBytesAreRejected) {
  for (uint32_t seed = 1; seed <= 200; ++seed) {
    std::mt19937 rng(seed);
    std::string bytes(256, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() & 0xff);
    for (Signal signal : kAllSignals) {
      auto count = count_items(signal, bytes);
      EXPECT_FALSE(count.ok()) << "seed " << seed << " signal " << signal_name(signal);
      if (!count.ok()) EXPECT_EQ(count.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST(CountItemsTest, TruncatedRequestIsRejected) {
  // One resource entry, so every strict prefix cuts it short.
  const std::string request = make_traces(1, 2, 2).SerializeAsString();
  for (size_t len = 1; len < request.size(); ++len) {
    EXPECT_FALSE(count_items(Signal::kTraces, request.substr(0, len)).ok()) << len;
  }
  // A length that claims more bytes than there are.
  std::string lying;
  append_varint(lying, (1 << 3) | 2);
  append_varint(lying, 1000);
  lying += "short";
  EXPECT_FALSE(count_items(Signal::kTraces, lying).ok());
  // A varint that never ends.
  EXPECT_FALSE(count_items(Signal::kTraces, std::string("\x08\xff\xff", 3)).ok());
}

TEST(CountItemsTest, GroupWireTypesAreRejected) {
  // Top level: field 1 as start-group (3) and end-group (4).
  EXPECT_FALSE(count_items(Signal::kTraces, std::string("\x0b\x0c", 2)).ok());
  EXPECT_FALSE(count_items(Signal::kTraces, std::string("\x0c", 1)).ok());
  // Inside a scope entry, next to a valid span.
  std::string scope;
  append_len_field(
      scope, 2, make_traces(1, 1, 1).resource_spans(0).scope_spans(0).spans(0).SerializeAsString());
  scope += std::string("\x1b\x1c", 2);  // field 3, start + end group
  std::string resource, request;
  append_len_field(resource, 2, scope);
  append_len_field(request, 1, resource);
  EXPECT_FALSE(count_items(Signal::kTraces, request).ok());
  // Inside a span.
  std::string span = std::string("\x2b\x2c", 2);  // field 5 as a group
  scope.clear();
  resource.clear();
  request.clear();
  append_len_field(scope, 2, span);
  append_len_field(resource, 2, scope);
  append_len_field(request, 1, resource);
  EXPECT_FALSE(count_items(Signal::kTraces, request).ok());
  // Wire types 6 and 7 do not exist.
  EXPECT_FALSE(count_items(Signal::kLogs, std::string("\x0e", 1)).ok());
  EXPECT_FALSE(count_items(Signal::kLogs, std::string("\x0f", 1)).ok());
}

TEST(CountItemsTest, EntriesThatAreNotLengthDelimitedAreRejected) {
  // resource_spans as a varint.
  EXPECT_FALSE(count_items(Signal::kTraces, std::string("\x08\x01", 2)).ok());
  // scope_spans as a varint inside a resource entry.
  std::string request;
  append_len_field(request, 1, std::string("\x10\x01", 2));
  EXPECT_FALSE(count_items(Signal::kTraces, request).ok());
  // A malformed data message inside a metric.
  std::string metric, scope, resource;
  append_len_field(metric, 5, std::string("\x0a\x09", 2));  // gauge: a point cut short
  append_len_field(scope, 2, metric);
  append_len_field(resource, 2, scope);
  request.clear();
  append_len_field(request, 1, resource);
  EXPECT_FALSE(count_items(Signal::kMetrics, request).ok());
}

// One span's bytes (as given) in a traces request.
std::string request_with_span(const std::string& span) {
  std::string scope, resource, request;
  append_len_field(scope, 2, span);
  append_len_field(resource, 2, scope);
  append_len_field(request, 1, resource);
  return request;
}

std::string schema_error(Signal signal, std::string_view request) {
  auto count = count_items(signal, request);
  return count.ok() ? std::string("accepted") : count.status().message();
}

TEST(SchemaTest, FieldsWithTheWrongWireTypeAreRejectedWithTheirPath) {
  std::string span;
  append_varint(span, (5 << 3) | 0);  // name (a string) as a varint
  append_varint(span, 7);
  EXPECT_EQ(schema_error(Signal::kTraces, request_with_span(span)),
            "malformed protobuf payload: resource_spans.scope_spans.spans.name: wire type varint "
            "where the schema has a string");
  span.clear();
  append_len_field(span, 7, "x");  // start_time_unix_nano (fixed64) as bytes
  EXPECT_NE(schema_error(Signal::kTraces, request_with_span(span)).find("start_time_unix_nano"),
            std::string::npos);
  span.clear();
  append_varint(span, (9 << 3) | 1);  // attributes (a message) as fixed64
  span += std::string(8, '\0');
  EXPECT_NE(schema_error(Signal::kTraces, request_with_span(span)).find("attributes: wire type"),
            std::string::npos);
}

// Found by fuzz_wire (fuzz/regressions/fuzz_wire): a tag of field number 0 is not protobuf,
// whatever its wire type.
TEST(SchemaTest, FieldNumberZeroIsRejectedWithEveryWireType) {
  for (uint64_t wire : {0, 1, 2, 5}) {
    std::string span;
    append_varint(span, wire);  // field 0
    span += std::string(8, '\0');
    EXPECT_NE(schema_error(Signal::kTraces, request_with_span(span))
                  .find("resource_spans.scope_spans.spans.a field that is not protobuf"),
              std::string::npos)
        << "wire type " << wire;
  }
}

TEST(SchemaTest, StringsMustBeUtf8AndIdsHaveTheirLength) {
  std::string span;
  append_len_field(span, 5, "caf\xc3");  // a name cut inside a character
  EXPECT_NE(schema_error(Signal::kTraces, request_with_span(span))
                .find("spans.name: a string "
                      "that is not valid UTF-8"),
            std::string::npos);
  for (const char* bad : {"\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80", "\xff"}) {
    EXPECT_FALSE(valid_utf8(bad)) << bad;
  }
  EXPECT_TRUE(valid_utf8("plain ascii, longer than eight bytes"));
  EXPECT_TRUE(valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  span.clear();
  append_len_field(span, 1, "12345");  // trace_id
  EXPECT_NE(schema_error(Signal::kTraces, request_with_span(span))
                .find("spans.trace_id: 5 bytes; an id has 16 (or none)"),
            std::string::npos);
  span.clear();
  append_len_field(span, 2, std::string(16, 'a'));  // span_id
  EXPECT_NE(schema_error(Signal::kTraces, request_with_span(span)).find("span_id: 16 bytes"),
            std::string::npos);
  span.clear();
  append_len_field(span, 1, "");  // an empty id is no id
  append_len_field(span, 2, std::string(8, 'a'));
  EXPECT_EQ(count_ok(Signal::kTraces, request_with_span(span)), 1u);
}

// What a plugin could hand back as a "replacement": a request of another signal.
TEST(SchemaTest, ARequestOfAnotherSignalIsRejected) {
  auto logs = make_logs(1, 1, 2);
  logs.mutable_resource_logs(0)->mutable_scope_logs(0)->mutable_log_records(0)->set_time_unix_nano(
      42);
  EXPECT_FALSE(count_items(Signal::kTraces, logs.SerializeAsString()).ok());
  EXPECT_FALSE(count_items(Signal::kTraces, make_mixed_metrics().SerializeAsString()).ok());
  EXPECT_FALSE(count_items(Signal::kLogs, make_traces(1, 1, 2).SerializeAsString()).ok());
  EXPECT_FALSE(count_items(Signal::kMetrics, make_traces(1, 1, 2).SerializeAsString()).ok());
}

TEST(SchemaTest, RepeatedNumbersArePackedOrNot) {
  auto request = make_mixed_metrics();  // protobuf packs bucket_counts and explicit_bounds
  EXPECT_EQ(count_ok(Signal::kMetrics, request.SerializeAsString()), 12u);
  std::string point;  // a histogram point with bucket_counts (6, fixed64) one field each
  for (int i = 0; i < 2; ++i) {
    append_varint(point, (6 << 3) | 1);
    point += std::string(8, '\1');
  }
  append_len_field(point, 6, std::string(7, '\1'));  // and a packed run that is not 8-byte
  std::string histogram, metric, scope, resource, bad;
  append_len_field(histogram, 1, point);
  append_len_field(metric, 9, histogram);
  append_len_field(scope, 2, metric);
  append_len_field(resource, 2, scope);
  append_len_field(bad, 1, resource);
  EXPECT_NE(schema_error(Signal::kMetrics, bad).find("bucket_counts: wire type length-delimited"),
            std::string::npos);
}

TEST(SchemaTest, NestingDeeperThanProtobufDecodesIsRejected) {
  std::string value;  // AnyValue{array_value{values[AnyValue{...}]}}, 200 deep
  append_len_field(value, 1, "leaf");
  for (int i = 0; i < 200; ++i) {
    std::string array, any;
    append_len_field(array, 1, value);
    append_len_field(any, 5, array);
    value = any;
  }
  std::string kv, span;
  append_len_field(kv, 1, "k");
  append_len_field(kv, 2, value);
  append_len_field(span, 9, kv);
  EXPECT_NE(schema_error(Signal::kTraces, request_with_span(span)).find("nested more than 100"),
            std::string::npos);
}

TEST(SplitTest, SmallRequestIsReturnedAsIs) {
  const std::string request = make_traces(2, 2, 2).SerializeAsString();
  EXPECT_EQ(split(Signal::kTraces, request, 8), std::vector<std::string>{request});
  EXPECT_EQ(split(Signal::kTraces, request, 100), std::vector<std::string>{request});
  // 0 means no limit.
  EXPECT_EQ(split(Signal::kTraces, request, 0), std::vector<std::string>{request});
}

TEST(SplitTest, TracesKeepEveryItemOnceWithItsResourceAndScope) {
  const ExportTraceServiceRequest request = make_traces(3, 2, 5);  // 30 spans
  const std::string wire = request.SerializeAsString();
  for (size_t max : {1u, 2u, 3u, 4u, 7u, 10u, 29u}) {
    auto chunks = split(Signal::kTraces, wire, max);
    ASSERT_EQ(chunks.size(), (30 + max - 1) / max) << max;
    size_t total = 0;
    for (size_t i = 0; i < chunks.size(); ++i) {
      const size_t n = count_ok(Signal::kTraces, chunks[i]);
      // Every chunk but the last is full.
      if (i + 1 < chunks.size()) EXPECT_EQ(n, max);
      EXPECT_LE(n, max);
      EXPECT_GT(n, 0u);
      total += n;
    }
    EXPECT_EQ(total, 30u);
    // Same items, same order, each under its own resource and scope.
    EXPECT_EQ(flatten_chunks<ExportTraceServiceRequest>(chunks), flatten(request)) << max;
  }
}

TEST(SplitTest, ConsecutiveItemsOfOneScopeShareOneScopeEntry) {
  const ExportTraceServiceRequest request = make_traces(1, 1, 10);
  auto chunks = split(Signal::kTraces, request.SerializeAsString(), 4);
  ASSERT_EQ(chunks.size(), 3u);
  const int expected[] = {4, 4, 2};
  for (size_t i = 0; i < chunks.size(); ++i) {
    ExportTraceServiceRequest chunk;
    ASSERT_TRUE(chunk.ParseFromString(chunks[i]));
    ASSERT_EQ(chunk.resource_spans_size(), 1);
    ASSERT_EQ(chunk.resource_spans(0).scope_spans_size(), 1);
    EXPECT_EQ(chunk.resource_spans(0).scope_spans(0).spans_size(), expected[i]);
    // Resource and scope headers are carried over whole.
    EXPECT_EQ(chunk.resource_spans(0).resource().SerializeAsString(),
              request.resource_spans(0).resource().SerializeAsString());
    EXPECT_EQ(chunk.resource_spans(0).schema_url(), request.resource_spans(0).schema_url());
    EXPECT_EQ(chunk.resource_spans(0).scope_spans(0).scope().name(), "scope-0-0");
    EXPECT_EQ(chunk.resource_spans(0).scope_spans(0).scope().version(), "1.0");
    EXPECT_EQ(chunk.resource_spans(0).scope_spans(0).schema_url(),
              request.resource_spans(0).scope_spans(0).schema_url());
  }

  // A chunk that spans two scopes of one resource has one resource entry and two scope entries.
  const ExportTraceServiceRequest two_scopes = make_traces(1, 2, 3);  // 6 spans
  chunks = split(Signal::kTraces, two_scopes.SerializeAsString(), 4);
  ASSERT_EQ(chunks.size(), 2u);
  ExportTraceServiceRequest first;
  ASSERT_TRUE(first.ParseFromString(chunks[0]));
  ASSERT_EQ(first.resource_spans_size(), 1);
  ASSERT_EQ(first.resource_spans(0).scope_spans_size(), 2);
  EXPECT_EQ(first.resource_spans(0).scope_spans(0).spans_size(), 3);
  EXPECT_EQ(first.resource_spans(0).scope_spans(1).spans_size(), 1);
  EXPECT_EQ(first.resource_spans(0).scope_spans(1).scope().name(), "scope-0-1");
}

TEST(SplitTest, LogsKeepEveryItemOnceWithItsResourceAndScope) {
  const ExportLogsServiceRequest request = make_logs(2, 3, 4);  // 24 records
  for (size_t max : {1u, 5u, 11u}) {
    auto chunks = split(Signal::kLogs, request.SerializeAsString(), max);
    size_t total = 0;
    for (const auto& chunk : chunks) {
      const size_t n = count_ok(Signal::kLogs, chunk);
      EXPECT_LE(n, max);
      total += n;
    }
    EXPECT_EQ(total, 24u);
    EXPECT_EQ(flatten_chunks<ExportLogsServiceRequest>(chunks), flatten(request)) << max;
  }
}

TEST(SplitTest, MetricsSplitBetweenMetricsByDataPoints) {
  const ExportMetricsServiceRequest request = make_mixed_metrics();  // 2, 3, 1, 4, 2 points
  auto chunks = split(Signal::kMetrics, request.SerializeAsString(), 5);
  // Metrics are packed in order without exceeding 5 points: {2+3}, {1+4}, {2}.
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(count_ok(Signal::kMetrics, chunks[0]), 5u);
  EXPECT_EQ(count_ok(Signal::kMetrics, chunks[1]), 5u);
  EXPECT_EQ(count_ok(Signal::kMetrics, chunks[2]), 2u);
  EXPECT_EQ(flatten_chunks<ExportMetricsServiceRequest>(chunks), flatten(request));
}

TEST(SplitTest, AMetricLargerThanTheLimitIsNotCut) {
  const ExportMetricsServiceRequest request = make_mixed_metrics();
  auto chunks = split(Signal::kMetrics, request.SerializeAsString(), 3);
  // {2}, {3}, {1}, {4} (alone, over the limit), {2}
  std::vector<size_t> counts;
  counts.reserve(chunks.size());
  for (const auto& chunk : chunks) counts.push_back(count_ok(Signal::kMetrics, chunk));
  EXPECT_EQ(counts, (std::vector<size_t>{2, 3, 1, 4, 2}));
  EXPECT_EQ(flatten_chunks<ExportMetricsServiceRequest>(chunks), flatten(request));
}

TEST(SplitTest, SplitOfConcatenatedRequestsKeepsBothResources) {
  const ExportTraceServiceRequest a = make_traces(1, 1, 3);
  ExportTraceServiceRequest b = make_traces(1, 1, 3);
  set_service(b.mutable_resource_spans(0)->mutable_resource(), "other");
  auto chunks = split(Signal::kTraces, a.SerializeAsString() + b.SerializeAsString(), 2);
  ASSERT_EQ(chunks.size(), 3u);
  // The middle chunk holds the last span of a and the first of b: two resource entries.
  ExportTraceServiceRequest middle;
  ASSERT_TRUE(middle.ParseFromString(chunks[1]));
  ASSERT_EQ(middle.resource_spans_size(), 2);
  EXPECT_EQ(middle.resource_spans(0).resource().SerializeAsString(),
            a.resource_spans(0).resource().SerializeAsString());
  EXPECT_EQ(middle.resource_spans(1).resource().SerializeAsString(),
            b.resource_spans(0).resource().SerializeAsString());

  ExportTraceServiceRequest merged = a;
  merged.MergeFrom(b);
  EXPECT_EQ(flatten_chunks<ExportTraceServiceRequest>(chunks), flatten(merged));
}

TEST(SplitTest, MalformedRequestIsReturnedWhole) {
  const std::string bad = "hello world";
  EXPECT_EQ(split(Signal::kTraces, bad, 1), std::vector<std::string>{bad});
}

// keep_items: every mask gives the flattened items it selects, in order, each under its own
// resource and scope; a resource or scope with nothing kept is gone.
template <class Request>
void check_keep(const Request& request, Signal signal, size_t items) {
  const std::string wire = request.SerializeAsString();
  const auto all = flatten(request);
  ASSERT_EQ(all.size(), items);
  for (const std::string pattern : {"1", "0", "10", "01", "110", "0001", "1000000000"}) {
    std::string mask;
    std::vector<FlatItem> expected;
    for (size_t i = 0; i < items; ++i) {
      mask.push_back(pattern[i % pattern.size()] == '1' ? 1 : 0);
      if (mask.back() != 0) expected.push_back(all[i]);
    }
    const std::string kept = keep_items(wire, mask);
    EXPECT_EQ(count_ok(signal, kept), expected.size()) << pattern;
    Request parsed;
    ASSERT_TRUE(parsed.ParseFromString(kept));
    EXPECT_EQ(flatten(parsed), expected) << pattern;
  }
}

TEST(KeepItemsTest, TracesKeepTheMaskedSpansUnderTheirResourceAndScope) {
  check_keep(make_traces(3, 2, 5), Signal::kTraces, 30);
}

TEST(KeepItemsTest, LogsKeepTheMaskedRecordsUnderTheirResourceAndScope) {
  check_keep(make_logs(2, 3, 4), Signal::kLogs, 24);
}

TEST(KeepItemsTest, EmptiedScopesAndResourcesAreDropped) {
  const ExportTraceServiceRequest request = make_traces(2, 2, 2);  // 8 spans
  // Keep only the second scope of the second resource.
  const std::string kept =
      keep_items(request.SerializeAsString(), std::string("\0\0\0\0\0\0\1\1", 8));
  ExportTraceServiceRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(kept));
  ASSERT_EQ(parsed.resource_spans_size(), 1);
  ASSERT_EQ(parsed.resource_spans(0).scope_spans_size(), 1);
  EXPECT_EQ(parsed.resource_spans(0).scope_spans(0).scope().name(), "scope-1-1");
  EXPECT_EQ(parsed.resource_spans(0).scope_spans(0).spans_size(), 2);
  EXPECT_TRUE(keep_items(request.SerializeAsString(), std::string(8, '\0')).empty());
}

}  // namespace
}  // namespace weft::pdata::wire
