#include "wasm/engine/engine.h"

#include <gtest/gtest.h>

namespace weft::wasm {
namespace {

TEST(EngineTest, CompilesAndRunsAModule) {
  auto engine = Engine::create();
  ASSERT_TRUE(engine.ok());
  auto module = engine.value()->compile(R"((module
    (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)))");
  ASSERT_TRUE(module.ok()) << module.status().message();
  auto result = module.value()->call_i32("add", {40, 2}, std::chrono::milliseconds(1000));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result.value(), std::vector<int32_t>{42});
}

TEST(EngineTest, EpochDeadlineStopsAnInfiniteLoop) {
  auto engine = Engine::create();
  ASSERT_TRUE(engine.ok());
  auto module = engine.value()->compile(R"((module
    (func (export "spin") (result i32) (loop br 0) i32.const 0)))");
  ASSERT_TRUE(module.ok()) << module.status().message();
  auto result = module.value()->call_i32("spin", {}, std::chrono::milliseconds(20));
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("trap"), std::string::npos);
}

TEST(EngineTest, RejectsInvalidModules) {
  auto engine = Engine::create();
  ASSERT_TRUE(engine.ok());
  auto module = engine.value()->compile("(module (func (export \"f\") (result i32)))");
  EXPECT_FALSE(module.ok());
  auto missing = engine.value()->compile("(module)");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing.value()->call_i32("nope", {}, std::chrono::milliseconds(100)).ok());
}

}  // namespace
}  // namespace weft::wasm
