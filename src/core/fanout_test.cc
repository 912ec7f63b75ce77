#include "core/fanout.h"

#include <gtest/gtest.h>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace weft {
namespace {

pdata::Telemetry two_spans() {
  opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest req;
  auto* ss = req.add_resource_spans()->add_scope_spans();
  ss->add_spans()->set_name("a");
  ss->add_spans()->set_name("b");
  return std::move(pdata::Telemetry::from_wire(Signal::kTraces, req.SerializeAsString())).value();
}

// Takes what it is given (moves it away), or refuses for now without touching it.
class Sink : public Consumer {
 public:
  explicit Sink(bool refuse) : refuse_(refuse) {}
  Status consume(pdata::Telemetry&& data) override {
    if (refuse_) return Status::retryable("full");
    taken += data.item_count();
    pdata::Telemetry gone = std::move(data);
    return Status::ok();
  }
  size_t taken = 0;

 private:
  bool refuse_;
};

TEST(FanOutTest, EveryConsumerGetsTheBatch) {
  Sink a(false), b(false);
  FanOut fan({&a, &b});
  EXPECT_TRUE(fan.consume(two_spans()).is_ok());
  EXPECT_EQ(a.taken, 2u);
  EXPECT_EQ(b.taken, 2u);
}

TEST(FanOutTest, AfterARetryableRefusalTheCallerKeepsItsBatch) {
  Sink refusing(true), taking(false);
  FanOut fan({&refusing, &taking});
  auto data = two_spans();
  Status status = fan.consume(std::move(data));
  EXPECT_TRUE(status.is_retryable());
  EXPECT_EQ(data.item_count(), 2u) << "the caller retries with this batch";  // NOLINT
  EXPECT_EQ(taking.taken, 2u);
}

}  // namespace
}  // namespace weft
