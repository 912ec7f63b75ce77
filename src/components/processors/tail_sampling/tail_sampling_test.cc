#include <thread>

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "testing/consumers.h"
#include "weft/config_reader.h"
#include "weft/factory.h"
#include "weft/metrics.h"

namespace weft {
std::unique_ptr<Factory> make_tail_sampling_processor_factory();

namespace {

namespace v1 = opentelemetry::proto;

// One request of spans, each (trace number, error?).
pdata::Telemetry spans(const std::vector<std::pair<int, bool>>& list) {
  v1::collector::trace::v1::ExportTraceServiceRequest req;
  auto* ss = req.add_resource_spans()->add_scope_spans();
  int n = 0;
  for (auto [trace, error] : list) {
    auto* s = ss->add_spans();
    s->set_trace_id(std::string(15, '\1') + static_cast<char>(trace));
    s->set_span_id(std::string(7, '\2') + static_cast<char>(++n));
    s->set_name("t" + std::to_string(trace));
    if (error) s->mutable_status()->set_code(v1::trace::v1::Status::STATUS_CODE_ERROR);
  }
  return std::move(pdata::Telemetry::from_wire(Signal::kTraces, req.SerializeAsString())).value();
}

class TailSamplingTest : public ::testing::Test {
 protected:
  TailSamplingTest() {
    ctx_.id = "tail_sampling";
    ctx_.metrics = &registry_;
    ctx_.logger =
        std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
  }
  std::unique_ptr<Processor> make(const std::string& yaml) {
    config_ = factory_->create_default_config();
    ConfigReader reader(YAML::Load(yaml), "processors.tail_sampling", &diag_);
    factory_->load_config(reader, *config_);
    reader.report_unknown_keys();
    EXPECT_TRUE(diag_.ok()) << (diag_.ok()
                                    ? ""
                                    : diag_.errors()[0].first + ": " + diag_.errors()[0].second);
    auto p = factory_->create_processor(ctx_, *config_, Signal::kTraces, &sink_);
    EXPECT_TRUE(p->start().is_ok());
    return p;
  }

  std::unique_ptr<Factory> factory_ = make_tail_sampling_processor_factory();
  std::unique_ptr<ComponentConfig> config_;
  Diagnostics diag_;
  telemetry::Registry registry_;
  ComponentContext ctx_;
  testing::SinkConsumer sink_;
};

constexpr const char* kErrors =
    "decision_wait: 100ms\npolicies: [{name: errors, type: status_code, status_code: "
    "{status_codes: [ERROR]}}]\n";

TEST_F(TailSamplingTest, SamplesWholeTracesAndLateSpansFollowTheDecision) {
  auto p = make(kErrors);
  ASSERT_TRUE(p->consume(spans({{1, false}, {2, false}})).is_ok());
  ASSERT_TRUE(p->consume(spans({{1, true}, {2, false}})).is_ok());  // trace 1 has an error
  ASSERT_TRUE(sink_.wait_for_items(2, std::chrono::seconds(5)));
  EXPECT_EQ(sink_.items(), 2U);  // both spans of trace 1, none of trace 2
  ASSERT_TRUE(p->consume(spans({{1, false}, {2, true}})).is_ok());  // late spans
  EXPECT_EQ(sink_.items(), 3U);  // trace 1's follows at once; trace 2 stays unsampled
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(sink_.items(), 3U);
  const std::string m = registry_.render();
  EXPECT_NE(m.find("otelcol_processor_tail_sampling_count_traces_sampled{policy=\"errors\","
                   "processor=\"tail_sampling\",sampled=\"true\"} 1"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("weft_tail_sampling_late_spans{decision=\"not_sampled\","
                   "processor=\"tail_sampling\"} 1"),
            std::string::npos)
      << m;
}

TEST_F(TailSamplingTest, AFullBufferDecidesEarlyAndShutdownDecidesTheRest) {
  auto p = make(std::string(kErrors) + "num_traces: 2\n");
  ASSERT_TRUE(p->consume(spans({{1, true}, {2, true}, {3, true}})).is_ok());
  EXPECT_EQ(sink_.items(), 1U);  // trace 1 made room for trace 3
  p->shutdown(std::chrono::steady_clock::now() + std::chrono::seconds(5));
  EXPECT_EQ(sink_.items(), 3U);  // nothing was left waiting
  EXPECT_TRUE(p->consume(spans({{4, true}})).is_retryable());
}

TEST_F(TailSamplingTest, RefusesPoliciesItDoesNotKnowWithTheirPath) {
  config_ = factory_->create_default_config();
  ConfigReader reader(YAML::Load("policies: [{name: x, type: ottl_condition}, {name: y, type: "
                                 "latency, latency: {threshold: 5}}]"),
                      "processors.tail_sampling", &diag_);
  factory_->load_config(reader, *config_);
  reader.report_unknown_keys();
  ASSERT_GE(diag_.errors().size(), 2U);
  EXPECT_EQ(diag_.errors()[0].first, "processors.tail_sampling.policies.0.type");
  EXPECT_NE(diag_.errors()[0].second.find("not supported"), std::string::npos);
  EXPECT_EQ(diag_.errors()[1].first, "processors.tail_sampling.policies.1.latency.threshold");
}

}  // namespace
}  // namespace weft
