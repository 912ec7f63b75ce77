#include "wasm/engine/engine.h"

#include <atomic>
#include <thread>

#include <wasmtime.hh>

namespace weft::wasm {

struct Engine::Impl {
  explicit Impl(wasmtime::Config config) : engine(std::move(config)) {}
  wasmtime::Engine engine;
  std::atomic<bool> stop{false};
  std::thread ticker;
  std::weak_ptr<Engine> self;
};

struct Module::Impl {
  explicit Impl(wasmtime::Module m) : module(std::move(m)) {}
  wasmtime::Module module;
};

Engine::Engine(EngineOptions options) : options_(options) {
  wasmtime::Config config;
  config.epoch_interruption(true);
  impl_ = std::make_unique<Impl>(std::move(config));
  impl_->ticker = std::thread([impl = impl_.get(), tick = options_.epoch_tick] {
    while (!impl->stop.load(std::memory_order_relaxed)) {
      std::this_thread::sleep_for(tick);
      impl->engine.increment_epoch();
    }
  });
}

Engine::~Engine() {
  impl_->stop = true;
  impl_->ticker.join();
}

Result<std::shared_ptr<Engine>> Engine::create(EngineOptions options) {
  if (options.epoch_tick.count() <= 0) return Status::invalid_argument("epoch tick must be > 0");
  std::shared_ptr<Engine> engine(new Engine(options));
  engine->impl_->self = engine;
  return engine;
}

Result<std::shared_ptr<Module>> Engine::compile(std::string_view wasm_or_wat) {
  const bool binary =
      wasm_or_wat.size() >= 4 && wasm_or_wat.substr(0, 4) == std::string_view("\0asm", 4);
  auto compiled = binary
                      ? wasmtime::Module::compile(
                            impl_->engine,
                            wasmtime::Span<uint8_t>(
                                reinterpret_cast<uint8_t*>(const_cast<char*>(wasm_or_wat.data())),
                                wasm_or_wat.size()))
                      : wasmtime::Module::compile(impl_->engine, wasm_or_wat);
  if (!compiled)
    return Status::invalid_argument("cannot compile module: " + compiled.err().message());
  return std::shared_ptr<Module>(
      new Module(impl_->self.lock(), std::make_unique<Module::Impl>(compiled.unwrap())));
}

Module::Module(std::shared_ptr<Engine> engine, std::unique_ptr<Impl> impl)
    : engine_(std::move(engine)), impl_(std::move(impl)) {}
Module::~Module() = default;

Result<std::vector<int32_t>> Module::call_i32(std::string_view export_name,
                                              const std::vector<int32_t>& args,
                                              std::chrono::milliseconds timeout) {
  wasmtime::Store store(engine_->impl_->engine);
  const auto ticks = std::max<int64_t>(1, timeout / engine_->epoch_tick());
  store.context().set_epoch_deadline(static_cast<uint64_t>(ticks));
  auto instance = wasmtime::Instance::create(store, impl_->module, {});
  if (!instance) return Status::permanent("cannot instantiate: " + instance.err().message());
  auto ext = instance.ok().get(store, export_name);
  if (!ext || !std::holds_alternative<wasmtime::Func>(*ext)) {
    return Status::invalid_argument("no exported function \"" + std::string(export_name) + "\"");
  }
  std::vector<wasmtime::Val> params;
  params.reserve(args.size());
  for (int32_t a : args) params.emplace_back(a);
  auto results = std::get<wasmtime::Func>(*ext).call(store, params);
  if (!results) return Status::permanent("trap: " + results.err().message());
  std::vector<int32_t> out;
  for (const auto& v : results.ok()) out.push_back(v.i32());
  return out;
}

}  // namespace weft::wasm
