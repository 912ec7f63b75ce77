#include "weft/storage.h"

#include "find_extension.h"

namespace weft {

Result<StorageExtension*> storage_extension(const ComponentContext& ctx, const std::string& id) {
  return find_extension<StorageExtension>(ctx, id, "storage", "storage extension");
}

}  // namespace weft
