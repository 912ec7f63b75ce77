#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <vector>

#include "weft/consumer.h"

// Test doubles for the next stage of a pipeline (the Go collector's consumertest).
namespace weft::testing {

// Records every batch it takes; can be told to refuse (retryable), reject (permanent) or
// take its time. Thread-safe: consumers are called from several threads at once.
class SinkConsumer final : public Consumer {
 public:
  enum class Mode { kAccept, kRefuse, kReject };

  Status consume(pdata::Telemetry&& data) override;

  void set_mode(Mode mode);
  // Modes for the next calls, one each, before set_mode()'s applies again.
  void set_script(std::vector<Mode> script);
  void set_delay(std::chrono::milliseconds delay);

  [[nodiscard]] size_t items() const;
  [[nodiscard]] size_t calls() const;
  // The batches taken, moved out (the sink forgets them).
  std::vector<pdata::Telemetry> take();
  // Waits until at least `items` items were taken; false at the timeout.
  bool wait_for_items(size_t items, std::chrono::milliseconds timeout);

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  Mode mode_ = Mode::kAccept;
  std::deque<Mode> script_;
  std::chrono::milliseconds delay_{0};
  size_t items_ = 0, calls_ = 0;
  std::vector<pdata::Telemetry> taken_;
};

}  // namespace weft::testing
