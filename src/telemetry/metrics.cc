#include "weft/metrics.h"

#include <algorithm>
#include <cstdio>

namespace weft::telemetry {
namespace {

std::string escape(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

std::string series(const std::string& name, const Labels& labels) {
  std::string out = name;
  if (labels.empty()) return out;
  out.push_back('{');
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out.push_back(',');
    out += labels[i].first + "=\"" + escape(labels[i].second) + "\"";
  }
  out.push_back('}');
  return out;
}

std::string fmt_double(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

template <class T>
T& Registry::series_in(std::map<Labels, std::unique_ptr<T>> Family::*slots, const std::string& name,
                       const std::string& help, Labels labels, bool is_counter) {
  std::sort(labels.begin(), labels.end());
  std::lock_guard lock(mu_);
  Family& family = families_[name];
  family.help = help;
  family.is_counter = is_counter;
  auto& slot = (family.*slots)[labels];
  if (!slot) slot = std::make_unique<T>();
  return *slot;
}

Counter& Registry::counter(const std::string& name, const std::string& help, Labels labels) {
  return series_in(&Family::counters, name, help, std::move(labels), true);
}

Gauge& Registry::gauge(const std::string& name, const std::string& help, Labels labels) {
  return series_in(&Family::gauges, name, help, std::move(labels), false);
}

Value& Registry::value(const std::string& name, const std::string& help, Labels labels,
                       bool is_counter) {
  return series_in(&Family::values, name, help, std::move(labels), is_counter);
}

std::string Registry::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, family] : families_) {
    out += "# HELP " + name + " " + family.help + "\n";
    out += "# TYPE " + name + (family.is_counter ? " counter\n" : " gauge\n");
    for (const auto& [labels, counter] : family.counters) {
      out += series(name, labels) + " " + std::to_string(counter->value()) + "\n";
    }
    for (const auto& [labels, gauge] : family.gauges) {
      out += series(name, labels) + " " + std::to_string(gauge->value()) + "\n";
    }
    for (const auto& [labels, value] : family.values) {
      out += series(name, labels) + " " + fmt_double(value->value()) + "\n";
    }
  }
  return out;
}

}  // namespace weft::telemetry
