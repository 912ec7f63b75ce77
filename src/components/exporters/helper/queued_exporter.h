#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "weft/component.h"
#include "weft/metrics.h"

namespace weft {
class ConfigReader;
}

namespace weft::exporters {

// The settings every exporter shares, under the Go collector's names.
struct ExporterSettings {
  std::chrono::nanoseconds timeout = std::chrono::seconds(5);
  struct Queue {
    bool enabled = true;
    uint64_t queue_size = 1000;  // requests
    int num_consumers = 10;
  } queue;
  struct Retry {
    bool enabled = true;
    std::chrono::nanoseconds initial_interval = std::chrono::seconds(5);
    std::chrono::nanoseconds max_interval = std::chrono::seconds(30);
    std::chrono::nanoseconds max_elapsed_time = std::chrono::minutes(5);  // 0: no limit
    double multiplier = 1.5;
    double randomization_factor = 0.5;
  } retry;

  // Reads timeout, sending_queue and retry_on_failure.
  void load(ConfigReader& reader);
};

// Delivers one request to the destination. Called from several threads at once.
class Sender {
 public:
  virtual ~Sender() = default;
  [[nodiscard]] virtual Status start() { return Status::ok(); }
  // Retryable failures are retried with backoff, the rest are final.
  virtual Status send(const pdata::Telemetry& data, std::chrono::nanoseconds timeout) = 0;
};

// An exporter made of a Sender plus a bounded queue, consumer threads, retry
// with exponential backoff and per-request timeouts. A full queue refuses new
// data with a retryable error; shutdown drains the queue until the deadline.
class QueuedExporter final : public Exporter {
 public:
  QueuedExporter(const ComponentContext& ctx, const ExporterSettings& settings,
                 std::unique_ptr<Sender> sender);
  ~QueuedExporter() override;

  Status start() override;
  void shutdown(std::chrono::steady_clock::time_point deadline) override;
  Status consume(pdata::Telemetry&& data) override;

 private:
  struct Counters {
    telemetry::Counter* sent = nullptr;
    telemetry::Counter* send_failed = nullptr;
    telemetry::Counter* enqueue_failed = nullptr;
  };

  void work();
  Status send_with_retry(const pdata::Telemetry& data);
  // Sleeps for `delay` unless shutdown gives up first; false if it did.
  bool backoff_wait(std::chrono::nanoseconds delay);
  void account(const pdata::Telemetry& data, const Status& status);

  ComponentContext ctx_;
  ExporterSettings settings_;
  std::unique_ptr<Sender> sender_;
  std::array<Counters, 3> counters_{};
  telemetry::Gauge* queue_size_;

  std::mutex mu_;
  std::condition_variable wake_;     // workers: data queued, or stopping
  std::condition_variable drained_;  // shutdown: queue empty and nothing in flight
  std::condition_variable backoff_;  // workers waiting to retry: shutdown gave up
  std::deque<pdata::Telemetry> queue_;
  size_t in_flight_ = 0;
  bool started_ = false;
  bool stopping_ = false;  // no new data; workers exit once the queue is empty
  bool give_up_ = false;   // shutdown deadline passed: stop retrying
  std::vector<std::thread> workers_;
};

}  // namespace weft::exporters
