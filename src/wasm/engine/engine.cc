#include "wasm/engine/engine.h"

#include <sodium.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include <wasmtime.h>
#include <wasmtime.hh>

namespace weft::wasm {
namespace {

constexpr uint64_t kWasmPage = 64ull * 1024;

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : digest) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

wasmtime::Span<uint8_t> span_of(std::string_view bytes) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(bytes.data())), bytes.size()};
}

}  // namespace

constexpr int kTicksBeforeParking = 20;

struct Engine::Impl {
  explicit Impl(wasmtime::Config config) : engine(std::move(config)) {}
  wasmtime::Engine engine;
  std::atomic<bool> stop{false};
  std::thread ticker;
  // The ticker parks after a few idle ticks, so an idle collector does not wake every
  // millisecond; the first call after that wakes it.
  std::atomic<int> active_calls{0};
  std::atomic<bool> parked{false};
  std::mutex park_mu;
  std::condition_variable park_cv;
  std::weak_ptr<Engine> self;
  std::string settings_key;  // what besides the module bytes decides the compiled artifact
  std::atomic<uint64_t> hits{0}, misses{0};
};

// Per-store state reached from host functions through the store's data.
struct CallState {
  HostCalls* host = nullptr;
  std::optional<wasmtime::Memory> memory;
};

struct Module::Impl {
  explicit Impl(wasmtime::Module m) : module(std::move(m)) {}
  wasmtime::Module module;
  std::mutex linker_mu;
  std::unique_ptr<wasmtime::Linker> linker;  // built on first instantiation
};

struct Instance::Impl {
  explicit Impl(wasmtime::Engine& engine) : store(engine) {}
  wasmtime::Store store;
  std::optional<wasmtime::Instance> instance;
  std::unique_ptr<CallState> state = std::make_unique<CallState>();
};

Engine::Engine(EngineOptions options) : options_(std::move(options)) {
  wasmtime::Config config;
  config.epoch_interruption(options_.epoch_interruption);
  // For profiling plugins with `perf` (docs/performance.md): name compiled code in
  // /tmp/perf-PID.map.
  if (std::getenv("WEFT_WASM_PERFMAP") != nullptr)
    config.profiler(wasmtime::ProfilingStrategy::Perfmap);
  wasmtime::PoolAllocationConfig pool;
  pool.total_core_instances(options_.pool_instances);
  pool.total_memories(options_.pool_instances);
  pool.total_tables(options_.pool_instances);
  pool.max_memory_size(options_.pool_max_memory_bytes);
  config.pooling_allocation_strategy(pool);
  impl_ = std::make_unique<Impl>(std::move(config));
  std::ostringstream key;
  key << "wasmtime-" << WASMTIME_VERSION << "-epoch-pool" << options_.pool_max_memory_bytes;
  impl_->settings_key = key.str();
  impl_->ticker = std::thread([impl = impl_.get(), tick = options_.epoch_tick] {
    int idle_ticks = 0;
    while (!impl->stop.load()) {
      if (impl->active_calls.load() > 0) {
        idle_ticks = 0;
      } else if (++idle_ticks > kTicksBeforeParking) {
        std::unique_lock lock(impl->park_mu);
        impl->parked = true;
        impl->park_cv.wait(lock, [impl] { return impl->stop || impl->active_calls > 0; });
        impl->parked = false;
        idle_ticks = 0;
      }
      std::this_thread::sleep_for(tick);
      impl->engine.increment_epoch();
    }
  });
}

Engine::~Engine() {
  {
    std::lock_guard lock(impl_->park_mu);
    impl_->stop = true;
  }
  impl_->park_cv.notify_all();
  impl_->ticker.join();
}

uint64_t Engine::cache_hits() const {
  return impl_->hits.load();
}
uint64_t Engine::cache_misses() const {
  return impl_->misses.load();
}

Result<std::shared_ptr<Engine>> Engine::create(EngineOptions options) {
  if (options.epoch_tick.count() <= 0) return Status::invalid_argument("epoch tick must be > 0");
  if (sodium_init() < 0) return Status::permanent("libsodium failed to initialise");
  std::shared_ptr<Engine> engine(new Engine(std::move(options)));
  engine->impl_->self = engine;
  return engine;
}

Result<std::shared_ptr<Module>> Engine::compile(std::string_view wasm_or_wat) {
  std::string binary;
  if (wasm_or_wat.substr(0, 4) == std::string_view("\0asm", 4)) {
    binary = std::string(wasm_or_wat);
  } else {
    auto converted = wasmtime::wat2wasm(wasm_or_wat);
    if (!converted)
      return Status::invalid_argument("invalid module text: " + converted.err().message());
    const auto& bytes = converted.ok();
    binary.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  const std::string hash = sha256_hex(binary);
  namespace fs = std::filesystem;
  fs::path cached;
  if (!options_.cache_dir.empty()) {
    cached = fs::path(options_.cache_dir) /
             (hash + "-" + sha256_hex(impl_->settings_key).substr(0, 16) + ".cwasm");
    std::ifstream in(cached, std::ios::binary);
    if (in) {
      std::string artifact((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      auto loaded = wasmtime::Module::deserialize(impl_->engine, span_of(artifact));
      if (loaded) {
        ++impl_->hits;
        return std::shared_ptr<Module>(
            new Module(impl_->self.lock(), std::make_unique<Module::Impl>(loaded.unwrap()), hash));
      }
      // A stale or damaged artifact: compile again and replace it.
    }
  }
  auto compiled = wasmtime::Module::compile(impl_->engine, span_of(binary));
  if (!compiled)
    return Status::invalid_argument("cannot compile module: " + compiled.err().message());
  ++impl_->misses;
  wasmtime::Module module = compiled.unwrap();
  if (!cached.empty()) {
    auto artifact = module.serialize();
    std::error_code ec;
    fs::create_directories(cached.parent_path(), ec);
    const fs::path tmp = cached.string() + ".tmp" +
                         std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id()));
    if (artifact && !ec) {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out.write(reinterpret_cast<const char*>(artifact.ok().data()),
                static_cast<std::streamsize>(artifact.ok().size()));
      out.close();
      if (out) fs::rename(tmp, cached, ec);  // atomic: readers never see half a file
    }
  }
  return std::shared_ptr<Module>(
      new Module(impl_->self.lock(), std::make_unique<Module::Impl>(std::move(module)), hash));
}

Module::Module(std::shared_ptr<Engine> engine, std::unique_ptr<Impl> impl, std::string hash)
    : engine_(std::move(engine)), impl_(std::move(impl)), hash_(std::move(hash)) {}
Module::~Module() = default;

bool Module::exports_function(std::string_view name) const {
  for (const auto& e : impl_->module.exports()) {
    if (e.name() == name &&
        std::holds_alternative<wasmtime::FuncType::Ref>(wasmtime::ExternType::from_export(e))) {
      return true;
    }
  }
  return false;
}

std::string Module::signature(std::string_view name) const {
  auto type_name = [](wasmtime::ValType::Ref t) -> std::string {
    if (t == wasmtime::ValType::i32()) return "i32";
    if (t == wasmtime::ValType::i64()) return "i64";
    if (t == wasmtime::ValType::f32()) return "f32";
    if (t == wasmtime::ValType::f64()) return "f64";
    return "ref";
  };
  for (const auto& e : impl_->module.exports()) {
    if (e.name() != name) continue;
    auto type = wasmtime::ExternType::from_export(e);
    const auto* func = std::get_if<wasmtime::FuncType::Ref>(&type);
    if (func == nullptr) return {};
    std::string out = "(";
    for (const auto& p : func->params()) out += (out.size() > 1 ? "," : "") + type_name(p);
    out += ")->(";
    const size_t mark = out.size();
    for (const auto& r : func->results()) out += (out.size() > mark ? "," : "") + type_name(r);
    return out + ")";
  }
  return {};
}

std::vector<std::string> Module::exports() const {
  std::vector<std::string> out;
  for (const auto& e : impl_->module.exports()) out.emplace_back(e.name());
  return out;
}

std::vector<std::string> Module::imports() const {
  std::vector<std::string> out;
  for (const auto& i : impl_->module.imports()) {
    out.push_back(std::string(i.module()) + "." + std::string(i.name()));
  }
  return out;
}

namespace {

using wasmtime::Caller;
using wasmtime::Trap;

CallState& state_of(Caller& caller) {
  return *std::any_cast<CallState*>(caller.context().get_data());
}

// A bounds-checked view of guest memory; traps on a bad pointer, as docs/abi.md says.
wasmtime::Result<std::string_view, Trap> guest_bytes(Caller& caller, int32_t ptr, int32_t len,
                                                     const char* fn) {
  CallState& st = state_of(caller);
  if (!st.memory) return Trap(std::string("weft.") + fn + ": the module exports no memory");
  auto mem = st.memory->data(caller.context());
  const auto p = static_cast<uint64_t>(static_cast<uint32_t>(ptr));
  const auto n = static_cast<uint64_t>(static_cast<uint32_t>(len));
  if (len < 0 || p + n > mem.size()) {
    return Trap(std::string("weft.") + fn + ": pointer out of bounds (" + std::to_string(p) + "+" +
                std::to_string(n) + " > " + std::to_string(mem.size()) + ")");
  }
  return std::string_view(reinterpret_cast<const char*>(mem.data()) + p, n);
}

// Copies as much of `value` as fits in the guest's buffer; returns the full size.
wasmtime::Result<int32_t, Trap> copy_out(Caller& caller, const std::string& value, int32_t ptr,
                                         int32_t cap, const char* fn) {
  const int32_t n = std::min<int32_t>(cap, static_cast<int32_t>(value.size()));
  auto dest = guest_bytes(caller, ptr, n, fn);
  if (!dest) return dest.err();
  std::memcpy(const_cast<char*>(dest.ok().data()), value.data(), static_cast<size_t>(n));
  return static_cast<int32_t>(value.size());
}

// Builds the imports of module "weft" (see docs/abi.md) plus WASI with nothing granted.
std::unique_ptr<wasmtime::Linker> make_linker(wasmtime::Engine& engine) {
  auto linker = std::make_unique<wasmtime::Linker>(engine);
  linker->allow_shadowing(true);
  linker->define_wasi().unwrap();
  auto& l = *linker;
  l.func_wrap("weft", "log",
              [](Caller c, int32_t level, int32_t ptr,
                 int32_t len) -> wasmtime::Result<std::monostate, Trap> {
                auto msg = guest_bytes(c, ptr, len, "log");
                if (!msg) return msg.err();
                if (auto* h = state_of(c).host) h->log(level, msg.ok());
                return std::monostate();
              })
      .unwrap();
  l.func_wrap("weft", "set_error",
              [](Caller c, int32_t ptr, int32_t len) -> wasmtime::Result<std::monostate, Trap> {
                auto msg = guest_bytes(c, ptr, len, "set_error");
                if (!msg) return msg.err();
                if (auto* h = state_of(c).host) h->set_error(msg.ok());
                return std::monostate();
              })
      .unwrap();
  l.func_wrap("weft", "config_size", [](Caller c) -> int32_t {
     auto* h = state_of(c).host;
     return h != nullptr ? static_cast<int32_t>(h->config().size()) : 0;
   }).unwrap();
  l.func_wrap("weft", "config_read",
              [](Caller c, int32_t ptr, int32_t cap) -> wasmtime::Result<int32_t, Trap> {
                auto* h = state_of(c).host;
                return copy_out(c, h != nullptr ? std::string(h->config()) : std::string(), ptr,
                                cap, "config_read");
              })
      .unwrap();
  l.func_wrap("weft", "now_unix_nano", [](Caller c) -> int64_t {
     auto* h = state_of(c).host;
     return h != nullptr ? h->now_unix_nano() : 0;
   }).unwrap();
  l.func_wrap("weft", "metric",
              [](Caller c, int32_t kind, int32_t name_ptr, int32_t name_len, double value,
                 int32_t attrs_ptr, int32_t attrs_len) -> wasmtime::Result<int32_t, Trap> {
                auto name = guest_bytes(c, name_ptr, name_len, "metric");
                if (!name) return name.err();
                auto attrs = guest_bytes(c, attrs_ptr, attrs_len, "metric");
                if (!attrs) return attrs.err();
                auto* h = state_of(c).host;
                return h != nullptr ? h->metric(kind, name.ok(), value, attrs.ok()) : kAbiInvalid;
              })
      .unwrap();
  l.func_wrap("weft", "kv_get",
              [](Caller c, int32_t key_ptr, int32_t key_len, int32_t out_ptr,
                 int32_t out_cap) -> wasmtime::Result<int32_t, Trap> {
                auto key = guest_bytes(c, key_ptr, key_len, "kv_get");
                if (!key) return key.err();
                auto* h = state_of(c).host;
                std::string value;
                const int32_t rc = h != nullptr ? h->kv_get(key.ok(), value) : kAbiNotFound;
                if (rc < 0) return rc;
                return copy_out(c, value, out_ptr, out_cap, "kv_get");
              })
      .unwrap();
  l.func_wrap("weft", "kv_set",
              [](Caller c, int32_t key_ptr, int32_t key_len, int32_t val_ptr,
                 int32_t val_len) -> wasmtime::Result<int32_t, Trap> {
                auto key = guest_bytes(c, key_ptr, key_len, "kv_set");
                if (!key) return key.err();
                auto val = guest_bytes(c, val_ptr, val_len, "kv_set");
                if (!val) return val.err();
                auto* h = state_of(c).host;
                return h != nullptr ? h->kv_set(key.ok(), val.ok()) : kAbiInvalid;
              })
      .unwrap();
  l.func_wrap("weft", "kv_delete",
              [](Caller c, int32_t key_ptr, int32_t key_len) -> wasmtime::Result<int32_t, Trap> {
                auto key = guest_bytes(c, key_ptr, key_len, "kv_delete");
                if (!key) return key.err();
                auto* h = state_of(c).host;
                return h != nullptr ? h->kv_delete(key.ok()) : kAbiInvalid;
              })
      .unwrap();
  l.func_wrap("weft", "env_get",
              [](Caller c, int32_t name_ptr, int32_t name_len, int32_t out_ptr,
                 int32_t out_cap) -> wasmtime::Result<int32_t, Trap> {
                auto name = guest_bytes(c, name_ptr, name_len, "env_get");
                if (!name) return name.err();
                auto* h = state_of(c).host;
                std::string value;
                const int32_t rc = h != nullptr ? h->env_get(name.ok(), value) : kAbiDenied;
                if (rc < 0) return rc;
                return copy_out(c, value, out_ptr, out_cap, "env_get");
              })
      .unwrap();
  l.func_wrap(
       "weft", "emit",
       [](Caller c, int32_t signal, int32_t ptr, int32_t len) -> wasmtime::Result<int32_t, Trap> {
         auto bytes = guest_bytes(c, ptr, len, "emit");
         if (!bytes) return bytes.err();
         auto* h = state_of(c).host;
         return h != nullptr ? h->emit(signal, bytes.ok()) : kAbiInvalid;
       })
      .unwrap();
  l.func_wrap("weft", "result_drop_all", [](Caller c) -> int32_t {
     auto* h = state_of(c).host;
     return h != nullptr ? h->result_drop_all() : kAbiInvalid;
   }).unwrap();
  using Setter = int32_t (HostCalls::*)(std::string_view);
  const std::pair<const char*, Setter> setters[] = {{"result_keep", &HostCalls::result_keep},
                                                    {"result_edits", &HostCalls::result_edits},
                                                    {"result_replace", &HostCalls::result_replace}};
  for (const auto& [name, setter] : setters) {
    l.func_wrap("weft", name,
                [name = name, setter = setter](Caller c, int32_t ptr,
                                               int32_t len) -> wasmtime::Result<int32_t, Trap> {
                  auto bytes = guest_bytes(c, ptr, len, name);
                  if (!bytes) return bytes.err();
                  auto* h = state_of(c).host;
                  return h != nullptr ? (h->*setter)(bytes.ok()) : kAbiInvalid;
                })
        .unwrap();
  }
  return linker;
}

// Epoch ticks for a call's deadline: never before the timeout (the first tick may come at
// once), at most one tick after it.
uint64_t deadline_ticks(std::chrono::milliseconds timeout, std::chrono::milliseconds tick) {
  return static_cast<uint64_t>((timeout.count() + tick.count() - 1) / tick.count()) + 1;
}

}  // namespace

Instance::Instance(std::shared_ptr<Module> module, std::unique_ptr<Impl> impl,
                   InstanceLimits limits)
    : module_(std::move(module)), impl_(std::move(impl)), limits_(limits) {}
Instance::~Instance() = default;

Result<std::unique_ptr<Instance>> Instance::create(std::shared_ptr<Module> module,
                                                   const InstanceLimits& limits) {
  auto& engine = module->engine_->impl_->engine;
  auto impl = std::make_unique<Impl>(engine);
  impl->store.context().set_data(impl->state.get());
  impl->store.limiter(static_cast<int64_t>(limits.memory_bytes), -1, -1, -1, -1);
  if (auto wasi = impl->store.context().set_wasi(wasmtime::WasiConfig()); !wasi) {
    return Status::permanent("cannot set up WASI: " + wasi.err().message());
  }
  impl->store.context().set_epoch_deadline(
      deadline_ticks(limits.timeout, module->engine_->options().epoch_tick));
  {
    std::lock_guard lock(module->impl_->linker_mu);
    if (!module->impl_->linker) module->impl_->linker = make_linker(engine);
    auto instance = module->impl_->linker->instantiate(impl->store, module->impl_->module);
    if (!instance)
      return Status::invalid_argument("cannot instantiate: " + instance.err().message());
    impl->instance = instance.unwrap();
  }
  auto memory = impl->instance->get(impl->store, "memory");
  if (memory && std::holds_alternative<wasmtime::Memory>(*memory)) {
    impl->state->memory = std::get<wasmtime::Memory>(*memory);
  }
  std::unique_ptr<Instance> out(new Instance(std::move(module), std::move(impl), limits));
  if (out->module_->exports_function("_initialize")) {  // a WASI reactor's constructors
    auto init = out->call("_initialize", {}, nullptr);
    if (!init.ok()) return Status::invalid_argument("_initialize failed: " + init.message);
  }
  return out;
}

CallResult Instance::call(std::string_view name, const std::vector<int32_t>& args,
                          HostCalls* host) {
  CallResult result;
  auto& store = impl_->store;
  auto ext = impl_->instance->get(store, name);
  if (!ext || !std::holds_alternative<wasmtime::Func>(*ext)) {
    result.failure = Failure::kBadInterface;
    result.message = "the module exports no function \"" + std::string(name) + "\"";
    return result;
  }
  std::vector<wasmtime::Val> params;
  params.reserve(args.size());
  for (int32_t a : args) params.emplace_back(a);
  store.context().set_epoch_deadline(
      deadline_ticks(limits_.timeout, module_->engine_->options().epoch_tick));
  impl_->state->host = host;
  Engine::Impl& engine = *module_->engine_->impl_;
  engine.active_calls.fetch_add(1);
  if (engine.parked.load()) {
    std::lock_guard lock(engine.park_mu);
    engine.park_cv.notify_one();
  }
  auto results = std::get<wasmtime::Func>(*ext).call(store, params);
  engine.active_calls.fetch_sub(1);
  impl_->state->host = nullptr;
  if (!results) {
    const auto& error = results.err();
    result.message = error.message();
    result.failure = Failure::kTrap;
    if (const auto* trap = std::get_if<wasmtime::Trap>(&error.data)) {
      if (trap->code() == WASMTIME_TRAP_CODE_INTERRUPT) result.failure = Failure::kTimeout;
    } else if (result.message.find("signature") != std::string::npos ||
               result.message.find("type mismatch") != std::string::npos) {
      result.failure = Failure::kBadInterface;
    }
    if (result.failure == Failure::kTrap && memory_bytes() + kWasmPage > limits_.memory_bytes) {
      result.failure = Failure::kMemoryLimit;
    }
    return result;
  }
  const auto& values = results.ok();
  if (!values.empty() && values.front().kind() == wasmtime::ValKind::I32) {
    result.value = values.front().i32();
  }
  return result;
}

bool Instance::write(uint32_t ptr, std::string_view bytes) {
  if (!impl_->state->memory) return false;
  auto mem = impl_->state->memory->data(impl_->store);
  if (static_cast<uint64_t>(ptr) + bytes.size() > mem.size()) return false;
  std::memcpy(mem.data() + ptr, bytes.data(), bytes.size());
  return true;
}

uint64_t Instance::memory_bytes() const {
  if (!impl_->state->memory) return 0;
  return impl_->state->memory->data(impl_->store).size();
}

}  // namespace weft::wasm
