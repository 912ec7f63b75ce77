#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "components/exporters/helper/request_queue.h"
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
    uint64_t queue_size = 1000;  // in sizer units
    Sizer sizer = Sizer::kRequests;
    bool drop_oldest = false;  // on_full: drop_oldest (weft's); the default refuses upstream
    int num_consumers = 10;
    std::string storage;  // a storage extension (file_storage): the queue outlives the process
  } queue;
  struct Retry {
    bool enabled = true;
    std::chrono::nanoseconds initial_interval = std::chrono::seconds(5);
    std::chrono::nanoseconds max_interval = std::chrono::seconds(30);
    std::chrono::nanoseconds max_elapsed_time = std::chrono::minutes(5);  // 0: no limit
    double multiplier = 1.5;
    double randomization_factor = 0.5;
  } retry;

  // Reads timeout, sending_queue and retry_on_failure. With a storage, retrying has no time
  // limit unless max_elapsed_time is set: nothing is dropped on a timer by default.
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
// data with a retryable error (or drops its oldest, if asked to). Shutdown drains an
// in-memory queue until the deadline; a persistent queue keeps what is left for the next
// start, and what was in flight at the deadline too.
class QueuedExporter final : public Exporter {
 public:
  QueuedExporter(const ComponentContext& ctx, const ExporterSettings& settings,
                 std::unique_ptr<Sender> sender);
  ~QueuedExporter() override;

  Status start() override;
  void shutdown(std::chrono::steady_clock::time_point deadline) override;
  Status consume(pdata::Telemetry&& data) override;
  // Send attempts (retries included) that failed retryably since the last one that reached
  // the destination.
  [[nodiscard]] ExporterHealth health() const override {
    return {true, consecutive_failures_.load(std::memory_order_relaxed),
            reached_.load(std::memory_order_relaxed)};
  }

 private:
  struct Counters {
    telemetry::Counter* sent = nullptr;
    telemetry::Counter* send_failed = nullptr;
    telemetry::Counter* enqueue_failed = nullptr;
    telemetry::Counter* dropped = nullptr;      // on_full: drop_oldest
    telemetry::Counter* recovered = nullptr;    // found in the persistent queue at start
    telemetry::Counter* redelivered = nullptr;  // of those, sent before the restart
  };

  [[nodiscard]] QueueLimits limits() const;
  Status open_storage();
  void work();
  // `aborted`: shutdown's deadline passed while retrying.
  Status send_with_retry(const pdata::Telemetry& data, bool& aborted);
  // Sleeps for `delay` unless shutdown gives up first; false if it did.
  bool backoff_wait(std::chrono::nanoseconds delay);
  void account(const pdata::Telemetry& data, const Status& status);

  ComponentContext ctx_;
  ExporterSettings settings_;
  std::unique_ptr<Sender> sender_;
  std::array<Counters, 3> counters_{};
  telemetry::Gauge* queue_size_;
  telemetry::Counter* truncated_bytes_ = nullptr;  // persistent queue: torn tails cut off
  telemetry::Counter* skipped_bytes_ = nullptr;    // persistent queue: damaged records

  std::mutex mu_;
  std::condition_variable wake_;     // workers: data queued, or stopping
  std::condition_variable drained_;  // shutdown: queue empty and nothing in flight
  std::condition_variable backoff_;  // workers waiting to retry: shutdown gave up
  // Shared with the consume() calls under way; a persistent queue is opened by start().
  std::shared_ptr<RequestQueue> queue_;
  bool durable_ = false;
  size_t in_flight_ = 0;
  bool started_ = false;
  bool stopping_ = false;  // no new data; workers exit once the queue is empty
  bool give_up_ = false;   // shutdown deadline passed: stop retrying
  std::vector<std::thread> workers_;
  std::atomic<uint64_t> consecutive_failures_{0};
  std::atomic<uint64_t> reached_{0};
};

}  // namespace weft::exporters
