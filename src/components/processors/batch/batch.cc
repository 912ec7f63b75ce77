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
  if (pending_items_ >= cap_) {
    flush_all_locked();
    if (pending_items_ >= cap_) {
      refused_->add(data.item_count());
      return Status::retryable("batch processor is full: the next stage is refusing data",
                               std::chrono::seconds(1));
    }
  }
  // The shard of the batch's values of metadata_keys ("" without keys): each value with its
  // length before it, so that no two combinations share a name.
  std::string key;
  std::shared_ptr<ClientInfo> values;
  if (!config_.metadata_keys.empty()) {
    values = std::make_shared<ClientInfo>();
    for (const auto& name : config_.metadata_keys) {
      std::optional<std::string_view> v;
      if (data.client()) v = data.client()->metadata_or_auth(name);
      key += std::to_string(v ? v->size() : 0) + (v ? ":" : "!") + std::string(v.value_or(""));
      if (v) values->metadata.emplace_back(name, std::string(*v));
    }
  }
  auto shard = shards_.find(key);
  if (shard == shards_.end()) {
    if (shards_.size() >= config_.metadata_cardinality_limit) {
      dropped_->add(data.item_count());
      return Status::permanent("batch processor: more than metadata_cardinality_limit (" +
                               std::to_string(config_.metadata_cardinality_limit) +
                               ") combinations of metadata_keys values are batching at once");
    }
    shard = shards_.emplace(key, Shard{}).first;
    shard->second.client = std::move(values);
  }
  Shard& s = shard->second;
  pending_items_ += data.item_count();
  if (!s.pending) {
    s.pending = std::move(data);
    s.oldest = std::chrono::steady_clock::now();
    wake_.notify_all();  // the timer now waits for this batch's timeout
  } else {
    s.pending->append(std::move(data));
  }
  if (s.client) s.pending->set_client(s.client);
  if (s.pending->item_count() >= config_.send_batch_size) flush_locked(shard);
  return Status::ok();
}

void BatchProcessor::flush_all_locked() {
  for (auto it = shards_.begin(); it != shards_.end();) {
    auto next = std::next(it);
    flush_locked(it);
    it = next;
  }
}

void BatchProcessor::flush_locked(Shards::iterator shard) {
  Shard& s = shard->second;
  if (!s.pending) {
    shards_.erase(shard);
    return;
  }
  pending_items_ -= s.pending->item_count();
  std::vector<pdata::Telemetry> chunks = std::move(*s.pending).split(config_.send_batch_max_size);
  s.pending.reset();
  for (size_t i = 0; i < chunks.size(); ++i) {
    const size_t items = chunks[i].item_count();
    Status status = next_->consume(std::move(chunks[i]));
    if (status.is_retryable()) {
      // chunks[i] was not taken (a retryable refusal leaves the data untouched): keep it and
      // the rest for the next attempt.
      s.pending = std::move(chunks[i]);
      for (size_t k = i + 1; k < chunks.size(); ++k) s.pending->append(std::move(chunks[k]));
      if (s.client) s.pending->set_client(s.client);
      pending_items_ += s.pending->item_count();
      return;
    }
    if (!status.is_ok()) {
      dropped_->add(items);
      ctx_.logger->error("dropped {} {}: {}", items, item_noun(signal_), status.message());
    }
  }
  shards_.erase(shard);
}

void BatchProcessor::run_timer() {
  std::unique_lock lock(mu_);
  const auto timeout = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      config_.timeout.count() > 0 ? config_.timeout : std::chrono::milliseconds(200));
  while (!stopping_) {
    auto wake_at = std::chrono::steady_clock::now() + timeout;
    for (const auto& [key, shard] : shards_) {
      if (shard.pending) wake_at = std::min(wake_at, shard.oldest + timeout);
    }
    wake_.wait_until(lock, wake_at);
    if (stopping_) break;
    const auto now = std::chrono::steady_clock::now();
    for (auto it = shards_.begin(); it != shards_.end();) {
      auto next = std::next(it);
      if (it->second.pending && now >= it->second.oldest + timeout) flush_locked(it);
      it = next;
    }
    // A shard still there was pushed back: retry it a timeout later.
    for (auto& [key, shard] : shards_) {
      if (shard.pending && now >= shard.oldest + timeout) shard.oldest = now;
    }
  }
}

void BatchProcessor::shutdown(std::chrono::steady_clock::time_point deadline) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !timer_.joinable() && shards_.empty()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (timer_.joinable()) timer_.join();
  std::unique_lock lock(mu_);
  while (!shards_.empty()) {
    flush_all_locked();
    if (shards_.empty() || std::chrono::steady_clock::now() >= deadline) break;
    lock.unlock();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    lock.lock();
  }
  if (pending_items_ > 0) {
    dropped_->add(pending_items_);
    ctx_.logger->error("shutdown deadline passed: dropped {} {} still batched", pending_items_,
                       item_noun(signal_));
  }
  shards_.clear();
  pending_items_ = 0;
}

}  // namespace weft::processors::batch
