#include "components/exporters/loadbalancing/ring.h"

#include <algorithm>

namespace weft::exporters::loadbalancing {

Ring::Ring(std::vector<std::string> endpoints) : endpoints_(std::move(endpoints)) {
  std::sort(endpoints_.begin(), endpoints_.end());
  endpoints_.erase(std::unique(endpoints_.begin(), endpoints_.end()), endpoints_.end());
  points_.reserve(endpoints_.size() * kPointsPerEndpoint);
  for (size_t e = 0; e < endpoints_.size(); ++e) {
    for (int i = 0; i < kPointsPerEndpoint; ++i) {
      points_.push_back(
          {stable_hash(endpoints_[e] + "#" + std::to_string(i)), static_cast<uint32_t>(e)});
    }
  }
  std::sort(points_.begin(), points_.end(),
            [](const Point& a, const Point& b) { return a.hash < b.hash; });
}

size_t Ring::owner(uint64_t key_hash) const {
  auto it = std::lower_bound(points_.begin(), points_.end(), key_hash,
                             [](const Point& p, uint64_t h) { return p.hash < h; });
  if (it == points_.end()) it = points_.begin();
  return it->endpoint;
}

size_t Ring::owner(uint64_t key_hash, uint64_t excluded) const {
  if (excluded == 0) return owner(key_hash);
  auto it = std::lower_bound(points_.begin(), points_.end(), key_hash,
                             [](const Point& p, uint64_t h) { return p.hash < h; });
  for (size_t n = 0; n < points_.size(); ++n, ++it) {
    if (it == points_.end()) it = points_.begin();
    if (it->endpoint >= 64 || (excluded & (uint64_t{1} << it->endpoint)) == 0) return it->endpoint;
  }
  return 0;
}

Ring Ring::without(uint64_t excluded) const {
  std::vector<std::string> kept;
  for (size_t e = 0; e < endpoints_.size(); ++e) {
    if (e >= 64 || (excluded & (uint64_t{1} << e)) == 0) kept.push_back(endpoints_[e]);
  }
  return Ring(std::move(kept));
}

}  // namespace weft::exporters::loadbalancing
