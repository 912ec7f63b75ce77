#include "pkg/oci.h"

#include <fcntl.h>
#include <openssl/sha.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <sstream>

#include "pkg/json.h"

namespace weft::pkg {

namespace fs = std::filesystem;

std::string sha256_digest(std::string_view bytes) {
  unsigned char hash[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), hash);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned char b : hash) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

bool is_sha256_digest(std::string_view text) {
  if (text.size() != 71 || text.substr(0, 7) != "sha256:") return false;
  for (char c : text.substr(7)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

namespace {

std::string annotations_json(const std::map<std::string, std::string>& annotations) {
  std::string out = "{";
  for (const auto& [k, v] : annotations) {
    if (out.size() > 1) out += ",";
    out += json_quote(k) + ":" + json_quote(v);
  }
  return out + "}";
}

Descriptor parse_descriptor(const JsonObject& o) {
  Descriptor d;
  d.media_type = json_string(o, "mediaType");
  d.digest = json_string(o, "digest");
  d.size = static_cast<uint64_t>(json_number(o, "size"));
  d.artifact_type = json_string(o, "artifactType");
  if (const auto* a = json_object(o, "annotations")) {
    for (const auto& [k, v] : a->fields()) {
      if (v.has_string_value()) d.annotations[k] = v.string_value();
    }
  }
  return d;
}

}  // namespace

std::string Descriptor::to_json() const {
  std::string out = "{\"mediaType\":" + json_quote(media_type) +
                    ",\"digest\":" + json_quote(digest) + ",\"size\":" + std::to_string(size);
  if (!artifact_type.empty()) out += ",\"artifactType\":" + json_quote(artifact_type);
  if (!annotations.empty()) out += ",\"annotations\":" + annotations_json(annotations);
  return out + "}";
}

Descriptor describe(std::string_view media_type, std::string_view bytes) {
  Descriptor d;
  d.media_type = media_type;
  d.digest = sha256_digest(bytes);
  d.size = bytes.size();
  return d;
}

std::string Manifest::to_json() const {
  std::string out = "{\"schemaVersion\":2,\"mediaType\":" + json_quote(kImageManifestType);
  if (!artifact_type.empty()) out += ",\"artifactType\":" + json_quote(artifact_type);
  out += ",\"config\":" + config.to_json() + ",\"layers\":[";
  for (size_t i = 0; i < layers.size(); ++i) out += (i ? "," : "") + layers[i].to_json();
  out += "]";
  if (subject) out += ",\"subject\":" + subject->to_json();
  if (!annotations.empty()) out += ",\"annotations\":" + annotations_json(annotations);
  return out + "}";
}

Result<Manifest> Manifest::parse(std::string_view json, const std::string& what) {
  auto doc = parse_json(json, what);
  if (!doc.ok()) return doc.status();
  const std::string type = json_string(*doc, "mediaType");
  if (!type.empty() && type != kImageManifestType) {
    return Status::invalid_argument(what + " is a " + type + ", not an OCI image manifest");
  }
  Manifest m;
  m.artifact_type = json_string(*doc, "artifactType");
  const JsonObject* config = json_object(*doc, "config");
  if (config == nullptr) return Status::invalid_argument(what + " has no config");
  m.config = parse_descriptor(*config);
  for (const auto* layer : json_list(*doc, "layers")) {
    if (layer->has_struct_value()) m.layers.push_back(parse_descriptor(layer->struct_value()));
  }
  if (const JsonObject* subject = json_object(*doc, "subject")) {
    m.subject = parse_descriptor(*subject);
  }
  if (const auto* a = json_object(*doc, "annotations")) {
    for (const auto& [k, v] : a->fields()) {
      if (v.has_string_value()) m.annotations[k] = v.string_value();
    }
  }
  if (!is_sha256_digest(m.config.digest)) {
    return Status::invalid_argument(what + ": its config has no sha256 digest");
  }
  for (const auto& d : m.layers) {
    if (!is_sha256_digest(d.digest)) {
      return Status::invalid_argument(what + ": a layer has no sha256 digest");
    }
  }
  return m;
}

const Descriptor* Manifest::layer(std::string_view media_type) const {
  for (const auto& d : layers) {
    if (d.media_type == media_type) return &d;
  }
  return nullptr;
}

std::string companion_tag(const std::string& digest, std::string_view suffix) {
  std::string tag = digest;
  if (const auto colon = tag.find(':'); colon != std::string::npos) tag[colon] = '-';
  return tag + "." + std::string(suffix);
}

Status write_file_atomic(const fs::path& path, std::string_view bytes) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  static thread_local std::mt19937_64 random{std::random_device{}()};
  const fs::path tmp = path.string() + ".tmp" + std::to_string(random() % 1000000000);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
      fs::remove(tmp, ec);
      return Status::permanent("cannot write " + path.string());
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return Status::permanent("cannot write " + path.string() + ": " + ec.message());
  }
  return Status::ok();
}

Result<std::string> read_whole_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::permanent("cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<Layout> Layout::open(const fs::path& dir, bool create) {
  std::error_code ec;
  const fs::path marker = dir / "oci-layout";
  if (!fs::exists(marker, ec)) {
    if (!create) {
      return Status::invalid_argument(dir.string() + " is not an OCI image layout (no oci-layout)");
    }
    fs::create_directories(dir / "blobs" / "sha256", ec);
    if (ec) return Status::permanent("cannot make " + dir.string() + ": " + ec.message());
    if (Status s = write_file_atomic(marker, R"({"imageLayoutVersion":"1.0.0"})"); !s.is_ok())
      return s;
  }
  if (!fs::exists(dir / "index.json", ec)) {
    if (!create) return Status::invalid_argument(dir.string() + " has no index.json");
    const std::string empty = std::string("{\"schemaVersion\":2,\"mediaType\":") +
                              json_quote(kImageIndexType) + ",\"manifests\":[]}";
    if (Status s = write_file_atomic(dir / "index.json", empty); !s.is_ok()) return s;
  }
  return Layout(dir);
}

fs::path Layout::blob_path(const std::string& digest) const {
  return dir_ / "blobs" / "sha256" / digest.substr(7);
}

Result<std::string> Layout::put_blob(std::string_view bytes) const {
  std::string digest = sha256_digest(bytes);
  if (has_blob(digest)) return digest;
  if (Status s = write_file_atomic(blob_path(digest), bytes); !s.is_ok()) return s;
  return digest;
}

bool Layout::has_blob(const std::string& digest) const {
  std::error_code ec;
  return is_sha256_digest(digest) && fs::exists(blob_path(digest), ec);
}

Result<std::string> Layout::blob(const std::string& digest) const {
  if (!is_sha256_digest(digest)) return Status::invalid_argument("not a sha256 digest: " + digest);
  auto bytes = read_whole_file(blob_path(digest));
  if (!bytes.ok()) return Status::permanent("blob " + digest + " is missing from " + dir_.string());
  if (sha256_digest(*bytes) != digest) {
    return Status::permanent("blob " + digest + " in " + dir_.string() +
                             " does not match its digest (changed after it was written)");
  }
  return bytes;
}

Result<std::vector<Descriptor>> Layout::read_index() const {
  auto text = read_whole_file(dir_ / "index.json");
  if (!text.ok()) return text.status();
  auto doc = parse_json(*text, (dir_ / "index.json").string());
  if (!doc.ok()) return doc.status();
  std::vector<Descriptor> out;
  for (const auto* m : json_list(*doc, "manifests")) {
    if (m->has_struct_value()) out.push_back(parse_descriptor(m->struct_value()));
  }
  return out;
}

Status Layout::tag(const std::string& ref_name, const Descriptor& manifest) const {
  // Two writers (two `weft plugin pull`s) must not lose each other's entries: a lock file.
  const fs::path lock_path = dir_ / ".index.lock";
  const int fd = ::open(lock_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (fd < 0) return Status::permanent("cannot lock " + lock_path.string());
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  (void)::fcntl(fd, F_SETLKW, &fl);
  auto entries = read_index();
  Status status = Status::ok();
  if (!entries.ok()) {
    status = entries.status();
  } else {
    std::erase_if(*entries, [&](const Descriptor& d) {
      auto it = d.annotations.find(kRefNameAnnotation);
      return it != d.annotations.end() && it->second == ref_name;
    });
    Descriptor named = manifest;
    named.annotations[kRefNameAnnotation] = ref_name;
    entries->push_back(named);
    std::string out = std::string("{\"schemaVersion\":2,\"mediaType\":") +
                      json_quote(kImageIndexType) + ",\"manifests\":[";
    for (size_t i = 0; i < entries->size(); ++i) out += (i ? "," : "") + (*entries)[i].to_json();
    out += "]}";
    status = write_file_atomic(dir_ / "index.json", out);
  }
  ::close(fd);
  return status;
}

std::optional<Descriptor> Layout::find(const std::string& ref_name) const {
  auto entries = read_index();
  if (!entries.ok()) return std::nullopt;
  for (const auto& d : *entries) {
    auto it = d.annotations.find(kRefNameAnnotation);
    if (it != d.annotations.end() && it->second == ref_name) return d;
  }
  return std::nullopt;
}

std::vector<std::pair<std::string, Descriptor>> Layout::refs() const {
  std::vector<std::pair<std::string, Descriptor>> out;
  auto entries = read_index();
  if (!entries.ok()) return out;
  for (const auto& d : *entries) {
    auto it = d.annotations.find(kRefNameAnnotation);
    out.emplace_back(it != d.annotations.end() ? it->second : "", d);
  }
  return out;
}

}  // namespace weft::pkg
