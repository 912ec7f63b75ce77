#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "weft/result.h"

// Ed25519 signatures of plugin packages (libsodium; docs/packages.md, "Signatures"). A
// signature covers the package's manifest digest and its signed metadata (name, version),
// so that a valid signature cannot be moved to another artifact or version.
namespace weft::pkg {

struct PublicKey {
  std::string key;     // 32 bytes
  std::string id;      // 16 hex digits of the key's SHA-256: how signatures name their key
  std::string source;  // the file it came from, for messages
};

// Writes NAME.key (the secret key, mode 0600) and NAME.pub; returns the public key.
Result<PublicKey> generate_key(const std::filesystem::path& prefix);
// A public key file ("weft-ed25519 <base64>") or the same text inline.
Result<PublicKey> read_public_key(const std::string& file_or_text);

struct SignedClaims {
  std::string digest;              // the manifest's
  std::string name;                // the plugin's
  std::string version;             // the plugin's
  std::string kind = "signature";  // or "certification" (then `predicate` is set)
  std::string predicate;           // JSON: a certification's results
};

// The signature document (JSON): the claims as a base64 payload, the key id, the signature.
Result<std::string> sign_claims(const std::filesystem::path& secret_key_file,
                                const SignedClaims& claims);

struct Verified {
  std::string key_id;
  SignedClaims claims;
};
// Checks the document's signature with whichever of the keys it names, then that its claims
// are about this digest (and name and version). Never needs the network.
Result<Verified> verify_signature(const std::string& document, const std::vector<PublicKey>& keys,
                                  const std::string& digest, const std::string& name,
                                  const std::string& version);

}  // namespace weft::pkg
