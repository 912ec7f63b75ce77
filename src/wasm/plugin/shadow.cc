#include "wasm/plugin/shadow.h"

#include <spdlog/spdlog.h>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "util/yaml_json.h"

namespace weft::wasm {
namespace {

namespace otlp = opentelemetry::proto;
using KeyValues = google::protobuf::RepeatedPtrField<otlp::common::v1::KeyValue>;

std::string text_of(const otlp::common::v1::AnyValue& v) {
  switch (v.value_case()) {
    case otlp::common::v1::AnyValue::kStringValue:
      return v.string_value();
    case otlp::common::v1::AnyValue::kIntValue:
      return std::to_string(v.int_value());
    case otlp::common::v1::AnyValue::kDoubleValue:
      return fmt::format("{}", v.double_value());
    case otlp::common::v1::AnyValue::kBoolValue:
      return v.bool_value() ? "true" : "false";
    default:
      return v.ShortDebugString();
  }
}

std::map<std::string, std::string> map_of(const KeyValues& kvs) {
  std::map<std::string, std::string> out;
  for (const auto& kv : kvs) out[kv.key()] = text_of(kv.value());
  return out;
}

// The item without its attributes, as bytes.
template <class Item>
std::string rest_of(const Item& item) {
  Item copy = item;
  copy.clear_attributes();
  return copy.SerializeAsString();
}

template <class Point>
void add_points(const google::protobuf::RepeatedPtrField<Point>& points,
                const std::map<std::string, std::string>& resource, const std::string& metric,
                std::vector<ItemView>& out) {
  for (const auto& p : points)
    out.push_back({resource, map_of(p.attributes()), metric + rest_of(p)});
}

}  // namespace

std::vector<ItemView> items_of(const pdata::Telemetry& batch) {
  std::vector<ItemView> out;
  switch (batch.signal()) {
    case Signal::kTraces: {
      const auto& r = dynamic_cast<const otlp::collector::trace::v1::ExportTraceServiceRequest&>(
          batch.message());
      for (const auto& rs : r.resource_spans()) {
        const auto resource = map_of(rs.resource().attributes());
        for (const auto& ss : rs.scope_spans()) {
          for (const auto& s : ss.spans())
            out.push_back({resource, map_of(s.attributes()), rest_of(s)});
        }
      }
      break;
    }
    case Signal::kLogs: {
      const auto& r =
          dynamic_cast<const otlp::collector::logs::v1::ExportLogsServiceRequest&>(batch.message());
      for (const auto& rl : r.resource_logs()) {
        const auto resource = map_of(rl.resource().attributes());
        for (const auto& sl : rl.scope_logs()) {
          for (const auto& l : sl.log_records()) {
            out.push_back({resource, map_of(l.attributes()), rest_of(l)});
          }
        }
      }
      break;
    }
    case Signal::kMetrics: {
      const auto& r =
          dynamic_cast<const otlp::collector::metrics::v1::ExportMetricsServiceRequest&>(
              batch.message());
      for (const auto& rm : r.resource_metrics()) {
        const auto resource = map_of(rm.resource().attributes());
        for (const auto& sm : rm.scope_metrics()) {
          for (const auto& m : sm.metrics()) {
            const std::string name = m.name() + "\n";
            add_points(m.gauge().data_points(), resource, name, out);
            add_points(m.sum().data_points(), resource, name, out);
            add_points(m.histogram().data_points(), resource, name, out);
            add_points(m.exponential_histogram().data_points(), resource, name, out);
            add_points(m.summary().data_points(), resource, name, out);
          }
        }
      }
      break;
    }
  }
  return out;
}

bool fates_of(const pdata::Telemetry& input, Outcome& outcome,
              std::vector<std::optional<ItemView>>& fates) {
  const size_t n = input.item_count();
  fates.assign(n, std::nullopt);
  if (outcome.kind == Outcome::kDropped) return true;
  if (!outcome.output || (outcome.keep_mask && !outcome.edited)) {
    // Unchanged, or a keep-mask alone: the kept items are the items handed in.
    auto items = items_of(input);
    if (outcome.keep_mask && outcome.keep_mask->size() == n) {
      for (size_t i = 0; i < n && i < items.size(); ++i) {
        if ((*outcome.keep_mask)[i] != 0) fates[i] = std::move(items[i]);
      }
      return true;
    }
    for (size_t i = 0; i < n && i < items.size(); ++i) fates[i] = std::move(items[i]);
    return true;
  }
  auto out = items_of(*outcome.output);
  if (outcome.keep_mask && outcome.keep_mask->size() == n) {
    size_t k = 0;
    for (size_t i = 0; i < n; ++i) {
      if ((*outcome.keep_mask)[i] != 0 && k < out.size()) fates[i] = std::move(out[k++]);
    }
    return true;
  }
  if (out.size() != n) return false;  // a replacement that added or removed items
  for (size_t i = 0; i < n; ++i) fates[i] = std::move(out[i]);
  return true;
}

ShadowRun::ShadowRun(std::shared_ptr<Plugin> candidate, std::string candidate_path,
                     const ComponentContext& ctx)
    : candidate_(std::move(candidate)), path_(std::move(candidate_path)), id_(ctx.id) {
  auto counter = [&](const char* result) {
    telemetry::Labels labels = {{"plugin", ctx.id}, {"result", result}};
    if (!ctx.pipeline.empty()) labels.emplace_back("pipeline", ctx.pipeline);
    return &ctx.metrics->counter("weft_plugin_shadow_items",
                                 "Items of the shadow run: what the candidate made of them "
                                 "against the live version.",
                                 labels);
  };
  same_ = counter("same");
  changed_ = counter("changed");
  dropped_ = counter("dropped");
  kept_ = counter("kept");
  skipped_ = &ctx.metrics->counter("weft_plugin_shadow_skipped_batches",
                                   "Batches the shadow run had no room for.", {{"plugin", ctx.id}});
  worker_ = std::thread([this] { run(); });
}

ShadowRun::~ShadowRun() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void ShadowRun::offer(pdata::Telemetry input, Outcome live) {
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= kMaxQueued) {
      ++skipped_batches_;
      skipped_->add();
      return;
    }
    queue_.push_back({std::move(input), std::move(live)});
  }
  cv_.notify_one();
}

void ShadowRun::drain() {
  std::unique_lock lock(mu_);
  idle_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

void ShadowRun::run() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    Job job = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    compare(job);
    lock.lock();
    busy_ = false;
    if (queue_.empty()) idle_.notify_all();
  }
}

void ShadowRun::compare(Job& job) {
  pdata::Telemetry& input = job.input;
  Outcome candidate = candidate_->process(input);
  std::vector<std::optional<ItemView>> live_fates, candidate_fates;
  const bool live_ok = fates_of(input, job.live, live_fates);
  const bool candidate_ok =
      candidate.kind != Outcome::kFailed && fates_of(input, candidate, candidate_fates);
  std::lock_guard lock(mu_);
  const uint64_t batch = ++batches_;
  if (candidate.kind == Outcome::kFailed) {
    ++failed_;
    if (samples_.size() < kMaxSamples) {
      samples_.push_back("{\"batch\":" + std::to_string(batch) +
                         ",\"kind\":\"failed\",\"error\":" + json_quote(candidate.error) + "}");
    }
    return;
  }
  if (!live_ok || !candidate_ok) {
    ++incomparable_;
    return;
  }
  for (size_t i = 0; i < live_fates.size(); ++i) {
    ++items_;
    const auto& live = live_fates[i];
    const auto& cand = candidate_fates[i];
    std::string kind;
    std::string detail;
    if (!live && !cand) {
      kind = "same";
    } else if (live && !cand) {
      kind = "dropped";
    } else if (!live && cand) {
      kind = "kept";
    } else {
      // Attributes that differ (item and resource), and whether anything else does.
      auto diff = [](const std::map<std::string, std::string>& a,
                     const std::map<std::string, std::string>& b) {
        std::string out;
        std::map<std::string, std::pair<const std::string*, const std::string*>> keys;
        for (const auto& [k, v] : a) keys[k].first = &v;
        for (const auto& [k, v] : b) keys[k].second = &v;
        for (const auto& [k, pair] : keys) {
          if (pair.first != nullptr && pair.second != nullptr && *pair.first == *pair.second) {
            continue;
          }
          out += std::string(out.empty() ? "" : ",") + json_quote(k) +
                 ":{\"live\":" + (pair.first ? json_quote(*pair.first) : "null") +
                 ",\"candidate\":" + (pair.second ? json_quote(*pair.second) : "null") + "}";
        }
        return out;
      };
      const std::string attributes = diff(live->attributes, cand->attributes);
      const std::string resource = diff(live->resource, cand->resource);
      const bool other = live->rest != cand->rest;
      if (attributes.empty() && resource.empty() && !other) {
        kind = "same";
      } else {
        kind = "changed";
        detail = ",\"attributes\":{" + attributes + "},\"resource\":{" + resource +
                 "},\"other_fields\":" + (other ? "true" : "false");
      }
    }
    if (kind == "same") {
      ++same_items_;
      same_->add();
      continue;
    }
    if (kind == "changed") {
      ++changed_items_;
      changed_->add();
    } else if (kind == "dropped") {
      ++dropped_items_;
      dropped_->add();
    } else {
      ++kept_items_;
      kept_->add();
    }
    if (samples_.size() < kMaxSamples) {
      samples_.push_back("{\"batch\":" + std::to_string(batch) + ",\"item\":" + std::to_string(i) +
                         ",\"kind\":\"" + kind + "\"" + detail + "}");
    }
  }
}

std::string ShadowRun::report(const std::string& live_description) const {
  std::lock_guard lock(mu_);
  std::string samples;
  for (const auto& s : samples_) samples += (samples.empty() ? "" : ",") + s;
  return "{\"plugin\":" + json_quote(id_) + ",\"live\":" + json_quote(live_description) +
         ",\"candidate\":" + json_quote(path_) + ",\"batches\":" + std::to_string(batches_) +
         ",\"skipped_batches\":" + std::to_string(skipped_batches_) +
         ",\"failed_batches\":" + std::to_string(failed_) +
         ",\"incomparable_batches\":" + std::to_string(incomparable_) +
         ",\"items\":" + std::to_string(items_) + ",\"same\":" + std::to_string(same_items_) +
         ",\"changed\":" + std::to_string(changed_items_) +
         ",\"dropped\":" + std::to_string(dropped_items_) +
         ",\"kept\":" + std::to_string(kept_items_) + ",\"samples\":[" + samples + "]}";
}

}  // namespace weft::wasm
