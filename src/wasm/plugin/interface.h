#pragma once

#include <set>
#include <string>

#include "wasm/engine/engine.h"
#include "weft/signal.h"

namespace weft::wasm {

// "weft_process_traces", ...
std::string process_export(Signal signal);

// Checks a module against docs/abi.md before anything runs: the exports the ABI requires
// (process functions for `signals`) with their signatures, and imports of nothing but WASI
// and the host functions weft declares (host_functions()), with theirs.
Status check_interface(const Module& module, const std::set<Signal>& signals);

}  // namespace weft::wasm
