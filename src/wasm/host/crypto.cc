#include "wasm/host/crypto.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <memory>

#include "wasm/engine/host_calls.h"

namespace weft::wasm {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct SigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};

std::unique_ptr<EVP_PKEY, PkeyFree> read_public_key(std::string_view pem) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return nullptr;
  return std::unique_ptr<EVP_PKEY, PkeyFree>(
      PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
}

// JWS carries an ES256 signature as r and s (32 bytes each); OpenSSL wants DER.
std::string ecdsa_der(std::string_view raw) {
  if (raw.size() != 64) return {};
  std::unique_ptr<ECDSA_SIG, SigFree> sig(ECDSA_SIG_new());
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  BIGNUM* r = BN_bin2bn(p, 32, nullptr);
  BIGNUM* s = BN_bin2bn(p + 32, 32, nullptr);
  if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return {};
  }
  const int n = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (n <= 0) return {};
  std::string der(static_cast<size_t>(n), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  i2d_ECDSA_SIG(sig.get(), &out);
  return der;
}

}  // namespace

std::string hmac_sha256(std::string_view key, std::string_view message) {
  std::string out(32, '\0');
  unsigned int len = 32;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(),
       reinterpret_cast<unsigned char*>(out.data()), &len);
  return out;
}

int32_t verify_signature(std::string_view alg, std::string_view key, std::string_view message,
                         std::string_view signature) {
  if (alg == "HS256") {
    const std::string mac = hmac_sha256(key, message);
    return signature.size() == mac.size() &&
                   CRYPTO_memcmp(mac.data(), signature.data(), mac.size()) == 0
               ? kAbiOk
               : kAbiNotFound;
  }
  if (alg != "RS256" && alg != "ES256") return kAbiInvalid;
  auto pkey = read_public_key(key);
  if (!pkey) return kAbiInvalid;
  const int type = EVP_PKEY_get_base_id(pkey.get());
  if ((alg == "RS256" && type != EVP_PKEY_RSA) || (alg == "ES256" && type != EVP_PKEY_EC)) {
    return kAbiInvalid;
  }
  std::string der;
  if (alg == "ES256") {
    der = ecdsa_der(signature);
    if (der.empty()) return kAbiNotFound;
    signature = der;
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey.get()) != 1) {
    return kAbiInvalid;
  }
  const int ok = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
      reinterpret_cast<const unsigned char*>(message.data()), message.size());
  return ok == 1 ? kAbiOk : kAbiNotFound;
}

}  // namespace weft::wasm
