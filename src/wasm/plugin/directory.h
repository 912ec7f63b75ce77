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

struct ReloadReport {
  std::string id;
  bool ok = false;
  std::string message;
};
std::vector<ReloadReport> reload_all_plugins();

}  // namespace weft::wasm
