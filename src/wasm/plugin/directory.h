#pragma once

#include <memory>
#include <string>

#include "wasm/engine/engine.h"
#include "wasm/plugin/plugin.h"

namespace weft::wasm {

// The process-wide engine, made on first use. Compiled modules are cached in
// $WEFT_MODULE_CACHE, else $WEFT_CACHE/modules, else ~/.cache/weft/modules.
Result<std::shared_ptr<Engine>> shared_engine();

// Where a plugin weft ships (a bundled plugin-backed component's) is: $WEFT_PLUGIN_DIR, else
// the `plugins` directory next to the weft binary.
std::string bundled_plugin_path(const std::string& file);

// Loads a plugin for a component, offers it to the collector's host for reloads (SIGHUP,
// POST /plugins/reload) under a key unique to this component instance, and watches its
// file; stop() (or the destructor) undoes it.
class RunningPlugin final : public Reloadable {
 public:
  RunningPlugin() = default;
  RunningPlugin(const RunningPlugin&) = delete;
  RunningPlugin& operator=(const RunningPlugin&) = delete;
  ~RunningPlugin() override { stop(); }

  [[nodiscard]] Status start(const PluginSettings& settings, const ComponentContext& ctx,
                             const std::string& what);
  void stop();
  [[nodiscard]] Plugin* get() const { return plugin_.get(); }

  [[nodiscard]] Status reload() override { return plugin_->reload(); }
  [[nodiscard]] std::string describe() const override {
    return "generation " + std::to_string(plugin_->generation());
  }

 private:
  Host* host_ = nullptr;
  std::shared_ptr<Plugin> plugin_;
};

}  // namespace weft::wasm
