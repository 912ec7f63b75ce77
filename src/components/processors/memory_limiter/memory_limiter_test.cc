#include "components/processors/memory_limiter/memory_limiter.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "testing/temp.h"

namespace weft::processors::memory_limiter {
namespace {

TEST(MemoryLimiter, AvailableMemoryIsTheCgroupLimitWhenLower) {
  testing::TempDir dir;
  const uint64_t physical = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) *
                            static_cast<uint64_t>(sysconf(_SC_PAGE_SIZE));
  // No cgroup files: the machine's memory.
  EXPECT_EQ(available_memory(dir.path().string()).first, physical);
  // cgroup v2 without a limit.
  dir.write("memory.max", "max\n");
  EXPECT_EQ(available_memory(dir.path().string()).first, physical);
  // cgroup v2 with one.
  dir.write("memory.max", "536870912\n");
  auto [bytes, source] = available_memory(dir.path().string());
  EXPECT_EQ(bytes, 536870912U);
  EXPECT_NE(source.find("memory.max"), std::string::npos);
  // cgroup v1, "unlimited".
  std::filesystem::remove(dir.path() / "memory.max");
  std::filesystem::create_directories(dir.path() / "memory");
  dir.write("memory/memory.limit_in_bytes", "9223372036854771712\n");
  EXPECT_EQ(available_memory(dir.path().string()).first, physical);
  dir.write("memory/memory.limit_in_bytes", "268435456\n");
  EXPECT_EQ(available_memory(dir.path().string()).first, 268435456U);
}

}  // namespace
}  // namespace weft::processors::memory_limiter
