#pragma once

#include <array>
#include <vector>

#include "wasm/engine/engine.h"
#include "weft/metrics.h"

namespace weft::wasm {

// A plugin's own metrics (weft_plugin_*), every series made once at load.
struct PluginMetrics {
  PluginMetrics(telemetry::Registry& registry, const telemetry::Labels& labels);

  // Counts a failed call under its kind: timeouts, memory-limit hits, traps (by kind) or
  // errors (a failure status, a rejected result, a bad interface).
  void failed(Failure kind);
  // The time a call took, in the latency histogram.
  void timed(double seconds);

  telemetry::Counter* calls;
  telemetry::Counter* items_in;
  telemetry::Counter* items_out;
  telemetry::Counter* errors;
  telemetry::Counter* timeouts;
  telemetry::Counter* memory_limits;
  telemetry::Counter* backed_off;
  telemetry::Counter* reloads_ok;
  telemetry::Counter* reloads_failed;
  telemetry::Gauge* memory;
  telemetry::Gauge* generation;
  // weft_plugin_traps{kind=...}: out_of_bounds, unreachable, stack_overflow, trap (the rest).
  std::array<telemetry::Counter*, 4> traps{};

 private:
  telemetry::Value* latency_sum_;
  telemetry::Counter* latency_count_;
  std::vector<telemetry::Counter*> latency_buckets_;  // cumulative, +Inf last
};

}  // namespace weft::wasm
