#include "components/exporters/loadbalancing/ring.h"

#include <gtest/gtest.h>

#include <map>

namespace weft::exporters::loadbalancing {
namespace {

std::vector<std::string> owners(const Ring& ring, int keys) {
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(keys));
  for (int k = 0; k < keys; ++k) {
    out.push_back(ring.endpoints()[ring.owner(stable_hash("trace-" + std::to_string(k)))]);
  }
  return out;
}

TEST(LoadBalancingRing, SpreadsKeysEvenlyAndTheSameWayInEveryProcess) {
  Ring ring({"gw-c:4317", "gw-a:4317", "gw-b:4317"});
  Ring same({"gw-b:4317", "gw-c:4317", "gw-a:4317", "gw-a:4317"});
  const auto a = owners(ring, 30000);
  EXPECT_EQ(a, owners(same, 30000));
  std::map<std::string, int> per;
  for (const auto& e : a) per[e]++;
  ASSERT_EQ(per.size(), 3U);
  for (const auto& [e, n] : per) EXPECT_NEAR(n, 10000, 1500) << e;
}

TEST(LoadBalancingRing, AChangeOfOneEndpointMovesAboutItsShareOfKeys) {
  const int keys = 30000;
  Ring three({"gw-a:4317", "gw-b:4317", "gw-c:4317"});
  Ring four({"gw-a:4317", "gw-b:4317", "gw-c:4317", "gw-d:4317"});
  const auto before = owners(three, keys), grown = owners(four, keys);
  int moved = 0;
  for (int k = 0; k < keys; ++k) {
    if (before[k] != grown[k]) {
      ++moved;
      EXPECT_EQ(grown[k], "gw-d:4317");  // only to the new endpoint
    }
  }
  EXPECT_NEAR(static_cast<double>(moved) / keys, 0.25, 0.06);

  const auto shrunk = owners(three.without(uint64_t{1} << 1), keys);  // gw-b gone
  for (int k = 0; k < keys; ++k) {
    const uint64_t h = stable_hash("trace-" + std::to_string(k));
    EXPECT_EQ(three.endpoints()[three.owner(h, uint64_t{1} << 1)], shrunk[k]);
    if (before[k] != "gw-b:4317") EXPECT_EQ(shrunk[k], before[k]);  // only gw-b's keys move
    EXPECT_NE(shrunk[k], "gw-b:4317");
  }
}

}  // namespace
}  // namespace weft::exporters::loadbalancing
