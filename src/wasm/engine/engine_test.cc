#include "wasm/engine/engine.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

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
  int32_t kv_get(std::string_view, std::string&) override { return kAbiNotFound; }
  int32_t kv_set(std::string_view, std::string_view) override { return 0; }
  int32_t kv_delete(std::string_view) override { return 0; }
  int32_t env_get(std::string_view, std::string&) override { return kAbiDenied; }
  int32_t result_drop_all() override { return 0; }
  int32_t result_keep(std::string_view mask) override {
    kept = std::string(mask);
    return 0;
  }
  int32_t result_edits(std::string_view) override { return 0; }
  int32_t result_replace(std::string_view) override { return 0; }
  int32_t emit(int32_t, std::string_view) override { return 0; }

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
  EXPECT_EQ(bad.failure, Failure::kTrap);
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

}  // namespace
}  // namespace weft::wasm
