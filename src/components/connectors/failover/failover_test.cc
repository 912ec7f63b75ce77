#include <atomic>
#include <thread>

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include "testing/consumers.h"
#include "testing/telemetry.h"
#include "weft/config_reader.h"
#include "weft/factory.h"
#include "weft/metrics.h"

namespace weft {
std::unique_ptr<Factory> make_failover_connector_factory();

namespace {

using testing::SinkConsumer;
using Mode = SinkConsumer::Mode;

// An exporter that takes everything (as a queue would) and reports what it is told.
class QueuedLike final : public Exporter {
 public:
  Status consume(pdata::Telemetry&& data) override { return sink.consume(std::move(data)); }
  [[nodiscard]] ExporterHealth health() const override {
    return {true, failures.load(), reached.load()};
  }
  SinkConsumer sink;
  std::atomic<uint64_t> failures{0};
  std::atomic<uint64_t> reached{0};
};

class FailoverTest : public ::testing::Test {
 protected:
  FailoverTest() {
    ctx_.id = "failover";
    ctx_.metrics = &registry_;
    ctx_.logger =
        std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
    outputs_.pipelines = {{"traces/primary", &primary_, {&primary_}},
                          {"traces/secondary", &secondary_, {&secondary_}}};
  }
  std::unique_ptr<Connector> make(const std::string& yaml) {
    config_ = factory_->create_default_config();
    ConfigReader reader(YAML::Load(yaml), "connectors.failover", &diag_);
    factory_->load_config(reader, *config_);
    EXPECT_TRUE(diag_.ok());
    EXPECT_TRUE(
        factory_->check_outputs(*config_, Signal::kTraces, {"traces/primary", "traces/secondary"})
            .is_ok());
    return factory_->create_connector(ctx_, *config_, Signal::kTraces, Signal::kTraces, outputs_);
  }
  Status send(Connector& c) { return c.consume(testing::make_batch(Signal::kTraces, 10)); }

  std::unique_ptr<Factory> factory_ = make_failover_connector_factory();
  std::unique_ptr<ComponentConfig> config_;
  Diagnostics diag_;
  telemetry::Registry registry_;
  ComponentContext ctx_;
  QueuedLike primary_, secondary_;
  ConnectorOutputs outputs_;
};

TEST_F(FailoverTest, FollowsTheQueuesWordDownAndBack) {
  auto c = make("priority_levels: [[traces/primary], [traces/secondary]]\nretry_interval: 1h");
  ASSERT_TRUE(send(*c).is_ok());
  EXPECT_EQ(primary_.sink.items(), 10U);
  primary_.failures = 3;  // its destination went down; the queue still takes data
  ASSERT_TRUE(send(*c).is_ok());
  EXPECT_EQ(secondary_.sink.items(), 10U);
  EXPECT_EQ(primary_.sink.items(), 10U);
  primary_.failures = 0;  // the queue got through
  primary_.reached = 1;
  ASSERT_TRUE(send(*c).is_ok());
  EXPECT_EQ(primary_.sink.items(), 20U);
  EXPECT_EQ(secondary_.sink.items(), 10U);
  EXPECT_NE(registry_.render().find("weft_connector_failover_switches{connector=\"failover\","
                                    "signal=\"traces\"} 2"),
            std::string::npos)
      << registry_.render();
}

TEST_F(FailoverTest, ARefusalMovesTheSameBatchToTheNextLevelAndProbesLater) {
  auto c = make("priority_levels: [[traces/primary], [traces/secondary]]\nretry_interval: 200ms");
  primary_.sink.set_mode(Mode::kRefuse);
  ASSERT_TRUE(send(*c).is_ok());
  EXPECT_EQ(secondary_.sink.items(), 10U);
  primary_.sink.set_mode(Mode::kAccept);
  ASSERT_TRUE(send(*c).is_ok());  // before retry_interval: still the secondary
  EXPECT_EQ(secondary_.sink.items(), 20U);
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  ASSERT_TRUE(send(*c).is_ok());  // the probe
  EXPECT_EQ(primary_.sink.items(), 10U);
  ASSERT_TRUE(send(*c).is_ok());
  EXPECT_EQ(primary_.sink.items(), 20U);
}

TEST_F(FailoverTest, NoHealthyLevelIsARetryableRefusal) {
  auto c = make("priority_levels: [[traces/primary], [traces/secondary]]");
  primary_.sink.set_mode(Mode::kRefuse);
  secondary_.sink.set_mode(Mode::kRefuse);
  EXPECT_TRUE(send(*c).is_retryable());
  EXPECT_TRUE(send(*c).is_retryable());
}

TEST_F(FailoverTest, RefusesLevelsThatAreNotItsPipelines) {
  config_ = factory_->create_default_config();
  ConfigReader reader(YAML::Load("priority_levels: [[traces/elsewhere]]"), "connectors.failover",
                      &diag_);
  factory_->load_config(reader, *config_);
  Status s = factory_->check_outputs(*config_, Signal::kTraces, {"traces/primary"});
  EXPECT_NE(s.message().find("traces/elsewhere"), std::string::npos);
  Diagnostics bad;
  ConfigReader bad_reader(YAML::Load("priority_levels: [traces/a]"), "connectors.failover", &bad);
  factory_->load_config(bad_reader, *factory_->create_default_config());
  EXPECT_FALSE(bad.ok());
}

}  // namespace
}  // namespace weft
