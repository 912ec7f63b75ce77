#include "components/exporters/helper/queued_exporter.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace weft::exporters {
namespace {

using namespace std::chrono_literals;
using opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;

pdata::Telemetry spans(int first, int count) {
  ExportTraceServiceRequest request;
  auto* ss = request.add_resource_spans()->add_scope_spans();
  for (int i = first; i < first + count; ++i) ss->add_spans()->set_name("span" + std::to_string(i));
  auto t = pdata::Telemetry::from_wire(Signal::kTraces, request.SerializeAsString());
  EXPECT_TRUE(t.ok());
  return std::move(t).value();
}

// What the fake sender saw; shared with the test, since the exporter owns the sender.
struct SenderLog {
  std::mutex mu;
  int attempts = 0;
  std::vector<std::string> delivered;  // span names of successful sends
  // Decides the outcome of attempt number `attempt` (1-based, over all sends).
  std::function<Status(int attempt)> outcome = [](int) { return Status::ok(); };
  std::chrono::milliseconds delay{0};  // time each send takes

  void set_outcome(std::function<Status(int attempt)> f) {
    std::lock_guard lock(mu);
    outcome = std::move(f);
  }
  int attempts_now() {
    std::lock_guard lock(mu);
    return attempts;
  }
  std::vector<std::string> delivered_now() {
    std::lock_guard lock(mu);
    return delivered;
  }
};

class FakeSender final : public Sender {
 public:
  explicit FakeSender(std::shared_ptr<SenderLog> log) : log_(std::move(log)) {}

  Status send(const pdata::Telemetry& data, std::chrono::nanoseconds /*timeout*/) override {
    std::function<Status(int)> outcome;
    int attempt = 0;
    std::chrono::milliseconds delay{};
    {
      std::lock_guard lock(log_->mu);
      attempt = ++log_->attempts;
      outcome = log_->outcome;
      delay = log_->delay;
    }
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    Status status = outcome(attempt);
    if (status.is_ok() && data.signal() == Signal::kTraces) {
      const auto& request = dynamic_cast<const ExportTraceServiceRequest&>(data.message());
      std::lock_guard lock(log_->mu);
      for (const auto& rs : request.resource_spans()) {
        for (const auto& ss : rs.scope_spans()) {
          for (const auto& span : ss.spans()) log_->delivered.push_back(span.name());
        }
      }
    }
    return status;
  }

 private:
  std::shared_ptr<SenderLog> log_;
};

// The value of `name{exporter="test"}` in the rendered registry, or -1 if absent.
long long metric_value(const telemetry::Registry& registry, const std::string& name) {
  const std::string text = registry.render();
  const std::string series = name + "{exporter=\"test\"} ";
  const size_t at = text.find("\n" + series);
  if (at == std::string::npos) return -1;
  return std::stoll(text.substr(at + 1 + series.size()));
}

// Polls (up to 5 s) until the metric reaches `value`.
bool wait_for_metric(const telemetry::Registry& registry, const std::string& name,
                     long long value) {
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < until) {
    if (metric_value(registry, name) == value) return true;
    std::this_thread::sleep_for(5ms);
  }
  return metric_value(registry, name) == value;
}

std::vector<std::string> names(int first, int count) {
  std::vector<std::string> out;
  for (int i = first; i < first + count; ++i) out.push_back("span" + std::to_string(i));
  return out;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

class QueuedExporterTest : public ::testing::Test {
 protected:
  QueuedExporterTest() {
    settings_.timeout = 1s;
    settings_.queue.enabled = true;
    settings_.queue.queue_size = 100;
    settings_.queue.num_consumers = 2;
    settings_.retry.enabled = true;
    settings_.retry.initial_interval = 10ms;
    settings_.retry.max_interval = 20ms;
    settings_.retry.max_elapsed_time = 0ns;  // no limit unless a test sets one
    settings_.retry.multiplier = 1.5;
    settings_.retry.randomization_factor = 0;
  }

  std::unique_ptr<QueuedExporter> make() {
    ComponentContext ctx{"test", &registry_,
                         std::make_shared<spdlog::logger>(
                             "exporter-test", std::make_shared<spdlog::sinks::null_sink_mt>())};
    return std::make_unique<QueuedExporter>(ctx, settings_, std::make_unique<FakeSender>(log_));
  }

  ExporterSettings settings_;
  std::shared_ptr<SenderLog> log_ = std::make_shared<SenderLog>();
  telemetry::Registry registry_;
};

TEST_F(QueuedExporterTest, SendsEverythingAndCountsSentItems) {
  settings_.queue.num_consumers = 4;
  auto exporter = make();
  ASSERT_TRUE(exporter->start().is_ok());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(exporter->consume(spans(i * 3, 3)).is_ok());
  ASSERT_TRUE(wait_for_metric(registry_, "otelcol_exporter_sent_spans", 60));
  exporter->shutdown(std::chrono::steady_clock::now() + 5s);
  EXPECT_EQ(sorted(log_->delivered_now()), sorted(names(0, 60)));
  EXPECT_EQ(log_->attempts_now(), 20);

  const std::string text = registry_.render();
  EXPECT_NE(text.find("# TYPE otelcol_exporter_sent_spans counter\n"), std::string::npos) << text;
  EXPECT_NE(text.find("otelcol_exporter_sent_spans{exporter=\"test\"} 60\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("otelcol_exporter_send_failed_spans{exporter=\"test\"} 0\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("otelcol_exporter_queue_capacity{exporter=\"test\"} 100\n"),
            std::string::npos)
      << text;
}

TEST_F(QueuedExporterTest, FullQueueRefusesWithARetryableStatus) {
  settings_.queue.queue_size = 2;
  auto exporter = make();  // not started: nothing takes from the queue yet
  ASSERT_TRUE(exporter->consume(spans(0, 3)).is_ok());
  ASSERT_TRUE(exporter->consume(spans(3, 3)).is_ok());
  EXPECT_EQ(metric_value(registry_, "otelcol_exporter_queue_size"), 2);

  pdata::Telemetry third = spans(6, 4);
  Status status = exporter->consume(std::move(third));
  ASSERT_EQ(status.code(), StatusCode::kRetryable);
  EXPECT_GT(status.retry_after().count(), 0);
  // NOLINTNEXTLINE(bugprone-use-after-move): refused, so still the caller's
  EXPECT_EQ(third.item_count(), 4u);
  EXPECT_EQ(metric_value(registry_, "otelcol_exporter_enqueue_failed_spans"), 4);

  ASSERT_TRUE(exporter->start().is_ok());
  ASSERT_TRUE(wait_for_metric(registry_, "otelcol_exporter_sent_spans", 6));
  // With room again, the refused request is taken.
  ASSERT_TRUE(exporter->consume(std::move(third)).is_ok());
  ASSERT_TRUE(wait_for_metric(registry_, "otelcol_exporter_sent_spans", 10));
  exporter->shutdown(std::chrono::steady_clock::now() + 5s);
  EXPECT_EQ(sorted(log_->delivered_now()), sorted(names(0, 10)));
  EXPECT_EQ(metric_value(registry_, "otelcol_exporter_queue_size"), 0);
}

TEST_F(QueuedExporterTest, RetryableFailuresAreRetriedThenSucceed) {
  settings_.queue.num_consumers = 1;
  log_->set_outcome([](int attempt) {
    return attempt <= 2 ? Status::retryable("destination down") : Status::ok();
  });
  auto exporter = make();
  ASSERT_TRUE(exporter->start().is_ok());
  ASSERT_TRUE(exporter->consume(spans(0, 5)).is_ok());
  ASSERT_TRUE(wait_for_metric(registry_, "otelcol_exporter_sent_spans", 5));
  EXPECT_EQ(log_->attempts_now(), 3);
  EXPECT_EQ(log_->delivered_now(), names(0, 5));
  EXPECT_EQ(metric_value(registry_, "otelcol_exporter_send_failed_spans"), 0);
  exporter->shutdown(std::chrono::steady_clock::now() + 5s);
}

TEST_F(QueuedExporterTest, RetryAfterHintOverridesTheBackoff) {
  settings_.queue.num_consumers = 1;
  settings_.retry.initial_interval = 1h;  // the hint below must win, or the test times out
  settings_.retry.max_interval = 1h;
  log_->set_outcome([](int attempt) {
    return attempt == 1 ? Status::retryable("slow down", 10ms) : Status::ok();
  });
  auto exporter = make();
  ASSERT_TRUE(exporter->start().is_ok());
  ASSERT_TRUE(exporter->consume(spans(0, 2)).is_ok());
  ASSERT_TRUE(wait_for_metric(registry_, "otelcol_exporter_sent_spans", 2));
  EXPECT_EQ(log_->attempts_now(), 2);
  exporter->shutdown(std::chrono::steady_clock::now() + 5s);
}

TEST_F(QueuedExporterTest, PermanentFailuresAreNotRetried) {
  settings_.queue.num_consumers = 1;
  log_->set_outcome([](int) { return Status::permanent("400 bad request"); });
  auto exporter = make();
  ASSERT_TRUE(exporter->start().is_ok());
  ASSERT_TRUE(exporter->consume(spans(0, 4)).is_ok());
  ASSERT_TRUE(wait_for_metric(registry_, "otelcol_exporter_send_failed_spans", 4));
  EXPECT_EQ(log_->attempts_now(), 1);
  EXPECT_EQ(metric_value(registry_, "otelcol_exporter_sent_spans"), 0);

  // Invalid data is final too.
  log_->set_outcome([](int) { return Status::invalid_argument("bad data"); });
  ASSERT_TRUE(exporter->consume(spans(4, 1)).is_ok());
  ASSERT_TRUE(wait_for_metric(registry_, "otelcol_exporter_send_failed_spans", 5));
  EXPECT_EQ(log_->attempts_now(), 2);
  exporter->shutdown(std::chrono::steady_clock::now() + 5s);
}

TEST_F(QueuedExporterTest, RetryDisabledMeansOneAttempt) {
  settings_.queue.num_consumers = 1;
  settings_.retry.enabled = false;
  log_->set_outcome([](int) { return Status::retryable("down"); });
  auto exporter = make();
  ASSERT_TRUE(exporter->start().is_ok());
  ASSERT_TRUE(exporter->consume(spans(0, 3)).is_ok());
  ASSERT_TRUE(wait_for_metric(registry_, "otelcol_exporter_send_failed_spans", 3));
  EXPECT_EQ(log_->attempts_now(), 1);
  exporter->shutdown(std::chrono::steady_clock::now() + 5s);
}

TEST_F(QueuedExporterTest, MaxElapsedTimeGivesUp) {
  settings_.queue.num_consumers = 1;
  settings_.retry.max_elapsed_time = 100ms;
  log_->set_outcome([](int) { return Status::retryable("down for good"); });
  auto exporter = make();
  ASSERT_TRUE(exporter->start().is_ok());
  ASSERT_TRUE(exporter->consume(spans(0, 6)).is_ok());
  ASSERT_TRUE(wait_for_metric(registry_, "otelcol_exporter_send_failed_spans", 6));
  const int attempts = log_->attempts_now();
  EXPECT_GT(attempts, 1);  // retried before giving up
  EXPECT_EQ(metric_value(registry_, "otelcol_exporter_sent_spans"), 0);
  // Given up: no further attempts for this request.
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(log_->attempts_now(), attempts);
  exporter->shutdown(std::chrono::steady_clock::now() + 5s);
}

TEST_F(QueuedExporterTest, ShutdownDrainsTheQueue) {
  settings_.queue.num_consumers = 1;
  log_->delay = 5ms;
  auto exporter = make();
  ASSERT_TRUE(exporter->start().is_ok());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(exporter->consume(spans(i, 1)).is_ok());
  exporter->shutdown(std::chrono::steady_clock::now() + 30s);
  EXPECT_EQ(log_->delivered_now(), names(0, 20));  // one consumer: in order
  EXPECT_EQ(metric_value(registry_, "otelcol_exporter_sent_spans"), 20);
  EXPECT_EQ(metric_value(registry_, "otelcol_exporter_send_failed_spans"), 0);
  EXPECT_EQ(metric_value(registry_, "otelcol_exporter_queue_size"), 0);
  // No new data after shutdown.
  EXPECT_EQ(exporter->consume(spans(20, 1)).code(), StatusCode::kRetryable);
}

TEST_F(QueuedExporterTest, ShutdownReturnsByTheDeadlineWhenNothingSucceeds) {
  settings_.queue.num_consumers = 1;
  log_->set_outcome([](int) { return Status::retryable("never"); });
  auto exporter = make();
  ASSERT_TRUE(exporter->start().is_ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(exporter->consume(spans(i * 2, 2)).is_ok());
  // Let the consumer start retrying the first request.
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (log_->attempts_now() < 2 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_GE(log_->attempts_now(), 2);

  const auto begin = std::chrono::steady_clock::now();
  exporter->shutdown(begin + 200ms);
  // Generous: it must not wait for the retries to succeed (they never do).
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 10s);
  // The request in flight and those still queued are all counted as failed.
  EXPECT_EQ(metric_value(registry_, "otelcol_exporter_send_failed_spans"), 10);
  EXPECT_EQ(metric_value(registry_, "otelcol_exporter_sent_spans"), 0);
  EXPECT_EQ(metric_value(registry_, "otelcol_exporter_queue_size"), 0);
}

TEST_F(QueuedExporterTest, ShutdownWithoutStartCountsTheQueueAsFailed) {
  auto exporter = make();
  ASSERT_TRUE(exporter->consume(spans(0, 3)).is_ok());
  exporter->shutdown(std::chrono::steady_clock::now() + 50ms);
  EXPECT_EQ(metric_value(registry_, "otelcol_exporter_send_failed_spans"), 3);
  EXPECT_EQ(log_->attempts_now(), 0);
  // Safe twice.
  exporter->shutdown(std::chrono::steady_clock::now());
  EXPECT_EQ(metric_value(registry_, "otelcol_exporter_send_failed_spans"), 3);
}

TEST_F(QueuedExporterTest, WithoutAQueueSendsInTheCallersThread) {
  settings_.queue.enabled = false;
  auto exporter = make();
  ASSERT_TRUE(exporter->start().is_ok());
  ASSERT_TRUE(exporter->consume(spans(0, 2)).is_ok());
  // Already sent when consume() returns.
  EXPECT_EQ(log_->delivered_now(), names(0, 2));
  EXPECT_EQ(metric_value(registry_, "otelcol_exporter_sent_spans"), 2);

  log_->set_outcome([](int) { return Status::permanent("rejected"); });
  EXPECT_EQ(exporter->consume(spans(2, 3)).code(), StatusCode::kPermanent);
  EXPECT_EQ(metric_value(registry_, "otelcol_exporter_send_failed_spans"), 3);
  exporter->shutdown(std::chrono::steady_clock::now() + 5s);
}

TEST_F(QueuedExporterTest, WithoutAQueueARetryableFailureGoesBackToTheCaller) {
  settings_.queue.enabled = false;
  settings_.retry.enabled = false;
  log_->set_outcome([](int) { return Status::retryable("busy"); });
  auto exporter = make();
  ASSERT_TRUE(exporter->start().is_ok());
  pdata::Telemetry data = spans(0, 3);
  EXPECT_EQ(exporter->consume(std::move(data)).code(), StatusCode::kRetryable);
  // NOLINTNEXTLINE(bugprone-use-after-move): refused, so still the caller's to retry
  EXPECT_EQ(data.item_count(), 3u);
  // The caller still holds the data, so it is not counted as failed.
  EXPECT_EQ(metric_value(registry_, "otelcol_exporter_send_failed_spans"), 0);
  exporter->shutdown(std::chrono::steady_clock::now() + 5s);
}

TEST_F(QueuedExporterTest, CountsPerSignal) {
  auto exporter = make();
  ASSERT_TRUE(exporter->start().is_ok());
  opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest logs;
  auto* sl = logs.add_resource_logs()->add_scope_logs();
  for (int i = 0; i < 4; ++i) sl->add_log_records()->mutable_body()->set_string_value("x");
  auto data = pdata::Telemetry::from_wire(Signal::kLogs, logs.SerializeAsString());
  ASSERT_TRUE(data.ok());
  ASSERT_TRUE(exporter->consume(std::move(data).value()).is_ok());
  ASSERT_TRUE(wait_for_metric(registry_, "otelcol_exporter_sent_log_records", 4));
  EXPECT_EQ(metric_value(registry_, "otelcol_exporter_sent_spans"), 0);
  exporter->shutdown(std::chrono::steady_clock::now() + 5s);
}

}  // namespace
}  // namespace weft::exporters
