#pragma once

#include "wasm/plugin/plugin.h"
#include "weft/config_reader.h"

namespace weft::wasm {

// Reads a wasm processor's or connector's settings: plugin, config, limits
// (memory, timeout, state), on_error, permissions, watch, watch_interval.
void load_plugin_settings(ConfigReader& reader, PluginSettings& p);

// Loads and configures the plugin once, off any pipeline, for `weft validate`.
Status check_plugin(PluginSettings settings, const std::set<Signal>& signals);

}  // namespace weft::wasm
