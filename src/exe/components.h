#pragma once

#include <memory>
#include <vector>

#include "weft/factory.h"

namespace weft {

// Every component compiled into this binary, in the order of src/exe/components.inc.
std::vector<std::unique_ptr<Factory>> builtin_factories();

// The factory of one built-in component, by the name in components.inc ("wasm_processor").
#define WEFT_COMPONENT(name) std::unique_ptr<Factory> make_##name##_factory();
#include "exe/components.inc"
#undef WEFT_COMPONENT

}  // namespace weft
