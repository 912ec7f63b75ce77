#include "components/processors/memory_limiter/memory_limiter.h"

#include <malloc.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

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
  // Of the memory available (the cgroup's limit, else the machine's), instead of *_mib.
  uint64_t limit_percentage = 0;
  uint64_t spike_limit_percentage = 0;
  std::string limit_source;  // how limit_mib was found, for the start-up log
};

// The cgroup's memory limit in a file ("max", or bytes); 0 when none is set.
uint64_t cgroup_limit(const std::string& path) {
  std::ifstream in(path);
  std::string value;
  if (!(in >> value) || value == "max") return 0;
  const uint64_t bytes = std::strtoull(value.c_str(), nullptr, 10);
  return bytes >= (1ULL << 60) ? 0 : bytes;  // cgroup v1's "unlimited" is near 2^63
}

}  // namespace

std::pair<uint64_t, std::string> available_memory(const std::string& cgroup_root) {
  const uint64_t physical = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) *
                            static_cast<uint64_t>(sysconf(_SC_PAGE_SIZE));
  for (const char* file : {"/memory.max", "/memory/memory.limit_in_bytes"}) {
    const uint64_t limit = cgroup_limit(cgroup_root + file);
    if (limit != 0 && limit < physical) return {limit, "the cgroup's " + cgroup_root + file};
  }
  return {physical, "the machine's memory"};
}

namespace {

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
    ctx_.logger->info("limit {} MiB, refusing above {} MiB{}", hard_limit_ >> 20, soft_limit_ >> 20,
                      config_.limit_source.empty() ? "" : ": " + config_.limit_source);
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
    reader.read("limit_percentage", config.limit_percentage);
    reader.read("spike_limit_percentage", config.spike_limit_percentage);
    if (config.check_interval.count() <= 0) {
      reader.error("check_interval", "must be set to a duration greater than 0");
    }
    if (config.limit_percentage != 0 || config.spike_limit_percentage != 0) {
      if (config.limit_mib != 0 || config.spike_limit_mib != 0) {
        reader.error("limit_percentage", "give limit_mib or limit_percentage, not both");
        return;
      }
      if (config.limit_percentage == 0 || config.limit_percentage > 100) {
        reader.error("limit_percentage", "must be 1 to 100");
        return;
      }
      if (config.spike_limit_percentage >= config.limit_percentage) {
        reader.error("spike_limit_percentage", "must be less than limit_percentage");
        return;
      }
      const auto [bytes, source] = available_memory("/sys/fs/cgroup");
      config.limit_mib = (bytes / 100 * config.limit_percentage) >> 20;
      config.spike_limit_mib = (bytes / 100 * config.spike_limit_percentage) >> 20;
      config.limit_source = std::to_string(config.limit_percentage) + "% of " +
                            std::to_string(bytes >> 20) + " MiB (" + source + ")";
      if (config.limit_mib == 0) reader.error("limit_percentage", "leaves less than 1 MiB");
      return;
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
