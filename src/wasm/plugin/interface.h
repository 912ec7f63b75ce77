#pragma once

#include <set>
#include <string>

#include "wasm/engine/engine.h"
#include "wasm/plugin/plugin.h"
#include "weft/signal.h"

namespace weft::wasm {

// "weft_process_traces", ... or, for exporters, "weft_export_traces", ...
std::string process_export(Signal signal);
std::string entry_export(Entry entry, Signal signal);

// Checks a module against docs/abi.md before anything runs: the exports the ABI requires
// (process functions for `signals`) with their signatures, and imports of nothing but WASI
// and the host functions weft declares (host_functions()), with theirs.
Status check_interface(const Module& module, const std::set<Signal>& signals,
                       Entry entry = Entry::kProcess);

}  // namespace weft::wasm
