#pragma once

#include <vector>

#include "weft/consumer.h"

namespace weft {

// Hands each batch to several consumers: each but the last gets a copy of the
// wire bytes, the last one the original. Every consumer is tried and the first
// failure is returned (the sender's retry then reaches the ones that took it too).
class FanOut final : public Consumer {
 public:
  FanOut() = default;
  explicit FanOut(std::vector<Consumer*> consumers) : consumers_(std::move(consumers)) {}
  // Only while the graph is built, before any data flows.
  void add(Consumer* consumer) { consumers_.push_back(consumer); }

  Status consume(pdata::Telemetry&& data) override {
    if (consumers_.empty()) return Status::ok();
    Status first_error;
    for (size_t i = 0; i + 1 < consumers_.size(); ++i) {
      Status status = consumers_[i]->consume(data.clone());
      if (!status.is_ok() && first_error.is_ok()) first_error = status;
    }
    // After a retryable refusal the caller keeps (and retries) the batch, so the last
    // consumer must not take the caller's copy either.
    Status last = first_error.is_retryable() ? consumers_.back()->consume(data.clone())
                                             : consumers_.back()->consume(std::move(data));
    return first_error.is_ok() ? last : first_error;
  }

 private:
  std::vector<Consumer*> consumers_;
};

}  // namespace weft
