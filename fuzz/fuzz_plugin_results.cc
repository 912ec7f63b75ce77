// A plugin's result applied to a batch (docs/abi.md, "Results"): the keep-mask and the edit
// list come from untrusted plugin memory. Input: a selector byte (bits 0-1 the signal, bit 2
// edits or keep-mask), the request's length (two bytes, little-endian), the request, then the
// result bytes. For a keep-mask the result bytes are repeated to one byte per item.
// Checked invariants: a refused edit list leaves the batch as it was; an applied result leaves a
// batch that passes the schema check, with the items the mask kept or, for edits, all of them.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz_check.h"
#include "pdata/wire.h"
#include "wasm/host/results.h"
#include "weft/telemetry.h"

using weft::Signal;
namespace wire = weft::pdata::wire;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const uint8_t selector = data[0];
  const auto signal = static_cast<Signal>((selector & 3) % 3);
  const bool edits = (selector & 4) != 0;
  const size_t request_size = data[1] | (static_cast<size_t>(data[2]) << 8);
  if (size - 3 < request_size) return 0;
  std::string request(reinterpret_cast<const char*>(data + 3), request_size);
  const std::string_view result(reinterpret_cast<const char*>(data + 3 + request_size),
                                size - 3 - request_size);
  auto batch = weft::pdata::Telemetry::from_wire(signal, request);
  if (!batch.ok()) return 0;
  weft::pdata::Telemetry& telemetry = batch.value();
  const size_t items = telemetry.item_count();

  if (edits) {
    const weft::Status status = weft::wasm::apply_edits(telemetry, result);
    if (!status.is_ok()) {
      check(telemetry.wire() == request, "a refused edit list leaves the batch as it was");
      return 0;
    }
    auto n = wire::count_items(signal, telemetry.wire());
    check(n.ok() && *n == items, "edits keep every item and a valid batch");
    return 0;
  }
  std::string mask(items, '\0');
  size_t kept = 0;
  for (size_t i = 0; i < items && !result.empty(); ++i) {
    mask[i] = static_cast<char>(result[i % result.size()] & 1);
    kept += mask[i] != 0 ? 1 : 0;
  }
  const weft::Status status = weft::wasm::apply_keep_mask(telemetry, mask);
  if (!status.is_ok()) return 0;  // a metrics batch that does not decode in full
  auto n = wire::count_items(signal, telemetry.wire());
  check(n.ok() && *n == kept, "the keep-mask keeps exactly the masked items");
  return 0;
}
