#include "wasm/engine/engine.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include <wasmtime.hh>

namespace weft::wasm {
namespace {

std::shared_ptr<Engine> make_engine(std::string cache_dir = "") {
  EngineOptions options;
  options.cache_dir = std::move(cache_dir);
  options.pool_instances = 16;
  auto engine = Engine::create(options);
  EXPECT_TRUE(engine.ok());
  return engine.value();
}

std::unique_ptr<Instance> instantiate(Engine& engine, std::string_view wat,
                                      InstanceLimits limits = {}) {
  auto module = engine.compile(wat);
  EXPECT_TRUE(module.ok()) << module.status().message();
  auto instance = Instance::create(module.value(), limits);
  EXPECT_TRUE(instance.ok()) << instance.status().message();
  return std::move(instance).value();
}

// Records what the guest asks of the host.
class RecordingHost : public HostCalls {
 public:
  void log(int32_t level, std::string_view message) override {
    logs.emplace_back(std::to_string(level) + ":" + std::string(message));
  }
  void set_error(std::string_view) override {}
  [[nodiscard]] std::string_view config() const override { return "{\"k\":1}"; }
  int64_t now_unix_nano() override { return 42; }
  int32_t metric(int32_t, std::string_view, double, std::string_view) override { return 0; }
  int32_t kv_get(std::string_view, std::string& value) override {
    value = "stored";
    return static_cast<int32_t>(value.size());
  }
  int32_t kv_set(std::string_view, std::string_view) override { return 0; }
  int32_t kv_delete(std::string_view) override { return 0; }
  int32_t env_get(std::string_view, std::string&) override { return kAbiDenied; }
  int32_t client_info(std::string_view, std::string&) override { return kAbiNotFound; }
  int32_t set_client_attribute(std::string_view, std::string_view) override { return kAbiInvalid; }
  int32_t add_header(std::string_view, std::string_view) override { return kAbiInvalid; }
  int32_t hmac_sha256(std::string_view, std::string_view, std::string&) override {
    return kAbiDenied;
  }
  int32_t verify_signature(std::string_view, std::string_view, std::string_view,
                           std::string_view) override {
    return kAbiInvalid;
  }
  int32_t lookup(std::string_view, std::string_view, std::string&) override { return kAbiDenied; }
  int32_t result_drop_all() override { return 0; }
  int32_t result_keep(std::string_view mask) override {
    kept = std::string(mask);
    return 0;
  }
  int32_t result_edits(std::string_view) override { return 0; }
  int32_t result_replace(std::string_view) override { return 0; }
  int32_t result_route(std::string_view) override { return 0; }
  int32_t emit(int32_t, std::string_view) override { return 0; }
  int32_t http_request(std::string_view, std::string_view, std::string_view,
                       std::string_view) override {
    return kAbiDenied;
  }
  int32_t http_response_header(std::string_view, std::string&) override { return kAbiNotFound; }
  const std::string* http_response_body() override { return nullptr; }
  int32_t set_retry_after(int64_t) override { return 0; }
  int32_t set_rejected(int64_t) override { return 0; }
  int32_t request_info(int32_t, std::string&) override { return kAbiNotFound; }
  int32_t request_header(std::string_view, std::string&) override { return kAbiNotFound; }
  int32_t respond(int32_t, std::string_view) override { return kAbiInvalid; }

  std::vector<std::string> logs;
  std::string kept;
};

TEST(EngineTest, CompilesAndRunsAModule) {
  auto engine = make_engine();
  auto instance = instantiate(*engine, R"((module
    (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)))");
  auto result = instance->call("add", {40, 2}, nullptr);
  ASSERT_TRUE(result.ok()) << result.message;
  EXPECT_EQ(result.value, 42);
}

// An instance whose "spin" never returns on its own, with a 20 ms deadline.
std::unique_ptr<Instance> spinner(Engine& engine) {
  InstanceLimits limits;
  limits.timeout = std::chrono::milliseconds(20);
  return instantiate(engine, R"((module
    (func (export "spin") (result i32) (loop br 0) i32.const 0)))",
                     limits);
}

TEST(EngineTest, EpochDeadlineStopsAnInfiniteLoop) {
  auto engine = make_engine();
  auto instance = spinner(*engine);
  const auto start = std::chrono::steady_clock::now();
  auto result = instance->call("spin", {}, nullptr);
  EXPECT_EQ(result.failure, Failure::kTimeout) << result.message;
  // Never before the 20 ms timeout (ticks are coarser than milliseconds).
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(20));
}

// The epoch ticker parks when no call runs; a call after a long idle spell must still
// get its deadline.
TEST(EngineTest, DeadlineHoldsAfterTheEngineWasIdle) {
  auto engine = make_engine();
  auto instance = spinner(*engine);
  for (int round = 0; round < 2; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // well past parking
    const auto start = std::chrono::steady_clock::now();
    auto result = instance->call("spin", {}, nullptr);
    EXPECT_EQ(result.failure, Failure::kTimeout) << result.message;
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  }
}

TEST(EngineTest, MemoryGrowthStopsAtTheCap) {
  auto engine = make_engine();
  InstanceLimits limits;
  limits.memory_bytes = 2 << 20;
  auto instance = instantiate(*engine, R"((module (memory (export "memory") 1)
    (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)))",
                              limits);
  EXPECT_EQ(instance->call("grow", {8}, nullptr).value, 1);     // 1 -> 9 pages: allowed
  EXPECT_EQ(instance->call("grow", {100}, nullptr).value, -1);  // past 2 MiB: refused
  EXPECT_LE(instance->memory_bytes(), limits.memory_bytes);
}

TEST(EngineTest, HostCallsSeeGuestBytesAndBadPointersTrap) {
  auto engine = make_engine();
  auto instance = instantiate(*engine, R"((module
    (import "weft" "log" (func $log (param i32 i32 i32)))
    (import "weft" "result_keep" (func $keep (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 16) "hello")
    (func (export "ok") (result i32)
      (call $log (i32.const 1) (i32.const 16) (i32.const 5))
      (call $keep (i32.const 16) (i32.const 2)))
    (func (export "bad") (result i32)
      (call $log (i32.const 1) (i32.const 65530) (i32.const 100)) i32.const 0)))");
  RecordingHost host;
  auto ok = instance->call("ok", {}, &host);
  ASSERT_TRUE(ok.ok()) << ok.message;
  EXPECT_EQ(host.logs, std::vector<std::string>{"1:hello"});
  EXPECT_EQ(host.kept, "he");
  auto bad = instance->call("bad", {}, &host);
  EXPECT_EQ(bad.failure, Failure::kOutOfBounds);
  EXPECT_NE(bad.message.find("out of bounds"), std::string::npos) << bad.message;
}

TEST(EngineTest, CompiledModulesAreCachedOnDisk) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("weft-cache-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const char* wat = "(module (func (export \"f\") (result i32) i32.const 7))";
  {
    auto engine = make_engine(dir.string());
    ASSERT_TRUE(engine->compile(wat).ok());
    EXPECT_EQ(engine->cache_misses(), 1u);
  }
  auto engine = make_engine(dir.string());
  auto module = engine->compile(wat);
  ASSERT_TRUE(module.ok());
  EXPECT_EQ(engine->cache_hits(), 1u);
  auto instance = Instance::create(module.value(), {});
  ASSERT_TRUE(instance.ok());
  EXPECT_EQ(instance.value()->call("f", {}, nullptr).value, 7);
  std::filesystem::remove_all(dir);
}

TEST(EngineTest, RejectsInvalidModulesAndMissingExports) {
  auto engine = make_engine();
  EXPECT_FALSE(engine->compile("(module (func (export \"f\") (result i32)))").ok());
  auto instance = instantiate(*engine, "(module)");
  EXPECT_EQ(instance->call("nope", {}, nullptr).failure, Failure::kBadInterface);
}

TEST(EngineTest, AStartFunctionThatNeverReturnsIsStopped) {
  auto engine = make_engine();
  auto module = engine->compile(R"((module (func $spin (loop br 0)) (start $spin)))");
  ASSERT_TRUE(module.ok()) << module.status().message();
  InstanceLimits limits;
  limits.start_timeout = std::chrono::milliseconds(30);
  auto instance = Instance::create(module.value(), limits);
  ASSERT_FALSE(instance.ok());
  EXPECT_NE(instance.status().message().find("start function did not finish within 30ms"),
            std::string::npos)
      << instance.status().message();
}

TEST(EngineTest, AnInitializeThatNeverReturnsIsStopped) {
  auto engine = make_engine();
  auto module = engine->compile(R"((module (memory (export "memory") 1)
    (func (export "_initialize") (loop br 0))))");
  ASSERT_TRUE(module.ok());
  InstanceLimits limits;
  limits.start_timeout = std::chrono::milliseconds(30);
  auto instance = Instance::create(module.value(), limits);
  ASSERT_FALSE(instance.ok());
  EXPECT_NE(instance.status().message().find("_initialize did not finish within 30ms"),
            std::string::npos)
      << instance.status().message();
}

TEST(EngineTest, AFailureIsOneLineThatStartsWithTheCause) {
  auto engine = make_engine();
  auto instance = instantiate(*engine, R"((module
    (func $inner unreachable)
    (func $outer (export "outer") (result i32) call $inner i32.const 0)))");
  auto result = instance->call("outer", {}, nullptr);
  EXPECT_EQ(result.failure, Failure::kUnreachable);
  EXPECT_EQ(result.message.find('\n'), std::string::npos) << result.message;
  EXPECT_EQ(result.message.rfind("unreachable: ", 0), 0u) << result.message;
  EXPECT_NE(result.message.find("unreachable"), std::string::npos) << result.message;
  EXPECT_NE(result.message.find("(in inner <- outer)"), std::string::npos) << result.message;
}

// A buffer the host may fill must lie in guest memory whole, as every other range.
TEST(EngineTest, AnOutputBufferPastTheEndOfMemoryTraps) {
  auto engine = make_engine();
  auto instance = instantiate(*engine, R"((module
    (import "weft" "kv_get" (func $kv_get (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "fits") (result i32)
      (call $kv_get (i32.const 0) (i32.const 1) (i32.const 65000) (i32.const 536)))
    (func (export "past") (result i32)
      (call $kv_get (i32.const 0) (i32.const 1) (i32.const 65000) (i32.const 100000)))))");
  RecordingHost host;
  auto fits = instance->call("fits", {}, &host);
  ASSERT_TRUE(fits.ok()) << fits.message;
  EXPECT_EQ(fits.value, 6);
  auto past = instance->call("past", {}, &host);
  EXPECT_EQ(past.failure, Failure::kOutOfBounds);
  EXPECT_NE(past.message.find("weft.kv_get: pointer out of bounds"), std::string::npos)
      << past.message;
}

TEST(EngineTest, ReadsTheShapeOfAModule) {
  auto engine = make_engine();
  auto binary = wasmtime::wat2wasm(R"((module
    (import "weft" "log" (func (param i32 i32 i32)))
    (table 10 funcref) (memory 3)
    (func) (func) (func)))");
  ASSERT_TRUE(binary);
  const auto& bytes = binary.ok();
  auto shape = read_module_shape(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  ASSERT_TRUE(shape.ok()) << shape.status().message();
  EXPECT_EQ(shape.value().functions, 4u);
  EXPECT_EQ(shape.value().table_minimum, 10u);
  EXPECT_EQ(shape.value().memory_minimum, 3u * 65536);
  EXPECT_FALSE(read_module_shape("not wasm").ok());
  EXPECT_FALSE(read_module_shape(std::string("\0asm\x0d\0\x01\0", 8)).ok());  // a component
  EXPECT_FALSE(read_module_shape(std::string("\0asm\1\0\0\0\x03\x05\x01", 11)).ok());
}

// What could never run is refused from its binary, before seconds of compiling.
TEST(EngineTest, ModulesOverTheStaticLimitsAreRefusedBeforeCompiling) {
  auto engine = make_engine();
  auto refused = [&](const std::string& wat, CompileLimits limits = {}) {
    auto module = engine->compile(wat, limits);
    EXPECT_FALSE(module.ok());
    return module.ok() ? std::string() : module.status().message();
  };
  CompileLimits small;
  small.module_bytes = 100;
  EXPECT_NE(
      refused("(module (data (i32.const 0) \"" + std::string(200, 'x') + "\") (memory 1))", small)
          .find("over limits.module_size (100); refused before compiling"),
      std::string::npos);
  EXPECT_NE(refused("(module (table 20001 funcref))").find("20001 elements; weft allows 20000"),
            std::string::npos);
  CompileLimits tight;
  tight.memory_bytes = 1 << 20;
  EXPECT_NE(refused("(module (memory 17))", tight).find("over limits.memory"), std::string::npos);
  std::string many = "(module";
  for (uint32_t i = 0; i <= kMaxModuleFunctions; ++i) many += " (func)";
  EXPECT_NE(refused(many + ")").find("100001 functions; weft loads at most 100000"),
            std::string::npos);
  EXPECT_EQ(engine->cache_misses(), 0u);  // nothing was compiled
}

// Ticks come on schedule or later, one tick apart: the k-th tick from now comes at
// next_tick + (k - 1) * tick at the earliest.
TEST(EngineTest, DeadlinesAreNeverEarlyAndAtMostOneTickLate) {
  using namespace std::chrono;
  const nanoseconds tick = milliseconds(5);
  const auto now = steady_clock::time_point(seconds(1000));
  for (auto timeout :
       {milliseconds(1), milliseconds(5), milliseconds(50), milliseconds(100), milliseconds(107)}) {
    for (int64_t offset_us = 1; offset_us <= 5000; offset_us += 250) {  // next tick is ahead
      const auto next_tick = now + microseconds(offset_us);
      const uint64_t k = deadline_ticks(now, timeout, next_tick, tick);
      const auto fires = next_tick + (static_cast<int64_t>(k) - 1) * tick;
      EXPECT_GE(fires, now + timeout) << timeout.count() << "ms, next tick +" << offset_us;
      EXPECT_LT(fires, now + timeout + tick) << timeout.count() << "ms, next tick +" << offset_us;
    }
    // Parked: the ticker resumes after this call woke it, a tick later.
    const uint64_t k = deadline_ticks(now, timeout, std::nullopt, tick);
    EXPECT_GE(now + static_cast<int64_t>(k) * tick, now + timeout);
    EXPECT_LE(now + static_cast<int64_t>(k) * tick, now + timeout + 2 * tick);
  }
}

}  // namespace
}  // namespace weft::wasm
