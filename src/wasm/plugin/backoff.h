#pragma once

#include <chrono>
#include <mutex>

namespace weft::wasm {

// A plugin that fails every batch is left alone for a while: after kFailuresBeforeBackoff
// failures in a row its batches get on_error without a call, for 1 s, doubling up to 60 s,
// until a call succeeds again. Thread-safe.
class Backoff {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr int kFailuresBeforeBackoff = 5;
  static constexpr std::chrono::milliseconds kFirst{1000};
  static constexpr std::chrono::milliseconds kMax{60000};

  // Whether a batch arriving now is to be skipped.
  [[nodiscard]] bool backing_off(Clock::time_point now);
  // A failed call; returns the new backoff if this failure started or doubled one (else 0).
  std::chrono::milliseconds failed(Clock::time_point now);
  void succeeded();
  [[nodiscard]] int failures_in_row();

 private:
  std::mutex mu_;
  int failures_in_row_ = 0;
  Clock::time_point until_{};
  std::chrono::milliseconds backoff_{0};
};

}  // namespace weft::wasm
