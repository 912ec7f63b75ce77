#include "weft/client.h"

#include <strings.h>

namespace weft {
namespace {

std::optional<std::string_view> find(const ClientInfo::Pairs& pairs, std::string_view name) {
  for (const auto& [k, v] : pairs) {
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string_view> ClientInfo::get(std::string_view key) const {
  if (key == "client.address") {
    if (address.empty()) return std::nullopt;
    return std::string_view(address);
  }
  if (key.starts_with("auth.")) return find(auth, key.substr(5));
  if (key.starts_with("metadata.")) return find(metadata, key.substr(9));
  return std::nullopt;
}

std::optional<std::string_view> ClientInfo::metadata_or_auth(std::string_view name) const {
  if (auto v = find(metadata, name)) return v;
  return find(auth, name);
}

}  // namespace weft
