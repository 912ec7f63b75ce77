#include "pkg/signing.h"

#include <sodium.h>
#include <sys/stat.h>

#include "pkg/json.h"
#include "pkg/oci.h"
#include "util/base64.h"

namespace weft::pkg {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kPublicPrefix = "weft-ed25519-public ";
constexpr std::string_view kSecretPrefix = "weft-ed25519-secret ";

bool sodium_ready() {
  static const bool kReady = sodium_init() >= 0;
  return kReady;
}

std::string key_id(const std::string& key) {
  return sha256_digest(key).substr(7, 16);
}

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.pop_back();
  return text;
}

std::string claims_json(const SignedClaims& c) {
  std::string out = "{\"type\":" + json_quote("weft.plugin." + c.kind + ".v1") +
                    ",\"digest\":" + json_quote(c.digest) + ",\"name\":" + json_quote(c.name) +
                    ",\"version\":" + json_quote(c.version);
  if (!c.predicate.empty()) out += ",\"predicate\":" + c.predicate;
  return out + "}";
}

}  // namespace

Result<PublicKey> generate_key(const fs::path& prefix) {
  if (!sodium_ready()) return Status::permanent("libsodium failed to initialise");
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  unsigned char sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_keypair(pk, sk);
  const std::string public_key(reinterpret_cast<char*>(pk), sizeof pk);
  const std::string secret(reinterpret_cast<char*>(sk), sizeof sk);
  sodium_memzero(sk, sizeof sk);
  const fs::path secret_path = prefix.string() + ".key";
  const fs::path public_path = prefix.string() + ".pub";
  std::error_code ec;
  if (fs::exists(secret_path, ec)) {
    return Status::invalid_argument(secret_path.string() + " exists; not overwriting a key");
  }
  const mode_t old = ::umask(077);
  Status s =
      write_file_atomic(secret_path, std::string(kSecretPrefix) + base64_encode(secret) + "\n");
  ::umask(old);
  if (!s.is_ok()) return s;
  fs::permissions(secret_path, fs::perms::owner_read | fs::perms::owner_write, ec);
  if (s = write_file_atomic(public_path,
                            std::string(kPublicPrefix) + base64_encode(public_key) + "\n");
      !s.is_ok()) {
    return s;
  }
  return PublicKey{public_key, key_id(public_key), public_path.string()};
}

Result<PublicKey> read_public_key(const std::string& file_or_text) {
  std::string text = file_or_text;
  std::string source = "an inline key";
  if (text.rfind(kPublicPrefix, 0) != 0) {
    auto file = read_whole_file(file_or_text);
    if (!file.ok()) return Status::invalid_argument("cannot read the public key " + file_or_text);
    text = *file;
    source = file_or_text;
  }
  text = trim(text);
  if (text.rfind(kPublicPrefix, 0) != 0) {
    return Status::invalid_argument(source + " is not a weft public key (" +
                                    std::string(kPublicPrefix) + "<base64>)");
  }
  auto key = base64_decode(text.substr(kPublicPrefix.size()));
  if (!key || key->size() != crypto_sign_PUBLICKEYBYTES) {
    return Status::invalid_argument(source + " does not hold a 32-byte Ed25519 public key");
  }
  return PublicKey{*key, key_id(*key), source};
}

Result<std::string> sign_claims(const fs::path& secret_key_file, const SignedClaims& claims) {
  if (!sodium_ready()) return Status::permanent("libsodium failed to initialise");
  auto text = read_whole_file(secret_key_file);
  if (!text.ok())
    return Status::invalid_argument("cannot read the key " + secret_key_file.string());
  const std::string line = trim(*text);
  auto secret = line.rfind(kSecretPrefix, 0) == 0 ? base64_decode(line.substr(kSecretPrefix.size()))
                                                  : std::nullopt;
  if (!secret || secret->size() != crypto_sign_SECRETKEYBYTES) {
    return Status::invalid_argument(secret_key_file.string() +
                                    " is not a weft secret key (made by weft plugin keygen)");
  }
  const std::string payload = claims_json(claims);
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(payload.data()),
                       payload.size(), reinterpret_cast<const unsigned char*>(secret->data()));
  // The public half of an Ed25519 secret key is its last 32 bytes.
  const std::string public_key =
      secret->substr(crypto_sign_SECRETKEYBYTES - crypto_sign_PUBLICKEYBYTES);
  sodium_memzero(secret->data(), secret->size());
  return "{\"payload\":" + json_quote(base64_encode(payload)) +
         ",\"keyid\":" + json_quote(key_id(public_key)) + ",\"signature\":" +
         json_quote(base64_encode(std::string(reinterpret_cast<char*>(sig), sizeof sig))) + "}\n";
}

Result<Verified> verify_signature(const std::string& document, const std::vector<PublicKey>& keys,
                                  const std::string& digest, const std::string& name,
                                  const std::string& version) {
  if (!sodium_ready()) return Status::permanent("libsodium failed to initialise");
  auto doc = parse_json(document, "the signature");
  if (!doc.ok()) return doc.status();
  const std::string id = json_string(*doc, "keyid");
  auto payload = base64_decode(json_string(*doc, "payload"));
  auto sig = base64_decode(json_string(*doc, "signature"));
  if (!payload || !sig || sig->size() != crypto_sign_BYTES) {
    return Status::invalid_argument("the signature document is malformed");
  }
  const PublicKey* key = nullptr;
  for (const auto& k : keys) {
    if (k.id == id) key = &k;
  }
  if (key == nullptr) {
    return Status::permanent("signed by an unknown key " + id + " (not among the trusted keys)");
  }
  if (crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig->data()),
                                  reinterpret_cast<const unsigned char*>(payload->data()),
                                  payload->size(),
                                  reinterpret_cast<const unsigned char*>(key->key.data())) != 0) {
    return Status::permanent("the signature by key " + id + " does not verify");
  }
  auto claims_doc = parse_json(*payload, "the signed claims");
  if (!claims_doc.ok()) return claims_doc.status();
  Verified v;
  v.key_id = id;
  v.claims.digest = json_string(*claims_doc, "digest");
  v.claims.name = json_string(*claims_doc, "name");
  v.claims.version = json_string(*claims_doc, "version");
  const std::string type = json_string(*claims_doc, "type");
  v.claims.kind = type == "weft.plugin.certification.v1" ? "certification" : "signature";
  if (const auto it = claims_doc->fields().find("predicate"); it != claims_doc->fields().end()) {
    v.claims.predicate = json_text(it->second);
  }
  if (v.claims.digest != digest) {
    return Status::permanent("the signature is for another artifact (" + v.claims.digest + ")");
  }
  if (v.claims.name != name || v.claims.version != version) {
    return Status::permanent("the signature is for " + v.claims.name + " " + v.claims.version +
                             ", not " + name + " " + version);
  }
  return v;
}

}  // namespace weft::pkg
