#include "wasm/plugin/plugin_metrics.h"

#include <fmt/format.h>

namespace weft::wasm {
namespace {

constexpr double kLatencyBuckets[] = {0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1};
constexpr Failure kTrapKinds[] = {Failure::kOutOfBounds, Failure::kUnreachable,
                                  Failure::kStackOverflow, Failure::kTrap};

}  // namespace

PluginMetrics::PluginMetrics(telemetry::Registry& r, const telemetry::Labels& l) {
  auto with = [&l](const char* key, std::string value) {
    telemetry::Labels out = l;
    out.emplace_back(key, std::move(value));
    return out;
  };
  calls = &r.counter("weft_plugin_calls", "Batches handed to the plugin.", l);
  items_in = &r.counter("weft_plugin_items_in", "Items handed to the plugin.", l);
  items_out = &r.counter("weft_plugin_items_out", "Items the plugin passed on.", l);
  errors = &r.counter("weft_plugin_errors",
                      "Calls that returned a failure status or a result weft refused.", l);
  timeouts = &r.counter("weft_plugin_timeouts", "Calls stopped at their deadline.", l);
  memory_limits = &r.counter("weft_plugin_memory_limit_hits", "Traps at the memory cap.", l);
  backed_off =
      &r.counter("weft_plugin_backed_off_batches", "Batches not offered to a failing plugin.", l);
  reloads_ok =
      &r.counter("weft_plugin_reloads", "Versions loaded by a reload.", with("result", "ok"));
  reloads_failed =
      &r.counter("weft_plugin_reloads", "Versions loaded by a reload.", with("result", "failed"));
  memory = &r.gauge("weft_plugin_memory_bytes", "Linear memory of the last instance used.", l);
  generation = &r.gauge("weft_plugin_generation", "Version number of the running module.", l);
  for (size_t i = 0; i < traps.size(); ++i) {
    traps[i] = &r.counter("weft_plugin_traps", "Calls that trapped, by kind.",
                          with("kind", std::string(failure_name(kTrapKinds[i]))));
  }
  latency_sum_ =
      &r.value("weft_plugin_call_duration_seconds_sum", "Time spent in the plugin.", l, true);
  latency_count_ = &r.counter("weft_plugin_call_duration_seconds_count", "Calls timed.", l);
  for (double le : kLatencyBuckets) {
    latency_buckets_.push_back(&r.counter("weft_plugin_call_duration_seconds_bucket",
                                          "Call duration histogram.",
                                          with("le", fmt::format("{}", le))));
  }
  latency_buckets_.push_back(&r.counter("weft_plugin_call_duration_seconds_bucket",
                                        "Call duration histogram.", with("le", "+Inf")));
}

void PluginMetrics::failed(Failure kind) {
  switch (kind) {
    case Failure::kTimeout:
      timeouts->add();
      return;
    case Failure::kMemoryLimit:
      memory_limits->add();
      return;
    case Failure::kNone:
      return;
    default:
      break;
  }
  for (size_t i = 0; i < traps.size(); ++i) {
    if (kTrapKinds[i] == kind) {
      traps[i]->add();
      return;
    }
  }
  errors->add();  // a failure status, a refused result, a bad interface
}

void PluginMetrics::timed(double seconds) {
  latency_sum_->add(seconds);
  latency_count_->add();
  for (size_t i = 0; i < std::size(kLatencyBuckets); ++i) {
    if (seconds <= kLatencyBuckets[i]) latency_buckets_[i]->add();
  }
  latency_buckets_.back()->add();
}

}  // namespace weft::wasm
