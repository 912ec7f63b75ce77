#include "weft/auth.h"

#include "weft/config_reader.h"

namespace weft {
namespace {

template <class Role>
Result<Role*> find(const ComponentContext& ctx, const std::string& id, const char* role) {
  if (ctx.host == nullptr) {
    return Status::permanent("failed to resolve authenticator \"" + id +
                             "\": no running collector");
  }
  Extension* extension = ctx.host->extension(id);
  if (extension == nullptr) {
    return Status::permanent("failed to resolve authenticator \"" + id +
                             "\": no such extension in service.extensions");
  }
  auto* authenticator = dynamic_cast<Role*>(extension);
  if (authenticator == nullptr) {
    return Status::permanent("extension \"" + id + "\" is not a " + role + " authenticator");
  }
  return authenticator;
}

}  // namespace

Result<ServerAuthenticator*> server_authenticator(const ComponentContext& ctx,
                                                  const std::string& id) {
  return find<ServerAuthenticator>(ctx, id, "server");
}

Result<ClientAuthenticator*> client_authenticator(const ComponentContext& ctx,
                                                  const std::string& id) {
  return find<ClientAuthenticator>(ctx, id, "client");
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
