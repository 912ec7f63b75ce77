#pragma once

#include <string_view>

#include "weft/status.h"
#include "weft/telemetry.h"

// Applies a plugin's result to a batch natively (docs/abi.md, "Results").
namespace weft::wasm {

// Keeps the items whose mask byte is nonzero; removes emptied scopes, metrics, resources.
Status apply_keep_mask(pdata::Telemetry& data, std::string_view mask);
// Checks the whole edit list first, then applies it; nothing is applied if it is bad.
Status apply_edits(pdata::Telemetry& data, std::string_view edits);

}  // namespace weft::wasm
