#include "components/processors/batch/batch.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace weft::processors::batch {
namespace {

using namespace std::chrono_literals;
using opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;

// A request of `count` spans named span<first>..span<first+count-1>.
pdata::Telemetry spans(int first, int count) {
  ExportTraceServiceRequest request;
  auto* ss = request.add_resource_spans()->add_scope_spans();
  for (int i = first; i < first + count; ++i) ss->add_spans()->set_name("span" + std::to_string(i));
  auto t = pdata::Telemetry::from_wire(Signal::kTraces, request.SerializeAsString());
  EXPECT_TRUE(t.ok());
  return std::move(t).value();
}

std::vector<std::string> expected_names(int first, int count) {
  std::vector<std::string> names;
  for (int i = first; i < first + count; ++i) names.push_back("span" + std::to_string(i));
  return names;
}

// The next stage: records what it takes; can be told to push back or reject.
class FakeConsumer final : public Consumer {
 public:
  enum class Mode { kAccept, kRefuse, kReject };

  Status consume(pdata::Telemetry&& data) override {
    std::lock_guard lock(mu_);
    ++calls_;
    Mode mode = mode_;
    if (!script_.empty()) {
      mode = script_.front();
      script_.erase(script_.begin());
    }
    if (mode == Mode::kRefuse) return Status::retryable("downstream busy");
    if (mode == Mode::kReject) return Status::permanent("downstream rejects");
    batch_sizes_.push_back(data.item_count());
    std::string tenant = "-";
    if (data.client())
      tenant = std::string(data.client()->metadata_or_auth("tenant").value_or("?"));
    std::vector<std::string> batch_names;
    const auto& request = dynamic_cast<const ExportTraceServiceRequest&>(data.message());
    for (const auto& rs : request.resource_spans()) {
      for (const auto& ss : rs.scope_spans()) {
        for (const auto& span : ss.spans()) {
          names_.push_back(span.name());
          batch_names.push_back(span.name());
        }
      }
    }
    batches_.emplace_back(tenant, std::move(batch_names));
    taken_.push_back(std::move(data));
    cv_.notify_all();
    return Status::ok();
  }

  void set_mode(Mode mode) {
    std::lock_guard lock(mu_);
    mode_ = mode;
  }
  // Modes for the next calls, one each, before falling back to set_mode()'s.
  void set_script(std::vector<Mode> script) {
    std::lock_guard lock(mu_);
    script_ = std::move(script);
  }
  std::vector<size_t> batch_sizes() {
    std::lock_guard lock(mu_);
    return batch_sizes_;
  }
  std::vector<std::string> names() {
    std::lock_guard lock(mu_);
    return names_;
  }
  // Each batch taken: its tenant (from its ClientInfo; "-" for none) and its span names.
  std::vector<std::pair<std::string, std::vector<std::string>>> batches() {
    std::lock_guard lock(mu_);
    return batches_;
  }
  int calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }
  // Waits (bounded) until at least `items` items were taken.
  bool wait_for_items(size_t items, std::chrono::seconds limit = 5s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return names_.size() >= items; });
  }
  // Waits (bounded) until consume() was called at least `calls` times.
  bool wait_for_calls(int calls, std::chrono::seconds limit = 5s) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      if (this->calls() >= calls) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  Mode mode_ = Mode::kAccept;
  std::vector<Mode> script_;
  int calls_ = 0;
  std::vector<size_t> batch_sizes_;
  std::vector<std::string> names_;
  std::vector<std::pair<std::string, std::vector<std::string>>> batches_;
  std::vector<pdata::Telemetry> taken_;
};

// The value of the series `name{processor="batch"}` in the rendered registry, or -1.
long long metric_value(const telemetry::Registry& registry, const std::string& name) {
  const std::string text = registry.render();
  const std::string series = name + "{processor=\"batch\"} ";
  const size_t at = text.find("\n" + series);
  if (at == std::string::npos) return -1;
  return std::stoll(text.substr(at + 1 + series.size()));
}

class BatchProcessorTest : public ::testing::Test {
 protected:
  std::unique_ptr<BatchProcessor> make(uint64_t send_batch_size, uint64_t send_batch_max_size,
                                       std::chrono::nanoseconds timeout,
                                       std::vector<std::string> metadata_keys = {},
                                       uint64_t cardinality = 1000) {
    Config config;
    config.metadata_keys = std::move(metadata_keys);
    config.metadata_cardinality_limit = cardinality;
    config.send_batch_size = send_batch_size;
    config.send_batch_max_size = send_batch_max_size;
    config.timeout = timeout;
    ComponentContext ctx{"batch", &registry_,
                         std::make_shared<spdlog::logger>(
                             "batch-test", std::make_shared<spdlog::sinks::null_sink_mt>())};
    return std::make_unique<BatchProcessor>(ctx, config, Signal::kTraces, &next_);
  }

  // Declared first: the processor (destroyed first) may still flush into it.
  FakeConsumer next_;
  telemetry::Registry registry_;
};

TEST_F(BatchProcessorTest, SendsOnceSendBatchSizeIsReached) {
  auto batch = make(10, 0, 1h);  // not started: no timer, only the size triggers
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(batch->consume(spans(i * 3, 3)).is_ok());
  EXPECT_EQ(next_.calls(), 0);  // 9 < 10
  ASSERT_TRUE(batch->consume(spans(9, 3)).is_ok());
  // One batch of everything so far, in order.
  EXPECT_EQ(next_.batch_sizes(), std::vector<size_t>{12});
  EXPECT_EQ(next_.names(), expected_names(0, 12));

  ASSERT_TRUE(batch->consume(spans(12, 10)).is_ok());
  EXPECT_EQ(next_.batch_sizes(), (std::vector<size_t>{12, 10}));
  EXPECT_EQ(next_.names(), expected_names(0, 22));
}

TEST_F(BatchProcessorTest, BatchesCombineRequests) {
  auto batch = make(4, 0, 1h);
  ASSERT_TRUE(batch->consume(spans(0, 1)).is_ok());
  ASSERT_TRUE(batch->consume(spans(1, 1)).is_ok());
  ASSERT_TRUE(batch->consume(spans(2, 2)).is_ok());
  ASSERT_EQ(next_.batch_sizes(), std::vector<size_t>{4});
}

TEST_F(BatchProcessorTest, SplitsAtSendBatchMaxSize) {
  auto batch = make(10, 10, 1h);
  ASSERT_TRUE(batch->consume(spans(0, 25)).is_ok());
  const auto sizes = next_.batch_sizes();
  ASSERT_GE(sizes.size(), 2u);
  size_t total = 0;
  for (size_t s : sizes) {
    EXPECT_LE(s, 10u);
    total += s;
  }
  // Whatever is not sent yet goes out at shutdown; nothing is lost or duplicated.
  batch->shutdown(std::chrono::steady_clock::now() + 5s);
  total = 0;
  for (size_t s : next_.batch_sizes()) {
    EXPECT_LE(s, 10u);
    total += s;
  }
  EXPECT_EQ(total, 25u);
  EXPECT_EQ(next_.names(), expected_names(0, 25));
}

TEST_F(BatchProcessorTest, FlushesAPartialBatchAfterTheTimeout) {
  auto batch = make(1000, 0, 50ms);
  ASSERT_TRUE(batch->start().is_ok());
  ASSERT_TRUE(batch->consume(spans(0, 5)).is_ok());
  ASSERT_TRUE(next_.wait_for_items(5));
  EXPECT_EQ(next_.batch_sizes(), std::vector<size_t>{5});
  // And again for the next partial batch.
  ASSERT_TRUE(batch->consume(spans(5, 2)).is_ok());
  ASSERT_TRUE(next_.wait_for_items(7));
  EXPECT_EQ(next_.names(), expected_names(0, 7));
  batch->shutdown(std::chrono::steady_clock::now() + 5s);
}

TEST_F(BatchProcessorTest, RetryableRefusalKeepsTheDataAndRetriesIt) {
  auto batch = make(5, 0, 50ms);
  ASSERT_TRUE(batch->start().is_ok());
  next_.set_mode(FakeConsumer::Mode::kRefuse);
  ASSERT_TRUE(batch->consume(spans(0, 5)).is_ok());  // reaches the size; pushed back
  ASSERT_TRUE(batch->consume(spans(5, 3)).is_ok());  // kept with the rest
  // The timer keeps retrying while the next stage refuses.
  const int before = next_.calls();
  EXPECT_GE(before, 1);
  ASSERT_TRUE(next_.wait_for_calls(before + 2));
  EXPECT_TRUE(next_.names().empty());

  next_.set_mode(FakeConsumer::Mode::kAccept);
  ASSERT_TRUE(next_.wait_for_items(8));
  batch->shutdown(std::chrono::steady_clock::now() + 5s);
  // Everything arrives exactly once, in order.
  EXPECT_EQ(next_.names(), expected_names(0, 8));
  EXPECT_EQ(metric_value(registry_, "otelcol_processor_dropped_spans"), 0);
}

TEST_F(BatchProcessorTest, RefusalInTheMiddleOfASplitKeepsTheRestOnce) {
  auto batch = make(10, 10, 1h);
  // The first chunk is taken, the second pushed back.
  next_.set_script({FakeConsumer::Mode::kAccept, FakeConsumer::Mode::kRefuse});
  ASSERT_TRUE(batch->consume(spans(0, 30)).is_ok());
  EXPECT_EQ(next_.names(), expected_names(0, 10));
  EXPECT_EQ(next_.calls(), 2);
  // The next trigger sends what was kept, then the new data; nothing twice.
  ASSERT_TRUE(batch->consume(spans(30, 10)).is_ok());
  batch->shutdown(std::chrono::steady_clock::now() + 5s);
  EXPECT_EQ(next_.names(), expected_names(0, 40));
  for (size_t s : next_.batch_sizes()) EXPECT_LE(s, 10u);
  EXPECT_EQ(metric_value(registry_, "otelcol_processor_dropped_spans"), 0);
}

TEST_F(BatchProcessorTest, RefusesNewDataOncePendingFactorBatchesWait) {
  auto batch = make(5, 0, 1h);
  next_.set_mode(FakeConsumer::Mode::kRefuse);
  // kPendingFactor batches of send_batch_size fit.
  int sent = 0;
  for (uint64_t i = 0; i < BatchProcessor::kPendingFactor; ++i, sent += 5) {
    ASSERT_TRUE(batch->consume(spans(sent, 5)).is_ok()) << i;
  }
  // The next one is refused, untouched, with a retryable status.
  pdata::Telemetry more = spans(sent, 5);
  Status refused = batch->consume(std::move(more));
  ASSERT_EQ(refused.code(), StatusCode::kRetryable);
  EXPECT_EQ(more.item_count(), 5u);  // NOLINT(bugprone-use-after-move): refused, not taken
  EXPECT_EQ(metric_value(registry_, "otelcol_processor_refused_spans"), 5);
  EXPECT_TRUE(next_.names().empty());

  // Once the next stage takes data again, the same request is accepted and nothing was lost.
  next_.set_mode(FakeConsumer::Mode::kAccept);
  ASSERT_TRUE(batch->consume(std::move(more)).is_ok());
  batch->shutdown(std::chrono::steady_clock::now() + 5s);
  EXPECT_EQ(next_.names(), expected_names(0, sent + 5));
  EXPECT_EQ(metric_value(registry_, "otelcol_processor_dropped_spans"), 0);
}

TEST_F(BatchProcessorTest, PermanentRejectionIsDroppedAndCounted) {
  auto batch = make(5, 0, 1h);
  next_.set_mode(FakeConsumer::Mode::kReject);
  ASSERT_TRUE(batch->consume(spans(0, 5)).is_ok());
  EXPECT_EQ(next_.calls(), 1);
  EXPECT_EQ(metric_value(registry_, "otelcol_processor_dropped_spans"), 5);
  next_.set_mode(FakeConsumer::Mode::kAccept);
  ASSERT_TRUE(batch->consume(spans(5, 5)).is_ok());
  // The rejected batch is not sent again.
  EXPECT_EQ(next_.names(), expected_names(5, 5));
  EXPECT_EQ(next_.calls(), 2);
}

TEST_F(BatchProcessorTest, ShutdownFlushesWhatIsBatched) {
  auto batch = make(1000, 0, 1h);
  ASSERT_TRUE(batch->start().is_ok());
  ASSERT_TRUE(batch->consume(spans(0, 7)).is_ok());
  EXPECT_EQ(next_.calls(), 0);
  batch->shutdown(std::chrono::steady_clock::now() + 5s);
  EXPECT_EQ(next_.batch_sizes(), std::vector<size_t>{7});
  EXPECT_EQ(next_.names(), expected_names(0, 7));
  // Safe twice.
  batch->shutdown(std::chrono::steady_clock::now() + 5s);
  EXPECT_EQ(next_.batch_sizes(), std::vector<size_t>{7});
}

TEST_F(BatchProcessorTest, ShutdownWithoutStartFlushes) {
  auto batch = make(1000, 0, 1h);
  ASSERT_TRUE(batch->consume(spans(0, 3)).is_ok());
  batch->shutdown(std::chrono::steady_clock::now() + 5s);
  EXPECT_EQ(next_.names(), expected_names(0, 3));
}

TEST_F(BatchProcessorTest, ShutdownGivesUpAtTheDeadlineAndCountsTheDrop) {
  auto batch = make(1000, 0, 1h);
  ASSERT_TRUE(batch->start().is_ok());
  next_.set_mode(FakeConsumer::Mode::kRefuse);
  ASSERT_TRUE(batch->consume(spans(0, 7)).is_ok());
  const auto begin = std::chrono::steady_clock::now();
  batch->shutdown(begin + 100ms);
  // Returns (generously) after the deadline, having retried at least once.
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 10s);
  EXPECT_GE(next_.calls(), 1);
  EXPECT_TRUE(next_.names().empty());
  EXPECT_EQ(metric_value(registry_, "otelcol_processor_dropped_spans"), 7);
}

// A request of spans from a tenant: by the authenticator (auth) or by a header (metadata).
pdata::Telemetry tenant_spans(int first, int count, const std::string& tenant, bool by_header) {
  pdata::Telemetry t = spans(first, count);
  auto client = std::make_shared<ClientInfo>();
  client->address = "127.0.0.1:" + std::to_string(40000 + first);
  (by_header ? client->metadata : client->auth).emplace_back("tenant", tenant);
  client->auth.emplace_back("subject", "user" + std::to_string(first));
  t.set_client(std::move(client));
  return t;
}

TEST_F(BatchProcessorTest, MetadataKeysKeepTenantsApart) {
  auto p = make(4, 0, 50ms, {"tenant"});
  ASSERT_TRUE(p->start().is_ok());
  // Interleaved: acme 0-1, globex 10-11, acme 2-3 (a full batch), globex 12 (by header), none.
  ASSERT_TRUE(p->consume(tenant_spans(0, 2, "acme", false)).is_ok());
  ASSERT_TRUE(p->consume(tenant_spans(10, 2, "globex", false)).is_ok());
  ASSERT_TRUE(p->consume(tenant_spans(2, 2, "acme", false)).is_ok());
  ASSERT_TRUE(p->consume(tenant_spans(12, 1, "globex", true)).is_ok());
  ASSERT_TRUE(p->consume(spans(20, 1)).is_ok());
  ASSERT_TRUE(next_.wait_for_items(8));
  p->shutdown(std::chrono::steady_clock::now() + 1s);
  std::map<std::string, std::vector<std::string>> by_tenant;
  for (const auto& [tenant, names] : next_.batches()) {
    for (const auto& n : names) by_tenant[tenant].push_back(n);
  }
  EXPECT_EQ(by_tenant["acme"], expected_names(0, 4));
  EXPECT_EQ(by_tenant["globex"], (std::vector<std::string>{"span10", "span11", "span12"}));
  EXPECT_EQ(by_tenant["?"], expected_names(20, 1));  // no tenant: a batch of its own
  EXPECT_EQ(by_tenant.size(), 3u);
  EXPECT_EQ(next_.batches().front().first, "acme");  // the full batch went first
}

TEST_F(BatchProcessorTest, MetadataCardinalityLimitRefusesNewCombinations) {
  auto p = make(100, 0, 10s, {"tenant"}, 2);
  ASSERT_TRUE(p->consume(tenant_spans(0, 1, "a", false)).is_ok());
  ASSERT_TRUE(p->consume(tenant_spans(1, 1, "b", false)).is_ok());
  ASSERT_TRUE(p->consume(tenant_spans(2, 1, "a", false)).is_ok());
  const Status third = p->consume(tenant_spans(3, 1, "c", false));
  EXPECT_FALSE(third.is_ok());
  EXPECT_FALSE(third.is_retryable());
  EXPECT_NE(third.message().find("metadata_cardinality_limit (2)"), std::string::npos);
  p->shutdown(std::chrono::steady_clock::now() + 1s);
  EXPECT_EQ(next_.names().size(), 3u);
}

TEST_F(BatchProcessorTest, WithoutKeysABatchKeepsItsClientOnlyIfAllCameFromIt) {
  auto p = make(2, 0, 10s);
  pdata::Telemetry a = tenant_spans(0, 1, "acme", false);
  pdata::Telemetry b = spans(1, 1);
  b.set_client(a.client());
  ASSERT_TRUE(p->consume(std::move(a)).is_ok());
  ASSERT_TRUE(p->consume(std::move(b)).is_ok());  // same client: kept
  ASSERT_TRUE(p->consume(tenant_spans(2, 1, "acme", false)).is_ok());
  ASSERT_TRUE(p->consume(tenant_spans(3, 1, "globex", false)).is_ok());  // mixed: dropped
  ASSERT_TRUE(next_.wait_for_items(4));
  ASSERT_EQ(next_.batches().size(), 2u);
  EXPECT_EQ(next_.batches()[0].first, "acme");
  EXPECT_EQ(next_.batches()[1].first, "-");
}

}  // namespace
}  // namespace weft::processors::batch
