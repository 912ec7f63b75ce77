#pragma once

#include <ostream>
#include <string>
#include <vector>

// `weft plugin keygen|package|sign|verify|push|pull|lock|search|index`: plugin packages in
// OCI registries (docs/packages.md). Exit codes as the other verbs: 0 done, 1 refused or
// failed, 2 bad usage or input.
namespace weft::tools {

// For the registry of the reference at hand, over what service.plugins says.
struct RegistryOptions {
  std::string ca_file;
  bool plain_http = false;
};

int plugin_keygen(const std::string& prefix, std::ostream& out, std::ostream& err);

struct PackageOptions {
  std::string dir = ".";                                    // a project with weft-plugin.json
  std::string wasm;                                         // the module (default: DIR/NAME.wasm)
  std::string name, version, description, license, source;  // over weft-plugin.json
  std::string changelog;                                    // a file
  std::string out;  // the OCI layout directory (default: NAME-VERSION.oci)
};
int plugin_package(const PackageOptions& options, std::ostream& out, std::ostream& err);

// TARGET: an OCI layout directory or an oci:// reference (pulled into the cache first).
int plugin_sign(const std::string& target, const std::string& key, const std::string& detached,
                const RegistryOptions& registry, std::ostream& out, std::ostream& err);
// Offline: TARGET in a layout or the cache; the signature from there or `signature_file`.
int plugin_verify(const std::string& target, const std::vector<std::string>& keys,
                  const std::string& signature_file, std::ostream& out, std::ostream& err);
int plugin_push(const std::string& layout, const std::string& reference,
                const RegistryOptions& registry, std::ostream& out, std::ostream& err);
int plugin_pull(const std::string& reference, const std::string& out_layout,
                const RegistryOptions& registry, std::ostream& out, std::ostream& err);
struct LockOptions {
  std::vector<std::string> references;  // the configuration's
  std::string lock_path;
  std::string only;  // update: just this reference (the others keep their entries)
  std::string to;    // update: this version (an older one is recorded as a rollback)
};
// Pins each reference to the digest its registry serves now (or `to`), checked by the trust
// policy (`weft plugin lock` and `weft plugin update`).
int plugin_lock(const LockOptions& options, std::ostream& out, std::ostream& err);
// Compares the lock with the registries' tags: locked, wanted (the newest the reference
// allows) and latest versions.
int plugin_outdated(const std::vector<std::string>& references, const std::string& lock_path,
                    std::ostream& out, std::ostream& err);
// The package references (oci://) a configuration's `plugin:` settings name.
std::vector<std::string> package_references(const std::vector<std::string>& config_files);
struct CertifyOptions {
  std::string target;  // a layout or an oci:// reference
  std::string key;     // the certifier's secret key
  std::string tests;   // DIR/<case>/{input,config,expected}.json: the plugin's own tests
  std::string config;  // the plugin's config (JSON) for the hostile batches and the cost
  RegistryOptions registry;
};
// Runs the plugin's tests, hostile batches and a cost measurement; attaches the signed
// result (an in-toto statement) as the package's certification. 0 passed, 1 not.
int plugin_certify(const CertifyOptions& options, std::ostream& out, std::ostream& err);

struct IndexOptions {
  std::string registry_host;
  std::string out;                // the HTML page
  std::string events;             // pull events (JSON lines) written by --listen
  std::string listen;             // HOST:PORT: receive the registry's notifications instead
  std::vector<std::string> keys;  // verify signatures and certifications with these
  RegistryOptions registry;
};
// A static, self-contained HTML page of a registry's plugins; or, with `listen`, the receiver
// of the registry's notifications that counts pulls.
int plugin_index(const IndexOptions& options, std::ostream& out, std::ostream& err);

int plugin_search(const std::string& registry_host, const std::string& term,
                  const RegistryOptions& registry, std::ostream& out, std::ostream& err);

}  // namespace weft::tools
