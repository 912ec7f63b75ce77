#include "weft/auth.h"

#include "find_extension.h"
#include "weft/config_reader.h"

namespace weft {

Result<ServerAuthenticator*> server_authenticator(const ComponentContext& ctx,
                                                  const std::string& id) {
  return find_extension<ServerAuthenticator>(ctx, id, "authenticator", "server authenticator");
}

Result<ClientAuthenticator*> client_authenticator(const ComponentContext& ctx,
                                                  const std::string& id) {
  return find_extension<ClientAuthenticator>(ctx, id, "authenticator", "client authenticator");
}

void read_authenticator(ConfigReader& reader, std::string& id) {
  if (!reader.has("auth")) return;
  ConfigReader auth = reader.child("auth");
  auth.read("authenticator", id);
  if (id.empty()) auth.error("authenticator", "must name an extension");
}

bool secrets_equal(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::string_view& longer = a.size() >= b.size() ? a : b;
  for (size_t i = 0; i < longer.size(); ++i) {
    const auto x = static_cast<unsigned char>(i < a.size() ? a[i] : 0);
    const auto y = static_cast<unsigned char>(i < b.size() ? b[i] : 0);
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

}  // namespace weft
