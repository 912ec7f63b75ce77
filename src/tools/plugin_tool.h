#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "weft/result.h"
#include "weft/signal.h"

// `weft plugin ...`: tools for plugin authors (docs/plugin-tool.md). Each returns the
// process exit code: 0 success, 1 the check failed (a difference, a failing plugin, a
// failing build), 2 bad usage or input.
namespace weft::tools {

// The manifest of a plugin project (weft-plugin.json), written by `weft plugin new`.
inline constexpr const char* kManifest = "weft-plugin.json";

struct PluginTestOptions {
  std::string plugin;            // .wasm
  std::string input;             // OTLP/JSON request
  std::string config;            // JSON file with the plugin's config; empty: {}
  std::string expect;            // OTLP/JSON request the output must equal; empty: print the output
  std::optional<Signal> signal;  // default: from the input's top-level key
};
// Runs a plugin on one batch outside the collector, with the collector's runtime.
int plugin_test(const PluginTestOptions& options, std::ostream& out, std::ostream& err);

// What a module says about itself: its ABI version, the signals and component kinds its
// exports serve, and the capabilities its imports call for.
struct ModuleFacts {
  uint64_t size = 0;
  std::string abi;    // "1", or why it is unknown
  int abi_major = 0;  // 0: unknown
  std::vector<std::string> signals, kinds;
  std::vector<std::string> permissions;   // capabilities weft grants by configuration
  std::vector<std::string> capabilities;  // those, and what WASI gives
  std::vector<std::string> exports, imports;
};
Result<ModuleFacts> inspect_module(const std::string& bytes);

// Prints ABI version, exports, imports, the capabilities they call for, and size.
int plugin_inspect(const std::string& path, bool json, std::ostream& out, std::ostream& err);

struct PluginNewOptions {
  std::string name;
  std::string lang;     // c, cpp, go, rust, as
  std::string dir;      // empty: ./NAME
  std::string sdk_dir;  // the SDKs and templates
};
int plugin_new(const PluginNewOptions& options, std::ostream& out, std::ostream& err);

// Builds the project in dir (its weft-plugin.json says the language) with the language's
// toolchain, then wasm-opt where available.
int plugin_build(const std::string& dir, const std::string& sdk_dir, std::ostream& out,
                 std::ostream& err);

// $WEFT_SDK_DIR, else the sdk/ directory of the source tree weft was built from.
std::string default_sdk_dir();

// A line diff of two texts: "-" lines only in a, "+" lines only in b, with up to 2 lines
// of context; empty when equal.
std::string line_diff(const std::string& a, const std::string& b);

}  // namespace weft::tools
