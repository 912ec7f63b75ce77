#include "exe/components.h"

namespace weft {

std::vector<std::unique_ptr<Factory>> builtin_factories() {
  std::vector<std::unique_ptr<Factory>> all;
#define WEFT_COMPONENT(name) all.push_back(make_##name##_factory());
#include "exe/components.inc"
#undef WEFT_COMPONENT
  return all;
}

}  // namespace weft
