#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "weft/status.h"
#include "weft/telemetry.h"

namespace weft::exporters {

// What a sending queue's capacity counts (the Go collector's `sizer`).
enum class Sizer { kRequests, kItems, kBytes };

struct QueueLimits {
  Sizer sizer = Sizer::kRequests;
  uint64_t capacity = 1000;  // in sizer units
  bool drop_oldest = false;  // when full: drop the oldest waiting request instead of refusing
};

// The size of one request as `sizer` counts it.
uint64_t size_of(const pdata::Telemetry& data, Sizer sizer);

// The requests an exporter has accepted and not yet finished with, in arrival order. Safe to
// use from several threads; an entry taken is in flight until done() is called for it.
class RequestQueue {
 public:
  struct Entry {
    uint64_t id = 0;
    pdata::Telemetry data;
  };
  // A request dropped to make room (QueueLimits::drop_oldest), for the caller to count.
  struct Dropped {
    Signal signal = Signal::kTraces;
    size_t items = 0;
  };

  virtual ~RequestQueue() = default;
  // Queues the request (a persistent queue: durably, before it returns). When full, a
  // retryable error, or room made by dropping the oldest waiting requests into `dropped`.
  [[nodiscard]] virtual Status push(pdata::Telemetry&& data, std::vector<Dropped>& dropped) = 0;
  // The oldest request not yet taken, if any.
  [[nodiscard]] virtual std::optional<Entry> take() = 0;
  // The request left for good (delivered, or given up on and counted by the caller).
  virtual void done(uint64_t id) = 0;
  // Requests waiting to be taken.
  [[nodiscard]] virtual size_t waiting() const = 0;
};

// The default queue: in memory, lost with the process. Its capacity counts what waits.
class MemoryQueue final : public RequestQueue {
 public:
  explicit MemoryQueue(const QueueLimits& limits) : limits_(limits) {}

  Status push(pdata::Telemetry&& data, std::vector<Dropped>& dropped) override;
  std::optional<Entry> take() override;
  void done(uint64_t /*id*/) override {}
  [[nodiscard]] size_t waiting() const override;

 private:
  QueueLimits limits_;
  mutable std::mutex mu_;
  std::deque<pdata::Telemetry> queue_;
  uint64_t used_ = 0;
};

}  // namespace weft::exporters
