#include "components/common/router.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "testing/consumers.h"
#include "testing/telemetry.h"

namespace weft::connectors {
namespace {

using testing::SinkConsumer;
using Mode = SinkConsumer::Mode;

// The span names a sink took, in order.
std::vector<std::string> names(SinkConsumer& sink) {
  std::vector<std::string> out;
  for (auto& batch : sink.take()) {
    const auto& req =
        static_cast<const opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest&>(
            batch.message());
    for (const auto& rs : req.resource_spans()) {
      for (const auto& ss : rs.scope_spans()) {
        for (const auto& s : ss.spans()) out.push_back(s.name());
      }
    }
  }
  return out;
}

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() {
    ctx_.id = "routing";
    ctx_.metrics = &registry_;
    ctx_.logger =
        std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
    outputs_.pipelines = {{"traces/a", &a_, {}}, {"traces/b", &b_, {}}, {"traces/c", &c_, {}}};
  }
  telemetry::Registry registry_;
  ComponentContext ctx_;
  SinkConsumer a_, b_, c_;
  ConnectorOutputs outputs_;
};

TEST_F(RouterTest, EachPipelineGetsExactlyItsItems) {
  Router router(ctx_, Signal::kTraces, outputs_);
  // s0 -> a, s1 -> b, s2 -> a and c, s3 -> nowhere
  Status s = router.deliver(testing::make_batch(Signal::kTraces, 4, "s"), {1, 2, 5, 0});
  ASSERT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ(names(a_), (std::vector<std::string>{"s0", "s2"}));
  EXPECT_EQ(names(b_), (std::vector<std::string>{"s1"}));
  EXPECT_EQ(names(c_), (std::vector<std::string>{"s2"}));
  EXPECT_NE(registry_.render().find("weft_connector_unrouted_spans{connector=\"routing\"} 1"),
            std::string::npos);
}

TEST_F(RouterTest, OneTargetForTheWholeBatchIsNotSplit) {
  Router router(ctx_, Signal::kTraces, outputs_);
  ASSERT_TRUE(router.deliver(testing::make_batch(Signal::kTraces, 3, "s"), {2, 2, 2}).is_ok());
  EXPECT_EQ(b_.calls(), 1U);
  EXPECT_EQ(names(b_).size(), 3U);
  EXPECT_EQ(a_.calls() + c_.calls(), 0U);
}

TEST_F(RouterTest, APermanentRefusalOfOnePartIsAPartialSuccess) {
  Router router(ctx_, Signal::kTraces, outputs_);
  b_.set_mode(Mode::kReject);
  Status s = router.deliver(testing::make_batch(Signal::kTraces, 3, "s"), {1, 2, 2});
  EXPECT_TRUE(s.is_ok());
  EXPECT_EQ(s.rejected(), 2U);
  EXPECT_EQ(names(a_), (std::vector<std::string>{"s0"}));
}

TEST_F(RouterTest, ARetryableRefusalOfOnePartIsRetriedThereNotSentAgainToTheOthers) {
  Router router(ctx_, Signal::kTraces, outputs_);
  b_.set_script({Mode::kRefuse, Mode::kRefuse});
  Status s = router.deliver(testing::make_batch(Signal::kTraces, 3, "s"), {1, 2, 4});
  ASSERT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ(names(a_), (std::vector<std::string>{"s0"}));
  EXPECT_EQ(names(b_), (std::vector<std::string>{"s1"}));
  EXPECT_EQ(names(c_), (std::vector<std::string>{"s2"}));
  EXPECT_EQ(b_.calls(), 3U);
}

TEST_F(RouterTest, NothingTakenHandsTheRefusalBack) {
  Router router(ctx_, Signal::kTraces, outputs_);
  a_.set_mode(Mode::kRefuse);
  b_.set_mode(Mode::kRefuse);
  pdata::Telemetry batch = testing::make_batch(Signal::kTraces, 2, "s");
  Status s = router.deliver(std::move(batch), {1, 2});
  EXPECT_TRUE(s.is_retryable());
  EXPECT_EQ(a_.calls() + b_.calls(), 2U);  // no retries: the sender retries it all
}

TEST_F(RouterTest, WhatStaysRefusedGoesBackNarrowedToItsItems) {
  Router router(ctx_, Signal::kTraces, outputs_);
  b_.set_mode(Mode::kRefuse);
  pdata::Telemetry batch = testing::make_batch(Signal::kTraces, 3, "s");
  Status s = router.deliver(std::move(batch), {1, 2, 2});
  EXPECT_TRUE(s.is_retryable());
  // A retryable refusal leaves the batch with the sender: s1 and s2, for it to retry.
  EXPECT_EQ(batch.item_count(), 2U);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(names(a_), (std::vector<std::string>{"s0"}));
  EXPECT_NE(registry_.render().find("weft_connector_partial_refusals{connector=\"routing\"} 1"),
            std::string::npos);
}

}  // namespace
}  // namespace weft::connectors
