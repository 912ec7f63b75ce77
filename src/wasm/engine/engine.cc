#include "wasm/engine/engine.h"

#include <malloc.h>
#include <sodium.h>
#include <sys/resource.h>
#include <unistd.h>

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
#include <type_traits>

#include <wasmtime.h>
#include <wasmtime.hh>

namespace weft::wasm {
namespace {

constexpr uint64_t kWasmPage = 64ull * 1024;
constexpr int kCompilerNice = 10;

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
  // tick; the first call after that wakes it.
  std::atomic<int> active_calls{0};
  std::atomic<bool> parked{false};
  // When the next tick is scheduled (steady clock, ns), published after each tick; 0 while
  // parked. Ticks follow the schedule one tick apart and never come before it.
  std::atomic<int64_t> next_tick_ns{0};
  std::mutex park_mu;
  std::condition_variable park_cv;
  std::weak_ptr<Engine> self;
  std::string settings_key;  // what besides the module bytes decides the compiled artifact
  std::atomic<uint64_t> hits{0}, misses{0};
  std::mutex compile_mu;  // one compile at a time: bounds the compiler's memory

  // Guest code runs only inside one of these: it wakes the ticker and sets the deadline.
  class Running {
   public:
    Running(Impl& engine, wasmtime::Store::Context store, std::chrono::milliseconds timeout,
            std::chrono::milliseconds tick)
        : engine_(engine) {
      const auto now = std::chrono::steady_clock::now();
      engine_.active_calls.fetch_add(1);
      if (engine_.parked.load()) {
        std::lock_guard lock(engine_.park_mu);
        engine_.park_cv.notify_one();
      }
      const int64_t next = engine_.next_tick_ns.load(std::memory_order_acquire);
      std::optional<std::chrono::steady_clock::time_point> next_tick;
      if (next != 0)
        next_tick = std::chrono::steady_clock::time_point(std::chrono::nanoseconds(next));
      store.set_epoch_deadline(deadline_ticks(now, timeout, next_tick, tick));
    }
    ~Running() { engine_.active_calls.fetch_sub(1); }
    Running(const Running&) = delete;
    Running& operator=(const Running&) = delete;

   private:
    Impl& engine_;
  };
};

// Per-store state reached from host functions through the store's data.
struct CallState {
  HostCalls* host = nullptr;
  std::optional<wasmtime::Memory> memory;
  Failure host_trap = Failure::kNone;  // the kind of a trap a host function raised
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
  config.parallel_compilation(false);  // compiles run on one low-priority thread (compile())
  // For profiling plugins with `perf` (docs/performance.md): name compiled code in
  // /tmp/perf-PID.map.
  if (std::getenv("WEFT_WASM_PERFMAP") != nullptr)
    config.profiler(wasmtime::ProfilingStrategy::Perfmap);
  wasmtime::PoolAllocationConfig pool;
  pool.total_core_instances(options_.pool_instances);
  pool.total_memories(options_.pool_instances);
  pool.total_tables(options_.pool_instances);
  pool.max_memory_size(options_.pool_max_memory_bytes);
  pool.table_elements(options_.pool_table_elements);
  config.pooling_allocation_strategy(pool);
  impl_ = std::make_unique<Impl>(std::move(config));
  std::ostringstream key;
  key << "wasmtime-" << WASMTIME_VERSION << "-epoch-pool" << options_.pool_max_memory_bytes;
  impl_->settings_key = key.str();
  impl_->ticker = std::thread([impl = impl_.get(), tick = options_.epoch_tick] {
    using Clock = std::chrono::steady_clock;
    auto publish = [impl](Clock::time_point next) {
      impl->next_tick_ns.store(
          std::chrono::duration_cast<std::chrono::nanoseconds>(next.time_since_epoch()).count(),
          std::memory_order_release);
    };
    int idle_ticks = 0;
    Clock::time_point next = Clock::now() + tick;
    publish(next);
    while (!impl->stop.load()) {
      if (impl->active_calls.load() > 0) {
        idle_ticks = 0;
      } else if (++idle_ticks > kTicksBeforeParking) {
        std::unique_lock lock(impl->park_mu);
        impl->next_tick_ns.store(0, std::memory_order_release);
        impl->parked = true;
        impl->park_cv.wait(lock, [impl] { return impl->stop || impl->active_calls > 0; });
        impl->parked = false;
        idle_ticks = 0;
        next = Clock::now() + tick;
        publish(next);
      }
      // On schedule, not `tick` after the last one: sleeping in steps drifts later and later.
      std::this_thread::sleep_until(next);
      impl->engine.increment_epoch();
      next += tick;
      publish(next);  // after the increment: a reader never sees a schedule ahead of the epoch
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

namespace {

// LEB128 and the few other encodings of the binary format that read_module_shape needs.
class BinaryReader {
 public:
  explicit BinaryReader(std::string_view bytes) : bytes_(bytes) {}
  bool u8(uint8_t& v) {
    if (pos_ >= bytes_.size()) return false;
    v = static_cast<uint8_t>(bytes_[pos_++]);
    return true;
  }
  bool leb(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t byte = 0;
      if (!u8(byte)) return false;
      v |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return false;
  }
  bool skip(uint64_t n) {
    if (n > bytes_.size() - pos_) return false;
    pos_ += n;
    return true;
  }
  bool name() {
    uint64_t n = 0;
    return leb(n) && skip(n);
  }
  // Limits of a table or memory: the minimum (the maximum is skipped).
  bool limits(uint64_t& minimum, bool& custom_page) {
    uint8_t flags = 0;
    uint64_t maximum = 0;
    if (!u8(flags) || flags > 0x0f || !leb(minimum)) return false;
    if ((flags & 1) != 0 && !leb(maximum)) return false;
    custom_page = (flags & 8) != 0;
    return true;
  }
  // A table's element type: funcref, externref, or a typed reference (not looked into).
  bool reftype() {
    uint8_t t = 0;
    if (!u8(t)) return false;
    if (t != 0x63 && t != 0x64) return true;
    uint64_t heap = 0;
    return leb(heap);
  }
  [[nodiscard]] bool done() const { return pos_ >= bytes_.size(); }
  [[nodiscard]] size_t pos() const { return pos_; }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

Status malformed(const std::string& what) {
  return Status::invalid_argument("not a valid WebAssembly module: " + what);
}

}  // namespace

Result<ModuleShape> read_module_shape(std::string_view binary) {
  if (binary.size() < 8 || binary.substr(0, 4) != std::string_view("\0asm", 4)) {
    return malformed("no \\0asm header");
  }
  if (binary.substr(4, 4) != std::string_view("\1\0\0\0", 4)) {
    return malformed(
        "a component or an unknown binary version (weft loads core modules, version 1)");
  }
  ModuleShape shape;
  BinaryReader sections(binary.substr(8));
  while (!sections.done()) {
    uint8_t id = 0;
    uint64_t size = 0;
    if (!sections.u8(id) || !sections.leb(size)) return malformed("truncated section header");
    const size_t start = 8 + sections.pos();
    if (!sections.skip(size)) return malformed("section " + std::to_string(id) + " is truncated");
    BinaryReader body(binary.substr(start, size));
    uint64_t count = 0;
    bool custom_page = false;
    switch (id) {
      case 2:  // imports: functions count; tables and memories are never linked by weft
        if (!body.leb(count)) return malformed("bad import section");
        for (uint64_t i = 0; i < count; ++i) {
          uint8_t kind = 0;
          uint64_t type = 0;
          if (!body.name() || !body.name() || !body.u8(kind)) return malformed("bad import");
          if (kind != 0) break;  // the shape of other kinds is left to the compiler
          if (!body.leb(type)) return malformed("bad import");
          ++shape.functions;
        }
        break;
      case 3:  // functions defined
        if (!body.leb(count)) return malformed("bad function section");
        shape.functions += count;
        break;
      case 4:  // tables
        if (!body.leb(count)) return malformed("bad table section");
        for (uint64_t i = 0; i < count; ++i) {
          uint8_t first = 0;
          uint64_t minimum = 0;
          BinaryReader peek = body;
          if (!peek.u8(first)) return malformed("bad table");
          if (first == 0x40 && !(body.skip(2))) return malformed("bad table");
          if (!body.reftype() || !body.limits(minimum, custom_page)) return malformed("bad table");
          shape.table_minimum = std::max(shape.table_minimum, minimum);
          if (first == 0x40) break;  // an initialiser expression follows: stop reading tables
        }
        break;
      case 5:  // memories
        if (!body.leb(count)) return malformed("bad memory section");
        for (uint64_t i = 0; i < count; ++i) {
          uint64_t minimum = 0;
          uint64_t page_log2 = 16;
          if (!body.limits(minimum, custom_page)) return malformed("bad memory");
          if (custom_page && !body.leb(page_log2)) return malformed("bad memory");
          const uint64_t bytes = page_log2 < 64 && minimum <= (UINT64_MAX >> page_log2)
                                     ? minimum << page_log2
                                     : UINT64_MAX;
          shape.memory_minimum = std::max(shape.memory_minimum, bytes);
        }
        break;
      default:
        break;
    }
  }
  return shape;
}

Result<std::shared_ptr<Module>> Engine::compile(std::string_view wasm_or_wat,
                                                const CompileLimits& limits) {
  std::string binary;
  if (wasm_or_wat.substr(0, 4) == std::string_view("\0asm", 4)) {
    if (wasm_or_wat.size() > limits.module_bytes) {
      return Status::invalid_argument("the module has " + std::to_string(wasm_or_wat.size()) +
                                      " bytes, over limits.module_size (" +
                                      std::to_string(limits.module_bytes) +
                                      "); refused before compiling");
    }
    binary = std::string(wasm_or_wat);
  } else {
    auto converted = wasmtime::wat2wasm(wasm_or_wat);
    if (!converted)
      return Status::invalid_argument("invalid module text: " + converted.err().message())
          .with_reason(LoadFailure::kMalformed);
    const auto& bytes = converted.ok();
    binary.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  auto shape = read_module_shape(binary);
  if (!shape.ok()) return Status(shape.status()).with_reason(LoadFailure::kMalformed);
  auto refuse = [](const std::string& why) {
    return Status::invalid_argument(why + "; refused before compiling")
        .with_reason(LoadFailure::kLimit);
  };
  if (binary.size() > limits.module_bytes) {
    return refuse("the module has " + std::to_string(binary.size()) +
                  " bytes, over limits.module_size (" + std::to_string(limits.module_bytes) + ")");
  }
  if (shape.value().functions > kMaxModuleFunctions) {
    return refuse("the module has " + std::to_string(shape.value().functions) +
                  " functions; weft loads at most " + std::to_string(kMaxModuleFunctions));
  }
  if (shape.value().table_minimum > options_.pool_table_elements) {
    return refuse("a table of the module starts with " +
                  std::to_string(shape.value().table_minimum) + " elements; weft allows " +
                  std::to_string(options_.pool_table_elements));
  }
  if (shape.value().memory_minimum > limits.memory_bytes) {
    return refuse("the module's memory starts at " + std::to_string(shape.value().memory_minimum) +
                  " bytes, over limits.memory (" + std::to_string(limits.memory_bytes) + ")");
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
  // On a thread of its own at a low CPU priority (a new thread, since niceness cannot be
  // lowered again without privileges), one compile at a time; the compiler's garbage is
  // handed back to the system afterwards instead of staying resident.
  std::optional<wasmtime::Module> module;
  std::string error;
  {
    std::lock_guard lock(impl_->compile_mu);
    std::thread compiler([&] {
      (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), kCompilerNice);
      auto compiled = wasmtime::Module::compile(impl_->engine, span_of(binary));
      if (compiled) {
        module = compiled.unwrap();
      } else {
        error = compiled.err().message();
      }
    });
    compiler.join();
    malloc_trim(0);
  }
  if (!module) {
    return Status::invalid_argument("cannot compile module: " + error)
        .with_reason(LoadFailure::kCompile);
  }
  ++impl_->misses;
  if (!cached.empty()) {
    auto artifact = module->serialize();
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
      new Module(impl_->self.lock(), std::make_unique<Module::Impl>(std::move(*module)), hash));
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

namespace {

std::string type_name(wasmtime::ValType::Ref t) {
  if (t == wasmtime::ValType::i32()) return "i32";
  if (t == wasmtime::ValType::i64()) return "i64";
  if (t == wasmtime::ValType::f32()) return "f32";
  if (t == wasmtime::ValType::f64()) return "f64";
  return "ref";
}

// "(i32,i32)->(i32)"; empty for what is not a function.
std::string signature_of_type(wasmtime::ExternType::Ref type) {
  const auto* func = std::get_if<wasmtime::FuncType::Ref>(&type);
  if (func == nullptr) return {};
  std::string out = "(";
  for (const auto& p : func->params()) out += (out.size() > 1 ? "," : "") + type_name(p);
  out += ")->(";
  const size_t mark = out.size();
  for (const auto& r : func->results()) out += (out.size() > mark ? "," : "") + type_name(r);
  return out + ")";
}

}  // namespace

std::string Module::signature(std::string_view name) const {
  for (const auto& e : impl_->module.exports()) {
    if (e.name() == name) return signature_of_type(wasmtime::ExternType::from_export(e));
  }
  return {};
}

std::vector<Module::Import> Module::import_list() const {
  std::vector<Import> out;
  for (const auto& i : impl_->module.imports()) {
    out.push_back({std::string(i.module()), std::string(i.name()),
                   signature_of_type(wasmtime::ExternType::from_import(i))});
  }
  return out;
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
  if (!st.memory) {
    st.host_trap = Failure::kOutOfBounds;
    return Trap(std::string("weft.") + fn + ": the module exports no memory");
  }
  auto mem = st.memory->data(caller.context());
  const auto p = static_cast<uint64_t>(static_cast<uint32_t>(ptr));
  const auto n = static_cast<uint64_t>(static_cast<uint32_t>(len));
  if (len < 0 || p + n > mem.size()) {
    st.host_trap = Failure::kOutOfBounds;
    return Trap(std::string("weft.") + fn + ": pointer out of bounds (" + std::to_string(p) + "+" +
                std::to_string(n) + " > " + std::to_string(mem.size()) + ")");
  }
  return std::string_view(reinterpret_cast<const char*>(mem.data()) + p, n);
}

// Copies as much of `value` as fits in the guest's buffer; returns the full size. The whole
// buffer [ptr, ptr + cap) must lie in guest memory, however much of it is written.
wasmtime::Result<int32_t, Trap> copy_out(Caller& caller, const std::string& value, int32_t ptr,
                                         int32_t cap, const char* fn) {
  auto dest = guest_bytes(caller, ptr, cap, fn);
  if (!dest) return dest.err();
  const size_t n = std::min(dest.ok().size(), value.size());
  std::memcpy(const_cast<char*>(dest.ok().data()), value.data(), n);
  return static_cast<int32_t>(value.size());
}

// ---- the imports of module "weft" (docs/abi.md), one handler each, named as the import ----
namespace host {

using Void = wasmtime::Result<std::monostate, Trap>;
using I32 = wasmtime::Result<int32_t, Trap>;

HostCalls* of(Caller& c) {
  return state_of(c).host;
}

// The lookups by name that copy a value out (kv_get, env_get, ...): the value's size, or the
// host's negative code (`absent` outside a call).
template <int32_t (HostCalls::*kLookup)(std::string_view, std::string&), int32_t kAbsent>
I32 read_into(Caller c, int32_t name_ptr, int32_t name_len, int32_t out_ptr, int32_t out_cap,
              const char* fn) {
  auto name = guest_bytes(c, name_ptr, name_len, fn);
  if (!name) return name.err();
  auto* h = of(c);
  std::string value;
  const int32_t rc = h != nullptr ? (h->*kLookup)(name.ok(), value) : kAbsent;
  if (rc < 0) return rc;
  return copy_out(c, value, out_ptr, out_cap, fn);
}

Void log(Caller c, int32_t level, int32_t ptr, int32_t len) {
  auto msg = guest_bytes(c, ptr, len, "log");
  if (!msg) return msg.err();
  if (auto* h = of(c)) h->log(level, msg.ok());
  return std::monostate();
}

Void set_error(Caller c, int32_t ptr, int32_t len) {
  auto msg = guest_bytes(c, ptr, len, "set_error");
  if (!msg) return msg.err();
  if (auto* h = of(c)) h->set_error(msg.ok());
  return std::monostate();
}

int32_t config_size(Caller c) {
  auto* h = of(c);
  return h != nullptr ? static_cast<int32_t>(h->config().size()) : 0;
}

I32 config_read(Caller c, int32_t ptr, int32_t cap) {
  auto* h = of(c);
  return copy_out(c, h != nullptr ? std::string(h->config()) : std::string(), ptr, cap,
                  "config_read");
}

int64_t now_unix_nano(Caller c) {
  auto* h = of(c);
  return h != nullptr ? h->now_unix_nano() : 0;
}

I32 metric(Caller c, int32_t kind, int32_t name_ptr, int32_t name_len, double value,
           int32_t attrs_ptr, int32_t attrs_len) {
  auto name = guest_bytes(c, name_ptr, name_len, "metric");
  if (!name) return name.err();
  auto attrs = guest_bytes(c, attrs_ptr, attrs_len, "metric");
  if (!attrs) return attrs.err();
  auto* h = of(c);
  return h != nullptr ? h->metric(kind, name.ok(), value, attrs.ok()) : kAbiInvalid;
}

I32 kv_get(Caller c, int32_t name_ptr, int32_t name_len, int32_t out_ptr, int32_t out_cap) {
  return read_into<&HostCalls::kv_get, kAbiNotFound>(c, name_ptr, name_len, out_ptr, out_cap,
                                                     "kv_get");
}

I32 kv_set(Caller c, int32_t key_ptr, int32_t key_len, int32_t val_ptr, int32_t val_len) {
  auto key = guest_bytes(c, key_ptr, key_len, "kv_set");
  if (!key) return key.err();
  auto val = guest_bytes(c, val_ptr, val_len, "kv_set");
  if (!val) return val.err();
  auto* h = of(c);
  return h != nullptr ? h->kv_set(key.ok(), val.ok()) : kAbiInvalid;
}

I32 kv_delete(Caller c, int32_t key_ptr, int32_t key_len) {
  auto key = guest_bytes(c, key_ptr, key_len, "kv_delete");
  if (!key) return key.err();
  auto* h = of(c);
  return h != nullptr ? h->kv_delete(key.ok()) : kAbiInvalid;
}

I32 env_get(Caller c, int32_t name_ptr, int32_t name_len, int32_t out_ptr, int32_t out_cap) {
  return read_into<&HostCalls::env_get, kAbiDenied>(c, name_ptr, name_len, out_ptr, out_cap,
                                                    "env_get");
}

// Two byte ranges in, a return code out.
template <int32_t (HostCalls::*kCall)(std::string_view, std::string_view)>
I32 pair_call(Caller c, int32_t a_ptr, int32_t a_len, int32_t b_ptr, int32_t b_len,
              const char* fn) {
  auto a = guest_bytes(c, a_ptr, a_len, fn);
  if (!a) return a.err();
  auto b = guest_bytes(c, b_ptr, b_len, fn);
  if (!b) return b.err();
  auto* h = of(c);
  return h != nullptr ? (h->*kCall)(a.ok(), b.ok()) : kAbiInvalid;
}

I32 set_client_attribute(Caller c, int32_t key_ptr, int32_t key_len, int32_t value_ptr,
                         int32_t value_len) {
  return pair_call<&HostCalls::set_client_attribute>(c, key_ptr, key_len, value_ptr, value_len,
                                                     "set_client_attribute");
}

I32 add_header(Caller c, int32_t name_ptr, int32_t name_len, int32_t value_ptr, int32_t value_len) {
  return pair_call<&HostCalls::add_header>(c, name_ptr, name_len, value_ptr, value_len,
                                           "add_header");
}

I32 hmac_sha256(Caller c, int32_t secret_ptr, int32_t secret_len, int32_t msg_ptr, int32_t msg_len,
                int32_t out_ptr, int32_t out_cap) {
  auto secret = guest_bytes(c, secret_ptr, secret_len, "hmac_sha256");
  if (!secret) return secret.err();
  auto message = guest_bytes(c, msg_ptr, msg_len, "hmac_sha256");
  if (!message) return message.err();
  auto dest = guest_bytes(c, out_ptr, out_cap, "hmac_sha256");  // checked whatever the answer
  if (!dest) return dest.err();
  auto* h = of(c);
  std::string mac;
  const int32_t rc = h != nullptr ? h->hmac_sha256(secret.ok(), message.ok(), mac) : kAbiDenied;
  if (rc < 0) return rc;
  return copy_out(c, mac, out_ptr, out_cap, "hmac_sha256");
}

I32 verify_signature(Caller c, int32_t alg_ptr, int32_t alg_len, int32_t key_ptr, int32_t key_len,
                     int32_t msg_ptr, int32_t msg_len, int32_t sig_ptr, int32_t sig_len) {
  auto alg = guest_bytes(c, alg_ptr, alg_len, "verify_signature");
  if (!alg) return alg.err();
  auto key = guest_bytes(c, key_ptr, key_len, "verify_signature");
  if (!key) return key.err();
  auto message = guest_bytes(c, msg_ptr, msg_len, "verify_signature");
  if (!message) return message.err();
  auto signature = guest_bytes(c, sig_ptr, sig_len, "verify_signature");
  if (!signature) return signature.err();
  auto* h = of(c);
  return h != nullptr ? h->verify_signature(alg.ok(), key.ok(), message.ok(), signature.ok())
                      : kAbiInvalid;
}

I32 client_info(Caller c, int32_t key_ptr, int32_t key_len, int32_t out_ptr, int32_t out_cap) {
  return read_into<&HostCalls::client_info, kAbiNotFound>(c, key_ptr, key_len, out_ptr, out_cap,
                                                          "client_info");
}

I32 lookup(Caller c, int32_t table_ptr, int32_t table_len, int32_t key_ptr, int32_t key_len,
           int32_t out_ptr, int32_t out_cap) {
  auto table = guest_bytes(c, table_ptr, table_len, "lookup");
  if (!table) return table.err();
  auto key = guest_bytes(c, key_ptr, key_len, "lookup");
  if (!key) return key.err();
  auto dest = guest_bytes(c, out_ptr, out_cap, "lookup");  // checked whatever the answer
  if (!dest) return dest.err();
  auto* h = of(c);
  std::string fields;
  const int32_t rc = h != nullptr ? h->lookup(table.ok(), key.ok(), fields) : kAbiDenied;
  if (rc < 0) return rc;
  return copy_out(c, fields, out_ptr, out_cap, "lookup");
}

I32 emit(Caller c, int32_t signal, int32_t ptr, int32_t len) {
  auto bytes = guest_bytes(c, ptr, len, "emit");
  if (!bytes) return bytes.err();
  auto* h = of(c);
  return h != nullptr ? h->emit(signal, bytes.ok()) : kAbiInvalid;
}

I32 http_request(Caller c, int32_t method_ptr, int32_t method_len, int32_t url_ptr, int32_t url_len,
                 int32_t headers_ptr, int32_t headers_len, int32_t body_ptr, int32_t body_len) {
  auto method = guest_bytes(c, method_ptr, method_len, "http_request");
  if (!method) return method.err();
  auto url = guest_bytes(c, url_ptr, url_len, "http_request");
  if (!url) return url.err();
  auto headers = guest_bytes(c, headers_ptr, headers_len, "http_request");
  if (!headers) return headers.err();
  auto body = guest_bytes(c, body_ptr, body_len, "http_request");
  if (!body) return body.err();
  auto* h = of(c);
  return h != nullptr ? h->http_request(method.ok(), url.ok(), headers.ok(), body.ok())
                      : kAbiDenied;
}

I32 http_response_header(Caller c, int32_t name_ptr, int32_t name_len, int32_t out_ptr,
                         int32_t out_cap) {
  return read_into<&HostCalls::http_response_header, kAbiNotFound>(c, name_ptr, name_len, out_ptr,
                                                                   out_cap, "http_response_header");
}

I32 http_response_body(Caller c, int32_t out_ptr, int32_t out_cap) {
  auto* h = of(c);
  const std::string* body = h != nullptr ? h->http_response_body() : nullptr;
  if (body == nullptr) {
    auto dest = guest_bytes(c, out_ptr, out_cap, "http_response_body");  // checked all the same
    if (!dest) return dest.err();
    return kAbiNotFound;
  }
  return copy_out(c, *body, out_ptr, out_cap, "http_response_body");
}

int32_t set_retry_after(Caller c, int64_t milliseconds) {
  auto* h = of(c);
  return h != nullptr ? h->set_retry_after(milliseconds) : kAbiInvalid;
}

int32_t set_rejected(Caller c, int64_t items) {
  auto* h = of(c);
  return h != nullptr ? h->set_rejected(items) : kAbiInvalid;
}

I32 request_info(Caller c, int32_t which, int32_t out_ptr, int32_t out_cap) {
  auto* h = of(c);
  std::string value;
  const int32_t rc = h != nullptr ? h->request_info(which, value) : kAbiNotFound;
  if (rc < 0) {
    auto dest = guest_bytes(c, out_ptr, out_cap, "request_info");  // checked all the same
    if (!dest) return dest.err();
    return rc;
  }
  return copy_out(c, value, out_ptr, out_cap, "request_info");
}

I32 request_header(Caller c, int32_t name_ptr, int32_t name_len, int32_t out_ptr, int32_t out_cap) {
  return read_into<&HostCalls::request_header, kAbiNotFound>(c, name_ptr, name_len, out_ptr,
                                                             out_cap, "request_header");
}

I32 respond(Caller c, int32_t status, int32_t ptr, int32_t len) {
  auto body = guest_bytes(c, ptr, len, "respond");
  if (!body) return body.err();
  auto* h = of(c);
  return h != nullptr ? h->respond(status, body.ok()) : kAbiInvalid;
}

int32_t result_drop_all(Caller c) {
  auto* h = of(c);
  return h != nullptr ? h->result_drop_all() : kAbiInvalid;
}

// The results that hand over bytes: a keep-mask, an edit list, a replacement.
template <int32_t (HostCalls::*kSetter)(std::string_view)>
I32 bytes_result(Caller c, int32_t ptr, int32_t len, const char* name) {
  auto bytes = guest_bytes(c, ptr, len, name);
  if (!bytes) return bytes.err();
  auto* h = of(c);
  return h != nullptr ? (h->*kSetter)(bytes.ok()) : kAbiInvalid;
}
I32 result_keep(Caller c, int32_t ptr, int32_t len) {
  return bytes_result<&HostCalls::result_keep>(c, ptr, len, "result_keep");
}
I32 result_edits(Caller c, int32_t ptr, int32_t len) {
  return bytes_result<&HostCalls::result_edits>(c, ptr, len, "result_edits");
}
I32 result_replace(Caller c, int32_t ptr, int32_t len) {
  return bytes_result<&HostCalls::result_replace>(c, ptr, len, "result_replace");
}
I32 result_route(Caller c, int32_t ptr, int32_t len) {
  return bytes_result<&HostCalls::result_route>(c, ptr, len, "result_route");
}

}  // namespace host

// Every import of module "weft", declared once: the handler above of the same name and what
// it calls for (inspect's capabilities; empty for nothing). Registration, the load-time
// import check, `weft plugin inspect` and the docs/abi.md test all come from this list.
#define WEFT_HOST_FUNCTIONS(X)                                                        \
  X(log, "")                                                                          \
  X(set_error, "")                                                                    \
  X(config_size, "")                                                                  \
  X(config_read, "")                                                                  \
  X(now_unix_nano, "")                                                                \
  X(metric, "metrics: records plugin metrics (limits.metric_series)")                 \
  X(kv_get, "state: key-value state (limits.state)")                                  \
  X(kv_set, "state: key-value state (limits.state)")                                  \
  X(kv_delete, "state: key-value state (limits.state)")                               \
  X(env_get, "env: reads environment variables (grant them in permissions.env)")      \
  X(lookup, "tables: reads lookup tables (grant them in permissions.tables)")         \
  X(client_info, "")                                                                  \
  X(set_client_attribute, "")                                                         \
  X(add_header, "")                                                                   \
  X(hmac_sha256, "secrets: HMAC under a configured secret (secrets:)")                \
  X(verify_signature, "")                                                             \
  X(result_drop_all, "")                                                              \
  X(result_keep, "")                                                                  \
  X(result_edits, "")                                                                 \
  X(result_replace, "")                                                               \
  X(result_route, "")                                                                 \
  X(emit, "emit: produces telemetry (works in a wasm connector)")                     \
  X(http_request, "http: outbound HTTP requests (a wasm exporter; permissions.http)") \
  X(http_response_header, "")                                                         \
  X(http_response_body, "")                                                           \
  X(set_retry_after, "")                                                              \
  X(set_rejected, "")                                                                 \
  X(request_info, "")                                                                 \
  X(request_header, "")                                                               \
  X(respond, "")

// The wasm type of a handler's parameter or result, and a handler's whole signature as
// Module::signature writes one ("(i32,i32)->(i32)").
template <class T>
constexpr const char* wasm_type() {
  if constexpr (std::is_same_v<T, int32_t>) return "i32";
  if constexpr (std::is_same_v<T, int64_t>) return "i64";
  if constexpr (std::is_same_v<T, float>) return "f32";
  if constexpr (std::is_same_v<T, double>) return "f64";
  return "?";
}
template <class R>
std::string results_of() {
  if constexpr (std::is_same_v<R, host::Void>) {
    return "()";
  } else if constexpr (std::is_same_v<R, host::I32>) {
    return "(i32)";
  } else {
    return std::string("(") + wasm_type<R>() + ")";
  }
}
template <class R, class... A>
std::string signature_of(R (*)(Caller, A...)) {
  std::string params;
  ((params += (params.empty() ? "" : ",") + std::string(wasm_type<A>())), ...);
  return "(" + params + ")->" + results_of<R>();
}

// Builds the imports of module "weft" plus WASI with nothing granted.
std::unique_ptr<wasmtime::Linker> make_linker(wasmtime::Engine& engine) {
  auto linker = std::make_unique<wasmtime::Linker>(engine);
  linker->allow_shadowing(true);
  linker->define_wasi().unwrap();
#define WEFT_REGISTER(name, capability) linker->func_wrap("weft", #name, &host::name).unwrap();
  WEFT_HOST_FUNCTIONS(WEFT_REGISTER)
#undef WEFT_REGISTER
  return linker;
}

// What a failed call or instantiation says: one line, the cause first, then where it was.
std::string describe(const wasmtime::TrapError& error) {
  std::string message = error.message();
  // An error chain ("... Caused by: <cause>") names the cause last; a trap names it first.
  if (const size_t at = message.find("Caused by:"); at != std::string::npos) {
    message = message.substr(at + 10);
  }
  message.erase(0, message.find_first_not_of(" \n\t"));
  message = message.substr(0, message.find('\n'));
  if (message.rfind("wasm trap: ", 0) == 0) message.erase(0, 11);
  std::string where;
  size_t frames = 0;
  auto add_frames = [&](const wasmtime::Trace& trace) {
    for (const auto& frame : trace) {
      if (frames++ == 4) {
        where += " <- ...";
        break;
      }
      where += where.empty() ? "" : " <- ";
      const auto name = frame.func_name();
      where += name ? std::string(*name) : "func " + std::to_string(frame.func_index());
    }
  };
  if (const auto* trap = std::get_if<wasmtime::Trap>(&error.data)) {
    add_frames(trap->trace());
  } else if (const auto* err = std::get_if<wasmtime::Error>(&error.data)) {
    add_frames(err->trace());
  }
  return where.empty() ? message : message + " (in " + where + ")";
}

bool is_interrupt(const wasmtime::TrapError& error) {
  if (const auto* trap = std::get_if<wasmtime::Trap>(&error.data)) {
    return trap->code() == WASMTIME_TRAP_CODE_INTERRUPT;
  }
  return false;
}

// The kind of a trap from its code; a trap a host function raised says its own kind.
Failure trap_kind(const wasmtime::TrapError& error, Failure host_trap) {
  const auto* trap = std::get_if<wasmtime::Trap>(&error.data);
  const auto code = trap != nullptr ? trap->code() : std::nullopt;
  if (!code) return host_trap != Failure::kNone ? host_trap : Failure::kTrap;
  switch (*code) {
    case WASMTIME_TRAP_CODE_INTERRUPT:
      return Failure::kTimeout;
    case WASMTIME_TRAP_CODE_MEMORY_OUT_OF_BOUNDS:
    case WASMTIME_TRAP_CODE_TABLE_OUT_OF_BOUNDS:
    case WASMTIME_TRAP_CODE_HEAP_MISALIGNED:
    case WASMTIME_TRAP_CODE_ARRAY_OUT_OF_BOUNDS:
      return Failure::kOutOfBounds;
    case WASMTIME_TRAP_CODE_UNREACHABLE_CODE_REACHED:
      return Failure::kUnreachable;
    case WASMTIME_TRAP_CODE_STACK_OVERFLOW:
      return Failure::kStackOverflow;
    default:
      return Failure::kTrap;
  }
}

}  // namespace

const std::vector<HostFunction>& host_functions() {
  static const std::vector<HostFunction> kAll = {
#define WEFT_DECLARE(name, capability) {#name, signature_of(&host::name), capability},
      WEFT_HOST_FUNCTIONS(WEFT_DECLARE)
#undef WEFT_DECLARE
  };
  return kAll;
}

uint64_t deadline_ticks(std::chrono::steady_clock::time_point now, std::chrono::nanoseconds timeout,
                        std::optional<std::chrono::steady_clock::time_point> next_tick,
                        std::chrono::nanoseconds tick) {
  const auto ceil_div = [](int64_t a, int64_t b) { return a <= 0 ? 0 : (a + b - 1) / b; };
  // Parked: the ticker wakes up at some moment up to now and ticks one tick after that.
  if (!next_tick) return static_cast<uint64_t>(ceil_div(timeout.count(), tick.count())) + 1;
  // The k-th tick from now comes at next_tick + (k - 1) * tick or later.
  const int64_t after_next = (now + timeout - *next_tick).count();
  return static_cast<uint64_t>(1 + ceil_div(after_next, tick.count()));
}

std::string_view failure_name(Failure failure) {
  switch (failure) {
    case Failure::kNone:
      return "ok";
    case Failure::kOutOfBounds:
      return "out_of_bounds";
    case Failure::kUnreachable:
      return "unreachable";
    case Failure::kStackOverflow:
      return "stack_overflow";
    case Failure::kTrap:
      return "trap";
    case Failure::kTimeout:
      return "timeout";
    case Failure::kMemoryLimit:
      return "memory_limit";
    case Failure::kBadInterface:
      return "bad_interface";
    case Failure::kBadResult:
      return "bad_result";
    case Failure::kGuestError:
      return "guest_error";
  }
  return "failure";
}

std::string_view load_failure_name(LoadFailure failure) {
  switch (failure) {
    case LoadFailure::kNone:
      return "none";
    case LoadFailure::kRead:
      return "read";
    case LoadFailure::kMalformed:
      return "malformed";
    case LoadFailure::kLimit:
      return "limit";
    case LoadFailure::kCompile:
      return "compile";
    case LoadFailure::kInterface:
      return "interface";
    case LoadFailure::kInstantiate:
      return "instantiate";
    case LoadFailure::kStartTimeout:
      return "start_timeout";
    case LoadFailure::kAbiVersion:
      return "abi_version";
    case LoadFailure::kPackage:
      return "package";
    case LoadFailure::kConfigure:
      return "configure";
  }
  return "load";
}

bool is_trap(Failure failure) {
  return failure == Failure::kOutOfBounds || failure == Failure::kUnreachable ||
         failure == Failure::kStackOverflow || failure == Failure::kTrap;
}

Instance::Instance(std::shared_ptr<Module> module, std::unique_ptr<Impl> impl,
                   InstanceLimits limits)
    : module_(std::move(module)), impl_(std::move(impl)), limits_(limits) {}
Instance::~Instance() = default;

Result<std::unique_ptr<Instance>> Instance::create(std::shared_ptr<Module> module,
                                                   const InstanceLimits& limits) {
  Engine& engine = *module->engine_;
  auto impl = std::make_unique<Impl>(engine.impl_->engine);
  impl->store.context().set_data(impl->state.get());
  impl->store.limiter(static_cast<int64_t>(limits.memory_bytes), -1, -1, -1, -1);
  if (auto wasi = impl->store.context().set_wasi(wasmtime::WasiConfig()); !wasi) {
    return Status::permanent("cannot set up WASI: " + wasi.err().message())
        .with_reason(LoadFailure::kInstantiate);
  }
  {
    std::lock_guard lock(module->impl_->linker_mu);
    if (!module->impl_->linker) module->impl_->linker = make_linker(engine.impl_->engine);
  }
  {
    // The module's start function runs here, under the start deadline like any guest code.
    Engine::Impl::Running running(*engine.impl_, impl->store.context(), limits.start_timeout,
                                  engine.options().epoch_tick);
    auto instance = module->impl_->linker->instantiate(impl->store, module->impl_->module);
    if (!instance) {
      if (is_interrupt(instance.err())) {
        return Status::invalid_argument(
                   "timeout: the module's start function did not finish within " +
                   std::to_string(limits.start_timeout.count()) + "ms (limits.start_timeout)")
            .with_reason(LoadFailure::kStartTimeout);
      }
      return Status::invalid_argument("cannot instantiate: " + describe(instance.err()))
          .with_reason(LoadFailure::kInstantiate);
    }
    impl->instance = instance.unwrap();
  }
  auto memory = impl->instance->get(impl->store, "memory");
  if (memory && std::holds_alternative<wasmtime::Memory>(*memory)) {
    impl->state->memory = std::get<wasmtime::Memory>(*memory);
  }
  std::unique_ptr<Instance> out(new Instance(std::move(module), std::move(impl), limits));
  if (out->module_->exports_function("_initialize")) {  // a WASI reactor's constructors
    auto init = out->call("_initialize", {}, nullptr, limits.start_timeout);
    if (init.failure == Failure::kTimeout) {
      return Status::invalid_argument("timeout: _initialize did not finish within " +
                                      std::to_string(limits.start_timeout.count()) +
                                      "ms (limits.start_timeout)")
          .with_reason(LoadFailure::kStartTimeout);
    }
    if (!init.ok()) {
      return Status::invalid_argument("_initialize failed: " + init.message)
          .with_reason(LoadFailure::kInstantiate);
    }
  }
  return out;
}

CallResult Instance::call(std::string_view name, const std::vector<int32_t>& args, HostCalls* host,
                          std::optional<std::chrono::milliseconds> timeout) {
  CallResult result;
  auto& store = impl_->store;
  auto ext = impl_->instance->get(store, name);
  if (!ext || !std::holds_alternative<wasmtime::Func>(*ext)) {
    result.failure = Failure::kBadInterface;
    result.message = "the module exports no function \"" + std::string(name) + "\"";
    return result;
  }
  // The ABI's exports take i32s and return at most one value: anything else is the module's
  // interface being wrong, found from its type rather than from a failed call.
  const auto& func = std::get<wasmtime::Func>(*ext);
  auto type = func.type(store);
  bool fits = type->params().size() == args.size() && type->results().size() <= 1;
  for (const auto& p : type->params()) fits = fits && p == wasmtime::ValType::i32();
  if (!fits) {
    result.failure = Failure::kBadInterface;
    result.message =
        "bad_interface: " + std::string(name) + " has the signature " + module_->signature(name);
    return result;
  }
  std::vector<wasmtime::Val> params;
  params.reserve(args.size());
  for (int32_t a : args) params.emplace_back(a);
  const Engine& engine = *module_->engine_;
  impl_->state->host = host;
  impl_->state->host_trap = Failure::kNone;
  auto results = [&] {
    Engine::Impl::Running running(*engine.impl_, store.context(), timeout.value_or(limits_.timeout),
                                  engine.options().epoch_tick);
    return func.call(store, params);
  }();
  impl_->state->host = nullptr;
  if (!results) {
    const auto& error = results.err();
    result.failure = trap_kind(error, impl_->state->host_trap);
    if (is_trap(result.failure) && memory_bytes() + kWasmPage > limits_.memory_bytes) {
      result.failure = Failure::kMemoryLimit;
    }
    result.message = result.failure == Failure::kTimeout
                         ? "timeout: " + std::string(name) + " did not finish within " +
                               std::to_string(timeout.value_or(limits_.timeout).count()) + "ms"
                         : std::string(failure_name(result.failure)) + ": " + describe(error);
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
