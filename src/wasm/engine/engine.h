#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wasm/engine/host_calls.h"
#include "weft/result.h"

// The only part of weft that sees wasmtime. One Engine per process, with
// epoch interruption (a background thread advances the epoch every tick; a
// call's deadline is a number of ticks), pooling instance allocation and an
// on-disk cache of compiled modules keyed by module hash, wasmtime version and
// engine settings.
namespace weft::wasm {

// The largest memory an instance may get (limits.memory may not ask for more).
inline constexpr uint64_t kMaxInstanceMemory = 256ull << 20;

struct EngineOptions {
  // A call traps between its timeout and one tick later. 1 ms ticks cost 3-5% of a busy
  // plugin's CPU on a shared core (the ticker preempts it); 5 ms ticks about 1%.
  std::chrono::milliseconds epoch_tick{5};
  bool epoch_interruption = true;  // off only to measure its cost (then calls have no deadline)
  std::string cache_dir;           // empty: no on-disk cache
  uint32_t pool_instances = 256;
  uint64_t pool_max_memory_bytes = kMaxInstanceMemory;
  uint32_t pool_table_elements = 20000;  // largest table an instance may get
};

// What a module may be before weft compiles it: checked on its binary in microseconds, so a
// module that could never run is refused without spending seconds and gigabytes compiling it.
struct CompileLimits {
  uint64_t module_bytes = 32ull << 20;
  uint64_t memory_bytes = 64ull << 20;  // its memory's minimum must fit the instance's cap
};

// The most functions (imported and defined) a module may have. Compile memory grows with
// them: 300,000 small functions took about 2 GB and 25-57 s; 100,000 take a fraction of it.
inline constexpr uint32_t kMaxModuleFunctions = 100000;

// The static facts of a module binary that the limits are checked against.
struct ModuleShape {
  uint64_t functions = 0;       // imported and defined
  uint64_t table_minimum = 0;   // the largest minimum of its tables, in elements
  uint64_t memory_minimum = 0;  // its memory's minimum, in bytes
};
// Reads the shape from the binary's section headers; an error for what is not a core module.
Result<ModuleShape> read_module_shape(std::string_view binary);

// Epoch ticks for a deadline `timeout` after `now`, given when the ticker's next tick is
// scheduled (`next_tick`, or nullopt while the ticker is parked). Ticks never come before
// their schedule and the schedule advances one tick at a time, so the deadline is never early
// and at most one tick late (plus however late the ticker thread runs).
uint64_t deadline_ticks(std::chrono::steady_clock::time_point now, std::chrono::nanoseconds timeout,
                        std::optional<std::chrono::steady_clock::time_point> next_tick,
                        std::chrono::nanoseconds tick);

class Module;

class Engine {
 public:
  static Result<std::shared_ptr<Engine>> create(EngineOptions options = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Compiles a module from its binary or text (WAT) form, or loads it from the cache. The
  // limits and the engine's own (table size, function count) are checked before compiling.
  // Compiles run one at a time, on a thread of their own at low CPU priority, so a large
  // module never takes CPU from the pipelines; the compiler's memory is returned after.
  Result<std::shared_ptr<Module>> compile(std::string_view wasm_or_wat,
                                          const CompileLimits& limits = {});
  [[nodiscard]] const EngineOptions& options() const { return options_; }
  // Cache hits and misses since start (for tests and metrics).
  [[nodiscard]] uint64_t cache_hits() const;
  [[nodiscard]] uint64_t cache_misses() const;

  struct Impl;

 private:
  explicit Engine(EngineOptions options);
  EngineOptions options_;
  std::unique_ptr<Impl> impl_;
  friend class Module;
  friend class Instance;
};

// A compiled module, shared across threads.
class Module {
 public:
  ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  [[nodiscard]] bool exports_function(std::string_view name) const;
  // The signature of an exported function, as "(i32,i32)->(i32)"; empty if there is none.
  [[nodiscard]] std::string signature(std::string_view name) const;
  [[nodiscard]] std::vector<std::string> exports() const;
  [[nodiscard]] std::vector<std::string> imports() const;  // "module.name"
  struct Import {
    std::string module, name;
    std::string signature;  // as signature() writes it; empty for what is not a function
  };
  [[nodiscard]] std::vector<Import> import_list() const;
  [[nodiscard]] const std::string& hash() const { return hash_; }

  struct Impl;

 private:
  Module(std::shared_ptr<Engine> engine, std::unique_ptr<Impl> impl, std::string hash);
  std::shared_ptr<Engine> engine_;
  std::unique_ptr<Impl> impl_;
  std::string hash_;
  friend class Engine;
  friend class Instance;
};

struct InstanceLimits {
  uint64_t memory_bytes = 64ull << 20;
  std::chrono::milliseconds timeout{100};
  // Instantiation: the module's start function and `_initialize`, each.
  std::chrono::milliseconds start_timeout{1000};
};

// Why a call did not return normally: metrics, policies and tests switch on it.
enum class Failure {
  kNone,
  kOutOfBounds,    // a memory or table access, or a pointer handed to the host, out of range
  kUnreachable,    // the `unreachable` instruction (abort, panic, __builtin_trap)
  kStackOverflow,  // recursion past the stack
  kTrap,           // any other trap (division by zero, a bad indirect call, ...)
  kTimeout,        // the epoch deadline passed
  kMemoryLimit,    // trapped while its memory was at the cap, or could not grow for a batch
  kBadInterface,   // missing export or wrong signature
  kBadResult,      // returned what the ABI does not allow (weft_alloc's pointer, a bad result)
  kGuestError,     // returned a failure status
};
// Why a module could not be loaded (at start, in `weft validate`, on reload); carried as the
// Status's reason (Status::with_reason) by compile, instantiation and the plugin's set-up.
enum class LoadFailure : uint16_t {
  kNone,
  kRead,          // the file could not be read
  kMalformed,     // not a core WebAssembly module (or invalid text)
  kLimit,         // over a static limit, refused before compiling
  kCompile,       // the compiler refused it
  kInterface,     // exports or imports other than docs/abi.md's
  kInstantiate,   // instantiation or _initialize trapped
  kStartTimeout,  // a start step passed limits.start_timeout
  kAbiVersion,    // weft_abi_version failed or named another version
  kConfigure,     // the config could not be placed, or weft_configure failed
  kPackage,       // a package the lock, the registry or the trust policy refused
};
[[nodiscard]] std::string_view load_failure_name(LoadFailure failure);
[[nodiscard]] inline LoadFailure load_failure_of(const Status& status) {
  return static_cast<LoadFailure>(status.reason());
}

// "out_of_bounds", "timeout", ...: the kind as metrics and logs name it.
[[nodiscard]] std::string_view failure_name(Failure failure);
// Whether the failure was a trap of some kind (the instance is discarded).
[[nodiscard]] bool is_trap(Failure failure);

struct CallResult {
  Failure failure = Failure::kNone;
  int32_t value = 0;
  std::string message;
  [[nodiscard]] bool ok() const { return failure == Failure::kNone; }
};

// One instantiated module with its own store; used by one thread at a time.
// WASI is linked with nothing granted: no files, no environment, no arguments,
// and standard output and error discarded.
class Instance {
 public:
  static Result<std::unique_ptr<Instance>> create(std::shared_ptr<Module> module,
                                                  const InstanceLimits& limits);
  ~Instance();
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  // Calls an export taking i32 arguments and returning one i32 (or nothing, as 0), with the
  // instance's timeout unless `timeout` is given. Host calls the guest makes meanwhile go to
  // `host`. A failure's message is one line: the cause first, then where it happened.
  CallResult call(std::string_view name, const std::vector<int32_t>& args, HostCalls* host,
                  std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  // Copies bytes into guest memory at ptr; false if out of bounds.
  bool write(uint32_t ptr, std::string_view bytes);
  [[nodiscard]] uint64_t memory_bytes() const;
  [[nodiscard]] const std::shared_ptr<Module>& module() const { return module_; }

  struct Impl;

 private:
  Instance(std::shared_ptr<Module> module, std::unique_ptr<Impl> impl, InstanceLimits limits);
  std::shared_ptr<Module> module_;
  std::unique_ptr<Impl> impl_;
  InstanceLimits limits_;
};

}  // namespace weft::wasm
