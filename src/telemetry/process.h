#pragma once

#include <cstdint>

namespace weft::telemetry {

// Resident memory of this process in bytes (from /proc/self/statm); 0 if unknown.
uint64_t resident_bytes();

}  // namespace weft::telemetry
