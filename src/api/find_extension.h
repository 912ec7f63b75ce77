#pragma once

#include <string>

#include "weft/component.h"
#include "weft/result.h"

namespace weft {

// The extension `id` of a running collector as a `Role` (ServerAuthenticator,
// StorageExtension, ...). Errors name it as `what` ("authenticator") and the role it lacks as
// `role` ("server authenticator").
template <class Role>
Result<Role*> find_extension(const ComponentContext& ctx, const std::string& id,
                             const std::string& what, const std::string& role) {
  if (ctx.host == nullptr) {
    return Status::permanent("failed to resolve " + what + " \"" + id + "\": no running collector");
  }
  Extension* extension = ctx.host->extension(id);
  if (extension == nullptr) {
    return Status::permanent("failed to resolve " + what + " \"" + id +
                             "\": no such extension in service.extensions");
  }
  auto* found = dynamic_cast<Role*>(extension);
  if (found == nullptr) return Status::permanent("extension \"" + id + "\" is not a " + role);
  return found;
}

}  // namespace weft
