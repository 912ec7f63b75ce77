#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "weft/result.h"

// The only part of weft that sees wasmtime. One Engine per process, with
// epoch interruption: a background thread advances the epoch every tick, and a
// call given a deadline of N ticks traps once they have passed.
namespace weft::wasm {

struct EngineOptions {
  std::chrono::milliseconds epoch_tick{1};
};

class Module;

class Engine {
 public:
  static Result<std::shared_ptr<Engine>> create(EngineOptions options = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Compiles a module from its binary or text (WAT) form.
  Result<std::shared_ptr<Module>> compile(std::string_view wasm_or_wat);
  [[nodiscard]] std::chrono::milliseconds epoch_tick() const { return options_.epoch_tick; }

  struct Impl;

 private:
  explicit Engine(EngineOptions options);
  EngineOptions options_;
  std::unique_ptr<Impl> impl_;
  friend class Module;
};

// A compiled module, shared across threads; instantiate per call site.
class Module {
 public:
  ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Instantiates the module (no imports) and calls an exported function that
  // takes and returns i32 values, trapping after `timeout`.
  Result<std::vector<int32_t>> call_i32(std::string_view export_name,
                                        const std::vector<int32_t>& args,
                                        std::chrono::milliseconds timeout);

  struct Impl;

 private:
  Module(std::shared_ptr<Engine> engine, std::unique_ptr<Impl> impl);
  std::shared_ptr<Engine> engine_;
  std::unique_ptr<Impl> impl_;
  friend class Engine;
};

}  // namespace weft::wasm
