#pragma once

#include <map>
#include <string>
#include <string_view>

#include "weft/result.h"

// htpasswd files, as Apache's htpasswd writes them and the Go collector's basicauth reads them:
// "user:hash" lines with bcrypt ($2y$, $2b$, $2a$), Apache MD5 ($apr1$), MD5/SHA-256/SHA-512
// crypt ($1$, $5$, $6$) or SHA-1 ({SHA}) hashes.
namespace weft::extensions::basicauth {

class Htpasswd {
 public:
  // Adds the lines of text; later lines replace earlier users. An error names the line.
  Status add(std::string_view text, const std::string& source);
  [[nodiscard]] bool verify(const std::string& user, const std::string& password) const;
  [[nodiscard]] size_t size() const { return users_.size(); }

 private:
  std::map<std::string, std::string> users_;
};

// The Apache MD5 crypt of password with salt and magic ("$apr1$" or "$1$").
std::string md5_crypt(std::string_view password, std::string_view salt, std::string_view magic);

}  // namespace weft::extensions::basicauth
