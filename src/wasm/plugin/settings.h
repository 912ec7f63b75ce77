#pragma once

#include "wasm/plugin/plugin.h"
#include "weft/config_reader.h"
#include "weft/factory.h"

namespace weft::wasm {

// The settings of a plugin-backed component (the wasm processor and connector).
struct PluginConfig : ComponentConfig {
  PluginSettings plugin;
};

// What every plugin-backed factory shares: reading the settings, and `weft validate`
// loading the plugin once.
class PluginFactory : public FactoryFor<PluginConfig> {
 public:
  [[nodiscard]] Status check(const ComponentConfig& config,
                             const std::set<Signal>& signals) const override;

 protected:
  void load(ConfigReader& reader, PluginConfig& config) const override;
};

// Reads a wasm processor's or connector's settings: plugin, config, limits
// (memory, timeout, state), on_error, permissions, watch, watch_interval.
// `http_origins`: where permissions.http goes (a wasm exporter's); null refuses it.
// `processor`: shadow and anomaly are read (elsewhere they are refused).
void load_plugin_settings(ConfigReader& reader, PluginSettings& p,
                          std::vector<std::string>* http_origins = nullptr, bool processor = false);

// Loads and configures the plugin once, off any pipeline, for `weft validate`.
Status check_plugin(PluginSettings settings, const std::set<Signal>& signals);

}  // namespace weft::wasm
