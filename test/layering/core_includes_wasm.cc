// Must not compile: the core may not reach up into the wasm layer (CMakeLists.txt, layering).
#include "wasm/plugin/plugin.h"
