// filter (C++): drops spans, log records or data points that match any rule; the same
// plugin as plugins/filter/filter.c, written with the C++ SDK.
//
// config: {"drop": [rule, ...]}; a rule holds when all its conditions hold:
//   "name": "x"                 span name / metric name equals x
//   "attribute": "k"            the item's attribute k ...
//   "resource_attribute": "k"   ... or the resource's attribute k
//     with one of: "equals": "v" | "not_equals": "v" | "prefix": "p" | "exists": true|false
//                  "gt": n | "lt": n   (int or double attributes)
//   "severity_below": n         log records with severity_number < n (and > 0)
#include <weft.hpp>

namespace {

constexpr int kMaxRules = 32;
constexpr size_t kMaxText = 128;

enum class Op { none, equals, not_equals, prefix, exists, gt, lt };

struct Rule {
  char name[kMaxText];
  char key[kMaxText];
  bool on_resource;
  Op op;
  char text[kMaxText];
  double number;
  bool exists;
  int severity_below;
};

Rule rules[kMaxRules];
int rule_count = 0;

weft::Status configure(weft::Json config) {
  rule_count = 0;
  weft::Json drop = config["drop"];
  if (!drop.present()) return weft::ok();  // nothing to drop
  if (!drop.is_array()) return weft::error("config.drop must be a list of rules");
  for (weft::Json r : drop) {
    if (rule_count == kMaxRules) return weft::error("config.drop has more than 32 rules");
    Rule& x = rules[rule_count++];
    x = Rule{};
    weft::Json v;
    if ((v = r["name"]).present()) v.string(x.name, kMaxText);
    if ((v = r["attribute"]).present()) v.string(x.key, kMaxText);
    if ((v = r["resource_attribute"]).present()) {
      v.string(x.key, kMaxText);
      x.on_resource = true;
    }
    if ((v = r["equals"]).present()) {
      x.op = Op::equals;
      v.string(x.text, kMaxText);
    } else if ((v = r["not_equals"]).present()) {
      x.op = Op::not_equals;
      v.string(x.text, kMaxText);
    } else if ((v = r["prefix"]).present()) {
      x.op = Op::prefix;
      v.string(x.text, kMaxText);
    } else if ((v = r["exists"]).present()) {
      x.op = Op::exists;
      v.boolean(&x.exists);
    } else if ((v = r["gt"]).present()) {
      x.op = Op::gt;
      v.number(&x.number);
    } else if ((v = r["lt"]).present()) {
      x.op = Op::lt;
      v.number(&x.number);
    }
    double severity = 0;
    if ((v = r["severity_below"]).present() && v.number(&severity)) {
      x.severity_below = static_cast<int>(severity);
    }
    if (x.key[0] && x.op == Op::none) {
      return weft::error(
          "a rule with an attribute needs equals, not_equals, prefix, exists, gt or lt");
    }
    if (!x.key[0] && !x.name[0] && !x.severity_below) {
      return weft::error("a rule needs name, attribute, resource_attribute or severity_below");
    }
  }
  return weft::ok();
}

bool value_matches(const Rule& x, bool found, const weft::Value& v) {
  if (x.op == Op::exists) return found == x.exists;
  if (!found) return x.op == Op::not_equals;
  switch (x.op) {
    case Op::equals:
      return v.is_string() && v.str() == x.text;
    case Op::not_equals:
      return !(v.is_string() && v.str() == x.text);
    case Op::prefix:
      return v.is_string() && v.str().substr(0, std::string_view(x.text).size()) == x.text;
    case Op::gt:
    case Op::lt: {
      double d = 0;
      if (!v.number(&d)) return false;
      return x.op == Op::gt ? d > x.number : d < x.number;
    }
    default:
      return false;
  }
}

bool rule_matches(const Rule& x, weft_signal signal, const weft::Item& item) {
  if (x.name[0] && item.name() != x.name) return false;
  if (x.severity_below) {
    if (signal != WEFT_LOGS) return false;
    const uint64_t severity = item.severity();
    if (severity == 0 || severity >= static_cast<uint64_t>(x.severity_below)) return false;
  }
  if (x.key[0]) {
    weft::Value v;
    const bool found = x.on_resource ? item.resource_attributes().find(x.key, &v)
                                     : item.attributes().find(x.key, &v);
    if (!value_matches(x, found, v)) return false;
  }
  return true;
}

weft::Status process(const weft::Batch& batch) {
  if (rule_count == 0 || batch.size() == 0) return weft::ok();
  weft::KeepMask mask(batch.size());
  if (!mask.valid()) return weft::error("out of memory for the keep-mask");
  for (const weft::Item item : batch.items()) {
    for (int r = 0; r < rule_count; r++) {
      if (rule_matches(rules[r], batch.signal(), item)) {
        mask.drop(item.index());
        break;
      }
    }
  }
  if (mask.dropped() == 0) return weft::ok();  // unchanged: nothing is re-encoded
  weft::counter_add("filter_dropped_items", static_cast<double>(mask.dropped()));
  return mask.submit();
}

}  // namespace

WEFT_CPP_PLUGIN(configure)
WEFT_CPP_PROCESS_TRACES(process)
WEFT_CPP_PROCESS_METRICS(process)
WEFT_CPP_PROCESS_LOGS(process)
