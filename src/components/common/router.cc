#include "components/common/router.h"

#include <algorithm>
#include <bit>

#include <spdlog/spdlog.h>

#include "wasm/host/results.h"

namespace weft::connectors {

Router::Router(const ComponentContext& ctx, Signal signal, const ConnectorOutputs& outputs)
    : ctx_(ctx) {
  const std::string noun(item_noun(signal));
  for (const auto& p : outputs.pipelines) {
    if (pipelines_.size() == kMaxOutputs) break;  // refused by the factory's check_outputs
    pipelines_.push_back(
        {p.id, p.consumer,
         &ctx.metrics->counter("weft_connector_routed_" + noun,
                               "Items a routing connector handed to each of its pipelines.",
                               {{"connector", ctx.id}, {"pipeline", p.id}})});
  }
  unrouted_ = &ctx.metrics->counter("weft_connector_unrouted_" + noun,
                                    "Items no route of a routing connector took (dropped).",
                                    {{"connector", ctx.id}});
  partial_refusals_ = &ctx.metrics->counter(
      "weft_connector_partial_refusals",
      "Batches a routing connector handed back in part (refused retryably after other "
      "pipelines took their parts).",
      {{"connector", ctx.id}});
}

Status check_named_outputs(const std::vector<std::string>& named, Signal out,
                           const std::vector<std::string>& outputs, const std::string& what) {
  if (outputs.size() > kMaxOutputs) {
    return Status::invalid_argument("feeds " + std::to_string(outputs.size()) +
                                    " pipelines; a routing connector feeds at most 64");
  }
  const std::string prefix(signal_name(out));
  for (const auto& p : named) {
    const bool this_signal = p == prefix || p.rfind(prefix + "/", 0) == 0;
    if (this_signal && std::find(outputs.begin(), outputs.end(), p) == outputs.end()) {
      return Status::invalid_argument(what + " " + p + ", which does not list it as a receiver");
    }
  }
  return Status::ok();
}

Targets Router::bit(const std::string& pipeline) const {
  for (size_t i = 0; i < pipelines_.size(); ++i) {
    if (pipelines_[i].id == pipeline) return Targets{1} << i;
  }
  return 0;
}

void Router::stop() {
  std::lock_guard lock(mu_);
  stopping_ = true;
  stopped_.notify_all();
}

Status Router::deliver(pdata::Telemetry&& data, Targets targets) {
  const size_t items = data.item_count();
  if (targets == 0) {
    unrouted_->add(items);
    return Status::ok();
  }
  Status first_error;
  const int last = 63 - std::countl_zero(targets);
  for (int i = 0; i < last; ++i) {
    if ((targets & (Targets{1} << i)) == 0) continue;
    auto& out = pipelines_[static_cast<size_t>(i)];
    Status s = out.consumer->consume(data.clone());
    if (s.is_ok()) out.routed->add(items);
    if (!s.is_ok() && first_error.is_ok()) first_error = s;
  }
  // After a retryable refusal the sender keeps the batch: the last pipeline gets a copy too.
  auto& out = pipelines_[static_cast<size_t>(last)];
  Status s = first_error.is_retryable() ? out.consumer->consume(data.clone())
                                        : out.consumer->consume(std::move(data));
  if (s.is_ok()) out.routed->add(items);
  return first_error.is_ok() ? s : first_error;
}

Status Router::deliver(pdata::Telemetry&& data, const std::vector<Targets>& targets) {
  if (targets.empty()) return Status::ok();
  // One set of pipelines for the whole batch: nothing to split.
  if (std::all_of(targets.begin(), targets.end(), [&](Targets t) { return t == targets[0]; })) {
    return deliver(std::move(data), targets[0]);
  }
  Targets any = 0;
  size_t unrouted = 0;
  for (Targets t : targets) {
    any |= t;
    if (t == 0) ++unrouted;
  }
  unrouted_->add(unrouted);

  struct Part {
    size_t output = 0;
    std::string mask;  // the items of this part, as a keep-mask
    pdata::Telemetry data;
    Status status;
  };
  std::vector<Part> parts;
  for (size_t i = 0; i < pipelines_.size(); ++i) {
    const Targets b = Targets{1} << i;
    if ((any & b) == 0) continue;
    std::string mask(targets.size(), '\0');
    for (size_t k = 0; k < targets.size(); ++k) mask[k] = (targets[k] & b) != 0 ? 1 : 0;
    pdata::Telemetry part = data.clone();
    if (Status s = wasm::apply_keep_mask(part, mask); !s.is_ok()) return s;
    parts.push_back({i, std::move(mask), std::move(part), Status::ok()});
  }
  bool taken = false, refused_retryably = false;
  for (auto& part : parts) {
    const size_t n = part.data.item_count();
    part.status = pipelines_[part.output].consumer->consume(std::move(part.data));
    if (part.status.is_ok()) {
      pipelines_[part.output].routed->add(n);
      taken = true;
    }
    refused_retryably |= part.status.is_retryable();
  }
  if (!taken) {  // nothing was taken: the sender may send it all again
    for (auto& part : parts) {
      if (part.status.is_retryable()) return part.status;
    }
    return parts.front().status;
  }
  if (refused_retryably) {
    for (auto& part : parts) {
      if (part.status.is_retryable()) part.status = retry(part.output, part.data, part.status);
    }
  }
  // What is still refused retryably goes back, narrowed to its items.
  std::string left(targets.size(), '\0');
  Status back;
  uint64_t rejected = 0;
  std::string why;
  for (auto& part : parts) {
    if (part.status.is_retryable()) {
      for (size_t k = 0; k < left.size(); ++k) {
        if (part.mask[k] != 0) left[k] = 1;
      }
      if (back.is_ok()) back = part.status;
    } else if (!part.status.is_ok()) {
      rejected += static_cast<uint64_t>(std::count(part.mask.begin(), part.mask.end(), 1));
      if (why.empty()) why = pipelines_[part.output].id + ": " + part.status.message();
    } else if (part.status.rejected() > 0) {
      rejected += part.status.rejected();
      if (why.empty()) why = pipelines_[part.output].id + ": " + part.status.message();
    }
  }
  if (!back.is_ok()) {
    partial_refusals_->add();
    ctx_.logger->warn("pipelines took part of a batch and refused the rest past {} s: {}",
                      kPartialRetryFor.count(), back.message());
    if (Status s = wasm::apply_keep_mask(data, left); !s.is_ok()) return s;
    return back;
  }
  if (rejected > 0) return Status::partial(rejected, why);
  return Status::ok();
}

Status Router::retry(size_t i, pdata::Telemetry& part, Status status) {
  const auto until = std::chrono::steady_clock::now() + kPartialRetryFor;
  auto delay = std::chrono::milliseconds(50);
  auto& out = pipelines_[i];
  while (status.is_retryable()) {
    auto wait = status.retry_after().count() > 0 ? status.retry_after() : delay;
    if (std::chrono::steady_clock::now() + wait > until) break;
    {
      std::unique_lock lock(mu_);
      if (stopped_.wait_for(lock, wait, [this] { return stopping_; })) break;
    }
    delay = std::min<std::chrono::milliseconds>(delay * 2, std::chrono::seconds(1));
    const size_t n = part.item_count();
    status = out.consumer->consume(part.clone());
    if (status.is_ok()) out.routed->add(n);
  }
  return status;
}

}  // namespace weft::connectors
