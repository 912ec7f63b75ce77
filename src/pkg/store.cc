#include "pkg/store.h"

#include <cstdlib>
#include <mutex>

#include "pkg/json.h"

namespace weft::pkg {

namespace fs = std::filesystem;

namespace {

constexpr const char* kEmptyConfig = "{}";

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : "; ") + s;
  return out;
}

// The manifest digest a layout names `ref_name`, if any.
std::string digest_named(const Layout& layout, const std::string& ref_name) {
  auto d = layout.find(ref_name);
  return d ? d->digest : "";
}

// Whether a certification's in-toto statement says the plugin passed.
bool certification_passed(const std::string& statement) {
  auto doc = parse_json(statement, "the certification");
  if (!doc.ok()) return false;
  const JsonObject* predicate = json_object(*doc, "predicate");
  if (predicate == nullptr) return false;
  auto it = predicate->fields().find("passed");
  return it != predicate->fields().end() && it->second.has_bool_value() && it->second.bool_value();
}

}  // namespace

fs::path default_cache_dir() {
  if (const char* dir = std::getenv("WEFT_PLUGIN_CACHE"); dir != nullptr && *dir != 0) return dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != 0)
    return fs::path(xdg) / "weft" / "plugins";
  const char* home = std::getenv("HOME");
  return fs::path(home != nullptr ? home : "/tmp") / ".cache" / "weft" / "plugins";
}

// ---- the lock -----------------------------------------------------------------------------

Result<std::optional<Lock>> Lock::read(const fs::path& path) {
  std::error_code ec;
  if (path.empty() || !fs::exists(path, ec)) return std::optional<Lock>();
  auto text = read_whole_file(path);
  if (!text.ok()) return text.status();
  auto doc = parse_json(*text, path.string());
  if (!doc.ok()) return doc.status();
  if (json_number(*doc, "lockVersion") != 1) {
    return Status::invalid_argument(path.string() + " is not a weft lock of version 1");
  }
  Lock lock;
  for (const auto* v : json_list(*doc, "plugins")) {
    if (!v->has_struct_value()) continue;
    const auto& o = v->struct_value();
    LockEntry e{json_string(o, "reference"), json_string(o, "digest"), json_string(o, "name"),
                json_string(o, "version"), json_string(o, "signer")};
    if (auto it = o.fields().find("rollback"); it != o.fields().end() && it->second.bool_value())
      e.rollback = true;
    if (e.reference.empty() || !is_sha256_digest(e.digest)) {
      return Status::invalid_argument(path.string() + ": an entry lacks a reference or a digest");
    }
    lock.entries.push_back(std::move(e));
  }
  return std::optional<Lock>(std::move(lock));
}

Status Lock::write(const fs::path& path) const {
  std::string out = "{\n  \"lockVersion\": 1,\n  \"plugins\": [";
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    out += std::string(i ? "," : "") + "\n    {\"reference\": " + json_quote(e.reference) +
           ", \"digest\": " + json_quote(e.digest) + ", \"name\": " + json_quote(e.name) +
           ", \"version\": " + json_quote(e.version) + ", \"signer\": " + json_quote(e.signer) +
           (e.rollback ? ", \"rollback\": true" : "") + "}";
  }
  out += entries.empty() ? "]\n}\n" : "\n  ]\n}\n";
  return write_file_atomic(path, out);
}

const LockEntry* Lock::find(const std::string& reference) const {
  for (const auto& e : entries) {
    if (e.reference == reference) return &e;
  }
  return nullptr;
}

// ---- companions ---------------------------------------------------------------------------

std::string companion_document(const Layout& layout, const std::string& prefix,
                               const std::string& digest, const std::string& suffix) {
  const std::string manifest_digest = digest_named(layout, prefix + companion_tag(digest, suffix));
  if (manifest_digest.empty()) return "";
  auto bytes = layout.blob(manifest_digest);
  if (!bytes.ok()) return "";
  auto m = Manifest::parse(*bytes, "a companion manifest");
  if (!m.ok() || m->layers.empty()) return "";
  auto doc = layout.blob(m->layers[0].digest);
  return doc.ok() ? *doc : "";
}

std::string companion_manifest(const Descriptor& subject, const Descriptor& document,
                               const std::string& empty_config_digest) {
  Manifest m;
  m.artifact_type = document.media_type;
  m.config.media_type = kEmptyType;
  m.config.digest = empty_config_digest;
  m.config.size = 2;
  m.layers = {document};
  Descriptor s = subject;
  s.annotations.clear();
  s.artifact_type.clear();
  m.subject = s;
  return m.to_json();
}

// ---- the store ----------------------------------------------------------------------------

PackageStore::PackageStore(PackageSettings settings) : settings_(std::move(settings)) {
  if (settings_.cache_dir.empty()) settings_.cache_dir = default_cache_dir();
}

Result<Layout> PackageStore::cache() const {
  return Layout::open(settings_.cache_dir, true);
}

Registry& PackageStore::registry(const std::string& host) {
  std::lock_guard lock(mu_);
  auto& r = registries_[host];
  if (!r) {
    auto it = settings_.registries.find(host);
    const RegistrySettings own = it != settings_.registries.end() ? it->second : RegistrySettings{};
    const std::string mirror_host = own.mirror.substr(0, own.mirror.find('/'));
    auto m = settings_.registries.find(mirror_host);
    r = std::make_unique<Registry>(
        host, own, m != settings_.registries.end() ? m->second : RegistrySettings{});
  }
  return *r;
}

const TrustRule* PackageStore::rule_for(const std::string& ns) const {
  const TrustRule* best = nullptr;
  for (const auto& rule : settings_.trust) {
    const bool match = rule.ns == "*" || rule.ns == ns ||
                       (ns.size() > rule.ns.size() && ns.compare(0, rule.ns.size(), rule.ns) == 0 &&
                        (ns[rule.ns.size()] == '/' || rule.ns.back() == '/'));
    if (!match) continue;
    if (best == nullptr || best->ns == "*" || (rule.ns != "*" && rule.ns.size() > best->ns.size()))
      best = &rule;
  }
  return best;
}

Result<Resolved> PackageStore::check(const Layout& layout, const std::string& prefix,
                                     const std::string& digest, const std::string& ns,
                                     const PluginMeta* running, const LockEntry* locked) const {
  auto package = read_package(layout, digest, ns + "@" + digest);
  if (!package.ok()) return package.status();
  Resolved r;
  r.package = std::move(*package);
  const PluginMeta& meta = r.package.meta;
  const TrustRule* rule = rule_for(ns);
  static const TrustRule kNoRule{};
  const TrustRule& policy = rule != nullptr ? *rule : kNoRule;
  std::vector<std::string>& v = r.violations;
  if (policy.level != TrustLevel::kOff) {
    const std::string sig = companion_document(layout, prefix, digest, "sig");
    if (rule == nullptr) {
      v.push_back("no trust policy covers " + ns + " (add it to service.plugins.trust)");
    } else if (sig.empty()) {
      v.push_back("it is unsigned");
    } else if (auto verified = verify_signature(sig, policy.keys, digest, meta.name, meta.version);
               !verified.ok()) {
      v.push_back(verified.status().message());
    } else {
      r.signer = verified->key_id;
    }
    if (locked != nullptr && !locked->signer.empty() && !r.signer.empty() &&
        locked->signer != r.signer) {
      v.push_back("signed by key " + r.signer + ", but the lock says " + locked->signer);
    }
    const std::string att = companion_document(layout, prefix, digest, "att");
    if (!att.empty()) {
      auto verified = verify_signature(att, policy.keys, digest, meta.name, meta.version);
      r.certified = verified.ok() && verified->claims.kind == "certification" &&
                    certification_passed(verified->claims.predicate);
    }
    if (policy.require_certified && !r.certified) {
      v.push_back(att.empty() ? "it is not certified (the policy requires it)"
                              : "its certification does not verify or did not pass");
    }
  }
  if (meta.abi != kPluginAbiMajor) {
    v.push_back("it is built for plugin ABI " + std::to_string(meta.abi) + "; this weft runs ABI " +
                std::to_string(kPluginAbiMajor));
  }
  if (running != nullptr) {
    auto now = Version::parse(running->version);
    auto next = Version::parse(meta.version);
    if (now && next && *next < *now && locked != nullptr && locked->rollback) {
      r.notes.push_back("rolled back from " + running->version + " to " + meta.version +
                        " as the lock asks");
    } else if (now && next && *next < *now) {
      v.push_back("version " + meta.version + " is older than the running " + running->version +
                  " (no silent downgrade)");
    }
  }
  if (!v.empty() && policy.level == TrustLevel::kEnforce) {
    return Status::permanent(meta.name + " " + meta.version + " (" + digest +
                             ") is refused: " + joined(v));
  }
  return r;
}

Result<Resolved> PackageStore::resolve_layout(const fs::path& dir, const PluginMeta* running) {
  auto layout = Layout::open(dir, false);
  if (!layout.ok()) return layout.status();
  auto digest = layout_package(*layout);
  if (!digest.ok()) return digest.status();
  const std::string ns = fs::absolute(dir).lexically_normal().string();
  auto r = check(*layout, "", *digest, ns, running, nullptr);
  if (!r.ok()) return Status::permanent(dir.string() + ": " + r.status().message());
  r->reference = dir.string();
  r->origin = dir.string();
  return r;
}

Result<std::string> PackageStore::pull(const Reference& ref) {
  auto cache_layout = cache();
  if (!cache_layout.ok()) return cache_layout.status();
  Registry& reg = registry(ref.registry);
  std::string reference = ref.digest.empty() ? ref.tag : ref.digest;
  if (!ref.requirement.empty()) {
    auto tags = reg.tags(ref.repository);
    if (!tags.ok()) return tags.status();
    auto best = best_tag(*tags, ref.requirement);
    if (!best) {
      return Status::permanent("registry " + ref.registry + " has no version of " + ref.repository +
                               " that satisfies " + ref.requirement);
    }
    reference = *best;
  }
  auto manifest = reg.manifest(ref.repository, reference);
  if (!manifest.ok()) return manifest.status();
  const std::string what = ref.str();
  auto parsed = Manifest::parse(manifest->body, "the manifest of " + what);
  if (!parsed.ok()) return parsed.status();
  const std::string prefix = ref.name() + ":";
  auto store_all = [&](const Manifest& m) -> Status {
    std::vector<const Descriptor*> blobs = {&m.config};
    for (const auto& l : m.layers) blobs.push_back(&l);
    for (const Descriptor* d : blobs) {
      if (cache_layout->has_blob(d->digest)) continue;
      auto bytes = reg.blob(ref.repository, d->digest);
      if (!bytes.ok()) return bytes.status();
      if (auto put = cache_layout->put_blob(*bytes); !put.ok()) return put.status();
    }
    return Status::ok();
  };
  if (Status s = store_all(*parsed); !s.is_ok()) return s;
  if (auto put = cache_layout->put_blob(manifest->body); !put.ok()) return put.status();
  Descriptor d = describe(kImageManifestType, manifest->body);
  d.artifact_type = parsed->artifact_type;
  if (!is_sha256_digest(reference)) {
    if (Status s = cache_layout->tag(prefix + reference, d); !s.is_ok()) return s;
  }
  if (Status s = cache_layout->tag(prefix + manifest->digest, d); !s.is_ok()) return s;
  // Its signature and certification, where the registry has them.
  for (const char* suffix : {"sig", "att"}) {
    const std::string tag = companion_tag(manifest->digest, suffix);
    auto companion = reg.manifest_if_present(ref.repository, tag);
    if (!companion.ok()) return companion.status();
    if (!companion->has_value()) continue;
    auto cm = Manifest::parse((*companion)->body, "the " + std::string(suffix) + " of " + what);
    if (!cm.ok()) return cm.status();
    if (Status s = store_all(*cm); !s.is_ok()) return s;
    if (auto put = cache_layout->put_blob((*companion)->body); !put.ok()) return put.status();
    Descriptor cd = describe(kImageManifestType, (*companion)->body);
    cd.artifact_type = cm->artifact_type;
    if (Status s = cache_layout->tag(prefix + tag, cd); !s.is_ok()) return s;
  }
  return manifest->digest;
}

Result<Resolved> PackageStore::resolve(const std::string& text, const PluginMeta* running) {
  std::error_code ec;
  if (!is_package_reference(text)) {
    if (fs::is_directory(text, ec)) return resolve_layout(text, running);
    return Status::invalid_argument("\"" + text + "\" is neither an oci:// reference nor an OCI " +
                                    "layout directory");
  }
  auto ref = Reference::parse(text);
  if (!ref.ok()) return ref.status();
  auto lock = Lock::read(settings_.lock_path);
  if (!lock.ok()) return lock.status();
  const LockEntry* locked = lock->has_value() ? (*lock)->find(text) : nullptr;
  if (lock->has_value() && locked == nullptr) {
    return Status::invalid_argument(text + " is not in " + settings_.lock_path.string() +
                                    " (run weft plugin lock)");
  }
  auto cache_layout = cache();
  if (!cache_layout.ok()) return cache_layout.status();
  const std::string prefix = ref->name() + ":";
  std::string digest = locked != nullptr ? locked->digest : ref->digest;
  std::string origin = "cache";
  if (!digest.empty()) {
    if (!cache_layout->has_blob(digest)) {
      Reference by_digest = *ref;
      by_digest.digest = digest;
      by_digest.tag.clear();
      by_digest.requirement.clear();
      auto pulled = pull(by_digest);
      if (!pulled.ok()) {
        return Status::permanent(text + ": not in the package cache, and " +
                                 pulled.status().message());
      }
      origin = "registry";
    }
  } else {
    auto pulled = pull(*ref);
    if (pulled.ok()) {
      digest = *pulled;
      origin = "registry";
    } else if (pulled.status().is_retryable() && ref->requirement.empty() &&
               !(digest = digest_named(*cache_layout, prefix + ref->tag)).empty()) {
      origin = "cache (the registry is unreachable: " + pulled.status().message() + ")";
    } else {
      return Status::permanent(text + ": " + pulled.status().message());
    }
  }
  auto r = check(*cache_layout, prefix, digest, ref->name(), running, locked);
  if (!r.ok()) return Status::permanent(text + ": " + r.status().message());
  r->reference = text;
  r->origin = origin;
  return r;
}

Status PackageStore::push(const Layout& from, const std::string& digest, const Reference& to) {
  Registry& reg = registry(to.registry);
  auto copy = [&](const std::string& manifest_digest, const std::string& tag) -> Status {
    auto bytes = from.blob(manifest_digest);
    if (!bytes.ok()) return bytes.status();
    auto m = Manifest::parse(*bytes, "manifest " + manifest_digest);
    if (!m.ok()) return m.status();
    std::vector<const Descriptor*> blobs = {&m->config};
    for (const auto& l : m->layers) blobs.push_back(&l);
    for (const Descriptor* d : blobs) {
      auto blob = from.blob(d->digest);
      if (!blob.ok()) return blob.status();
      if (Status s = reg.put_blob(to.repository, *blob); !s.is_ok()) return s;
    }
    return reg.put_manifest(to.repository, tag, *bytes, kImageManifestType);
  };
  const std::string tag = to.digest.empty() ? to.tag : to.digest;
  if (!to.requirement.empty()) {
    return Status::invalid_argument("push to a tag or a digest, not a version requirement");
  }
  if (Status s = copy(digest, tag); !s.is_ok()) return s;
  // The companions: under the layout's own names ("sha256-...sig"), or the cache's.
  for (const char* suffix : {"sig", "att"}) {
    const std::string ctag = companion_tag(digest, suffix);
    for (const std::string& name : {ctag, to.name() + ":" + ctag}) {
      const std::string cdigest = digest_named(from, name);
      if (cdigest.empty()) continue;
      if (Status s = copy(cdigest, ctag); !s.is_ok()) return s;
      break;
    }
  }
  return Status::ok();
}

Result<std::string> attach_companion(const Layout& layout, const std::string& prefix,
                                     const std::string& digest, const std::string& suffix,
                                     const std::string& document) {
  auto subject_bytes = layout.blob(digest);
  if (!subject_bytes.ok()) return subject_bytes.status();
  const Descriptor subject = describe(kImageManifestType, *subject_bytes);
  const Descriptor doc = describe(suffix == "att" ? kAttestationType : kSignatureType, document);
  auto empty = layout.put_blob(kEmptyConfig);
  if (!empty.ok()) return empty.status();
  if (auto put = layout.put_blob(document); !put.ok()) return put.status();
  std::string manifest = companion_manifest(subject, doc, *empty);
  if (auto put = layout.put_blob(manifest); !put.ok()) return put.status();
  Descriptor md = describe(kImageManifestType, manifest);
  md.artifact_type = doc.media_type;
  if (Status s = layout.tag(prefix + companion_tag(digest, suffix), md); !s.is_ok()) return s;
  return manifest;
}

Result<std::string> layout_package(const Layout& layout) {
  std::string digest;
  for (const auto& [name, d] : layout.refs()) {
    if (d.artifact_type == kSignatureType || d.artifact_type == kAttestationType) continue;
    if (name.find("sha256-") != std::string::npos) continue;
    if (!digest.empty() && digest != d.digest) {
      return Status::invalid_argument(layout.dir().string() + " holds more than one package");
    }
    digest = d.digest;
  }
  if (digest.empty()) return Status::invalid_argument(layout.dir().string() + " holds no package");
  return digest;
}

Status PackageStore::attach(const Reference& ref, const std::string& digest,
                            const std::string& suffix, const std::string& document,
                            bool push_to_registry) {
  auto cache_layout = cache();
  if (!cache_layout.ok()) return cache_layout.status();
  auto manifest = attach_companion(*cache_layout, ref.name() + ":", digest, suffix, document);
  if (!manifest.ok()) return manifest.status();
  if (!push_to_registry) return Status::ok();
  Registry& reg = registry(ref.registry);
  for (const std::string& bytes : {std::string(kEmptyConfig), document}) {
    if (Status s = reg.put_blob(ref.repository, bytes); !s.is_ok()) return s;
  }
  return reg.put_manifest(ref.repository, companion_tag(digest, suffix), *manifest,
                          kImageManifestType);
}

// ---- the process's store ------------------------------------------------------------------

namespace {
std::mutex g_mu;
std::shared_ptr<PackageStore>& g_store() {
  static auto* store = new std::shared_ptr<PackageStore>();
  return *store;
}
}  // namespace

void configure_packages(PackageSettings settings) {
  auto store = std::make_shared<PackageStore>(std::move(settings));
  std::lock_guard lock(g_mu);
  g_store() = std::move(store);
}

std::shared_ptr<PackageStore> package_store() {
  std::lock_guard lock(g_mu);
  if (!g_store()) g_store() = std::make_shared<PackageStore>(PackageSettings{});
  return g_store();
}

}  // namespace weft::pkg
