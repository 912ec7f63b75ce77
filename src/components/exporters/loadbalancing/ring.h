#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "components/common/stable_hash.h"

// Consistent hashing for the loadbalancing exporter: each endpoint owns the arcs of a hash
// circle that precede its points (kPointsPerEndpoint of them), and a key belongs to the
// endpoint of the first point at or after the key's stable_hash. Adding or removing one of N
// endpoints moves only the keys of the arcs that change hands, about 1/N of them. The hash is
// fixed, so every weft process — two agents in front of the same gateways — sends a key to
// the same endpoint.
namespace weft::exporters::loadbalancing {

class Ring {
 public:
  static constexpr int kPointsPerEndpoint = 160;

  Ring() = default;
  // The endpoints are "host:port"; their order does not matter.
  explicit Ring(std::vector<std::string> endpoints);

  [[nodiscard]] bool empty() const { return endpoints_.empty(); }
  [[nodiscard]] const std::vector<std::string>& endpoints() const { return endpoints_; }
  // The index (into endpoints()) of the key's endpoint; the ring must not be empty.
  [[nodiscard]] size_t owner(uint64_t key_hash) const;
  // The same, with the endpoints whose bit is set in `excluded` (index < 64) left out, as if
  // they were not on the ring (without(excluded) would say the same); `excluded` must leave
  // at least one.
  [[nodiscard]] size_t owner(uint64_t key_hash, uint64_t excluded) const;
  // The same ring without the endpoints whose bit is set in `excluded` (index < 64).
  [[nodiscard]] Ring without(uint64_t excluded) const;

 private:
  std::vector<std::string> endpoints_;  // sorted
  struct Point {
    uint64_t hash;
    uint32_t endpoint;
  };
  std::vector<Point> points_;  // sorted by hash
};

}  // namespace weft::exporters::loadbalancing
