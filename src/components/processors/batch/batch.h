#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "weft/component.h"
#include "weft/factory.h"
#include "weft/metrics.h"

namespace weft::processors::batch {

struct Config : ComponentConfig {
  uint64_t send_batch_size = 8192;
  uint64_t send_batch_max_size = 0;  // 0: no upper bound
  std::chrono::nanoseconds timeout = std::chrono::milliseconds(200);
};

// Gathers requests into batches of send_batch_size items (split at
// send_batch_max_size), sending a partial batch after `timeout`. Batching is
// concatenation on the wire. When the next stage pushes back, the batch is
// kept and retried; once kPendingFactor batches are waiting, new data is
// refused with a retryable error, so memory stays bounded and nothing is lost.
class BatchProcessor final : public Processor {
 public:
  static constexpr uint64_t kPendingFactor = 4;

  BatchProcessor(const ComponentContext& ctx, const Config& config, Signal signal, Consumer* next);
  ~BatchProcessor() override;

  Status start() override;
  void shutdown(std::chrono::steady_clock::time_point deadline) override;
  Status consume(pdata::Telemetry&& data) override;

 private:
  void flush_locked();
  void run_timer();

  ComponentContext ctx_;
  Config config_;
  Signal signal_;
  Consumer* next_;
  uint64_t cap_;
  telemetry::Counter* dropped_;
  telemetry::Counter* refused_;

  std::mutex mu_;
  std::condition_variable wake_;
  std::optional<pdata::Telemetry> pending_;
  std::chrono::steady_clock::time_point oldest_{};
  bool stopping_ = false;
  std::thread timer_;
};

}  // namespace weft::processors::batch
