#include <mutex>

#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include "components/common/router.h"
#include "weft/config_reader.h"
#include "weft/factory.h"

// The Go collector's failover connector: data goes to the first level of `priority_levels`
// that is healthy. A level is unhealthy when it refuses data, or when one of its exporters
// says its sends are failing (a queued exporter takes data while its destination is down,
// so the queue's word counts: that is what lets failover work with sending queues). A level
// that failed is tried again every `retry_interval` (at most `max_retries` times; 0: no
// limit) and taken back as soon as its exporters report a send that succeeded.
namespace weft::connectors::failover {
namespace {

struct Config : ComponentConfig {
  std::vector<std::vector<std::string>> priority_levels;
  std::chrono::nanoseconds retry_interval = std::chrono::minutes(10);
  int max_retries = 10;
};

class FailoverConnector final : public Connector {
 public:
  FailoverConnector(const ComponentContext& ctx, const Config& config, Signal signal,
                    const ConnectorOutputs& outputs)
      : ctx_(ctx), config_(config), router_(ctx, signal, outputs) {
    for (const auto& pipelines : config.priority_levels) {
      Level level;
      for (const auto& id : pipelines) {
        level.targets |= router_.bit(id);
        if (const auto* p = outputs.find(id)) {
          level.exporters.insert(level.exporters.end(), p->exporters.begin(), p->exporters.end());
        }
      }
      levels_.push_back(std::move(level));
    }
    in_use_ =
        &ctx.metrics->gauge("weft_connector_failover_level",
                            "The priority level a failover connector sends to (0 first).",
                            {{"connector", ctx.id}, {"signal", std::string(signal_name(signal))}});
    switches_ = &ctx.metrics->counter(
        "weft_connector_failover_switches", "Times a failover connector changed levels.",
        {{"connector", ctx.id}, {"signal", std::string(signal_name(signal))}});
  }
  ~FailoverConnector() override { shutdown(std::chrono::steady_clock::now()); }

  void shutdown(std::chrono::steady_clock::time_point) override { router_.stop(); }

  Status consume(pdata::Telemetry&& data) override {
    Status last = Status::retryable("no level of failover connector " + ctx_.id + " is healthy",
                                    std::chrono::seconds(1));
    for (size_t i = 0; i < levels_.size(); ++i) {
      if (!usable(i)) continue;
      // Only the last level takes the batch itself (the loop ends with it); the others get a
      // copy, so the batch is still there for the next level.
      const bool more = i + 1 < levels_.size();
      Status s = more ? router_.deliver(data.clone(),  // NOLINT(bugprone-use-after-move)
                                        levels_[i].targets)
                      : router_.deliver(std::move(data), levels_[i].targets);
      if (s.is_ok()) {
        // Taken; a queued exporter may still report its destination failing: then the next
        // batch goes to the next level (what this level queued is sent when it recovers).
        if (health(levels_[i]).state == State::kFailing) {
          mark_failed(i, "its exporters report failed sends");
        } else {
          mark_healthy(i);  // a probe that went through
        }
        use(i);
        return s;
      }
      if (!s.is_retryable()) return s;  // bad data: another level would refuse it too
      mark_failed(i, s.message());
      last = s;
    }
    return last;
  }

 private:
  enum class State { kUnknown, kGood, kFailing };
  struct Health {
    State state = State::kUnknown;
    uint64_t reached = 0;  // the exporters' sends that reached their destinations
  };
  struct Level {
    Targets targets = 0;
    std::vector<const Exporter*> exporters;
    bool failed = false;
    std::chrono::steady_clock::time_point next_probe;
    int probes = 0;
    uint64_t reached_at_failure = 0;
  };

  static Health health(const Level& level) {
    Health out;
    bool all_known = !level.exporters.empty(), failing = false;
    for (const auto* e : level.exporters) {
      const ExporterHealth h = e->health();
      failing |= h.known && h.consecutive_failures > 0;
      all_known &= h.known;
      out.reached += h.reached;
    }
    out.state = failing ? State::kFailing : (all_known ? State::kGood : State::kUnknown);
    return out;
  }

  // Whether level i takes data now; a failed level is probed once per retry_interval.
  bool usable(size_t i) {
    const Health h = health(levels_[i]);
    std::lock_guard lock(mu_);
    Level& level = levels_[i];
    const auto now = std::chrono::steady_clock::now();
    if (!level.failed) {
      if (h.state != State::kFailing) return true;
      fail_locked(i, "its exporters report failed sends", now, h);
      return false;
    }
    if (h.state == State::kGood && h.reached > level.reached_at_failure) {
      // Its queue got through since it failed: take it back.
      ctx_.logger->info("failover level {} is healthy again", i);
      level.failed = false;
      level.probes = 0;
      return true;
    }
    if (now < level.next_probe) return false;
    if (config_.max_retries > 0 && level.probes >= config_.max_retries) return false;
    ++level.probes;
    level.next_probe = now + config_.retry_interval;
    return true;
  }

  void mark_healthy(size_t i) {
    std::lock_guard lock(mu_);
    Level& level = levels_[i];
    if (!level.failed) return;
    ctx_.logger->info("failover level {} is healthy again", i);
    level.failed = false;
    level.probes = 0;
  }
  void mark_failed(size_t i, const std::string& why) {
    const Health h = health(levels_[i]);
    std::lock_guard lock(mu_);
    fail_locked(i, why, std::chrono::steady_clock::now(), h);
  }
  void fail_locked(size_t i, const std::string& why, std::chrono::steady_clock::time_point now,
                   const Health& h) {
    Level& level = levels_[i];
    level.reached_at_failure = h.reached;
    if (!level.failed) {
      ctx_.logger->warn(
          "failover level {} failed ({}); trying the next, this one again in {} s", i, why,
          std::chrono::duration_cast<std::chrono::seconds>(config_.retry_interval).count());
      level.next_probe = now + config_.retry_interval;
    }
    level.failed = true;
  }
  void use(size_t i) {
    const auto level = static_cast<int64_t>(i);
    if (in_use_->value() != level) {
      in_use_->set(level);
      switches_->add();
    }
  }

  ComponentContext ctx_;
  const Config& config_;
  Router router_;
  std::mutex mu_;
  std::vector<Level> levels_;
  telemetry::Gauge* in_use_;
  telemetry::Counter* switches_;
};

class Factory final : public FactoryFor<Config> {
 public:
  [[nodiscard]] ComponentKind kind() const override { return ComponentKind::kConnector; }
  [[nodiscard]] std::string_view type() const override { return "failover"; }
  [[nodiscard]] bool connects(Signal in, Signal out) const override { return in == out; }

  [[nodiscard]] Status check_outputs(const ComponentConfig& config, Signal out,
                                     const std::vector<std::string>& outputs) const override {
    std::vector<std::string> named;
    for (const auto& level : cast(config).priority_levels) {
      named.insert(named.end(), level.begin(), level.end());
    }
    return check_named_outputs(named, out, outputs, "priority_levels names pipeline");
  }

  std::unique_ptr<Connector> create_connector(const ComponentContext& ctx,
                                              const ComponentConfig& config, Signal in, Signal,
                                              const ConnectorOutputs& outputs) const override {
    return std::make_unique<FailoverConnector>(ctx, cast(config), in, outputs);
  }

 protected:
  void load(ConfigReader& reader, Config& config) const override {
    reader.read_duration("retry_interval", config.retry_interval);
    reader.read("max_retries", config.max_retries);
    if (config.retry_interval.count() <= 0) reader.error("retry_interval", "must be positive");
    if (config.max_retries < 0) reader.error("max_retries", "must be 0 (no limit) or more");
    const YAML::Node levels = reader.read_node("priority_levels");
    bool good = levels.IsSequence() && levels.size() > 0;
    for (size_t i = 0; good && i < levels.size(); ++i) {
      if (!levels[i].IsSequence() || levels[i].size() == 0) {
        good = false;
        break;
      }
      std::vector<std::string> level;
      for (const auto& p : levels[i]) {
        if (!p.IsScalar()) {
          good = false;
          break;
        }
        level.push_back(p.as<std::string>());
      }
      config.priority_levels.push_back(std::move(level));
    }
    if (!good) {
      reader.error("priority_levels",
                   "needs a list of levels, each a list of pipelines: [[traces/first], "
                   "[traces/second]]");
    }
  }
};

}  // namespace
}  // namespace weft::connectors::failover

WEFT_DEFINE_FACTORY(failover_connector, weft::connectors::failover::Factory)
