#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>

// Anomaly detection for a plugin (docs/abi.md, "Anomalies"): a rolling baseline of what each
// version does — the share of items it drops, the share of calls that fail (errors, traps,
// timeouts), the time per call — and, for the version running now, a window compared with it.
namespace weft::wasm {

struct AnomalySettings {
  bool enabled = false;
  double drop_ratio_change = 5;  // the drop ratio grew this many times
  double error_rate_change = 5;  // the failed share of calls grew this many times
  double latency_change = 3;     // the mean time per call grew this many times
  std::chrono::milliseconds window{60000};
  uint64_t min_calls = 20;  // a window is judged only once it holds this many calls
  bool rollback = false;    // on_anomaly: rollback (else log)
};

// What one judged window found: the first measure past its threshold, and the numbers.
struct Anomaly {
  std::string kind;  // "drop_ratio", "error_rate", "latency"
  double baseline = 0;
  double current = 0;
  double change = 0;
};

class AnomalyDetector {
 public:
  using Clock = std::chrono::steady_clock;
  explicit AnomalyDetector(AnomalySettings settings) : settings_(settings) {}

  // One call of the running version: items in and kept, whether it failed, how long it took.
  // Returns an anomaly once per window at most (then the window starts again).
  std::optional<Anomaly> record(uint64_t items_in, uint64_t items_out, bool failed,
                                std::chrono::nanoseconds duration, Clock::time_point now);
  // A new version runs: its windows are judged against the baseline of those before it.
  void new_version(Clock::time_point now);

 private:
  struct Window {
    uint64_t calls = 0, failed = 0, items_in = 0, items_out = 0;
    double seconds = 0;
    [[nodiscard]] double drop_ratio() const {
      return items_in == 0 ? 0
                           : 1.0 - static_cast<double>(items_out) / static_cast<double>(items_in);
    }
    [[nodiscard]] double error_rate() const {
      return calls == 0 ? 0 : static_cast<double>(failed) / static_cast<double>(calls);
    }
    [[nodiscard]] double latency() const {
      return calls == 0 ? 0 : seconds / static_cast<double>(calls);
    }
  };
  std::optional<Anomaly> judge(const Window& w) const;
  void fold(const Window& w);

  AnomalySettings settings_;
  std::mutex mu_;
  Window current_;
  Clock::time_point started_{};
  bool have_baseline_ = false;
  double base_drop_ = 0, base_error_ = 0, base_latency_ = 0;
};

}  // namespace weft::wasm
