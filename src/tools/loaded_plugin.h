#pragma once

#include <memory>
#include <ostream>
#include <string>

#include "wasm/plugin/plugin.h"
#include "weft/audit.h"
#include "weft/metrics.h"
#include "weft/result.h"

namespace weft::tools {

// A plugin loaded outside the collector with the collector's runtime and default limits
// (weft plugin test, weft plugin certify); its log lines go to `log`.
struct LoadedPlugin {
  std::shared_ptr<wasm::Plugin> plugin;
  std::unique_ptr<telemetry::Registry> registry;
  std::unique_ptr<telemetry::AuditLog> audit;  // to /dev/null: not the tool's business
};
Result<LoadedPlugin> load_plugin(const std::string& path, const std::string& config_json,
                                 Signal signal, std::ostream& log);

}  // namespace weft::tools
