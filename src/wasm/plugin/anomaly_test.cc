#include "wasm/plugin/anomaly.h"

#include <gtest/gtest.h>

namespace weft::wasm {
namespace {

using namespace std::chrono_literals;
using Clock = AnomalyDetector::Clock;

AnomalySettings settings() {
  AnomalySettings s;
  s.enabled = true;
  s.drop_ratio_change = 5;
  s.error_rate_change = 5;
  s.latency_change = 3;
  s.window = 1s;
  s.min_calls = 10;
  return s;
}

TEST(AnomalyDetector, AVersionThatDropsEverythingIsFoundAgainstTheBaseline) {
  AnomalyDetector d(settings());
  auto t = Clock::time_point{} + 1h;
  // The first version keeps 90% of 100 items per call, in 1 ms.
  for (int i = 0; i < 30; ++i) {
    EXPECT_FALSE(d.record(100, 90, false, 1ms, t += 10ms).has_value());
  }
  d.new_version(t);
  std::optional<Anomaly> found;
  int calls = 0;
  while (!found && calls < 100) {
    found = d.record(100, 0, false, 1ms, t += 10ms);
    ++calls;
  }
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(calls, 10);  // judged as soon as the window holds min_calls
  EXPECT_EQ(found->kind, "drop_ratio");
  EXPECT_NEAR(found->baseline, 0.1, 1e-9);
  EXPECT_NEAR(found->current, 1.0, 1e-9);
}

TEST(AnomalyDetector, SmallChangesNoBaselineAndTurnedOffMeasuresAreQuiet) {
  AnomalySettings s = settings();
  s.latency_change = 0;  // off
  AnomalyDetector d(s);
  auto t = Clock::time_point{} + 1h;
  // No baseline yet: nothing is judged, however odd.
  for (int i = 0; i < 9; ++i) EXPECT_FALSE(d.record(100, 0, true, 1s, t += 1ms).has_value());
  d.new_version(t);  // 9 calls: too few to learn from
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(d.record(100, 99, false, 1ms, t += 1ms).has_value());
  d.new_version(t);
  // 1% to 3% dropped (under 5x), ten times slower (latency is off): quiet.
  for (int i = 0; i < 50; ++i) EXPECT_FALSE(d.record(100, 97, false, 10ms, t += 1ms).has_value());
}

TEST(AnomalyDetector, FailuresAndSlownessAreFound) {
  AnomalyDetector d(settings());
  auto t = Clock::time_point{} + 1h;
  for (int i = 0; i < 20; ++i) (void)d.record(10, 10, false, 1ms, t += 1ms);
  d.new_version(t);
  std::optional<Anomaly> found;
  for (int i = 0; i < 20 && !found; ++i) found = d.record(10, 10, i % 2 == 0, 1ms, t += 1ms);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->kind, "error_rate");
  for (int i = 0; i < 20; ++i) (void)d.record(10, 10, false, 1ms, t += 1ms);  // back to normal
  found.reset();
  for (int i = 0; i < 20 && !found; ++i) found = d.record(10, 10, false, 5ms, t += 1ms);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->kind, "latency");
}

TEST(AnomalyDetector, WindowsRollAndTheBaselineFollowsASlowDrift) {
  AnomalyDetector d(settings());
  auto t = Clock::time_point{} + 1h;
  // Each window (1 s) a little slower than the one before: never 3x the baseline at once.
  double ms = 1;
  for (int window = 0; window < 20; ++window) {
    for (int i = 0; i < 20; ++i) {
      auto found = d.record(10, 10, false,
                            std::chrono::microseconds(static_cast<int64_t>(ms * 1000)), t += 55ms);
      EXPECT_FALSE(found.has_value()) << "window " << window;
    }
    ms *= 1.3;
  }
}

}  // namespace
}  // namespace weft::wasm
