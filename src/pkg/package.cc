#include "pkg/package.h"

#include <chrono>
#include <cstdlib>
#include <ctime>

#include "pkg/json.h"

namespace weft::pkg {

namespace {

std::string string_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + json_quote(items[i]);
  return out + "]";
}

// RFC 3339 in UTC: $SOURCE_DATE_EPOCH when set (reproducible packages), else now.
std::string created_time() {
  std::time_t t = std::time(nullptr);
  if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH"); epoch != nullptr && *epoch != 0) {
    t = static_cast<std::time_t>(std::strtoll(epoch, nullptr, 10));
  }
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

std::string PluginMeta::to_json() const {
  return "{\"name\":" + json_quote(name) + ",\"version\":" + json_quote(version) +
         ",\"abi\":" + std::to_string(abi) + ",\"kinds\":" + string_list(kinds) +
         ",\"signals\":" + string_list(signals) + ",\"permissions\":" + string_list(permissions) +
         ",\"configSchema\":" + (config_schema.empty() ? "{}" : config_schema) +
         ",\"description\":" + json_quote(description) + ",\"license\":" + json_quote(license) +
         ",\"source\":" + json_quote(source) + ",\"sdk\":" + json_quote(sdk) +
         ",\"language\":" + json_quote(language) + ",\"changelog\":" + json_quote(changelog) +
         ",\"moduleSize\":" + std::to_string(module_size) +
         ",\"moduleDigest\":" + json_quote(module_digest) + "}";
}

Result<PluginMeta> PluginMeta::parse(const std::string& json, const std::string& what) {
  auto doc = parse_json(json, what);
  if (!doc.ok()) return doc.status();
  PluginMeta m;
  m.name = json_string(*doc, "name");
  m.version = json_string(*doc, "version");
  m.abi = static_cast<int>(json_number(*doc, "abi"));
  m.kinds = json_strings(*doc, "kinds");
  m.signals = json_strings(*doc, "signals");
  m.permissions = json_strings(*doc, "permissions");
  if (const auto it = doc->fields().find("configSchema"); it != doc->fields().end()) {
    m.config_schema = json_text(it->second);
  }
  m.description = json_string(*doc, "description");
  m.license = json_string(*doc, "license");
  m.source = json_string(*doc, "source");
  m.sdk = json_string(*doc, "sdk");
  m.language = json_string(*doc, "language");
  m.changelog = json_string(*doc, "changelog");
  m.module_size = static_cast<uint64_t>(json_number(*doc, "moduleSize"));
  m.module_digest = json_string(*doc, "moduleDigest");
  if (m.name.empty() || m.version.empty() || !is_sha256_digest(m.module_digest)) {
    return Status::invalid_argument(what + " lacks a name, a version or the module's digest");
  }
  return m;
}

Result<Descriptor> write_package(const Layout& layout, const PluginMeta& meta,
                                 const std::string& module, const std::string& ref_name) {
  Manifest m;
  m.artifact_type = kWasmConfigType;
  Descriptor wasm = describe(kWasmLayerType, module);
  wasm.annotations["org.opencontainers.image.title"] = meta.name + ".wasm";
  const std::string weft_manifest = meta.to_json();
  Descriptor weft = describe(kWeftManifestType, weft_manifest);
  const std::string created = created_time();
  const std::string config = "{\"created\":" + json_quote(created) +
                             ",\"architecture\":\"wasm\",\"os\":\"wasip1\",\"layerDigests\":[" +
                             json_quote(wasm.digest) + "]}";
  m.config = describe(kWasmConfigType, config);
  m.layers = {wasm, weft};
  m.annotations = {{"org.opencontainers.image.title", meta.name},
                   {"org.opencontainers.image.version", meta.version},
                   {"org.opencontainers.image.created", created}};
  if (!meta.description.empty())
    m.annotations["org.opencontainers.image.description"] = meta.description;
  if (!meta.license.empty()) m.annotations["org.opencontainers.image.licenses"] = meta.license;
  if (!meta.source.empty()) m.annotations["org.opencontainers.image.source"] = meta.source;
  for (const std::string* blob : {&module, &weft_manifest, &config}) {
    if (auto d = layout.put_blob(*blob); !d.ok()) return d.status();
  }
  const std::string manifest = m.to_json();
  auto digest = layout.put_blob(manifest);
  if (!digest.ok()) return digest.status();
  Descriptor d = describe(kImageManifestType, manifest);
  d.artifact_type = kWasmConfigType;
  if (Status s = layout.tag(ref_name, d); !s.is_ok()) return s;
  return d;
}

Result<Package> read_package(const Layout& layout, const std::string& manifest_digest,
                             const std::string& what) {
  auto bytes = layout.blob(manifest_digest);
  if (!bytes.ok()) return Status::permanent(what + ": " + bytes.status().message());
  auto manifest = Manifest::parse(*bytes, "the manifest of " + what);
  if (!manifest.ok()) return manifest.status();
  if (manifest->config.media_type != kWasmConfigType) {
    return Status::invalid_argument(what + " is not a Wasm artifact (its config is " +
                                    manifest->config.media_type + ")");
  }
  const Descriptor* wasm = manifest->layer(kWasmLayerType);
  const Descriptor* weft = manifest->layer(kWeftManifestType);
  if (wasm == nullptr || weft == nullptr) {
    return Status::invalid_argument(what + " is not a weft plugin package (it needs an " +
                                    std::string(kWasmLayerType) + " and a " + kWeftManifestType +
                                    " layer)");
  }
  Package p;
  p.digest = manifest_digest;
  auto meta_bytes = layout.blob(weft->digest);
  if (!meta_bytes.ok()) return Status::permanent(what + ": " + meta_bytes.status().message());
  auto meta = PluginMeta::parse(*meta_bytes, "the weft manifest of " + what);
  if (!meta.ok()) return meta.status();
  auto module = layout.blob(wasm->digest);
  if (!module.ok()) return Status::permanent(what + ": " + module.status().message());
  if (meta->module_digest != wasm->digest) {
    return Status::permanent(what + ": its weft manifest describes another module (" +
                             meta->module_digest + ")");
  }
  p.manifest = std::move(*manifest);
  p.meta = std::move(*meta);
  p.module = std::move(*module);
  return p;
}

}  // namespace weft::pkg
