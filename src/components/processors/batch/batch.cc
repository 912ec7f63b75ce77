#include "components/processors/batch/batch.h"

#include <spdlog/spdlog.h>

namespace weft::processors::batch {

BatchProcessor::BatchProcessor(const ComponentContext& ctx, const Config& config, Signal signal,
                               Consumer* next)
    : ctx_(ctx), config_(config), signal_(signal), next_(next) {
  const uint64_t unit = std::max(config.send_batch_size, config.send_batch_max_size);
  cap_ = std::max<uint64_t>(1, unit) * kPendingFactor;
  const telemetry::Labels labels = {{"processor", ctx.id}};
  const std::string noun(item_noun(signal));
  dropped_ = &ctx.metrics->counter("otelcol_processor_dropped_" + noun,
                                   "Items dropped by the processor.", labels);
  refused_ = &ctx.metrics->counter("otelcol_processor_refused_" + noun,
                                   "Items refused by the processor (retryable).", labels);
}

BatchProcessor::~BatchProcessor() {
  shutdown(std::chrono::steady_clock::now());
}

Status BatchProcessor::start() {
  std::lock_guard lock(mu_);
  if (!timer_.joinable() && !stopping_) timer_ = std::thread([this] { run_timer(); });
  return Status::ok();
}

Status BatchProcessor::consume(pdata::Telemetry&& data) {
  std::lock_guard lock(mu_);
  if (stopping_) return Status::retryable("batch processor is shutting down");
  if (pending_ && pending_->item_count() >= cap_) {
    flush_locked();
    if (pending_ && pending_->item_count() >= cap_) {
      refused_->add(data.item_count());
      return Status::retryable("batch processor is full: the next stage is refusing data",
                               std::chrono::seconds(1));
    }
  }
  if (!pending_) {
    pending_ = std::move(data);
    oldest_ = std::chrono::steady_clock::now();
    wake_.notify_all();  // the timer now waits for this batch's timeout
  } else {
    pending_->append(std::move(data));
  }
  if (pending_->item_count() >= config_.send_batch_size) flush_locked();
  return Status::ok();
}

void BatchProcessor::flush_locked() {
  if (!pending_) return;
  std::vector<pdata::Telemetry> chunks = std::move(*pending_).split(config_.send_batch_max_size);
  pending_.reset();
  for (size_t i = 0; i < chunks.size(); ++i) {
    const size_t items = chunks[i].item_count();
    Status status = next_->consume(std::move(chunks[i]));
    if (status.is_retryable()) {
      // chunks[i] was not taken (a retryable refusal leaves the data untouched): keep it and
      // the rest for the next attempt.
      pending_ = std::move(chunks[i]);
      for (size_t k = i + 1; k < chunks.size(); ++k) pending_->append(std::move(chunks[k]));
      return;
    }
    if (!status.is_ok()) {
      dropped_->add(items);
      ctx_.logger->error("dropped {} {}: {}", items, item_noun(signal_), status.message());
    }
  }
}

void BatchProcessor::run_timer() {
  std::unique_lock lock(mu_);
  const auto timeout = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      config_.timeout.count() > 0 ? config_.timeout : std::chrono::milliseconds(200));
  while (!stopping_) {
    const auto wake_at = pending_ ? oldest_ + timeout : std::chrono::steady_clock::now() + timeout;
    wake_.wait_until(lock, wake_at);
    if (stopping_) break;
    if (pending_ && std::chrono::steady_clock::now() >= oldest_ + timeout) {
      flush_locked();
      if (pending_) oldest_ = std::chrono::steady_clock::now();  // pushed back: retry later
    }
  }
}

void BatchProcessor::shutdown(std::chrono::steady_clock::time_point deadline) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !timer_.joinable() && !pending_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (timer_.joinable()) timer_.join();
  std::unique_lock lock(mu_);
  while (pending_) {
    flush_locked();
    if (!pending_ || std::chrono::steady_clock::now() >= deadline) break;
    lock.unlock();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    lock.lock();
  }
  if (pending_) {
    dropped_->add(pending_->item_count());
    ctx_.logger->error("shutdown deadline passed: dropped {} {} still batched",
                       pending_->item_count(), item_noun(signal_));
    pending_.reset();
  }
}

}  // namespace weft::processors::batch
