#include "wasm/plugin/anomaly.h"

#include <algorithm>

namespace weft::wasm {
namespace {

// Shares are compared with a floor, so that a version going from none to a few (0 to 0.5% of
// items dropped) is not a change of infinity.
constexpr double kShareFloor = 0.01;
constexpr double kLatencyFloor = 20e-6;  // seconds: below this, a call's time is noise

double change(double current, double baseline, double floor) {
  return std::max(current, floor) / std::max(baseline, floor);
}

}  // namespace

std::optional<Anomaly> AnomalyDetector::judge(const Window& w) const {
  if (!have_baseline_ || w.calls < settings_.min_calls) return std::nullopt;
  const struct {
    const char* kind;
    double current, baseline, floor, threshold;
  } measures[] = {
      {"drop_ratio", w.drop_ratio(), base_drop_, kShareFloor, settings_.drop_ratio_change},
      {"error_rate", w.error_rate(), base_error_, kShareFloor, settings_.error_rate_change},
      {"latency", w.latency(), base_latency_, kLatencyFloor, settings_.latency_change},
  };
  for (const auto& m : measures) {
    const double c = change(m.current, m.baseline, m.floor);
    if (m.threshold > 0 && c >= m.threshold) return Anomaly{m.kind, m.baseline, m.current, c};
  }
  return std::nullopt;
}

void AnomalyDetector::fold(const Window& w) {
  if (w.calls < settings_.min_calls) return;  // too little to learn from
  if (!have_baseline_) {
    base_drop_ = w.drop_ratio();
    base_error_ = w.error_rate();
    base_latency_ = w.latency();
    have_baseline_ = true;
    return;
  }
  // An exponentially weighted mean: recent windows count most, a slow drift is followed.
  constexpr double kWeight = 0.3;
  base_drop_ += kWeight * (w.drop_ratio() - base_drop_);
  base_error_ += kWeight * (w.error_rate() - base_error_);
  base_latency_ += kWeight * (w.latency() - base_latency_);
}

std::optional<Anomaly> AnomalyDetector::record(uint64_t items_in, uint64_t items_out, bool failed,
                                               std::chrono::nanoseconds duration,
                                               Clock::time_point now) {
  std::lock_guard lock(mu_);
  if (started_ == Clock::time_point{}) started_ = now;
  current_.calls += 1;
  current_.failed += failed ? 1 : 0;
  current_.items_in += items_in;
  current_.items_out += failed ? items_in : items_out;  // a failure's on_error is not a drop
  current_.seconds += std::chrono::duration<double>(duration).count();
  if (auto anomaly = judge(current_)) {
    current_ = Window{};
    started_ = now;
    return anomaly;
  }
  if (now - started_ >= settings_.window) {
    fold(current_);
    current_ = Window{};
    started_ = now;
  }
  return std::nullopt;
}

void AnomalyDetector::new_version(Clock::time_point now) {
  std::lock_guard lock(mu_);
  // What the old version did in its last, partial window still counts for the baseline.
  fold(current_);
  current_ = Window{};
  started_ = now;
}

}  // namespace weft::wasm
