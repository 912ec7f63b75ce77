#pragma once

#include <cstdint>
#include <string_view>

namespace weft {

// A 64-bit hash that every weft process, version and machine computes alike (FNV-1a, then
// splitmix64's finaliser, as FNV-1a mixes its last bytes poorly): for placing keys where
// other processes must place them the same way (the loadbalancing ring, tail_sampling's
// probabilistic policy).
inline uint64_t stable_hash(std::string_view data) {
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

}  // namespace weft
