#include "components/extensions/basicauth/htpasswd.h"

#include <crypt.h>
#include <openssl/evp.h>

#include <array>
#include <memory>

#include "weft/auth.h"

namespace weft::extensions::basicauth {
namespace {

constexpr std::string_view kItoa64 =
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

struct DigestDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

class Md5 {
 public:
  Md5() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_.get(), EVP_md5(), nullptr); }
  Md5& add(std::string_view data) {
    EVP_DigestUpdate(ctx_.get(), data.data(), data.size());
    return *this;
  }
  std::string finish() {
    std::array<unsigned char, 16> out{};
    unsigned int length = 0;
    EVP_DigestFinal_ex(ctx_.get(), out.data(), &length);
    return {reinterpret_cast<const char*>(out.data()), out.size()};
  }

 private:
  std::unique_ptr<EVP_MD_CTX, DigestDeleter> ctx_;
};

void to64(std::string& out, uint32_t value, int count) {
  while (count-- > 0) {
    out += kItoa64[value & 0x3f];
    value >>= 6;
  }
}

std::string base64(const unsigned char* data, size_t size) {
  std::string out(4 * ((size + 2) / 3) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  out.resize(static_cast<size_t>(n));
  return out;
}

bool verify_hash(const std::string& hash, const std::string& password) {
  if (hash.rfind("$apr1$", 0) == 0) {
    const std::string_view rest = std::string_view(hash).substr(6);
    const std::string_view salt = rest.substr(0, rest.find('$'));
    return secrets_equal(md5_crypt(password, salt, "$apr1$"), hash);
  }
  if (hash.rfind("{SHA}", 0) == 0) {
    std::array<unsigned char, 20> digest{};
    unsigned int length = 0;
    EVP_Digest(password.data(), password.size(), digest.data(), &length, EVP_sha1(), nullptr);
    return secrets_equal(base64(digest.data(), digest.size()), hash.substr(5));
  }
  // bcrypt and the crypt(3) schemes, by libxcrypt.
  crypt_data data{};
  const char* out = crypt_r(password.c_str(), hash.c_str(), &data);
  return out != nullptr && out[0] != '*' && secrets_equal(out, hash);
}

bool known_scheme(const std::string& hash) {
  for (const char* prefix : {"$apr1$", "{SHA}", "$2y$", "$2b$", "$2a$", "$1$", "$5$", "$6$"}) {
    if (hash.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

}  // namespace

std::string md5_crypt(std::string_view password, std::string_view salt, std::string_view magic) {
  salt = salt.substr(0, 8);
  Md5 context;
  context.add(password).add(magic).add(salt);
  std::string alternate = Md5().add(password).add(salt).add(password).finish();
  for (auto left = static_cast<int64_t>(password.size()); left > 0; left -= 16) {
    context.add(
        std::string_view(alternate).substr(0, static_cast<size_t>(std::min<int64_t>(left, 16))));
  }
  for (size_t i = password.size(); i != 0; i >>= 1) {
    context.add((i & 1) != 0 ? std::string_view("\0", 1) : password.substr(0, 1));
  }
  std::string digest = context.finish();
  for (int round = 0; round < 1000; ++round) {
    Md5 step;
    if ((round & 1) != 0) {
      step.add(password);
    } else {
      step.add(digest);
    }
    if (round % 3 != 0) step.add(salt);
    if (round % 7 != 0) step.add(password);
    if ((round & 1) != 0) {
      step.add(digest);
    } else {
      step.add(password);
    }
    digest = step.finish();
  }
  auto byte = [&](int i) { return static_cast<uint32_t>(static_cast<unsigned char>(digest[i])); };
  std::string out = std::string(magic) + std::string(salt) + "$";
  to64(out, (byte(0) << 16) | (byte(6) << 8) | byte(12), 4);
  to64(out, (byte(1) << 16) | (byte(7) << 8) | byte(13), 4);
  to64(out, (byte(2) << 16) | (byte(8) << 8) | byte(14), 4);
  to64(out, (byte(3) << 16) | (byte(9) << 8) | byte(15), 4);
  to64(out, (byte(4) << 16) | (byte(10) << 8) | byte(5), 4);
  to64(out, byte(11), 2);
  return out;
}

Status Htpasswd::add(std::string_view text, const std::string& source) {
  size_t number = 0;
  while (!text.empty()) {
    ++number;
    const size_t end = text.find('\n');
    std::string line(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line.front() == '#') continue;
    const size_t colon = line.find(':');
    const std::string where = source + " line " + std::to_string(number);
    if (colon == std::string::npos || colon == 0) {
      return Status::permanent(where + ": expected \"user:hash\"");
    }
    std::string hash = line.substr(colon + 1);
    if (!known_scheme(hash)) {
      return Status::permanent(where +
                               ": unsupported hash (use bcrypt, $apr1$, $1$, $5$, $6$ or {SHA})");
    }
    users_[line.substr(0, colon)] = std::move(hash);
  }
  return Status::ok();
}

bool Htpasswd::verify(const std::string& user, const std::string& password) const {
  auto it = users_.find(user);
  if (it == users_.end()) {
    // The same work as a known user, so that the time does not say which users exist.
    verify_hash("$apr1$weftweft$0000000000000000000000", password);
    return false;
  }
  return verify_hash(it->second, password);
}

}  // namespace weft::extensions::basicauth
