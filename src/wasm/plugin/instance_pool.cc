#include "wasm/plugin/instance_pool.h"

namespace weft::wasm {

InstancePool::~InstancePool() {
  if (!on_drop_) return;
  for (auto& instance : idle_) on_drop_(*instance);
}

std::unique_ptr<Instance> InstancePool::take() {
  std::lock_guard lock(mu_);
  if (idle_.empty()) return nullptr;
  auto instance = std::move(idle_.back());
  idle_.pop_back();
  return instance;
}

void InstancePool::put(std::unique_ptr<Instance> instance) {
  std::lock_guard lock(mu_);
  idle_.push_back(std::move(instance));
}

}  // namespace weft::wasm
