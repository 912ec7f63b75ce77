#include "components/exporters/helper/queued_exporter.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

#include "components/exporters/helper/persistent_queue.h"
#include "weft/config_reader.h"
#include "weft/storage.h"

namespace weft::exporters {

void ExporterSettings::load(ConfigReader& reader) {
  reader.read_duration("timeout", timeout);
  ConfigReader q = reader.child("sending_queue");
  q.read("enabled", queue.enabled);
  q.read("queue_size", queue.queue_size);
  q.read("num_consumers", queue.num_consumers);
  std::string sizer = "requests";
  q.read("sizer", sizer);
  if (sizer == "requests") {
    queue.sizer = Sizer::kRequests;
  } else if (sizer == "items") {
    queue.sizer = Sizer::kItems;
  } else if (sizer == "bytes") {
    queue.sizer = Sizer::kBytes;
  } else {
    q.error("sizer", "must be requests, items or bytes, not " + sizer);
  }
  std::string on_full = "refuse";
  q.read("on_full", on_full);
  if (on_full != "refuse" && on_full != "drop_oldest") {
    q.error("on_full", "must be refuse or drop_oldest, not " + on_full);
  }
  queue.drop_oldest = on_full == "drop_oldest";
  q.read("storage", queue.storage);
  if (!queue.enabled && !queue.storage.empty()) {
    q.error("storage", "a persistent queue needs sending_queue.enabled: true");
  }
  if (queue.enabled && queue.queue_size == 0) q.error("queue_size", "must be greater than 0");
  if (queue.enabled && queue.num_consumers <= 0) {
    q.error("num_consumers", "must be greater than 0");
  }
  ConfigReader r = reader.child("retry_on_failure");
  r.read("enabled", retry.enabled);
  r.read_duration("initial_interval", retry.initial_interval);
  r.read_duration("max_interval", retry.max_interval);
  if (!queue.storage.empty()) retry.max_elapsed_time = {};  // data on disk waits, however long
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
  const bool persistent = !settings.queue.storage.empty();
  for (Signal s : kAllSignals) {
    const std::string noun(item_noun(s));
    auto& c = counters_[static_cast<size_t>(s)];
    c.sent = &ctx.metrics->counter("otelcol_exporter_sent_" + noun,
                                   "Items successfully sent to the destination.", labels);
    c.send_failed = &ctx.metrics->counter("otelcol_exporter_send_failed_" + noun,
                                          "Items that could not be sent.", labels);
    c.enqueue_failed = &ctx.metrics->counter("otelcol_exporter_enqueue_failed_" + noun,
                                             "Items refused because the queue was full.", labels);
    if (settings.queue.drop_oldest) {
      c.dropped = &ctx.metrics->counter("otelcol_exporter_queue_dropped_" + noun,
                                        "Items dropped from a full queue to make room.", labels);
    }
    if (persistent) {
      c.recovered = &ctx.metrics->counter(
          "otelcol_exporter_queue_recovered_" + noun,
          "Items found in the persistent queue at start, to be sent.", labels);
      c.redelivered = &ctx.metrics->counter(
          "otelcol_exporter_queue_redelivered_" + noun,
          "Recovered items that were being sent when the last run ended: maybe duplicates.",
          labels);
    }
  }
  queue_size_ = &ctx.metrics->gauge("otelcol_exporter_queue_size",
                                    "Requests waiting in the sending queue.", labels);
  ctx.metrics->gauge("otelcol_exporter_queue_capacity", "Capacity of the sending queue.", labels)
      .set(static_cast<int64_t>(settings.queue.queue_size));
  if (persistent) {
    truncated_bytes_ = &ctx.metrics->counter(
        "otelcol_exporter_queue_truncated_bytes",
        "Bytes of torn records cut off the persistent queue's last segment at start.", labels);
    skipped_bytes_ = &ctx.metrics->counter(
        "otelcol_exporter_queue_skipped_bytes",
        "Bytes of damaged records the persistent queue skipped (their data is lost).", labels);
  } else {
    queue_ = std::make_unique<MemoryQueue>(limits());
  }
}

QueuedExporter::~QueuedExporter() {
  shutdown(std::chrono::steady_clock::now());
}

QueueLimits QueuedExporter::limits() const {
  return {settings_.queue.sizer, settings_.queue.queue_size, settings_.queue.drop_oldest};
}

Status QueuedExporter::open_storage() {
  auto storage = storage_extension(ctx_, settings_.queue.storage);
  if (!storage.ok()) return storage.status();
  auto client = (*storage)->client("exporter", ctx_.id, "");
  if (!client.ok()) return client.status();
  PersistentQueueOptions options;
  options.directory = client->directory;
  options.durability = client->durability;
  options.limits = limits();
  RecoveryReport report;
  auto queue = PersistentQueue::open(options, report);
  if (!queue.ok()) return queue.status();
  for (const auto& note : report.notes) ctx_.logger->warn("persistent queue: {}", note);
  truncated_bytes_->add(report.truncated_bytes);
  skipped_bytes_->add(report.skipped_bytes);
  for (Signal s : kAllSignals) {
    const auto i = static_cast<size_t>(s);
    counters_[i].recovered->add(report.items[i]);
    counters_[i].redelivered->add(report.redelivered[i]);
  }
  if (report.requests > 0) {
    ctx_.logger->info("persistent queue in {}: {} requests from the last run to send",
                      options.directory, report.requests);
  }
  std::lock_guard lock(mu_);
  queue_ = std::move(queue).value();
  durable_ = true;
  queue_size_->set(static_cast<int64_t>(queue_->waiting()));
  return Status::ok();
}

Status QueuedExporter::start() {
  Status status = sender_->start();
  if (!status.is_ok()) return status;
  if (settings_.queue.enabled && !settings_.queue.storage.empty() && !queue_) {
    if (Status s = open_storage(); !s.is_ok()) {
      return Status::permanent("sending_queue.storage: " + s.message());
    }
  }
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
    bool aborted = false;
    Status status = send_with_retry(data, aborted);
    // A retryable failure goes back to the caller, who still holds the data.
    if (!status.is_retryable()) account(data, status);
    return status;
  }
  std::shared_ptr<RequestQueue> queue;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Status::retryable("exporter " + ctx_.id + " is shutting down");
    queue = queue_;
  }
  if (queue == nullptr) return Status::retryable("exporter " + ctx_.id + " has not started");
  const Signal signal = data.signal();
  const size_t items = data.item_count();
  std::vector<RequestQueue::Dropped> dropped;
  Status status = queue->push(std::move(data), dropped);
  for (const auto& d : dropped) {
    counters_[static_cast<size_t>(d.signal)].dropped->add(d.items);
    ctx_.logger->warn("sending queue of exporter {} is full: dropped its oldest {} {}", ctx_.id,
                      d.items, item_noun(d.signal));
  }
  if (!status.is_ok()) {
    counters_[static_cast<size_t>(signal)].enqueue_failed->add(items);
    const std::string message = "exporter " + ctx_.id + ": " + status.message();
    return status.is_retryable() ? Status::retryable(message, status.retry_after())
                                 : Status::permanent(message);
  }
  std::lock_guard lock(mu_);
  queue_size_->set(static_cast<int64_t>(queue->waiting()));
  wake_.notify_one();
  return Status::ok();
}

void QueuedExporter::work() {
  std::unique_lock lock(mu_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || queue_->waiting() > 0; });
    // A persistent queue keeps what waits for the next start; a memory queue drains.
    if (stopping_ && (give_up_ || durable_ || queue_->waiting() == 0)) break;
    auto entry = queue_->take();
    if (!entry) continue;
    queue_size_->set(static_cast<int64_t>(queue_->waiting()));
    ++in_flight_;
    lock.unlock();
    bool aborted = false;
    Status status = send_with_retry(entry->data, aborted);
    if (aborted && durable_) {
      ctx_.logger->info("shutdown: {} {} stay in the persistent queue for the next start",
                        entry->data.item_count(), item_noun(entry->data.signal()));
    } else {
      account(entry->data, status);
      queue_->done(entry->id);
    }
    lock.lock();
    --in_flight_;
    if (in_flight_ == 0 && (durable_ || queue_->waiting() == 0)) drained_.notify_all();
  }
}
void QueuedExporter::account(const pdata::Telemetry& data, const Status& status) {
  auto& c = counters_[static_cast<size_t>(data.signal())];
  if (status.is_ok()) {
    const uint64_t rejected = std::min<uint64_t>(status.rejected(), data.item_count());
    c.sent->add(data.item_count() - rejected);
    if (rejected > 0) {
      c.send_failed->add(rejected);
      ctx_.logger->error("the destination refused {} of {} {}: {}", rejected, data.item_count(),
                         item_noun(data.signal()), status.message());
    }
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

Status QueuedExporter::send_with_retry(const pdata::Telemetry& data, bool& aborted) {
  const auto& retry = settings_.retry;
  const auto first = std::chrono::steady_clock::now();
  auto interval = retry.initial_interval;
  thread_local std::mt19937_64 rng{std::random_device{}()};
  for (int attempt = 1;; ++attempt) {
    Status status = sender_->send(data, settings_.timeout);
    // A destination that answers, even with a refusal for good, is up.
    if (status.is_retryable()) {
      consecutive_failures_.fetch_add(1, std::memory_order_relaxed);
    } else {
      consecutive_failures_.store(0, std::memory_order_relaxed);
      reached_.fetch_add(1, std::memory_order_relaxed);
    }
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
      aborted = true;
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
  // What a persistent queue holds is safe on disk: no backoff is waited out for it.
  if (durable_) {
    give_up_ = true;
    backoff_.notify_all();
  }
  wake_.notify_all();
  drained_.wait_until(lock, deadline, [this] {
    return in_flight_ == 0 && (durable_ || !queue_ || queue_->waiting() == 0);
  });
  give_up_ = true;
  wake_.notify_all();
  backoff_.notify_all();
  std::vector<std::thread> workers;
  workers.swap(workers_);
  lock.unlock();
  for (auto& worker : workers) worker.join();
  lock.lock();
  if (!queue_) return;
  if (durable_) {
    const size_t left = queue_->waiting();
    if (left > 0) {
      ctx_.logger->info("shutdown: {} requests stay in the persistent queue for the next start",
                        left);
    }
  } else {
    while (auto entry = queue_->take()) {
      counters_[static_cast<size_t>(entry->data.signal())].send_failed->add(
          entry->data.item_count());
      ctx_.logger->error("shutdown deadline passed: {} {} left in the queue were not sent",
                         entry->data.item_count(), item_noun(entry->data.signal()));
    }
  }
  queue_.reset();  // a persistent queue leaves its directory tidy
  queue_size_->set(0);
}

}  // namespace weft::exporters
