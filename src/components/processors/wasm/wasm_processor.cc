#include <spdlog/spdlog.h>

#include <filesystem>

#include "core/builtin.h"
#include "core/yaml_json.h"
#include "telemetry/metrics.h"
#include "wasm/plugin/directory.h"
#include "wasm/plugin/plugin.h"
#include "weft/config_reader.h"

namespace weft::processors::wasm {
namespace {

using weft::wasm::OnError;
using weft::wasm::Outcome;
using weft::wasm::Plugin;
using weft::wasm::PluginSettings;

struct Config : ComponentConfig {
  PluginSettings plugin;
};

// Runs a WebAssembly plugin on every batch (docs/abi.md). A failing plugin
// gets its on_error policy; it never takes the pipeline down.
class WasmProcessor final : public Processor {
 public:
  WasmProcessor(const ComponentContext& ctx, const Config& config, Signal signal, Consumer* next)
      : ctx_(ctx),
        settings_(config.plugin),
        signal_(signal),
        next_(next),
        key_(ctx.id + "@" + std::string(signal_name(signal))) {
    settings_.signals = {signal};
    dropped_ = &ctx.metrics->counter("otelcol_processor_dropped_" + std::string(item_noun(signal)),
                                     "Items dropped by the processor.", {{"processor", ctx.id}});
  }
  ~WasmProcessor() override { shutdown(std::chrono::steady_clock::now()); }

  Status start() override {
    auto engine = weft::wasm::shared_engine();
    if (!engine.ok()) return engine.status();
    auto plugin = Plugin::load(engine.value(), settings_, ctx_);
    if (!plugin.ok()) return plugin.status();
    plugin_ = plugin.value();
    weft::wasm::register_plugin(key_, plugin_);
    plugin_->start_watching();
    return Status::ok();
  }

  void shutdown(std::chrono::steady_clock::time_point) override {
    if (!plugin_) return;
    weft::wasm::unregister_plugin(key_);
    plugin_->stop_watching();
  }

  Status consume(pdata::Telemetry&& data) override {
    if (!plugin_) return Status::retryable("wasm processor " + ctx_.id + " is not running");
    const size_t items = data.item_count();
    Outcome outcome = plugin_->process(data);
    switch (outcome.kind) {
      case Outcome::kDropped:
        return Status::ok();
      case Outcome::kKept:
        if (data.item_count() == 0) return Status::ok();  // everything filtered out
        return next_->consume(std::move(data));
      case Outcome::kFailed:
        break;
    }
    switch (settings_.on_error) {
      case OnError::kPass:
        ctx_.logger->warn("plugin failed, passing the batch on unchanged: {}", outcome.error);
        return next_->consume(std::move(data));
      case OnError::kDrop:
        dropped_->add(items);
        ctx_.logger->error("plugin failed, dropped {} {}: {}", items, item_noun(signal_),
                           outcome.error);
        return Status::ok();
      case OnError::kReject:
        return Status::retryable("plugin " + ctx_.id + " failed: " + outcome.error,
                                 std::chrono::seconds(1));
    }
    return Status::ok();
  }

  [[nodiscard]] bool mutates_data() const override { return true; }

 private:
  ComponentContext ctx_;
  PluginSettings settings_;
  Signal signal_;
  Consumer* next_;
  std::string key_;
  telemetry::Counter* dropped_;
  std::shared_ptr<Plugin> plugin_;
};

class Factory final : public FactoryFor<Config> {
 public:
  [[nodiscard]] ComponentKind kind() const override { return ComponentKind::kProcessor; }
  [[nodiscard]] std::string_view type() const override { return "wasm"; }

  std::unique_ptr<Processor> create_processor(const ComponentContext& ctx,
                                              const ComponentConfig& config, Signal signal,
                                              Consumer* next) const override {
    return std::make_unique<WasmProcessor>(ctx, cast(config), signal, next);
  }

 protected:
  void load(ConfigReader& reader, Config& config) const override {
    auto& p = config.plugin;
    reader.read("plugin", p.path);
    if (p.path.empty()) {
      reader.error("plugin", "must name the plugin's .wasm file");
    } else if (!std::filesystem::is_regular_file(p.path)) {
      reader.error("plugin", "no such file \"" + p.path + "\"");
    }
    if (reader.has("config")) {
      YAML::Node node = reader.read_node("config");
      if (!node.IsNull() && !node.IsMap()) reader.error("config", "must be a map");
      p.config_json = yaml_to_json(node.IsNull() ? YAML::Node(YAML::NodeType::Map) : node);
    }
    ConfigReader limits = reader.child("limits");
    limits.read_size("memory", p.limits.memory_bytes);
    limits.read_size("state", p.state_bytes);
    std::chrono::nanoseconds timeout = p.limits.timeout;
    limits.read_duration("timeout", timeout);
    p.limits.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
    if (p.limits.timeout.count() < 1) limits.error("timeout", "must be at least 1ms");
    if (p.limits.memory_bytes < (1 << 16)) limits.error("memory", "must be at least 64KiB");
    std::string on_error = "pass";
    reader.read("on_error", on_error);
    if (on_error == "pass") {
      p.on_error = OnError::kPass;
    } else if (on_error == "drop") {
      p.on_error = OnError::kDrop;
    } else if (on_error == "reject") {
      p.on_error = OnError::kReject;
    } else {
      reader.error("on_error", "must be pass, drop or reject, got \"" + on_error + "\"");
    }
    ConfigReader permissions = reader.child("permissions");
    std::vector<std::string> env;
    permissions.read("env", env);
    p.env_allowed.insert(env.begin(), env.end());
    for (const char* reserved : {"http", "files"}) {
      if (permissions.has(reserved)) {
        (void)permissions.read_node(reserved);
        permissions.error(reserved, "is not available in plugin ABI v1 yet");
      }
    }
    bool watch = true;
    reader.read("watch", watch);
    std::chrono::nanoseconds interval = p.watch_interval;
    reader.read_duration("watch_interval", interval);
    p.watch_interval = watch ? std::chrono::duration_cast<std::chrono::milliseconds>(interval)
                             : std::chrono::milliseconds(0);
  }
};

}  // namespace
}  // namespace weft::processors::wasm

WEFT_DEFINE_FACTORY(wasm_processor, weft::processors::wasm::Factory)
