// The OTLP/JSON decoder (the HTTP receiver's application/json path). Input: a selector byte
// (the signal), then the JSON text. Whatever decodes must encode and decode again to the
// same request.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "pdata/otlp_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const auto signal = static_cast<weft::Signal>(data[0] % 3);
  const std::string_view json(reinterpret_cast<const char*>(data + 1), size - 1);
  auto decoded = weft::pdata::telemetry_from_json(signal, json);
  if (!decoded.ok()) return 0;
  auto encoded = weft::pdata::telemetry_to_json(*decoded);
  if (!encoded.ok()) std::abort();  // what was decoded must encode
  auto again = weft::pdata::telemetry_from_json(signal, *encoded);
  if (!again.ok() || again->item_count() != decoded->item_count()) std::abort();
  return 0;
}
