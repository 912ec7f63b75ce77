#pragma once

#include <openssl/evp.h>

#include <string>
#include <string_view>

namespace weft {

// Standard base64 with padding (RFC 4648), as HTTP Basic credentials use it.
inline std::string base64_encode(std::string_view text) {
  std::string out(4 * ((text.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

}  // namespace weft
