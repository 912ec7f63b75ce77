#include "wasm/plugin/plugin.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>

#include "wasm/plugin/call_host.h"
#include "weft/audit.h"

namespace weft::wasm {
namespace {

constexpr int kFailuresBeforeBackoff = 5;
constexpr uint64_t kWasmPage = 64ULL * 1024;
constexpr std::chrono::milliseconds kFirstBackoff{1000};
constexpr std::chrono::milliseconds kMaxBackoff{60000};
constexpr double kLatencyBuckets[] = {0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1};

std::string process_export(Signal signal) {
  return "weft_process_" + std::string(signal_name(signal));
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::permanent("cannot read plugin file " + path);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// Every import must be one weft provides, with its signature: WASI, or a host function of
// module "weft" (host_functions(), the list docs/abi.md documents).
Status check_imports(const Module& module) {
  for (const auto& import : module.import_list()) {
    if (import.module == "wasi_snapshot_preview1") continue;
    const std::string what = import.module + "." + import.name;
    if (import.module != "weft") {
      return Status::invalid_argument("imports " + what +
                                      "; a plugin may import only module weft and "
                                      "wasi_snapshot_preview1 (see docs/abi.md)");
    }
    const auto& all = host_functions();
    auto it = std::find_if(all.begin(), all.end(),
                           [&](const HostFunction& f) { return f.name == import.name; });
    if (it == all.end()) {
      return Status::invalid_argument("imports " + what +
                                      ", which this weft does not provide (see docs/abi.md)");
    }
    if (it->signature != import.signature) {
      return Status::invalid_argument("imports " + what + " with the signature " +
                                      import.signature + "; weft provides " + it->signature +
                                      " (see docs/abi.md)");
    }
  }
  return Status::ok();
}

}  // namespace

struct Plugin::Metrics {
  telemetry::Counter* calls;
  telemetry::Counter* items_in;
  telemetry::Counter* items_out;
  telemetry::Counter* errors;
  telemetry::Counter* traps;
  telemetry::Counter* timeouts;
  telemetry::Counter* memory_limits;
  telemetry::Counter* backed_off;
  telemetry::Counter* reloads_ok;
  telemetry::Counter* reloads_failed;
  telemetry::Gauge* memory;
  telemetry::Gauge* generation;
  telemetry::Value* latency_sum;
  telemetry::Counter* latency_count;
  std::vector<telemetry::Counter*> latency_buckets;  // cumulative, le = kLatencyBuckets, +Inf
};

struct Plugin::Version {
  std::shared_ptr<Module> module;
  uint64_t generation = 0;
  std::mutex mu;
  std::vector<std::unique_ptr<Instance>> idle;

  std::function<void(Instance&)> on_drop;  // calls weft_shutdown with the host's services

  ~Version() {
    for (auto& instance : idle) {
      if (on_drop) on_drop(*instance);
    }
  }
};

Plugin::Plugin(std::shared_ptr<Engine> engine, PluginSettings settings, ComponentContext ctx)
    : engine_(std::move(engine)), settings_(std::move(settings)), ctx_(std::move(ctx)) {
  shared_ = std::make_unique<PluginShared>(settings_, ctx_);
  const telemetry::Labels& l = shared_->labels;
  auto& r = *ctx_.metrics;
  auto with = [&l](const char* key, std::string value) {
    telemetry::Labels out = l;
    out.emplace_back(key, std::move(value));
    return out;
  };
  metrics_ = std::make_unique<Metrics>();
  auto& m = *metrics_;
  m.calls = &r.counter("weft_plugin_calls", "Batches handed to the plugin.", l);
  m.items_in = &r.counter("weft_plugin_items_in", "Items handed to the plugin.", l);
  m.items_out = &r.counter("weft_plugin_items_out", "Items the plugin passed on.", l);
  m.errors = &r.counter("weft_plugin_errors", "Calls that returned a failure status.", l);
  m.traps = &r.counter("weft_plugin_traps", "Calls that trapped.", l);
  m.timeouts = &r.counter("weft_plugin_timeouts", "Calls stopped at their deadline.", l);
  m.memory_limits = &r.counter("weft_plugin_memory_limit_hits", "Traps at the memory cap.", l);
  m.backed_off =
      &r.counter("weft_plugin_backed_off_batches", "Batches not offered to a failing plugin.", l);
  m.reloads_ok =
      &r.counter("weft_plugin_reloads", "Versions loaded by a reload.", with("result", "ok"));
  m.reloads_failed =
      &r.counter("weft_plugin_reloads", "Versions loaded by a reload.", with("result", "failed"));
  m.memory = &r.gauge("weft_plugin_memory_bytes", "Linear memory of the last instance used.", l);
  m.generation = &r.gauge("weft_plugin_generation", "Version number of the running module.", l);
  m.latency_sum =
      &r.value("weft_plugin_call_duration_seconds_sum", "Time spent in the plugin.", l, true);
  m.latency_count = &r.counter("weft_plugin_call_duration_seconds_count", "Calls timed.", l);
  for (double le : kLatencyBuckets) {
    m.latency_buckets.push_back(&r.counter("weft_plugin_call_duration_seconds_bucket",
                                           "Call duration histogram.",
                                           with("le", fmt::format("{}", le))));
  }
  m.latency_buckets.push_back(&r.counter("weft_plugin_call_duration_seconds_bucket",
                                         "Call duration histogram.", with("le", "+Inf")));
}

Plugin::~Plugin() {
  stop_watching();
}

void Plugin::audit(const std::string& event, const std::string& detail) {
  telemetry::Labels labels = shared_->labels;
  labels.emplace_back("event", event);
  ctx_.metrics
      ->counter("weft_plugin_lifecycle_events", "Plugin lifecycle events (see the audit log).",
                labels)
      .add();
  ctx_.logger->info("audit: event={} plugin={} path={} {}", event, ctx_.id, settings_.path, detail);
  if (ctx_.audit != nullptr) {
    ctx_.audit->record(event, ctx_.id, {{"path", settings_.path}, {"detail", detail}});
  }
}

Result<std::unique_ptr<Instance>> Plugin::new_instance(Version& version) {
  auto created = Instance::create(version.module, settings_.limits);
  if (!created.ok()) return created.status();
  auto instance = std::move(created).value();
  // Setting an instance up is part of starting it: each call has the start deadline.
  const auto deadline = settings_.limits.start_timeout;
  CallHost host(*shared_);
  auto abi = instance->call("weft_abi_version", {}, &host, deadline);
  if (!abi.ok()) return Status::invalid_argument("weft_abi_version failed: " + abi.message);
  if (abi.value != 1) {
    return Status::invalid_argument("plugin speaks ABI version " + std::to_string(abi.value) +
                                    "; this weft loads version 1");
  }
  const std::string& config = settings_.config_json;
  auto ptr = place(*instance, host, config, deadline);
  if (!ptr.ok()) return Status::invalid_argument("placing the config: " + ptr.message);
  auto configured = instance->call(
      "weft_configure", {ptr.value, static_cast<int32_t>(config.size())}, &host, deadline);
  if (!configured.ok())
    return Status::invalid_argument("weft_configure failed: " + configured.message);
  if (configured.value != 0) {
    return Status::invalid_argument("weft_configure returned " + std::to_string(configured.value) +
                                    (host.error.empty() ? "" : ": " + host.error));
  }
  return instance;
}

CallResult Plugin::place(Instance& instance, CallHost& host, std::string_view bytes,
                         std::optional<std::chrono::milliseconds> timeout) {
  const auto size = static_cast<int32_t>(bytes.size());
  CallResult ptr = instance.call("weft_alloc", {size}, &host, timeout);
  if (!ptr.ok() || (ptr.value != 0 && instance.write(static_cast<uint32_t>(ptr.value), bytes))) {
    return ptr;
  }
  const uint64_t memory = instance.memory_bytes();
  ptr.message = "weft_alloc(" + std::to_string(size) + ") returned " +
                std::to_string(static_cast<uint32_t>(ptr.value));
  if (ptr.value != 0) {
    ptr.failure = Failure::kBadResult;
    ptr.message += ", which with " + std::to_string(size) + " bytes runs past the end of memory (" +
                   std::to_string(memory) + " bytes)";
  } else if (memory + bytes.size() + kWasmPage > settings_.limits.memory_bytes) {
    // Its memory cannot grow by the request: the plugin has hit its cap.
    ptr.failure = Failure::kMemoryLimit;
    ptr.message += ": memory is at " + std::to_string(memory) + " bytes of its limits.memory " +
                   std::to_string(settings_.limits.memory_bytes);
  } else {
    ptr.failure = Failure::kBadResult;
    ptr.message += " with memory at " + std::to_string(memory) + " of " +
                   std::to_string(settings_.limits.memory_bytes) + " bytes";
  }
  return ptr;
}

Result<std::shared_ptr<Plugin::Version>> Plugin::load_version(const std::string& bytes) {
  auto module = engine_->compile(bytes, {settings_.module_bytes, settings_.limits.memory_bytes});
  if (!module.ok()) return module.status();
  std::vector<std::string> missing;
  const auto exports = module.value()->exports();
  if (std::find(exports.begin(), exports.end(), "memory") == exports.end())
    missing.push_back("memory");
  std::vector<std::string> needed = {"weft_abi_version", "weft_alloc", "weft_configure"};
  for (Signal s : settings_.signals) needed.push_back(process_export(s));
  for (const auto& name : needed) {
    if (!module.value()->exports_function(name)) missing.push_back(name);
  }
  std::vector<std::pair<std::string, std::string>> expected = {
      {"weft_abi_version", "()->(i32)"},
      {"weft_alloc", "(i32)->(i32)"},
      {"weft_configure", "(i32,i32)->(i32)"},
      {"weft_shutdown", "()->()"}};
  for (Signal s : settings_.signals) expected.emplace_back(process_export(s), "(i32,i32)->(i32)");
  for (const auto& [name, want] : expected) {
    const std::string got = module.value()->signature(name);
    if (!got.empty() && got != want) {
      return Status::invalid_argument("export " + name + " has the signature " + got +
                                      ", the ABI wants " + want + " (see docs/abi.md)");
    }
  }
  if (Status imports = check_imports(*module.value()); !imports.is_ok()) return imports;
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    return Status::invalid_argument("not a weft plugin: missing export(s) " + list +
                                    " (see docs/abi.md)");
  }
  auto version = std::make_shared<Version>();
  version->module = module.value();
  if (version->module->exports_function("weft_shutdown")) {
    PluginShared* shared = shared_.get();
    const auto deadline = settings_.limits.start_timeout;
    version->on_drop = [shared, deadline](Instance& instance) {
      CallHost host(*shared);
      (void)instance.call("weft_shutdown", {}, &host, deadline);
    };
  }
  auto first = new_instance(*version);  // proves it instantiates and configures
  if (!first.ok()) return first.status();
  version->idle.push_back(std::move(first).value());
  return version;
}

Result<std::shared_ptr<Plugin>> Plugin::load(std::shared_ptr<Engine> engine,
                                             PluginSettings settings, ComponentContext ctx) {
  std::shared_ptr<Plugin> plugin(
      new Plugin(std::move(engine), std::move(settings), std::move(ctx)));
  auto bytes = read_file(plugin->settings_.path);
  if (!bytes.ok()) return bytes.status();
  auto version = plugin->load_version(bytes.value());
  if (!version.ok()) {
    plugin->audit("load_failed", version.status().message());
    return Status::invalid_argument(plugin->settings_.path + ": " + version.status().message());
  }
  version.value()->generation = 1;
  plugin->current_ = version.value();
  plugin->generation_ = 1;
  plugin->metrics_->generation->set(1);
  plugin->audit("loaded", "generation=1 sha256=" + version.value()->module->hash());
  return plugin;
}

Status Plugin::reload() {
  std::lock_guard reload_lock(reload_mu_);
  auto bytes = read_file(settings_.path);
  Result<std::shared_ptr<Version>> version =
      bytes.ok() ? load_version(bytes.value()) : Result<std::shared_ptr<Version>>(bytes.status());
  if (!version.ok()) {
    metrics_->reloads_failed->add();
    audit("reload_failed", version.status().message());
    ctx_.logger->error("reload of {} failed, generation {} keeps running: {}", settings_.path,
                       generation_.load(), version.status().message());
    return version.status();
  }
  const uint64_t gen = generation_.load() + 1;
  version.value()->generation = gen;
  {
    std::lock_guard lock(version_mu_);
    current_ = version.value();
  }
  generation_ = gen;
  metrics_->generation->set(static_cast<int64_t>(gen));
  metrics_->reloads_ok->add();
  {
    std::lock_guard lock(failure_mu_);
    failures_in_row_ = 0;
    backoff_ = std::chrono::milliseconds(0);
  }
  audit("reloaded",
        "generation=" + std::to_string(gen) + " sha256=" + version.value()->module->hash());
  return Status::ok();
}

Outcome Plugin::process(pdata::Telemetry& data) {
  const auto start = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(failure_mu_);
    if (failures_in_row_ >= kFailuresBeforeBackoff && start < backoff_until_) {
      metrics_->backed_off->add();
      return Outcome{Outcome::kFailed, "plugin is backed off after repeated failures", {}, {}};
    }
  }
  std::shared_ptr<Version> version;
  {
    std::lock_guard lock(version_mu_);
    version = current_;
  }
  std::unique_ptr<Instance> instance;
  {
    std::lock_guard lock(version->mu);
    if (!version->idle.empty()) {
      instance = std::move(version->idle.back());
      version->idle.pop_back();
    }
  }
  auto fail = [&](std::string error, bool keep_instance) {
    if (keep_instance && instance) {
      std::lock_guard lock(version->mu);
      version->idle.push_back(std::move(instance));
    }
    std::lock_guard lock(failure_mu_);
    if (++failures_in_row_ >= kFailuresBeforeBackoff) {
      backoff_ = backoff_.count() == 0 ? kFirstBackoff : std::min(kMaxBackoff, backoff_ * 2);
      backoff_until_ = std::chrono::steady_clock::now() + backoff_;
      ctx_.logger->warn("plugin failed {} times in a row; backing off for {} ms", failures_in_row_,
                        backoff_.count());
    }
    return Outcome{Outcome::kFailed, std::move(error), {}, {}};
  };
  if (!instance) {
    auto created = new_instance(*version);
    if (!created.ok()) {
      metrics_->errors->add();
      return fail("cannot start an instance: " + created.status().message(), false);
    }
    instance = std::move(created).value();
  }
  metrics_->calls->add();
  const size_t items = data.item_count();
  metrics_->items_in->add(items);
  const std::string& wire = data.wire();
  CallHost host(*shared_);
  CallResult call = place(*instance, host, wire, std::nullopt);
  if (call.ok()) {
    call = instance->call(process_export(data.signal()),
                          {call.value, static_cast<int32_t>(wire.size())}, &host);
  }
  shared_->summarise_logs();
  metrics_->memory->set(static_cast<int64_t>(instance->memory_bytes()));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  metrics_->latency_sum->add(seconds);
  metrics_->latency_count->add();
  for (size_t i = 0; i < std::size(kLatencyBuckets); ++i) {
    if (seconds <= kLatencyBuckets[i]) metrics_->latency_buckets[i]->add();
  }
  metrics_->latency_buckets.back()->add();

  if (!call.ok()) {
    switch (call.failure) {
      case Failure::kTimeout:
        metrics_->timeouts->add();
        break;
      case Failure::kMemoryLimit:
        metrics_->memory_limits->add();
        break;
      case Failure::kBadResult:
        metrics_->errors->add();
        break;
      default:
        metrics_->traps->add();
    }
    ctx_.logger->error("plugin call failed, instance replaced: {}", call.message);
    return fail(call.message, false);  // a trapped instance is never reused
  }
  if (call.value != 0) {
    metrics_->errors->add();
    return fail("plugin returned status " + std::to_string(call.value) +
                    (host.error.empty() ? "" : ": " + host.error),
                true);
  }
  Outcome outcome;
  const Status applied = host.apply(data, outcome);
  if (!applied.is_ok()) {
    metrics_->errors->add();
    return fail("plugin result rejected: " + applied.message(), true);
  }
  {
    std::lock_guard lock(version->mu);
    version->idle.push_back(std::move(instance));
  }
  {
    std::lock_guard lock(failure_mu_);
    failures_in_row_ = 0;
    backoff_ = std::chrono::milliseconds(0);
  }
  if (outcome.kind == Outcome::kKept) {
    metrics_->items_out->add(outcome.output ? outcome.output->item_count() : data.item_count());
  }
  outcome.emitted = std::move(host.emitted);
  return outcome;
}

void Plugin::start_watching() {
  if (settings_.watch_interval.count() <= 0 || watcher_.joinable()) return;
  watcher_ = std::thread([this] { watch(); });
}

void Plugin::stop_watching() {
  {
    std::lock_guard lock(watch_mu_);
    stop_watch_ = true;
  }
  watch_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

void Plugin::watch() {
  auto stamp = [this] {
    struct stat st {};
    if (::stat(settings_.path.c_str(), &st) != 0) return std::string();
    return std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + "/" +
           std::to_string(st.st_size) + "/" + std::to_string(st.st_ino);
  };
  std::string last = stamp();
  std::unique_lock lock(watch_mu_);
  while (!stop_watch_) {
    watch_cv_.wait_for(lock, settings_.watch_interval);
    if (stop_watch_) break;
    const std::string now = stamp();
    if (now.empty() || now == last) continue;
    last = now;
    lock.unlock();
    ctx_.logger->info("{} changed; reloading", settings_.path);
    (void)reload();
    lock.lock();
  }
}

}  // namespace weft::wasm
