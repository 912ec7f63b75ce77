#pragma once

#include <memory>
#include <string>
#include <vector>

#include "wasm/engine/engine.h"
#include "wasm/plugin/plugin.h"

namespace weft::wasm {

// The process-wide engine, made on first use. Compiled modules are cached in
// $WEFT_MODULE_CACHE, else $WEFT_CACHE/modules, else ~/.cache/weft/modules.
Result<std::shared_ptr<Engine>> shared_engine();

// Every running plugin, so that SIGHUP and POST /plugins/reload can reach them.
void register_plugin(const std::string& id, const std::shared_ptr<Plugin>& plugin);
void unregister_plugin(const std::string& id);

// Loads a plugin for a component, registers it for reloads under a key unique to
// this component instance, and watches its file; stop() (or the destructor) undoes it.
class RunningPlugin {
 public:
  RunningPlugin() = default;
  RunningPlugin(const RunningPlugin&) = delete;
  RunningPlugin& operator=(const RunningPlugin&) = delete;
  ~RunningPlugin() { stop(); }

  [[nodiscard]] Status start(const PluginSettings& settings, const ComponentContext& ctx,
                             const std::string& what);
  void stop();
  [[nodiscard]] Plugin* get() const { return plugin_.get(); }

 private:
  std::string key_;
  std::shared_ptr<Plugin> plugin_;
};

struct ReloadReport {
  std::string id;
  bool ok = false;
  std::string message;
};
std::vector<ReloadReport> reload_all_plugins();

}  // namespace weft::wasm
