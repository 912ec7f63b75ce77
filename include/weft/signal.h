#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace weft {

enum class Signal { kTraces, kMetrics, kLogs };

inline constexpr std::array<Signal, 3> kAllSignals = {Signal::kTraces, Signal::kMetrics,
                                                      Signal::kLogs};

// "traces", "metrics", "logs": the names used in pipeline ids and URL paths.
constexpr std::string_view signal_name(Signal signal) {
  switch (signal) {
    case Signal::kTraces:
      return "traces";
    case Signal::kMetrics:
      return "metrics";
    case Signal::kLogs:
      return "logs";
  }
  return "unknown";
}

// The item noun in self-telemetry names, after the Go collector:
// otelcol_receiver_accepted_spans, ..._metric_points, ..._log_records.
constexpr std::string_view item_noun(Signal signal) {
  switch (signal) {
    case Signal::kTraces:
      return "spans";
    case Signal::kMetrics:
      return "metric_points";
    case Signal::kLogs:
      return "log_records";
  }
  return "items";
}

inline std::optional<Signal> signal_from_name(std::string_view name) {
  for (Signal s : kAllSignals) {
    if (signal_name(s) == name) return s;
  }
  return std::nullopt;
}

}  // namespace weft
