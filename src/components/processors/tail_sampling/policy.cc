#include "components/processors/tail_sampling/policy.h"

#include <algorithm>
#include <map>

#include <re2/re2.h>

#include "components/common/stable_hash.h"

#include "wasm/plugin/directory.h"
#include "wasm/plugin/plugin.h"
#include "wasm/plugin/settings.h"
#include "weft/telemetry.h"

namespace weft::processors::tail_sampling {
namespace {

namespace v1 = opentelemetry::proto;
using Attributes = google::protobuf::RepeatedPtrField<v1::common::v1::KeyValue>;

const v1::common::v1::AnyValue* find(const Attributes& attributes, const std::string& key) {
  for (const auto& kv : attributes) {
    if (kv.key() == key) return &kv.value();
  }
  return nullptr;
}

// Calls f(value) for the key's value on each span and its resource, until f returns true.
template <class F>
bool any_value(const TraceView& trace, const std::string& key, F&& f) {
  for (const auto& s : trace.spans) {
    if (const auto* v = find(s.span->attributes(), key); v != nullptr && f(*v)) return true;
    if (s.resource != nullptr) {
      if (const auto* v = find(s.resource->attributes(), key); v != nullptr && f(*v)) return true;
    }
  }
  return false;
}

class AlwaysSample final : public Policy {
 public:
  Decision evaluate(const TraceView&) override { return Decision::kSampled; }
};

class Latency final : public Policy {
 public:
  int64_t threshold_ms = 0, upper_ms = 0;
  Decision evaluate(const TraceView& trace) override {
    uint64_t start = UINT64_MAX, end = 0;
    for (const auto& s : trace.spans) {
      start = std::min<uint64_t>(start, s.span->start_time_unix_nano());
      end = std::max<uint64_t>(end, s.span->end_time_unix_nano());
    }
    if (trace.spans.empty() || end < start) return Decision::kNotSampled;
    const auto ms = static_cast<int64_t>((end - start) / 1000000);
    const bool hit = ms >= threshold_ms && (upper_ms == 0 || ms <= upper_ms);
    return hit ? Decision::kSampled : Decision::kNotSampled;
  }
};

class StatusCode final : public Policy {
 public:
  std::vector<int> codes;  // 0 unset, 1 ok, 2 error
  Decision evaluate(const TraceView& trace) override {
    for (const auto& s : trace.spans) {
      const int code = static_cast<int>(s.span->status().code());
      if (std::find(codes.begin(), codes.end(), code) != codes.end()) return Decision::kSampled;
    }
    return Decision::kNotSampled;
  }
};

class Probabilistic final : public Policy {
 public:
  double percentage = 0;
  std::string salt;
  Decision evaluate(const TraceView& trace) override {
    return trace_bucket(trace.trace_id, salt) < static_cast<uint32_t>(percentage * 100)
               ? Decision::kSampled
               : Decision::kNotSampled;
  }
};

class StringAttribute final : public Policy {
 public:
  std::string key;
  std::vector<std::string> values;
  std::vector<std::unique_ptr<RE2>> patterns;  // enabled_regex_matching
  bool invert = false;
  Decision evaluate(const TraceView& trace) override {
    const bool hit = any_value(trace, key, [&](const v1::common::v1::AnyValue& v) {
      if (!v.has_string_value()) return false;
      const std::string& s = v.string_value();
      if (!patterns.empty()) {
        return std::any_of(patterns.begin(), patterns.end(),
                           [&](const auto& re) { return RE2::PartialMatch(s, *re); });
      }
      return std::find(values.begin(), values.end(), s) != values.end();
    });
    if (invert) return hit ? Decision::kInvertNotSampled : Decision::kInvertSampled;
    return hit ? Decision::kSampled : Decision::kNotSampled;
  }
};

class NumericAttribute final : public Policy {
 public:
  std::string key;
  int64_t min = INT64_MIN, max = INT64_MAX;
  bool invert = false;
  Decision evaluate(const TraceView& trace) override {
    const bool hit = any_value(trace, key, [&](const v1::common::v1::AnyValue& v) {
      if (v.has_int_value()) return v.int_value() >= min && v.int_value() <= max;
      if (v.has_double_value()) {
        return v.double_value() >= static_cast<double>(min) &&
               v.double_value() <= static_cast<double>(max);
      }
      return false;
    });
    if (invert) return hit ? Decision::kInvertNotSampled : Decision::kInvertSampled;
    return hit ? Decision::kSampled : Decision::kNotSampled;
  }
};

// Spans per second, counted over whole seconds of the steady clock.
class SpanBudget {
 public:
  explicit SpanBudget(int64_t per_second) : per_second_(per_second) {}
  // Takes n spans from this second's budget if they fit.
  bool take(size_t n) {
    const auto second = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
    if (second != second_) {
      second_ = second;
      used_ = 0;
    }
    if (used_ + static_cast<int64_t>(n) > per_second_) return false;
    used_ += static_cast<int64_t>(n);
    return true;
  }

 private:
  int64_t per_second_;
  int64_t second_ = -1;
  int64_t used_ = 0;
};

class RateLimiting final : public Policy {
 public:
  explicit RateLimiting(int64_t spans_per_second) : budget_(spans_per_second) {}
  Decision evaluate(const TraceView& trace) override {
    return budget_.take(trace.spans.size()) ? Decision::kSampled : Decision::kNotSampled;
  }

 private:
  SpanBudget budget_;
};

bool samples(Decision d) {
  return d == Decision::kSampled || d == Decision::kInvertSampled;
}

class And final : public Policy {
 public:
  std::vector<std::unique_ptr<Policy>> subs;
  Decision evaluate(const TraceView& trace) override {
    for (auto& p : subs) {
      if (!samples(p->evaluate(trace))) return Decision::kNotSampled;
    }
    return Decision::kSampled;
  }
  Status start(const ComponentContext& ctx) override {
    for (auto& p : subs) {
      if (Status s = p->start(ctx); !s.is_ok()) return s;
    }
    return Status::ok();
  }
  void stop() override {
    for (auto& p : subs) p->stop();
  }
};

// Sub-policies in policy_order, each with its share (rate_allocation) of
// max_total_spans_per_second; the first that samples a trace and has room for it wins.
class Composite final : public Policy {
 public:
  struct Sub {
    std::unique_ptr<Policy> policy;
    std::unique_ptr<SpanBudget> budget;
  };
  std::vector<Sub> subs;
  Decision evaluate(const TraceView& trace) override {
    for (auto& sub : subs) {
      if (samples(sub.policy->evaluate(trace)) && sub.budget->take(trace.spans.size())) {
        return Decision::kSampled;
      }
    }
    return Decision::kNotSampled;
  }
  Status start(const ComponentContext& ctx) override {
    for (auto& s : subs) {
      if (Status st = s.policy->start(ctx); !st.is_ok()) return st;
    }
    return Status::ok();
  }
  void stop() override {
    for (auto& s : subs) s.policy->stop();
  }
};

// A plugin that sees the whole trace (weft_process_traces on one trace): it samples the trace
// unless it drops every span (result_drop_all or a mask of zeros). A failing plugin samples it
// (nothing is lost to a broken policy; counted as a plugin error).
class WasmPolicy final : public Policy {
 public:
  weft::wasm::PluginSettings settings;
  Status start(const ComponentContext& ctx) override {
    settings.signals = {Signal::kTraces};
    return plugin_.start(settings, ctx, "tail_sampling/" + name_);
  }
  void stop() override { plugin_.stop(); }
  Decision evaluate(const TraceView& trace) override {
    if (plugin_.get() == nullptr) return Decision::kSampled;
    pdata::Telemetry data = pdata::Telemetry::from_valid_wire(Signal::kTraces, trace.request);
    weft::wasm::Outcome outcome = plugin_.get()->process(data);
    if (outcome.kind == weft::wasm::Outcome::kDropped) return Decision::kNotSampled;
    if (outcome.kind == weft::wasm::Outcome::kKept && outcome.keep_mask &&
        std::all_of(outcome.keep_mask->begin(), outcome.keep_mask->end(),
                    [](char c) { return c == 0; })) {
      return Decision::kNotSampled;
    }
    return Decision::kSampled;
  }

 private:
  weft::wasm::RunningPlugin plugin_;
};

int status_code_of(const std::string& name) {
  if (name == "UNSET") return 0;
  if (name == "OK") return 1;
  if (name == "ERROR") return 2;
  return -1;
}

}  // namespace

uint32_t trace_bucket(const std::string& trace_id, const std::string& salt) {
  return static_cast<uint32_t>(stable_hash(salt + trace_id) % 10000);
}

Result<std::unique_ptr<Policy>> parse_policy(ConfigReader& reader, bool top_level) {
  std::string name, type;
  reader.read("name", name);
  reader.read("type", type);
  if (top_level && name.empty()) reader.error("name", "a policy needs a name");
  std::unique_ptr<Policy> policy;
  if (type == "always_sample") {
    policy = std::make_unique<AlwaysSample>();
  } else if (type == "latency") {
    auto p = std::make_unique<Latency>();
    ConfigReader c = reader.child("latency");
    c.read("threshold_ms", p->threshold_ms);
    c.read("upper_threshold_ms", p->upper_ms);
    policy = std::move(p);
  } else if (type == "status_code") {
    auto p = std::make_unique<StatusCode>();
    ConfigReader c = reader.child("status_code");
    std::vector<std::string> codes;
    c.read("status_codes", codes);
    for (const auto& code : codes) {
      const int n = status_code_of(code);
      if (n < 0) c.error("status_codes", "must be OK, ERROR or UNSET, got " + code);
      p->codes.push_back(n);
    }
    if (codes.empty()) c.error("status_codes", "needs at least one of OK, ERROR, UNSET");
    policy = std::move(p);
  } else if (type == "probabilistic") {
    auto p = std::make_unique<Probabilistic>();
    ConfigReader c = reader.child("probabilistic");
    c.read("sampling_percentage", p->percentage);
    c.read("hash_salt", p->salt);
    if (p->percentage < 0 || p->percentage > 100) {
      c.error("sampling_percentage", "must be 0 to 100");
    }
    policy = std::move(p);
  } else if (type == "string_attribute") {
    auto p = std::make_unique<StringAttribute>();
    ConfigReader c = reader.child("string_attribute");
    bool regex = false;
    int cache = 0;
    c.read("key", p->key);
    c.read("values", p->values);
    c.read("enabled_regex_matching", regex);
    c.read("cache_max_size", cache);  // Go's regex result cache; RE2 needs none
    c.read("invert_match", p->invert);
    if (p->key.empty()) c.error("key", "must be set");
    if (regex) {
      for (const auto& v : p->values) {
        auto re = std::make_unique<RE2>(v, RE2::Quiet);
        if (!re->ok()) c.error("values", "bad regular expression \"" + v + "\": " + re->error());
        p->patterns.push_back(std::move(re));
      }
    }
    policy = std::move(p);
  } else if (type == "numeric_attribute") {
    auto p = std::make_unique<NumericAttribute>();
    ConfigReader c = reader.child("numeric_attribute");
    c.read("key", p->key);
    c.read("min_value", p->min);
    c.read("max_value", p->max);
    c.read("invert_match", p->invert);
    if (p->key.empty()) c.error("key", "must be set");
    policy = std::move(p);
  } else if (type == "rate_limiting") {
    ConfigReader c = reader.child("rate_limiting");
    int64_t rate = 0;
    c.read("spans_per_second", rate);
    if (rate <= 0) c.error("spans_per_second", "must be positive");
    policy = std::make_unique<RateLimiting>(rate);
  } else if (type == "and") {
    auto p = std::make_unique<And>();
    ConfigReader c = reader.child("and");
    for (ConfigReader& sub : c.items("and_sub_policy")) {
      auto s = parse_policy(sub, false);
      if (s.ok()) p->subs.push_back(std::move(*s));
    }
    if (p->subs.empty()) c.error("and_sub_policy", "needs sub-policies");
    policy = std::move(p);
  } else if (type == "composite") {
    auto p = std::make_unique<Composite>();
    ConfigReader c = reader.child("composite");
    int64_t total = 0;
    std::vector<std::string> order;
    c.read("max_total_spans_per_second", total);
    c.read("policy_order", order);
    if (total <= 0) c.error("max_total_spans_per_second", "must be positive");
    std::map<std::string, std::unique_ptr<Policy>> by_name;
    for (ConfigReader& sub : c.items("composite_sub_policy")) {
      auto s = parse_policy(sub, true);
      if (s.ok()) by_name[(*s)->name()] = std::move(*s);
    }
    std::map<std::string, double> percent;
    for (ConfigReader& a : c.items("rate_allocation")) {
      std::string policy_name;
      double pct = 0;
      a.read("policy", policy_name);
      a.read("percent", pct);
      percent[policy_name] = pct;
    }
    for (const auto& n : order) {
      auto it = by_name.find(n);
      if (it == by_name.end()) {
        c.error("policy_order", "names " + n + ", which is not a composite_sub_policy");
        continue;
      }
      // A sub-policy without an allocation shares what the others leave (as in Go).
      double pct = percent.count(n) != 0 ? percent[n] : 0;
      if (percent.count(n) == 0) {
        double used = 0;
        for (const auto& [k, v] : percent) used += v;
        pct = std::max(0.0, 100 - used);
      }
      p->subs.push_back({std::move(it->second), std::make_unique<SpanBudget>(static_cast<int64_t>(
                                                    static_cast<double>(total) * pct / 100))});
    }
    policy = std::move(p);
  } else if (type == "wasm") {
    auto p = std::make_unique<WasmPolicy>();
    weft::wasm::load_plugin_settings(reader, p->settings);
    policy = std::move(p);
  } else if (type.empty()) {
    reader.error("type", "a policy needs a type");
    return Status::invalid_argument("no type");
  } else {
    reader.error("type", "\"" + type +
                             "\" is not supported by weft (always_sample, latency, status_code, "
                             "probabilistic, string_attribute, numeric_attribute, rate_limiting, "
                             "and, composite, wasm are)");
    return Status::invalid_argument("unsupported type");
  }
  policy->name_ = name.empty() ? type : name;
  return policy;
}

}  // namespace weft::processors::tail_sampling
