// The `native` processor: a plugin's C source compiled natively (a shared library built
// with -DWEFT_NATIVE_PLUGIN) and called in weft's process, with no sandbox, no limits and
// no copy of the batch. It exists only as the benchmarks' baseline for the Wasm ratio and
// is linked only into weft_native (bench/), never into the weft collector.
//
// It shares everything but the call with the wasm processor: the host calls (CallHost)
// and how a plugin's result is applied. A native plugin keeps its state in globals, so
// calls are serialized.
#include <dlfcn.h>
#include <spdlog/spdlog.h>

#include <cstring>

#include <mutex>

#include "wasm/plugin/call_host.h"
#include "wasm/plugin/settings.h"
#include "weft/factory.h"
#include "weft_native.h"

namespace weft::bench {
namespace {

using wasm::CallHost;
using wasm::kAbiInvalid;

thread_local CallHost* current = nullptr;  // the call in progress on this thread

std::string_view view(const void* p, int32_t n) {
  return {static_cast<const char*>(p), static_cast<size_t>(n < 0 ? 0 : n)};
}

int32_t copy_out(int32_t rc, const std::string& value, void* out, int32_t cap) {
  if (rc < 0) return rc;
  std::memcpy(out, value.data(), std::min<size_t>(static_cast<size_t>(cap), value.size()));
  return static_cast<int32_t>(value.size());
}

const weft_native_host kHost = {
    [](int32_t level, const void* p, int32_t n) { current->log(level, view(p, n)); },
    [](const void* p, int32_t n) { current->set_error(view(p, n)); },
    [] { return current->now_unix_nano(); },
    [](int32_t kind, const void* name, int32_t name_len, double value, const void* attrs,
       int32_t attrs_len) {
      return current->metric(kind, view(name, name_len), value, view(attrs, attrs_len));
    },
    [](const void* key, int32_t key_len, void* out, int32_t cap) {
      std::string value;
      return copy_out(current->kv_get(view(key, key_len), value), value, out, cap);
    },
    [](const void* key, int32_t key_len, const void* value, int32_t len) {
      return current->kv_set(view(key, key_len), view(value, len));
    },
    [](const void* key, int32_t key_len) { return current->kv_delete(view(key, key_len)); },
    [](const void* name, int32_t name_len, void* out, int32_t cap) {
      std::string value;
      return copy_out(current->env_get(view(name, name_len), value), value, out, cap);
    },
    [] { return current->result_drop_all(); },
    [](const void* p, int32_t n) { return current->result_keep(view(p, n)); },
    [](const void* p, int32_t n) { return current->result_edits(view(p, n)); },
    [](const void* p, int32_t n) { return current->result_replace(view(p, n)); },
    [](int32_t signal, const void* p, int32_t n) {
      return current ? current->emit(signal, view(p, n)) : kAbiInvalid;
    },
    [](const void* table, int32_t table_len, const void* key, int32_t key_len, void* out,
       int32_t cap) {
      std::string fields;
      return copy_out(current->lookup(view(table, table_len), view(key, key_len), fields), fields,
                      out, cap);
    },
    [](const void* key, int32_t key_len, void* out, int32_t cap) {
      std::string value;
      return copy_out(current->client_info(view(key, key_len), value), value, out, cap);
    },
};

using ProcessFn = int32_t (*)(uintptr_t, int32_t);
using ConfigureFn = int32_t (*)(uintptr_t, int32_t);

class NativeProcessor final : public Processor {
 public:
  NativeProcessor(const ComponentContext& ctx, const wasm::PluginConfig& config, Signal signal,
                  Consumer* next)
      : ctx_(ctx),
        settings_(config.plugin),
        signal_(signal),
        next_(next),
        shared_(settings_, ctx) {}
  ~NativeProcessor() override {
    if (library_ != nullptr) dlclose(library_);
  }

  Status start() override {
    library_ = dlopen(settings_.path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (library_ == nullptr) return Status::invalid_argument(dlerror());
    auto bind = reinterpret_cast<weft_native_bind_fn>(dlsym(library_, "weft_native_bind"));
    auto configure = reinterpret_cast<ConfigureFn>(dlsym(library_, "weft_configure"));
    const std::string export_name = "weft_process_" + std::string(signal_name(signal_));
    process_ = reinterpret_cast<ProcessFn>(dlsym(library_, export_name.c_str()));
    if (bind == nullptr || configure == nullptr || process_ == nullptr) {
      return Status::invalid_argument(settings_.path + " is not a native weft plugin for " +
                                      std::string(signal_name(signal_)));
    }
    if (bind(&kHost) != 1) return Status::invalid_argument("plugin is not ABI version 1");
    CallHost host(shared_);
    current = &host;
    const std::string& json = settings_.config_json;
    const int32_t rc =
        configure(reinterpret_cast<uintptr_t>(json.data()), static_cast<int32_t>(json.size()));
    current = nullptr;
    if (rc != 0) return Status::invalid_argument("weft_configure failed: " + host.error);
    return Status::ok();
  }

  void shutdown(std::chrono::steady_clock::time_point) override {}

  Status consume(pdata::Telemetry&& data) override {
    wasm::Outcome outcome;
    {
      std::lock_guard lock(mu_);
      CallHost host(shared_);
      current = &host;
      const std::string& wire = data.wire();
      const int32_t rc =
          process_(reinterpret_cast<uintptr_t>(wire.data()), static_cast<int32_t>(wire.size()));
      current = nullptr;
      if (rc != 0 || !host.apply(data, outcome).is_ok()) {
        ctx_.logger->warn("native plugin failed, passing the batch on unchanged: {}", host.error);
        return next_->consume(std::move(data));
      }
    }
    if (outcome.kind == wasm::Outcome::kDropped) return Status::ok();
    pdata::Telemetry& out = outcome.output ? *outcome.output : data;
    if (out.item_count() == 0) return Status::ok();
    return next_->consume(std::move(out));
  }

 private:
  ComponentContext ctx_;
  wasm::PluginSettings settings_;
  Signal signal_;
  Consumer* next_;
  wasm::PluginShared shared_;
  void* library_ = nullptr;
  ProcessFn process_ = nullptr;
  std::mutex mu_;
};

class Factory final : public wasm::PluginFactory {
 public:
  [[nodiscard]] ComponentKind kind() const override { return ComponentKind::kProcessor; }
  [[nodiscard]] std::string_view type() const override { return "native"; }
  [[nodiscard]] Status check(const ComponentConfig&, const std::set<Signal>&) const override {
    return Status::ok();
  }
  std::unique_ptr<Processor> create_processor(const ComponentContext& ctx,
                                              const ComponentConfig& config, Signal signal,
                                              Consumer* next) const override {
    return std::make_unique<NativeProcessor>(ctx, cast(config), signal, next);
  }
};

}  // namespace
}  // namespace weft::bench

std::unique_ptr<weft::Factory> make_native_processor_factory() {
  return std::make_unique<weft::bench::Factory>();
}
