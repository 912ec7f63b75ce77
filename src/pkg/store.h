#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pkg/oci.h"
#include "pkg/package.h"
#include "pkg/reference.h"
#include "pkg/registry.h"
#include "pkg/signing.h"
#include "weft/result.h"

// Where `plugin: oci://...` comes from (docs/packages.md): the lock, the local package
// cache, the registries, and the trust policy every package passes before it runs.
namespace weft::pkg {

// The plugin ABI's major revision this weft runs (docs/abi.md: weft_abi_version).
inline constexpr int kPluginAbiMajor = 1;

enum class TrustLevel { kEnforce, kAudit, kOff };

// service.plugins.trust: for the packages under a namespace ("host/path", "*" for all, or a
// directory for OCI layouts), the keys allowed to sign them and what a violation does.
struct TrustRule {
  std::string ns;
  std::vector<PublicKey> keys;
  TrustLevel level = TrustLevel::kEnforce;
  bool require_certified = false;
};

struct PackageSettings {
  std::filesystem::path cache_dir;  // empty: default_cache_dir()
  std::filesystem::path lock_path;  // empty: no lock
  std::map<std::string, RegistrySettings> registries;
  std::vector<TrustRule> trust;
};

// $WEFT_PLUGIN_CACHE, else $XDG_CACHE_HOME/weft/plugins, else ~/.cache/weft/plugins.
std::filesystem::path default_cache_dir();

struct LockEntry {
  std::string reference;  // as written in the config
  std::string digest, name, version, signer;
  bool rollback = false;  // an older version chosen on purpose: a reload may go back to it
};

// weft.lock: each package reference of a config pinned to a digest and its signer.
struct Lock {
  std::vector<LockEntry> entries;
  // nullopt when there is no file.
  static Result<std::optional<Lock>> read(const std::filesystem::path& path);
  [[nodiscard]] Status write(const std::filesystem::path& path) const;
  [[nodiscard]] const LockEntry* find(const std::string& reference) const;
};

struct Resolved {
  std::string reference;  // as written
  Package package;
  std::string signer;  // the key id that signed it; empty when unsigned or not checked
  bool certified = false;
  std::vector<std::string> violations;  // what the trust policy let through (level audit)
  std::vector<std::string> notes;       // for the audit log: a rollback the lock asked for
  std::string origin;                   // "cache", "registry" or the layout's directory
};

class PackageStore {
 public:
  explicit PackageStore(PackageSettings settings);

  // The package a `plugin:` value names (an oci:// reference or an OCI layout directory),
  // checked against the lock and the trust policy. `running`: the version running now (a
  // hot reload): an older one is refused.
  Result<Resolved> resolve(const std::string& reference, const PluginMeta* running);
  // Resolves a reference against its registry (never the lock) and copies the package and
  // its signatures into the cache; returns the manifest digest.
  Result<std::string> pull(const Reference& ref);
  // Copies a package (and its .sig and .att) from a layout to the registry under `to`.
  Status push(const Layout& from, const std::string& digest, const Reference& to);
  // Signatures and attestations: stored next to the package in the cache (and pushed).
  Status attach(const Reference& ref, const std::string& digest, const std::string& suffix,
                const std::string& document, bool push_to_registry);
  // The checks resolve() applies, for `weft plugin verify` on what is in the cache or a layout.
  Result<Resolved> check(const Layout& layout, const std::string& prefix, const std::string& digest,
                         const std::string& ns, const PluginMeta* running,
                         const LockEntry* locked) const;
  [[nodiscard]] const TrustRule* rule_for(const std::string& ns) const;
  Registry& registry(const std::string& host);
  Result<Layout> cache() const;
  [[nodiscard]] const PackageSettings& settings() const { return settings_; }

 private:
  Result<Resolved> resolve_layout(const std::filesystem::path& dir, const PluginMeta* running);

  PackageSettings settings_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Registry>> registries_;
};

// Stores a companion document (".sig", ".att") about the manifest `digest` in the layout under
// `prefix` + "sha256-<hex>.<suffix>"; returns the companion's manifest.
Result<std::string> attach_companion(const Layout& layout, const std::string& prefix,
                                     const std::string& digest, const std::string& suffix,
                                     const std::string& document);
// The one package of a layout written by `weft plugin package` (its manifest digest).
Result<std::string> layout_package(const Layout& layout);
// The companion document (".sig", ".att") stored in a layout for a digest; empty if none.
std::string companion_document(const Layout& layout, const std::string& prefix,
                               const std::string& digest, const std::string& suffix);
// The manifest of a companion document about `subject` (an OCI 1.1 referrer).
std::string companion_manifest(const Descriptor& subject, const Descriptor& document,
                               const std::string& empty_config_digest);

// The process's store, configured from service.plugins when the configuration loads.
void configure_packages(PackageSettings settings);
std::shared_ptr<PackageStore> package_store();

}  // namespace weft::pkg
