#pragma once

#include <cstdint>
#include <string>
#include <utility>

namespace weft::processors::memory_limiter {

// The memory limit_percentage is a share of: the cgroup's limit (v2 memory.max, v1
// memory/memory.limit_in_bytes under cgroup_root) when one is set and below the machine's
// memory, else the machine's; with where it came from.
std::pair<uint64_t, std::string> available_memory(const std::string& cgroup_root);

}  // namespace weft::processors::memory_limiter
