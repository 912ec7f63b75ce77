#include "core/fanout.h"

#include <gtest/gtest.h>

#include "testing/consumers.h"
#include "testing/telemetry.h"

namespace weft {
namespace {

using testing::SinkConsumer;

TEST(FanOutTest, EveryConsumerGetsTheBatch) {
  SinkConsumer a, b;
  FanOut fan({&a, &b});
  EXPECT_TRUE(fan.consume(testing::make_batch(Signal::kTraces, 2)).is_ok());
  EXPECT_EQ(a.items(), 2u);
  EXPECT_EQ(b.items(), 2u);
}

TEST(FanOutTest, AfterARetryableRefusalTheCallerKeepsItsBatch) {
  SinkConsumer refusing, taking;
  refusing.set_mode(SinkConsumer::Mode::kRefuse);
  FanOut fan({&refusing, &taking});
  auto data = testing::make_batch(Signal::kTraces, 2);
  Status status = fan.consume(std::move(data));
  EXPECT_TRUE(status.is_retryable());
  EXPECT_EQ(data.item_count(), 2u) << "the caller retries with this batch";  // NOLINT
  EXPECT_EQ(taking.items(), 2u);
}

}  // namespace
}  // namespace weft
