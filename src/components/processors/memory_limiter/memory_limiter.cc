#include <malloc.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "telemetry/process.h"
#include "weft/config_reader.h"
#include "weft/factory.h"
#include "weft/metrics.h"

namespace weft::processors::memory_limiter {
namespace {

struct Config : ComponentConfig {
  std::chrono::nanoseconds check_interval{0};
  uint64_t limit_mib = 0;
  uint64_t spike_limit_mib = 0;  // 0: 20% of limit_mib
};

// Refuses data with a retryable error while the process's resident memory is
// above limit_mib - spike_limit_mib, sampled every check_interval. Above the
// hard limit it also hands freed memory back to the system.
class MemoryLimiter final : public Processor {
 public:
  MemoryLimiter(const ComponentContext& ctx, const Config& config, Signal signal, Consumer* next)
      : ctx_(ctx), config_(config), next_(next) {
    const uint64_t spike =
        config.spike_limit_mib != 0 ? config.spike_limit_mib : config.limit_mib / 5;
    hard_limit_ = config.limit_mib << 20;
    soft_limit_ = (config.limit_mib - spike) << 20;
    refused_ = &ctx.metrics->counter("otelcol_processor_refused_" + std::string(item_noun(signal)),
                                     "Items refused by the processor (retryable).",
                                     {{"processor", ctx.id}});
  }
  ~MemoryLimiter() override { shutdown(std::chrono::steady_clock::now()); }

  Status start() override {
    check();
    std::lock_guard lock(mu_);
    if (!thread_.joinable() && !stopping_) thread_ = std::thread([this] { run(); });
    return Status::ok();
  }

  void shutdown(std::chrono::steady_clock::time_point /*deadline*/) override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  Status consume(pdata::Telemetry&& data) override {
    if (refusing_.load(std::memory_order_relaxed)) {
      refused_->add(data.item_count());
      return Status::retryable(
          "memory usage is above the memory_limiter's soft limit",
          std::chrono::duration_cast<std::chrono::milliseconds>(config_.check_interval));
    }
    return next_->consume(std::move(data));
  }

 private:
  void check() {
    uint64_t used = telemetry::resident_bytes();
    if (used > hard_limit_) {
      malloc_trim(0);
      used = telemetry::resident_bytes();
    }
    const bool refuse = used > soft_limit_;
    if (refuse != refusing_.exchange(refuse)) {
      ctx_.logger->warn("memory {} MiB, soft limit {} MiB: {} data", used >> 20, soft_limit_ >> 20,
                        refuse ? "refusing" : "accepting again");
    }
  }

  void run() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      wake_.wait_for(lock, config_.check_interval);
      if (stopping_) break;
      lock.unlock();
      check();
      lock.lock();
    }
  }

  ComponentContext ctx_;
  Config config_;
  Consumer* next_;
  uint64_t hard_limit_ = 0, soft_limit_ = 0;
  telemetry::Counter* refused_;
  std::atomic<bool> refusing_{false};
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

class Factory final : public FactoryFor<Config> {
 public:
  [[nodiscard]] ComponentKind kind() const override { return ComponentKind::kProcessor; }
  [[nodiscard]] std::string_view type() const override { return "memory_limiter"; }

  std::unique_ptr<Processor> create_processor(const ComponentContext& ctx,
                                              const ComponentConfig& config, Signal signal,
                                              Consumer* next) const override {
    return std::make_unique<MemoryLimiter>(ctx, cast(config), signal, next);
  }

 protected:
  void load(ConfigReader& reader, Config& config) const override {
    reader.read_duration("check_interval", config.check_interval);
    reader.read("limit_mib", config.limit_mib);
    reader.read("spike_limit_mib", config.spike_limit_mib);
    if (config.check_interval.count() <= 0) {
      reader.error("check_interval", "must be set to a duration greater than 0");
    }
    if (config.limit_mib == 0) reader.error("limit_mib", "must be set to more than 0");
    if (config.limit_mib != 0 && config.spike_limit_mib >= config.limit_mib) {
      reader.error("spike_limit_mib", "must be less than limit_mib");
    }
  }
};

}  // namespace
}  // namespace weft::processors::memory_limiter

WEFT_DEFINE_FACTORY(memory_limiter_processor, weft::processors::memory_limiter::Factory)
