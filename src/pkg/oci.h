#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "weft/result.h"

// The OCI pieces a plugin package is made of (docs/packages.md): content digests,
// descriptors, image manifests and the image layout directory, which is both the form a
// package is carried in and weft's local package cache.
namespace weft::pkg {

inline constexpr const char* kImageManifestType = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kImageIndexType = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kWasmConfigType = "application/vnd.wasm.config.v0+json";
inline constexpr const char* kWasmLayerType = "application/wasm";
inline constexpr const char* kWeftManifestType = "application/vnd.weft.plugin.manifest.v1+json";
inline constexpr const char* kSignatureType = "application/vnd.weft.plugin.signature.v1+json";
inline constexpr const char* kAttestationType = "application/vnd.in-toto+json";
inline constexpr const char* kEmptyType = "application/vnd.oci.empty.v1+json";
inline constexpr const char* kRefNameAnnotation = "org.opencontainers.image.ref.name";

// "sha256:" and the 64 lowercase hex digits of the bytes' SHA-256.
std::string sha256_digest(std::string_view bytes);
bool is_sha256_digest(std::string_view text);

struct Descriptor {
  std::string media_type;
  std::string digest;
  uint64_t size = 0;
  std::string artifact_type;  // in an index or a referrers list
  std::map<std::string, std::string> annotations;

  [[nodiscard]] std::string to_json() const;
};

Descriptor describe(std::string_view media_type, std::string_view bytes);

struct Manifest {
  std::string artifact_type;
  Descriptor config;
  std::vector<Descriptor> layers;
  std::optional<Descriptor> subject;
  std::map<std::string, std::string> annotations;

  [[nodiscard]] std::string to_json() const;
  static Result<Manifest> parse(std::string_view json, const std::string& what);
  // The first layer of this media type, or null.
  [[nodiscard]] const Descriptor* layer(std::string_view media_type) const;
};

// The tag under which a signature (".sig") or an attestation (".att") of the manifest with
// this digest is stored where a registry has no referrers API: "sha256-<hex>.sig".
std::string companion_tag(const std::string& digest, std::string_view suffix);

// An OCI image layout directory: `oci-layout`, `index.json` and `blobs/sha256/<hex>`.
// index.json names manifests by the org.opencontainers.image.ref.name annotation. Blobs are
// written to a temporary file and renamed, index.json is rewritten the same way, so a reader
// (another weft) never sees half of either.
class Layout {
 public:
  static Result<Layout> open(const std::filesystem::path& dir, bool create);

  [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }
  Result<std::string> put_blob(std::string_view bytes) const;  // the digest
  [[nodiscard]] bool has_blob(const std::string& digest) const;
  // The blob's bytes, checked against the digest: a changed file is refused.
  [[nodiscard]] Result<std::string> blob(const std::string& digest) const;
  // Names a stored manifest; a name already given moves to it.
  Status tag(const std::string& ref_name, const Descriptor& manifest) const;
  [[nodiscard]] std::optional<Descriptor> find(const std::string& ref_name) const;
  [[nodiscard]] std::vector<std::pair<std::string, Descriptor>> refs() const;

 private:
  explicit Layout(std::filesystem::path dir) : dir_(std::move(dir)) {}
  [[nodiscard]] std::filesystem::path blob_path(const std::string& digest) const;
  [[nodiscard]] Result<std::vector<Descriptor>> read_index() const;

  std::filesystem::path dir_;
};

// Writes the bytes to path through a temporary file and a rename.
Status write_file_atomic(const std::filesystem::path& path, std::string_view bytes);
Result<std::string> read_whole_file(const std::filesystem::path& path);

}  // namespace weft::pkg
