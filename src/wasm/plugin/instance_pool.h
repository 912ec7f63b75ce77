#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "wasm/engine/engine.h"

namespace weft::wasm {

// One loaded version of a plugin's module and its idle instances. A batch takes an
// instance and gives it back when the call went well; a trapped one is dropped. The pool
// outlives a reload while calls that started on it are in flight (shared_ptr), and its idle
// instances get `on_drop` (weft_shutdown) when it goes.
class InstancePool {
 public:
  InstancePool(std::shared_ptr<Module> module, std::function<void(Instance&)> on_drop)
      : module_(std::move(module)), on_drop_(std::move(on_drop)) {}
  ~InstancePool();
  InstancePool(const InstancePool&) = delete;
  InstancePool& operator=(const InstancePool&) = delete;

  // An idle instance, or null if there is none.
  std::unique_ptr<Instance> take();
  void put(std::unique_ptr<Instance> instance);
  [[nodiscard]] const std::shared_ptr<Module>& module() const { return module_; }

  uint64_t generation = 0;

 private:
  std::shared_ptr<Module> module_;
  std::function<void(Instance&)> on_drop_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Instance>> idle_;
};

}  // namespace weft::wasm
