#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pkg/oci.h"
#include "weft/result.h"

// A plugin package: an OCI artifact in the CNCF Wasm layout (a wasm config, the module as
// an application/wasm layer) plus weft's manifest as a layer of its own (docs/packages.md).
namespace weft::pkg {

// What weft's manifest layer says about the plugin (application/vnd.weft.plugin.manifest.v1+json).
struct PluginMeta {
  std::string name;
  std::string version;                   // semantic
  int abi = 0;                           // weft_abi_version (the ABI's major revision)
  std::vector<std::string> kinds;        // processor, connector, exporter, receiver
  std::vector<std::string> signals;      // traces, metrics, logs
  std::vector<std::string> permissions;  // what its imports call for: env, state, emit, http, ...
  std::string config_schema = "{}";      // JSON Schema of its config, as JSON
  std::string description, license, source, sdk, language, changelog;
  uint64_t module_size = 0;
  std::string module_digest;  // sha256:...

  [[nodiscard]] std::string to_json() const;
  static Result<PluginMeta> parse(const std::string& json, const std::string& what);
};

struct Package {
  std::string digest;  // the manifest's
  Manifest manifest;
  PluginMeta meta;
  std::string module;
};

// Writes the module, weft's manifest, the config and the image manifest into the layout and
// names the manifest `ref_name`; returns the manifest's descriptor.
Result<Descriptor> write_package(const Layout& layout, const PluginMeta& meta,
                                 const std::string& module, const std::string& ref_name);
// Reads the package whose manifest has this digest, checking every blob against its digest
// and weft's manifest against the module. `what` names it in errors.
Result<Package> read_package(const Layout& layout, const std::string& manifest_digest,
                             const std::string& what);

}  // namespace weft::pkg
