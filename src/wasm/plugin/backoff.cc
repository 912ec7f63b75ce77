#include "wasm/plugin/backoff.h"

#include <algorithm>

namespace weft::wasm {

bool Backoff::backing_off(Clock::time_point now) {
  std::lock_guard lock(mu_);
  return failures_in_row_ >= kFailuresBeforeBackoff && now < until_;
}

std::chrono::milliseconds Backoff::failed(Clock::time_point now) {
  std::lock_guard lock(mu_);
  if (++failures_in_row_ < kFailuresBeforeBackoff) return std::chrono::milliseconds(0);
  backoff_ = backoff_.count() == 0 ? kFirst : std::min(kMax, backoff_ * 2);
  until_ = now + backoff_;
  return backoff_;
}

void Backoff::succeeded() {
  std::lock_guard lock(mu_);
  failures_in_row_ = 0;
  backoff_ = std::chrono::milliseconds(0);
}

int Backoff::failures_in_row() {
  std::lock_guard lock(mu_);
  return failures_in_row_;
}

}  // namespace weft::wasm
