#include "telemetry/process.h"

#include <unistd.h>

#include <fstream>

namespace weft::telemetry {

uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace weft::telemetry
