#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include "components/processors/tail_sampling/policy.h"
#include "opentelemetry/proto/resource/v1/resource.pb.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "pdata/wire.h"
#include "wasm/host/results.h"
#include "weft/config_reader.h"
#include "weft/factory.h"
#include "weft/metrics.h"

// The Go collector's tail_sampling processor: spans wait, grouped by trace, until
// `decision_wait` after the trace's first span; then the policies decide on the whole trace
// and a sampled trace goes on. Spans of a decided trace that arrive later follow its decision
// (a bounded cache of decisions). Spans are kept as their wire bytes, with their resource and
// scope shared, and decoded only when the trace is decided.
namespace weft::processors::tail_sampling {
namespace {

namespace v1 = opentelemetry::proto;
namespace wire = pdata::wire;
using Clock = std::chrono::steady_clock;

struct Config : ComponentConfig {
  std::chrono::nanoseconds decision_wait = std::chrono::seconds(30);
  uint64_t num_traces = 50000;
  uint64_t expected_new_traces_per_sec = 0;
  uint64_t sampled_cache_size = 0;      // 0: num_traces
  uint64_t non_sampled_cache_size = 0;  // 0: num_traces
  YAML::Node policies;                  // parsed again for each processor (policies keep state)
};

// A span as it came: its bytes, and its resource's and scope's other fields, shared.
struct SpanRef {
  std::shared_ptr<const std::string> resource_head;  // ResourceSpans without scope_spans
  std::shared_ptr<const std::string> scope_head;     // ScopeSpans without spans
  std::string span;                                  // the Span message
};

struct Trace {
  Clock::time_point first_seen;
  std::vector<SpanRef> spans;
};

// A set that forgets its oldest entries past a capacity.
class DecisionCache {
 public:
  explicit DecisionCache(size_t capacity) : capacity_(capacity) {}
  [[nodiscard]] bool contains(const std::string& id) const { return set_.count(id) != 0; }
  void add(const std::string& id) {
    if (capacity_ == 0 || !set_.insert(id).second) return;
    order_.push_back(id);
    if (order_.size() > capacity_) {
      set_.erase(order_.front());
      order_.pop_front();
    }
  }

 private:
  size_t capacity_;
  std::unordered_set<std::string> set_;
  std::deque<std::string> order_;
};

std::vector<std::unique_ptr<Policy>> parse_policies(const YAML::Node& node, const std::string& path,
                                                    Diagnostics* diag) {
  YAML::Node root(YAML::NodeType::Map);
  root["policies"] = node;
  ConfigReader reader(root, path, diag);
  std::vector<std::unique_ptr<Policy>> out;
  for (ConfigReader& item : reader.items("policies")) {
    auto p = parse_policy(item, true);
    if (p.ok()) out.push_back(std::move(*p));
  }
  reader.report_unknown_keys();
  return out;
}

class TailSampling final : public Processor {
 public:
  TailSampling(const ComponentContext& ctx, const Config& config, Consumer* next)
      : ctx_(ctx),
        config_(config),
        next_(next),
        sampled_(config.sampled_cache_size != 0 ? config.sampled_cache_size : config.num_traces),
        not_sampled_(config.non_sampled_cache_size != 0 ? config.non_sampled_cache_size
                                                        : config.num_traces) {
    Diagnostics ignored;  // checked when the configuration loaded
    policies_ = parse_policies(config.policies, "processors." + ctx.id, &ignored);
    if (config.expected_new_traces_per_sec > 0) traces_.reserve(config.expected_new_traces_per_sec);
    auto& m = *ctx.metrics;
    const telemetry::Labels labels = {{"processor", ctx.id}};
    for (const auto& p : policies_) {
      for (const char* s : {"true", "false"}) {
        per_policy_[p->name()][s[0] == 't'] =
            &m.counter("otelcol_processor_tail_sampling_count_traces_sampled",
                       "Traces each policy sampled or not.",
                       {{"processor", ctx.id}, {"policy", p->name()}, {"sampled", s}});
      }
    }
    global_sampled_ = &m.counter("otelcol_processor_tail_sampling_global_count_traces_sampled",
                                 "Traces sampled by the policies together.",
                                 {{"processor", ctx.id}, {"sampled", "true"}});
    global_not_sampled_ = &m.counter("otelcol_processor_tail_sampling_global_count_traces_sampled",
                                     "Traces sampled by the policies together.",
                                     {{"processor", ctx.id}, {"sampled", "false"}});
    on_memory_ = &m.gauge("otelcol_processor_tail_sampling_sampling_traces_on_memory",
                          "Traces waiting for their decision.", labels);
    new_traces_ = &m.counter("otelcol_processor_tail_sampling_new_trace_id_received",
                             "Traces whose first span arrived.", labels);
    late_sampled_ = &m.counter("weft_tail_sampling_late_spans",
                               "Spans of decided traces, which followed the decision.",
                               {{"processor", ctx.id}, {"decision", "sampled"}});
    late_dropped_ = &m.counter("weft_tail_sampling_late_spans",
                               "Spans of decided traces, which followed the decision.",
                               {{"processor", ctx.id}, {"decision", "not_sampled"}});
    early_ =
        &m.counter("weft_tail_sampling_decided_early",
                   "Traces decided before decision_wait because num_traces were waiting.", labels);
    lost_ = &m.counter("weft_tail_sampling_dropped_spans",
                       "Sampled spans the next stage refused past every retry.", labels);
  }
  ~TailSampling() override { shutdown(Clock::now()); }

  Status start() override {
    for (auto& p : policies_) {
      if (Status s = p->start(ctx_); !s.is_ok()) return s;
    }
    ticker_ = std::thread([this] { tick_loop(); });
    return Status::ok();
  }

  void shutdown(Clock::time_point) override {
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
      stopped_ = true;
    }
    wake_.notify_all();
    if (ticker_.joinable()) ticker_.join();
    // Everything still waiting is decided now and sent on: nothing is left behind.
    std::string out;
    {
      std::lock_guard lock(mu_);
      while (!order_.empty()) decide_oldest(out);
    }
    forward(std::move(out));
    for (auto& p : policies_) p->stop();
  }

  Status consume(pdata::Telemetry&& data) override {
    const std::string& request = data.wire();
    std::string keep(data.item_count(), 0);
    bool late_sampled = false;
    std::string early;  // traces decided at once to make room
    size_t index = 0;
    {
      std::lock_guard lock(mu_);
      if (stopped_) return Status::retryable("tail_sampling " + ctx_.id + " is shutting down");
      wire::Reader requests(request);
      wire::Field rs;
      while (requests.next(rs)) {
        if (rs.number != 1 || rs.type != wire::WireType::kLen) continue;
        std::string resource_head;
        std::vector<std::string_view> scopes;
        wire::Reader r(rs.bytes);
        wire::Field f;
        while (r.next(f)) {
          if (f.number == 2 && f.type == wire::WireType::kLen) {
            scopes.push_back(f.bytes);
          } else {
            resource_head.append(f.raw);
          }
        }
        auto resource = std::make_shared<const std::string>(std::move(resource_head));
        for (std::string_view scope_bytes : scopes) {
          std::string scope_head;
          std::vector<std::string_view> spans;
          wire::Reader s(scope_bytes);
          while (s.next(f)) {
            if (f.number == 2 && f.type == wire::WireType::kLen) {
              spans.push_back(f.bytes);
            } else {
              scope_head.append(f.raw);
            }
          }
          auto scope = std::make_shared<const std::string>(std::move(scope_head));
          for (std::string_view span : spans) {
            add_span(span, resource, scope, index++, keep, late_sampled);
          }
        }
      }
      while (order_.size() > config_.num_traces) {
        early_->add();
        decide_oldest(early);
      }
      on_memory_->set(static_cast<int64_t>(traces_.size()));
    }
    forward(std::move(early));
    if (!late_sampled || index != keep.size()) return Status::ok();
    // Late spans of sampled traces go on at once.
    if (Status s = wasm::apply_keep_mask(data, keep); !s.is_ok()) return s;
    return next_->consume(std::move(data));
  }

 private:
  void add_span(std::string_view span, const std::shared_ptr<const std::string>& resource,
                const std::shared_ptr<const std::string>& scope, size_t index, std::string& keep,
                bool& late_sampled) {
    std::string trace_id;
    wire::Reader r(span);
    wire::Field f;
    while (r.next(f)) {
      if (f.number == 1 && f.type == wire::WireType::kLen) {
        trace_id = std::string(f.bytes);
        break;
      }
    }
    if (sampled_.contains(trace_id)) {
      late_sampled_->add();
      keep[index] = 1;
      late_sampled = true;
      return;
    }
    if (not_sampled_.contains(trace_id)) {
      late_dropped_->add();
      return;
    }
    auto [it, inserted] = traces_.try_emplace(trace_id);
    if (inserted) {
      it->second.first_seen = Clock::now();
      order_.push_back(trace_id);
      new_traces_->add();
    }
    it->second.spans.push_back({resource, scope, std::string(span)});
  }

  void tick_loop() {
    const auto period = std::min<std::chrono::nanoseconds>(
        std::chrono::seconds(1), std::max<std::chrono::nanoseconds>(config_.decision_wait / 4,
                                                                    std::chrono::milliseconds(10)));
    std::unique_lock lock(mu_);
    while (!wake_.wait_for(lock, period, [this] { return stopped_; })) {
      std::string out;
      const auto due = Clock::now() - config_.decision_wait;
      while (!order_.empty()) {
        auto it = traces_.find(order_.front());
        if (it != traces_.end() && it->second.first_seen > due) break;
        decide_oldest(out);
      }
      on_memory_->set(static_cast<int64_t>(traces_.size()));
      lock.unlock();
      forward(std::move(out));
      lock.lock();
    }
  }

  // Decides the trace that arrived first (mu_ held); a sampled one is appended to `out`, an
  // encoded ExportTraceServiceRequest.
  void decide_oldest(std::string& out) {
    const std::string id = std::move(order_.front());
    order_.pop_front();
    auto node = traces_.extract(id);
    if (node.empty()) return;
    Trace& trace = node.mapped();
    std::string request = encode(trace);
    if (decide(id, trace, request)) {
      sampled_.add(id);
      out += request;  // requests concatenate: their resource_spans add up
    } else {
      not_sampled_.add(id);
    }
  }

  static std::string encode(const Trace& trace) {
    std::string out;
    size_t i = 0;
    while (i < trace.spans.size()) {
      const auto& first = trace.spans[i];
      std::string scope_spans = *first.scope_head;
      size_t j = i;
      for (; j < trace.spans.size() && trace.spans[j].resource_head == first.resource_head &&
             trace.spans[j].scope_head == first.scope_head;
           ++j) {
        wire::append_len_field(scope_spans, 2, trace.spans[j].span);
      }
      std::string resource_spans = *first.resource_head;
      wire::append_len_field(resource_spans, 2, scope_spans);
      wire::append_len_field(out, 1, resource_spans);
      i = j;
    }
    return out;
  }

  bool decide(const std::string& id, const Trace& trace, const std::string& request) {
    TraceView view;
    view.trace_id = id;
    view.request = request;
    std::vector<v1::trace::v1::Span> spans(trace.spans.size());
    std::vector<std::unique_ptr<v1::resource::v1::Resource>> resources;
    const std::string* last_head = nullptr;
    for (size_t i = 0; i < trace.spans.size(); ++i) {
      const auto& ref = trace.spans[i];
      if (!spans[i].ParseFromString(ref.span)) continue;
      if (ref.resource_head.get() != last_head) {
        last_head = ref.resource_head.get();
        v1::trace::v1::ResourceSpans head;
        head.ParseFromString(*ref.resource_head);
        resources.push_back(std::make_unique<v1::resource::v1::Resource>(head.resource()));
      }
      view.spans.push_back({&spans[i], resources.back().get()});
    }
    bool sampled = false, vetoed = false;
    for (auto& p : policies_) {
      const Decision d = p->evaluate(view);
      const bool yes = d == Decision::kSampled || d == Decision::kInvertSampled;
      per_policy_[p->name()][yes]->add();
      vetoed |= d == Decision::kInvertNotSampled;
      sampled |= yes;
    }
    sampled = sampled && !vetoed;  // an inverted match that says no overrides the rest (Go)
    (sampled ? global_sampled_ : global_not_sampled_)->add();
    return sampled;
  }

  // Hands sampled traces on; a refusal is retried for a while, then counted and logged.
  void forward(std::string request) {
    if (request.empty()) return;
    pdata::Telemetry data = pdata::Telemetry::from_valid_wire(Signal::kTraces, std::move(request));
    const size_t n = data.item_count();
    for (int attempt = 0;; ++attempt) {
      Status s = next_->consume(data.clone());
      if (s.is_ok()) return;
      if (!s.is_retryable() || attempt == 20) {
        lost_->add(n);
        ctx_.logger->error("the next stage refused {} sampled spans: {}", n, s.message());
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100 * std::min(attempt + 1, 5)));
    }
  }

  ComponentContext ctx_;
  const Config& config_;
  Consumer* next_;
  std::vector<std::unique_ptr<Policy>> policies_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopped_ = false;
  std::thread ticker_;
  std::unordered_map<std::string, Trace> traces_;
  std::deque<std::string> order_;  // trace ids by first arrival
  DecisionCache sampled_, not_sampled_;
  std::map<std::string, std::array<telemetry::Counter*, 2>> per_policy_;
  telemetry::Counter* global_sampled_;
  telemetry::Counter* global_not_sampled_;
  telemetry::Gauge* on_memory_;
  telemetry::Counter* new_traces_;
  telemetry::Counter* late_sampled_;
  telemetry::Counter* late_dropped_;
  telemetry::Counter* early_;
  telemetry::Counter* lost_;
};

class Factory final : public FactoryFor<Config> {
 public:
  [[nodiscard]] ComponentKind kind() const override { return ComponentKind::kProcessor; }
  [[nodiscard]] std::string_view type() const override { return "tail_sampling"; }
  [[nodiscard]] std::set<Signal> signals() const override { return {Signal::kTraces}; }

  std::unique_ptr<Processor> create_processor(const ComponentContext& ctx,
                                              const ComponentConfig& config, Signal,
                                              Consumer* next) const override {
    return std::make_unique<TailSampling>(ctx, cast(config), next);
  }

 protected:
  void load(ConfigReader& reader, Config& config) const override {
    reader.read_duration("decision_wait", config.decision_wait);
    reader.read("num_traces", config.num_traces);
    reader.read("expected_new_traces_per_sec", config.expected_new_traces_per_sec);
    ConfigReader cache = reader.child("decision_cache");
    cache.read("sampled_cache_size", config.sampled_cache_size);
    cache.read("non_sampled_cache_size", config.non_sampled_cache_size);
    if (config.decision_wait.count() <= 0) reader.error("decision_wait", "must be positive");
    if (config.num_traces == 0) reader.error("num_traces", "must be positive");
    config.policies = YAML::Clone(reader.read_node("policies"));
    if (!config.policies.IsSequence() || config.policies.size() == 0) {
      reader.error("policies", "needs at least one policy");
      return;
    }
    // Checked here, with their paths; built again for each processor.
    parse_policies(config.policies, reader.path(), reader.diagnostics());
  }
};

}  // namespace
}  // namespace weft::processors::tail_sampling

WEFT_DEFINE_FACTORY(tail_sampling_processor, weft::processors::tail_sampling::Factory)
