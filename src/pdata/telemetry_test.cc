#include "weft/telemetry.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "pdata/wire.h"

namespace weft::pdata {
namespace {

using opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest;
using opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest;
using opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;

// One resource, one scope, spans named prefix0..prefix{n-1}.
ExportTraceServiceRequest make_traces(int spans, const std::string& prefix = "span") {
  ExportTraceServiceRequest request;
  auto* rs = request.add_resource_spans();
  auto* attr = rs->mutable_resource()->add_attributes();
  attr->set_key("service.name");
  attr->mutable_value()->set_string_value("svc-" + prefix);
  auto* ss = rs->add_scope_spans();
  ss->mutable_scope()->set_name("scope");
  for (int i = 0; i < spans; ++i) ss->add_spans()->set_name(prefix + std::to_string(i));
  return request;
}

Telemetry traces(int spans, const std::string& prefix = "span") {
  auto t = Telemetry::from_wire(Signal::kTraces, make_traces(spans, prefix).SerializeAsString());
  EXPECT_TRUE(t.ok()) << t.status().message();
  return std::move(t).value();
}

const ExportTraceServiceRequest& as_traces(const Telemetry& t) {
  return dynamic_cast<const ExportTraceServiceRequest&>(t.message());
}

std::vector<std::string> span_names(const ExportTraceServiceRequest& request) {
  std::vector<std::string> names;
  for (const auto& rs : request.resource_spans()) {
    for (const auto& ss : rs.scope_spans()) {
      for (const auto& span : ss.spans()) names.push_back(span.name());
    }
  }
  return names;
}

std::vector<std::string> span_names_of_wire(const std::string& wire) {
  ExportTraceServiceRequest request;
  EXPECT_TRUE(request.ParseFromString(wire));
  return span_names(request);
}

TEST(TelemetryTest, FromWireCountsItemsAndKeepsTheBytes) {
  const std::string wire = make_traces(7).SerializeAsString();
  auto t = Telemetry::from_wire(Signal::kTraces, wire);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->signal(), Signal::kTraces);
  EXPECT_EQ(t->item_count(), 7u);
  EXPECT_EQ(t->wire(), wire);
}

TEST(TelemetryTest, FromWireCountsMetricPointsAndLogRecords) {
  ExportMetricsServiceRequest metrics;
  auto* m = metrics.add_resource_metrics()->add_scope_metrics()->add_metrics();
  m->mutable_sum()->add_data_points()->set_as_int(1);
  m->mutable_sum()->add_data_points()->set_as_int(2);
  auto tm = Telemetry::from_wire(Signal::kMetrics, metrics.SerializeAsString());
  ASSERT_TRUE(tm.ok());
  EXPECT_EQ(tm->item_count(), 2u);

  ExportLogsServiceRequest logs;
  auto* sl = logs.add_resource_logs()->add_scope_logs();
  for (int i = 0; i < 3; ++i) sl->add_log_records()->mutable_body()->set_string_value("x");
  auto tl = Telemetry::from_wire(Signal::kLogs, logs.SerializeAsString());
  ASSERT_TRUE(tl.ok());
  EXPECT_EQ(tl->signal(), Signal::kLogs);
  EXPECT_EQ(tl->item_count(), 3u);
}

TEST(TelemetryTest, FromWireRejectsMalformedInput) {
  auto t = Telemetry::from_wire(Signal::kTraces, "hello world");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  std::string truncated = make_traces(3).SerializeAsString();
  truncated.pop_back();
  EXPECT_FALSE(Telemetry::from_wire(Signal::kTraces, truncated).ok());
}

TEST(TelemetryTest, EmptyHasNoItemsAndTheRightMessageType) {
  const char* expected[] = {"opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest",
                            "opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest",
                            "opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest"};
  for (Signal signal : kAllSignals) {
    Telemetry t = Telemetry::empty(signal);
    EXPECT_EQ(t.signal(), signal);
    EXPECT_EQ(t.item_count(), 0u);
    EXPECT_TRUE(t.wire().empty());
    EXPECT_EQ(t.message().GetDescriptor()->full_name(), expected[static_cast<int>(signal)]);
    EXPECT_EQ(t.message().ByteSizeLong(), 0u);
  }
}

TEST(TelemetryTest, MessageDecodesLazilyAndLeavesTheWireAlone) {
  // Non-canonical bytes: an unknown field first. Reading must not re-encode them.
  std::string wire;
  wire::append_len_field(wire, 99, "opaque");
  wire += make_traces(3).SerializeAsString();
  auto t = Telemetry::from_wire(Signal::kTraces, wire);
  ASSERT_TRUE(t.ok());
  const auto& request = as_traces(t.value());
  EXPECT_EQ(span_names(request), (std::vector<std::string>{"span0", "span1", "span2"}));
  EXPECT_EQ(request.resource_spans(0).scope_spans(0).scope().name(), "scope");
  // Decoded once: the same object on the next call.
  EXPECT_EQ(&t->message(), &request);
  EXPECT_EQ(t->wire(), wire);
  EXPECT_EQ(t->item_count(), 3u);
}

TEST(TelemetryTest, MutableMessageReencodesAndRecounts) {
  Telemetry t = traces(2);
  auto& request = dynamic_cast<ExportTraceServiceRequest&>(t.mutable_message());
  auto* ss = request.mutable_resource_spans(0)->mutable_scope_spans(0);
  ss->add_spans()->set_name("added0");
  ss->add_spans()->set_name("added1");
  ss->mutable_spans(0)->set_name("renamed");
  EXPECT_EQ(t.item_count(), 4u);
  EXPECT_EQ(span_names_of_wire(t.wire()),
            (std::vector<std::string>{"renamed", "span1", "added0", "added1"}));

  // Removing items is seen too.
  auto& again = dynamic_cast<ExportTraceServiceRequest&>(t.mutable_message());
  again.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans()->RemoveLast();
  EXPECT_EQ(span_names_of_wire(t.wire()), (std::vector<std::string>{"renamed", "span1", "added0"}));
  EXPECT_EQ(t.item_count(), 3u);
}

TEST(TelemetryTest, MutableMessageOnEmpty) {
  Telemetry t = Telemetry::empty(Signal::kTraces);
  auto& request = dynamic_cast<ExportTraceServiceRequest&>(t.mutable_message());
  request.add_resource_spans()->add_scope_spans()->add_spans()->set_name("only");
  EXPECT_EQ(t.item_count(), 1u);
  EXPECT_EQ(span_names_of_wire(t.wire()), std::vector<std::string>{"only"});
}

TEST(TelemetryTest, AppendConcatenates) {
  Telemetry a = traces(2, "a");
  Telemetry b = traces(3, "b");
  a.append(std::move(b));
  EXPECT_EQ(a.item_count(), 5u);
  EXPECT_EQ(a.wire(),
            make_traces(2, "a").SerializeAsString() + make_traces(3, "b").SerializeAsString());
  const auto& request = as_traces(a);
  EXPECT_EQ(request.resource_spans_size(), 2);
  EXPECT_EQ(span_names(request), (std::vector<std::string>{"a0", "a1", "b0", "b1", "b2"}));
}

TEST(TelemetryTest, AppendAfterDecodingShowsTheAppendedData) {
  Telemetry a = traces(1, "a");
  EXPECT_EQ(span_names(as_traces(a)), std::vector<std::string>{"a0"});  // decoded now
  a.append(traces(1, "b"));
  EXPECT_EQ(span_names(as_traces(a)), (std::vector<std::string>{"a0", "b0"}));
  EXPECT_EQ(a.item_count(), 2u);
}

TEST(TelemetryTest, AppendKeepsMutationsOnBothSides) {
  Telemetry a = traces(1, "a");
  dynamic_cast<ExportTraceServiceRequest&>(a.mutable_message())
      .mutable_resource_spans(0)
      ->mutable_scope_spans(0)
      ->add_spans()
      ->set_name("a-added");
  Telemetry b = traces(1, "b");
  dynamic_cast<ExportTraceServiceRequest&>(b.mutable_message())
      .mutable_resource_spans(0)
      ->mutable_scope_spans(0)
      ->mutable_spans(0)
      ->set_name("b-renamed");
  a.append(std::move(b));
  EXPECT_EQ(a.item_count(), 3u);
  EXPECT_EQ(span_names_of_wire(a.wire()), (std::vector<std::string>{"a0", "a-added", "b-renamed"}));
  EXPECT_EQ(span_names(as_traces(a)), (std::vector<std::string>{"a0", "a-added", "b-renamed"}));
}

TEST(TelemetryTest, AppendToEmpty) {
  Telemetry t = Telemetry::empty(Signal::kTraces);
  t.append(traces(2));
  t.append(Telemetry::empty(Signal::kTraces));
  EXPECT_EQ(t.item_count(), 2u);
  EXPECT_EQ(t.wire(), make_traces(2).SerializeAsString());
}

TEST(TelemetryTest, SplitIntoChunksOfAtMostMaxItems) {
  Telemetry t = traces(10);
  std::vector<Telemetry> chunks = std::move(t).split(3);
  ASSERT_EQ(chunks.size(), 4u);
  std::vector<std::string> names;
  const size_t expected[] = {3, 3, 3, 1};
  for (size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_EQ(chunks[i].signal(), Signal::kTraces);
    EXPECT_EQ(chunks[i].item_count(), expected[i]);
    for (auto& name : span_names(as_traces(chunks[i]))) names.push_back(name);
    // Each chunk keeps the resource and scope.
    EXPECT_EQ(
        as_traces(chunks[i]).resource_spans(0).resource().attributes(0).value().string_value(),
        "svc-span");
    EXPECT_EQ(as_traces(chunks[i]).resource_spans(0).scope_spans(0).scope().name(), "scope");
  }
  EXPECT_EQ(names, span_names(make_traces(10)));
}

TEST(TelemetryTest, SplitWithinTheLimitReturnsItself) {
  const std::string wire = make_traces(3).SerializeAsString();
  for (size_t max : {0u, 3u, 10u}) {
    auto t = Telemetry::from_wire(Signal::kTraces, wire);
    ASSERT_TRUE(t.ok());
    auto chunks = std::move(t).value().split(max);
    ASSERT_EQ(chunks.size(), 1u) << max;
    EXPECT_EQ(chunks[0].wire(), wire);
    EXPECT_EQ(chunks[0].item_count(), 3u);
  }
}

TEST(TelemetryTest, SplitSeesMutations) {
  Telemetry t = traces(2);
  auto& request = dynamic_cast<ExportTraceServiceRequest&>(t.mutable_message());
  for (int i = 0; i < 3; ++i) {
    request.mutable_resource_spans(0)->mutable_scope_spans(0)->add_spans()->set_name(
        "new" + std::to_string(i));
  }
  auto chunks = std::move(t).split(2);
  ASSERT_EQ(chunks.size(), 3u);
  std::vector<std::string> names;
  for (auto& chunk : chunks) {
    for (auto& name : span_names_of_wire(chunk.wire())) names.push_back(name);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"span0", "span1", "new0", "new1", "new2"}));
}

TEST(TelemetryTest, CloneIsIndependent) {
  Telemetry original = traces(2);
  Telemetry copy = original.clone();
  EXPECT_EQ(copy.wire(), original.wire());
  EXPECT_EQ(copy.item_count(), 2u);
  EXPECT_EQ(copy.signal(), Signal::kTraces);

  dynamic_cast<ExportTraceServiceRequest&>(copy.mutable_message())
      .mutable_resource_spans(0)
      ->mutable_scope_spans(0)
      ->add_spans()
      ->set_name("only-in-copy");
  EXPECT_EQ(copy.item_count(), 3u);
  EXPECT_EQ(original.item_count(), 2u);
  EXPECT_EQ(span_names(as_traces(original)), (std::vector<std::string>{"span0", "span1"}));
  EXPECT_EQ(original.wire(), make_traces(2).SerializeAsString());
}

TEST(TelemetryTest, CloneCarriesPendingMutations) {
  Telemetry original = traces(1);
  dynamic_cast<ExportTraceServiceRequest&>(original.mutable_message())
      .mutable_resource_spans(0)
      ->mutable_scope_spans(0)
      ->mutable_spans(0)
      ->set_name("changed");
  Telemetry copy = original.clone();
  EXPECT_EQ(span_names(as_traces(copy)), std::vector<std::string>{"changed"});
  EXPECT_EQ(copy.item_count(), 1u);
}

TEST(TelemetryTest, MovedTelemetryKeepsItsDecodedMessage) {
  Telemetry t = traces(2);
  const auto* before = &t.message();
  Telemetry moved = std::move(t);
  EXPECT_EQ(&moved.message(), before);
  EXPECT_EQ(span_names(as_traces(moved)), (std::vector<std::string>{"span0", "span1"}));
  EXPECT_EQ(moved.item_count(), 2u);
}

TEST(TelemetryTest, NewRequestMatchesTheSignal) {
  google::protobuf::Arena arena;
  EXPECT_NE(dynamic_cast<ExportTraceServiceRequest*>(new_request(Signal::kTraces, &arena)),
            nullptr);
  EXPECT_NE(dynamic_cast<ExportMetricsServiceRequest*>(new_request(Signal::kMetrics, &arena)),
            nullptr);
  EXPECT_NE(dynamic_cast<ExportLogsServiceRequest*>(new_request(Signal::kLogs, &arena)), nullptr);
}

}  // namespace
}  // namespace weft::pdata

namespace weft::pdata {
namespace {

// Strings are checked where requests come in (the receivers, plugin results), so nothing
// downstream meets a batch that does not decode.
TEST(TelemetryDecodeTest, InvalidUtf8IsRefusedWithItsPath) {
  opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest req;
  auto* ss = req.add_resource_spans()->add_scope_spans();
  ss->add_spans()->set_name("ok");
  ss->add_spans()->set_name(std::string("bad \xff\xfe name"));
  ss->add_spans()->set_name("after");
  std::string wire;
  ASSERT_TRUE(req.SerializePartialToString(&wire));
  auto t = Telemetry::from_wire(Signal::kTraces, wire);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(),
            "malformed protobuf payload: resource_spans.scope_spans.spans.name: a string that is "
            "not valid UTF-8");
}

}  // namespace
}  // namespace weft::pdata
