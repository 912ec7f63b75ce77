#include "components/exporters/helper/queued_exporter.h"

#include <spdlog/spdlog.h>

#include <random>

#include "weft/config_reader.h"

namespace weft::exporters {

void ExporterSettings::load(ConfigReader& reader) {
  reader.read_duration("timeout", timeout);
  ConfigReader q = reader.child("sending_queue");
  q.read("enabled", queue.enabled);
  q.read("queue_size", queue.queue_size);
  q.read("num_consumers", queue.num_consumers);
  if (queue.enabled && queue.queue_size == 0) q.error("queue_size", "must be greater than 0");
  if (queue.enabled && queue.num_consumers <= 0) {
    q.error("num_consumers", "must be greater than 0");
  }
  ConfigReader r = reader.child("retry_on_failure");
  r.read("enabled", retry.enabled);
  r.read_duration("initial_interval", retry.initial_interval);
  r.read_duration("max_interval", retry.max_interval);
  r.read_duration("max_elapsed_time", retry.max_elapsed_time);
  r.read("multiplier", retry.multiplier);
  r.read("randomization_factor", retry.randomization_factor);
  if (retry.enabled && retry.initial_interval.count() <= 0) {
    r.error("initial_interval", "must be greater than 0");
  }
  if (retry.multiplier < 1) r.error("multiplier", "must be at least 1");
  if (retry.randomization_factor < 0 || retry.randomization_factor > 1) {
    r.error("randomization_factor", "must be between 0 and 1");
  }
  // Every attempt needs a deadline, or a hung destination would outlast the shutdown deadline.
  if (timeout.count() <= 0) reader.error("timeout", "must be greater than 0");
}

QueuedExporter::QueuedExporter(const ComponentContext& ctx, const ExporterSettings& settings,
                               std::unique_ptr<Sender> sender)
    : ctx_(ctx), settings_(settings), sender_(std::move(sender)) {
  const telemetry::Labels labels = {{"exporter", ctx.id}};
  for (Signal s : kAllSignals) {
    const std::string noun(item_noun(s));
    auto& c = counters_[static_cast<size_t>(s)];
    c.sent = &ctx.metrics->counter("otelcol_exporter_sent_" + noun,
                                   "Items successfully sent to the destination.", labels);
    c.send_failed = &ctx.metrics->counter("otelcol_exporter_send_failed_" + noun,
                                          "Items that could not be sent.", labels);
    c.enqueue_failed = &ctx.metrics->counter("otelcol_exporter_enqueue_failed_" + noun,
                                             "Items refused because the queue was full.", labels);
  }
  queue_size_ = &ctx.metrics->gauge("otelcol_exporter_queue_size",
                                    "Requests waiting in the sending queue.", labels);
  ctx.metrics->gauge("otelcol_exporter_queue_capacity", "Capacity of the sending queue.", labels)
      .set(static_cast<int64_t>(settings.queue.queue_size));
}

QueuedExporter::~QueuedExporter() {
  shutdown(std::chrono::steady_clock::now());
}

Status QueuedExporter::start() {
  Status status = sender_->start();
  if (!status.is_ok()) return status;
  std::lock_guard lock(mu_);
  if (started_ || stopping_) return Status::ok();
  started_ = true;
  if (settings_.queue.enabled) {
    for (int i = 0; i < settings_.queue.num_consumers; ++i)
      workers_.emplace_back([this] { work(); });
  }
  return Status::ok();
}

Status QueuedExporter::consume(pdata::Telemetry&& data) {
  if (!settings_.queue.enabled) {
    Status status = send_with_retry(data);
    // A retryable failure goes back to the caller, who still holds the data.
    if (!status.is_retryable()) account(data, status);
    return status;
  }
  std::lock_guard lock(mu_);
  if (stopping_) return Status::retryable("exporter " + ctx_.id + " is shutting down");
  if (queue_.size() >= settings_.queue.queue_size) {
    counters_[static_cast<size_t>(data.signal())].enqueue_failed->add(data.item_count());
    return Status::retryable("sending queue of exporter " + ctx_.id + " is full",
                             std::chrono::seconds(1));
  }
  queue_.push_back(std::move(data));
  queue_size_->set(static_cast<int64_t>(queue_.size()));
  wake_.notify_one();
  return Status::ok();
}

void QueuedExporter::work() {
  std::unique_lock lock(mu_);
  while (true) {
    wake_.wait(lock, [this] { return !queue_.empty() || stopping_; });
    if (queue_.empty()) break;  // stopping and drained
    if (give_up_) break;        // the rest is counted as failed by shutdown()
    pdata::Telemetry data = std::move(queue_.front());
    queue_.pop_front();
    queue_size_->set(static_cast<int64_t>(queue_.size()));
    ++in_flight_;
    lock.unlock();
    Status status = send_with_retry(data);
    account(data, status);
    lock.lock();
    --in_flight_;
    if (queue_.empty() && in_flight_ == 0) drained_.notify_all();
  }
}

void QueuedExporter::account(const pdata::Telemetry& data, const Status& status) {
  auto& c = counters_[static_cast<size_t>(data.signal())];
  if (status.is_ok()) {
    c.sent->add(data.item_count());
    return;
  }
  c.send_failed->add(data.item_count());
  ctx_.logger->error("exporting {} {} failed for good: {}", data.item_count(),
                     item_noun(data.signal()), status.message());
}

bool QueuedExporter::backoff_wait(std::chrono::nanoseconds delay) {
  std::unique_lock lock(mu_);
  return !backoff_.wait_for(lock, delay, [this] { return give_up_; });
}

Status QueuedExporter::send_with_retry(const pdata::Telemetry& data) {
  const auto& retry = settings_.retry;
  const auto first = std::chrono::steady_clock::now();
  auto interval = retry.initial_interval;
  thread_local std::mt19937_64 rng{std::random_device{}()};
  for (int attempt = 1;; ++attempt) {
    Status status = sender_->send(data, settings_.timeout);
    if (status.is_ok() || !status.is_retryable() || !retry.enabled) return status;
    auto delay = interval;
    if (retry.randomization_factor > 0) {
      std::uniform_real_distribution<double> jitter(1 - retry.randomization_factor,
                                                    1 + retry.randomization_factor);
      delay = std::chrono::nanoseconds(
          static_cast<int64_t>(static_cast<double>(delay.count()) * jitter(rng)));
    }
    if (status.retry_after().count() > 0) delay = status.retry_after();  // the destination's word
    const auto elapsed = std::chrono::steady_clock::now() - first;
    if (retry.max_elapsed_time.count() > 0 && elapsed + delay > retry.max_elapsed_time) {
      return Status::permanent("gave up after " + std::to_string(attempt) +
                               " attempts: " + status.message());
    }
    ctx_.logger->debug("export failed ({}), retrying in {} ms", status.message(),
                       std::chrono::duration_cast<std::chrono::milliseconds>(delay).count());
    if (!backoff_wait(delay)) {
      return Status::permanent("shutdown deadline passed while retrying: " + status.message());
    }
    interval = std::min(retry.max_interval,
                        std::chrono::nanoseconds(static_cast<int64_t>(
                            static_cast<double>(interval.count()) * retry.multiplier)));
  }
}

void QueuedExporter::shutdown(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  stopping_ = true;
  wake_.notify_all();
  drained_.wait_until(lock, deadline, [this] { return queue_.empty() && in_flight_ == 0; });
  give_up_ = true;
  wake_.notify_all();
  backoff_.notify_all();
  std::vector<std::thread> workers;
  workers.swap(workers_);
  lock.unlock();
  for (auto& worker : workers) worker.join();
  lock.lock();
  for (const auto& data : queue_) {
    counters_[static_cast<size_t>(data.signal())].send_failed->add(data.item_count());
    ctx_.logger->error("shutdown deadline passed: {} {} left in the queue were not sent",
                       data.item_count(), item_noun(data.signal()));
  }
  queue_.clear();
  queue_size_->set(0);
}

}  // namespace weft::exporters
