#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <iomanip>

#include "pkg/json.h"
#include "pkg/store.h"
#include "tools/common.h"
#include "tools/located.h"
#include "tools/package_tool.h"
#include "tools/plugin_tool.h"

namespace weft::tools {

namespace {

// The process's store (configured from --config's service.plugins, if given) with the
// command line's settings for one registry on top.
std::shared_ptr<pkg::PackageStore> store_for(const std::string& host, const RegistryOptions& o) {
  pkg::PackageSettings settings = pkg::package_store()->settings();
  auto& r = settings.registries[host];
  if (!o.ca_file.empty()) r.ca_file = o.ca_file;
  if (o.plain_http) r.plain_http = true;
  return std::make_shared<pkg::PackageStore>(std::move(settings));
}

}  // namespace

int fail(std::ostream& err, const std::string& message, int code) {
  err << "error: " << message << "\n";
  return code;
}

namespace {

// Copies a package and its companions between layouts.
Status copy_package(const pkg::Layout& from, const std::string& from_prefix,
                    const std::string& digest, const pkg::Layout& to, const std::string& ref_name) {
  auto copy_manifest = [&](const std::string& manifest_digest) -> Result<pkg::Descriptor> {
    auto bytes = from.blob(manifest_digest);
    if (!bytes.ok()) return bytes.status();
    auto m = pkg::Manifest::parse(*bytes, "manifest " + manifest_digest);
    if (!m.ok()) return m.status();
    std::vector<const pkg::Descriptor*> blobs = {&m->config};
    for (const auto& l : m->layers) blobs.push_back(&l);
    for (const auto* d : blobs) {
      auto blob = from.blob(d->digest);
      if (!blob.ok()) return blob.status();
      if (auto put = to.put_blob(*blob); !put.ok()) return put.status();
    }
    if (auto put = to.put_blob(*bytes); !put.ok()) return put.status();
    pkg::Descriptor d = pkg::describe(pkg::kImageManifestType, *bytes);
    d.artifact_type = m->artifact_type;
    return d;
  };
  auto d = copy_manifest(digest);
  if (!d.ok()) return d.status();
  if (Status s = to.tag(ref_name, *d); !s.is_ok()) return s;
  for (const char* suffix : {"sig", "att"}) {
    const std::string tag = pkg::companion_tag(digest, suffix);
    auto found = from.find(from_prefix + tag);
    if (!found) continue;
    auto cd = copy_manifest(found->digest);
    if (!cd.ok()) return cd.status();
    if (Status s = to.tag(tag, *cd); !s.is_ok()) return s;
  }
  return Status::ok();
}

}  // namespace

Result<Located> locate_package(const std::string& target, const RegistryOptions& registry,
                               bool may_pull) {
  Located at;
  if (!pkg::is_package_reference(target)) {
    auto layout = pkg::Layout::open(target, false);
    if (!layout.ok()) return layout.status();
    auto digest = pkg::layout_package(*layout);
    if (!digest.ok()) return digest.status();
    at.layout = std::move(*layout);
    at.digest = *digest;
    at.ns = std::filesystem::absolute(target).lexically_normal().string();
    return at;
  }
  auto ref = pkg::Reference::parse(target);
  if (!ref.ok()) return ref.status();
  auto store = store_for(ref->registry, registry);
  auto cache = store->cache();
  if (!cache.ok()) return cache.status();
  at.prefix = ref->name() + ":";
  at.ns = ref->name();
  if (may_pull) {
    auto digest = store->pull(*ref);
    if (!digest.ok()) return digest.status();
    at.digest = *digest;
  } else if (!ref->digest.empty()) {
    at.digest = ref->digest;
  } else if (auto d = cache->find(at.prefix + ref->tag); d && ref->requirement.empty()) {
    at.digest = d->digest;
  } else {
    return Status::invalid_argument(target + " is not in the package cache " +
                                    cache->dir().string() + " (weft plugin pull it first)");
  }
  at.layout = std::move(*cache);
  at.ref = *ref;
  return at;
}

Status attach_to(const Located& at, const std::string& suffix, const std::string& document,
                 const RegistryOptions& registry) {
  if (at.ref) {
    return store_for(at.ref->registry, registry)
        ->attach(*at.ref, at.digest, suffix, document, true);
  }
  auto m = pkg::attach_companion(*at.layout, "", at.digest, suffix, document);
  return m.ok() ? Status::ok() : m.status();
}

int plugin_keygen(const std::string& prefix, std::ostream& out, std::ostream& err) {
  auto key = pkg::generate_key(prefix);
  if (!key.ok()) return fail(err, key.status().message());
  out << "wrote " << prefix << ".key (secret: keep it so) and " << prefix << ".pub (key id "
      << key->id << ")\n";
  return 0;
}

int plugin_package(const PackageOptions& o, std::ostream& out, std::ostream& err) {
  namespace fs = std::filesystem;
  pkg::PluginMeta meta;
  std::string lang;
  const fs::path manifest_path = fs::path(o.dir) / kManifest;
  std::error_code ec;
  if (fs::exists(manifest_path, ec)) {
    auto text = read_text(manifest_path.string(), err);
    if (!text) return 2;
    auto doc = pkg::parse_json(*text, manifest_path.string());
    if (!doc.ok()) return fail(err, doc.status().message(), 2);
    meta.name = pkg::json_string(*doc, "name");
    meta.version = pkg::json_string(*doc, "version");
    meta.description = pkg::json_string(*doc, "description");
    meta.license = pkg::json_string(*doc, "license");
    meta.source = pkg::json_string(*doc, "source");
    lang = pkg::json_string(*doc, "lang");
    if (auto it = doc->fields().find("configSchema"); it != doc->fields().end()) {
      meta.config_schema = pkg::json_text(it->second);
    }
  }
  for (auto [field, value] : {std::pair{&meta.name, &o.name},
                              {&meta.version, &o.version},
                              {&meta.description, &o.description},
                              {&meta.license, &o.license},
                              {&meta.source, &o.source}}) {
    if (!value->empty()) *field = *value;
  }
  if (meta.name.empty()) {
    return fail(
        err, "no plugin name: give --name or run in a project with " + std::string(kManifest), 2);
  }
  if (!pkg::Version::parse(meta.version)) {
    return fail(err,
                "the version \"" + meta.version +
                    "\" is not a semantic version (MAJOR.MINOR.PATCH): give --version or "
                    "set \"version\" in " +
                    kManifest,
                2);
  }
  if (!o.changelog.empty()) {
    auto text = read_text(o.changelog, err);
    if (!text) return 2;
    meta.changelog = *text;
  }
  const std::string wasm =
      o.wasm.empty() ? (fs::path(o.dir) / (meta.name + ".wasm")).string() : o.wasm;
  auto module = read_text(wasm, err);
  if (!module) return 2;
  auto facts = inspect_module(*module);
  if (!facts.ok()) return fail(err, wasm + ": " + facts.status().message());
  if (facts->abi_major == 0) return fail(err, wasm + ": ABI version " + facts->abi);
  meta.abi = facts->abi_major;
  meta.kinds = facts->kinds;
  meta.signals = facts->signals;
  meta.permissions = facts->permissions;
  meta.language = lang;
  meta.sdk = lang.empty() ? "" : "weft-sdk-" + lang + " " + WEFT_VERSION;
  meta.module_size = module->size();
  meta.module_digest = pkg::sha256_digest(*module);
  const std::string dir = o.out.empty() ? meta.name + "-" + meta.version + ".oci" : o.out;
  auto layout = pkg::Layout::open(dir, true);
  if (!layout.ok()) return fail(err, layout.status().message());
  auto d = pkg::write_package(*layout, meta, *module, meta.version);
  if (!d.ok()) return fail(err, d.status().message());
  out << "packaged " << meta.name << " " << meta.version << " (" << d->digest << ") into " << dir
      << "\n";
  return 0;
}

int plugin_sign(const std::string& target, const std::string& key, const std::string& detached,
                const RegistryOptions& registry, std::ostream& out, std::ostream& err) {
  auto at = locate_package(target, registry);
  if (!at.ok()) return fail(err, at.status().message());
  auto package = pkg::read_package(*at->layout, at->digest, target);
  if (!package.ok()) return fail(err, package.status().message());
  pkg::SignedClaims claims;
  claims.digest = at->digest;
  claims.name = package->meta.name;
  claims.version = package->meta.version;
  auto doc = pkg::sign_claims(key, claims);
  if (!doc.ok()) return fail(err, doc.status().message(), 2);
  if (Status s = attach_to(*at, "sig", *doc, registry); !s.is_ok()) return fail(err, s.message());
  if (!detached.empty()) {
    if (Status s = pkg::write_file_atomic(detached, *doc); !s.is_ok())
      return fail(err, s.message());
  }
  out << "signed " << package->meta.name << " " << package->meta.version << " (" << at->digest
      << ")" << (at->ref ? " in " + at->ref->name() : " in " + target)
      << (detached.empty() ? "" : "; detached signature in " + detached) << "\n";
  return 0;
}

int plugin_verify(const std::string& target, const std::vector<std::string>& keys,
                  const std::string& signature_file, std::ostream& out, std::ostream& err) {
  std::vector<pkg::PublicKey> trusted;
  for (const auto& k : keys) {
    auto key = pkg::read_public_key(k);
    if (!key.ok()) return fail(err, key.status().message(), 2);
    trusted.push_back(std::move(key).value());
  }
  if (trusted.empty()) return fail(err, "give the trusted public keys with --key", 2);
  auto at = locate_package(target, {}, false);
  if (!at.ok()) return fail(err, at.status().message());
  auto package = pkg::read_package(*at->layout, at->digest, target);
  if (!package.ok()) return fail(err, package.status().message());
  std::string doc;
  if (!signature_file.empty()) {
    auto text = read_text(signature_file, err);
    if (!text) return 2;
    doc = *text;
  } else {
    doc = pkg::companion_document(*at->layout, at->prefix, at->digest, "sig");
    if (doc.empty()) return fail(err, target + " (" + at->digest + ") is unsigned");
  }
  auto verified =
      pkg::verify_signature(doc, trusted, at->digest, package->meta.name, package->meta.version);
  if (!verified.ok()) return fail(err, target + ": " + verified.status().message());
  out << "verified: " << package->meta.name << " " << package->meta.version << " (" << at->digest
      << ") signed by key " << verified->key_id << "\n";
  return 0;
}

int plugin_push(const std::string& layout_dir, const std::string& reference,
                const RegistryOptions& registry, std::ostream& out, std::ostream& err) {
  auto layout = pkg::Layout::open(layout_dir, false);
  if (!layout.ok()) return fail(err, layout.status().message(), 2);
  auto digest = pkg::layout_package(*layout);
  if (!digest.ok()) return fail(err, digest.status().message(), 2);
  auto package = pkg::read_package(*layout, *digest, layout_dir);
  if (!package.ok()) return fail(err, package.status().message());
  auto ref = pkg::Reference::parse(reference);
  if (!ref.ok()) return fail(err, ref.status().message(), 2);
  auto store = store_for(ref->registry, registry);
  if (Status s = store->push(*layout, *digest, *ref); !s.is_ok()) return fail(err, s.message());
  out << "pushed " << package->meta.name << " " << package->meta.version << " to " << ref->str()
      << " (" << *digest << ")\n";
  return 0;
}

int plugin_pull(const std::string& reference, const std::string& out_layout,
                const RegistryOptions& registry, std::ostream& out, std::ostream& err) {
  auto ref = pkg::Reference::parse(reference);
  if (!ref.ok()) return fail(err, ref.status().message(), 2);
  auto store = store_for(ref->registry, registry);
  auto digest = store->pull(*ref);
  if (!digest.ok()) return fail(err, digest.status().message());
  auto cache = store->cache();
  if (!cache.ok()) return fail(err, cache.status().message());
  auto package = pkg::read_package(*cache, *digest, reference);
  if (!package.ok()) return fail(err, package.status().message());
  const std::string prefix = ref->name() + ":";
  const bool is_signed = !pkg::companion_document(*cache, prefix, *digest, "sig").empty();
  out << "pulled " << package->meta.name << " " << package->meta.version << " (" << *digest << ", "
      << (is_signed ? "signed" : "unsigned") << ") into " << cache->dir().string() << "\n";
  if (!out_layout.empty()) {
    auto to = pkg::Layout::open(out_layout, true);
    if (!to.ok()) return fail(err, to.status().message());
    if (Status s = copy_package(*cache, prefix, *digest, *to, package->meta.version); !s.is_ok())
      return fail(err, s.message());
    out << "wrote the package to the OCI layout " << out_layout << "\n";
  }
  return 0;
}

int plugin_lock(const LockOptions& o, std::ostream& out, std::ostream& err) {
  auto store = pkg::package_store();
  auto cache = store->cache();
  if (!cache.ok()) return fail(err, cache.status().message());
  auto old = pkg::Lock::read(o.lock_path);
  if (!old.ok()) return fail(err, old.status().message());
  if (!o.only.empty() &&
      std::find(o.references.begin(), o.references.end(), o.only) == o.references.end()) {
    return fail(err, o.only + " is not a plugin: reference of the configuration", 2);
  }
  pkg::Lock lock;
  int failures = 0;
  for (const auto& text : o.references) {
    const pkg::LockEntry* before = old->has_value() ? (*old)->find(text) : nullptr;
    if (!o.only.empty() && text != o.only && before != nullptr) {
      lock.entries.push_back(*before);  // `update REF` leaves the others as they are
      continue;
    }
    auto ref = pkg::Reference::parse(text);
    if (!ref.ok()) return fail(err, ref.status().message(), 2);
    pkg::Reference wanted = *ref;
    if (!o.to.empty()) {
      if (!ref->requirement.empty() &&
          !(pkg::Version::parse(o.to) &&
            pkg::satisfies(*pkg::Version::parse(o.to), ref->requirement))) {
        return fail(err, o.to + " does not satisfy " + text, 2);
      }
      wanted.tag = o.to;
      wanted.requirement.clear();
      wanted.digest.clear();
    }
    auto digest = store->pull(wanted);
    if (!digest.ok()) {
      err << "error: " << text << ": " << digest.status().message() << "\n";
      ++failures;
      continue;
    }
    auto checked = store->check(*cache, ref->name() + ":", *digest, ref->name(), nullptr, nullptr);
    if (!checked.ok()) {
      err << "error: " << text << ": " << checked.status().message() << "\n";
      ++failures;
      continue;
    }
    for (const auto& v : checked->violations) err << "warning: " << text << ": " << v << "\n";
    const auto& meta = checked->package.meta;
    pkg::LockEntry entry{text, *digest, meta.name, meta.version, checked->signer};
    // An older version chosen on purpose (update --to) is a rollback the reload allows.
    const auto was = before != nullptr ? pkg::Version::parse(before->version) : std::nullopt;
    const auto now = pkg::Version::parse(meta.version);
    entry.rollback = was && now && *now < *was;
    out << "locked " << text << " -> " << meta.name << " " << meta.version << " (" << *digest
        << (checked->signer.empty() ? "" : ", signer " + checked->signer) << ")"
        << (before != nullptr && before->digest != *digest
                ? " (was " + before->version + (entry.rollback ? ": a rollback" : "") + ")"
                : "")
        << "\n";
    lock.entries.push_back(std::move(entry));
  }
  if (failures > 0) {
    return fail(err,
                "the lock was not written (" + std::to_string(failures) + " reference(s) failed)");
  }
  if (Status s = lock.write(o.lock_path); !s.is_ok()) return fail(err, s.message());
  out << "wrote " << o.lock_path << "\n";
  return 0;
}

int plugin_outdated(const std::vector<std::string>& references, const std::string& lock_path,
                    std::ostream& out, std::ostream& err) {
  auto lock = pkg::Lock::read(lock_path);
  if (!lock.ok()) return fail(err, lock.status().message());
  auto store = pkg::package_store();
  out << std::left << std::setw(52) << "REFERENCE" << std::setw(10) << "LOCKED" << std::setw(10)
      << "WANTED"
      << "LATEST\n";
  int outdated = 0;
  for (const auto& text : references) {
    auto ref = pkg::Reference::parse(text);
    if (!ref.ok()) return fail(err, ref.status().message(), 2);
    const pkg::LockEntry* locked = lock->has_value() ? (*lock)->find(text) : nullptr;
    auto tags = store->registry(ref->registry).tags(ref->repository);
    if (!tags.ok()) return fail(err, text + ": " + tags.status().message());
    std::optional<pkg::Version> latest;
    for (const auto& tag : *tags) {
      auto v = pkg::Version::parse(tag);
      if (v && v->prerelease.empty() && (!latest || *latest < *v)) latest = v;
    }
    std::string wanted = "-";
    if (!ref->requirement.empty()) {
      wanted = pkg::best_tag(*tags, ref->requirement).value_or("-");
    } else if (!ref->tag.empty()) {
      wanted = ref->tag;
    }
    const std::string have = locked != nullptr ? locked->version : "(not locked)";
    const std::string newest = latest ? latest->str() : "-";
    const auto w = pkg::Version::parse(wanted);
    const auto h = pkg::Version::parse(have);
    if (!h || (w && *h < *w) || (latest && *h < *latest)) ++outdated;
    out << std::left << std::setw(52) << text << std::setw(10) << have << std::setw(10) << wanted
        << newest << "\n";
  }
  out << (outdated == 0 ? "everything is up to date\n"
                        : std::to_string(outdated) +
                              " reference(s) have newer versions (weft plugin update)\n");
  return 0;
}

std::vector<std::string> package_references(const std::vector<std::string>& files) {
  std::vector<std::string> refs;
  std::function<void(const YAML::Node&)> walk = [&](const YAML::Node& node) {
    if (node.IsMap()) {
      for (const auto& item : node) {
        if (item.first.Scalar() == "plugin" && item.second.IsScalar() &&
            pkg::is_package_reference(item.second.Scalar()) &&
            std::find(refs.begin(), refs.end(), item.second.Scalar()) == refs.end()) {
          refs.push_back(item.second.Scalar());
        }
        walk(item.second);
      }
    } else if (node.IsSequence()) {
      for (const auto& item : node) walk(item);
    }
  };
  for (const auto& file : files) {
    try {
      YAML::Node root = YAML::LoadFile(file);
      for (const char* section :
           {"receivers", "processors", "exporters", "connectors", "extensions"}) {
        walk(root[section]);
      }
    } catch (const YAML::Exception&) {
      // load_config has reported it
    }
  }
  return refs;
}

int plugin_search(const std::string& host, const std::string& term, const RegistryOptions& registry,
                  std::ostream& out, std::ostream& err) {
  auto store = store_for(host, registry);
  pkg::Registry& reg = store->registry(host);
  auto repositories = reg.catalog();
  if (!repositories.ok()) return fail(err, repositories.status().message());
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "VERSION", "SIGNER", "CERTIFIED", "PERMISSIONS"}};
  for (const auto& repo : *repositories) {
    auto tags = reg.tags(repo);
    if (!tags.ok()) return fail(err, tags.status().message());
    std::optional<std::string> latest;  // the highest release
    std::optional<pkg::Version> best;
    for (const auto& tag : *tags) {
      auto v = pkg::Version::parse(tag);
      if (v && v->prerelease.empty() && (!best || *best < *v)) {
        best = v;
        latest = tag;
      }
    }
    if (!latest) continue;
    auto manifest = reg.manifest(repo, *latest);
    if (!manifest.ok()) continue;
    auto m = pkg::Manifest::parse(manifest->body, repo);
    if (!m.ok() || m->layer(pkg::kWeftManifestType) == nullptr) continue;  // not a plugin
    auto meta_bytes = reg.blob(repo, m->layer(pkg::kWeftManifestType)->digest);
    if (!meta_bytes.ok()) continue;
    auto meta = pkg::PluginMeta::parse(*meta_bytes, repo);
    if (!meta.ok()) continue;
    const std::string haystack = repo + " " + meta->name + " " + meta->description;
    if (!term.empty() && haystack.find(term) == std::string::npos) continue;
    std::string signer = "-", certified = "no";
    for (const char* suffix : {"sig", "att"}) {
      auto c = reg.manifest_if_present(repo, pkg::companion_tag(manifest->digest, suffix));
      if (!c.ok() || !c->has_value()) continue;
      auto cm = pkg::Manifest::parse((*c)->body, repo);
      if (!cm.ok() || cm->layers.empty()) continue;
      auto doc = reg.blob(repo, cm->layers[0].digest);
      auto parsed =
          doc.ok() ? pkg::parse_json(*doc, "signature") : Result<pkg::JsonObject>(doc.status());
      if (!parsed.ok()) continue;
      if (std::string(suffix) == "sig") signer = pkg::json_string(*parsed, "keyid");
      if (std::string(suffix) == "att") certified = "yes";
    }
    std::string permissions;
    for (const auto& p : meta->permissions) permissions += (permissions.empty() ? "" : ",") + p;
    rows.push_back({host + "/" + repo, meta->version, signer, certified,
                    permissions.empty() ? "-" : permissions});
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size() + 2);
  }
  for (const auto& row : rows) {
    for (size_t i = 0; i + 1 < row.size(); ++i)
      out << std::left << std::setw(static_cast<int>(width[i])) << row[i];
    out << row.back() << "\n";
  }
  if (rows.size() == 1) {
    out << "(no plugin matches)\n";
  } else {
    out << "(signers and certifications as stored: weft plugin verify checks a signature)\n";
  }
  return 0;
}

}  // namespace weft::tools
