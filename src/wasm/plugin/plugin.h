#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "wasm/engine/engine.h"
#include "weft/component.h"
#include "weft/metrics.h"
#include "weft/telemetry.h"

namespace weft::wasm {

struct PluginShared;
class CallHost;

enum class OnError { kPass, kDrop, kReject };

struct PluginSettings {
  std::string path;
  std::string config_json = "{}";
  InstanceLimits limits;
  uint64_t module_bytes = 32ull << 20;
  uint64_t state_bytes = 1 << 20;
  double log_rate = 100;    // weft.log lines per second, on average
  double log_burst = 1000;  // lines at once
  uint32_t metric_series = 1000;
  OnError on_error = OnError::kPass;
  std::set<std::string> env_allowed;
  std::set<Signal> signals;                        // the plugin must export process for these
  std::optional<Signal> emits;                     // connectors: the signal weft.emit may produce
  std::chrono::milliseconds watch_interval{1000};  // 0: do not watch the file
};

// What became of a batch handed to a plugin.
struct Outcome {
  enum Kind { kKept, kDropped, kFailed } kind = kKept;
  std::string error;
  std::vector<pdata::Telemetry> emitted;  // connectors: what weft.emit produced
  // kKept with a result: the changed batch. The batch handed in is never changed, so a
  // caller whose next stage refuses it can retry with the original.
  std::optional<pdata::Telemetry> output;
};

// One loaded plugin (one per wasm processor id): the current version of the
// module, a pool of idle instances of it, per-plugin state and metrics, and a
// watcher that reloads the module when its file changes. A reload compiles and
// checks the new file off the data path and swaps it in atomically; calls in
// flight finish on the version they started with.
class Plugin {
 public:
  static Result<std::shared_ptr<Plugin>> load(std::shared_ptr<Engine> engine,
                                              PluginSettings settings, ComponentContext ctx);
  ~Plugin();

  // Runs the plugin on a batch; on kKept the batch holds the plugin's result.
  // On kFailed the batch is untouched.
  Outcome process(pdata::Telemetry& data);
  // Loads the file again; on failure the running version stays and the error is returned.
  Status reload();
  void start_watching();
  void stop_watching();
  [[nodiscard]] uint64_t generation() const { return generation_.load(); }

 private:
  struct Version;
  struct Metrics;
  Plugin(std::shared_ptr<Engine> engine, PluginSettings settings, ComponentContext ctx);
  Result<std::shared_ptr<Version>> load_version(const std::string& bytes);
  Result<std::unique_ptr<Instance>> new_instance(Version& version);
  // Copies bytes into a buffer from weft_alloc; the call's result holds the pointer, or why
  // there is none (a weft_alloc that returns 0 below the memory cap is the plugin's error).
  CallResult place(Instance& instance, CallHost& host, std::string_view bytes,
                   std::optional<std::chrono::milliseconds> timeout);
  void watch();
  void audit(const std::string& event, const std::string& detail);

  std::shared_ptr<Engine> engine_;
  PluginSettings settings_;
  ComponentContext ctx_;
  std::unique_ptr<PluginShared> shared_;  // with the host calls of every instance
  std::unique_ptr<Metrics> metrics_;

  std::mutex version_mu_;  // guards current_ (swapped on reload)
  std::shared_ptr<Version> current_;
  std::atomic<uint64_t> generation_{0};

  std::mutex reload_mu_;  // one reload at a time
  std::mutex failure_mu_;
  int failures_in_row_ = 0;
  std::chrono::steady_clock::time_point backoff_until_{};
  std::chrono::milliseconds backoff_{0};

  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool stop_watch_ = false;
  std::thread watcher_;
};

}  // namespace weft::wasm
