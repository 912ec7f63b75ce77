#pragma once

#include <cstdint>
#include <string>
#include <string_view>

// Cryptography done by the host for plugins (docs/abi.md, revision 1.3): HMAC-SHA256 keyed with
// a secret the operator configured (the plugin names it, never sees it) and signature checks
// (HS256 with such a secret, RS256 and ES256 with a PEM public key).
namespace weft::wasm {

// HMAC-SHA256 of message under key: 32 bytes.
std::string hmac_sha256(std::string_view key, std::string_view message);

// Whether signature is alg's signature of message: 0 valid, -1 not, -2 an unknown alg or a key
// that is not a PEM public key of the alg's type. For HS256 `key` is the secret itself.
int32_t verify_signature(std::string_view alg, std::string_view key, std::string_view message,
                         std::string_view signature);

}  // namespace weft::wasm
