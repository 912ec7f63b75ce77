#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace weft::telemetry {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  [[nodiscard]] uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void set(int64_t v) { value_.store(v, std::memory_order_relaxed); }
  void add(int64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
  [[nodiscard]] int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// A floating-point series, for values plugins report.
class Value {
 public:
  void add(double n) {
    double cur = value_.load(std::memory_order_relaxed);
    while (!value_.compare_exchange_weak(cur, cur + n, std::memory_order_relaxed)) {
    }
  }
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  [[nodiscard]] double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// The collector's own metrics, rendered in the Prometheus text format. Series
// are created once (at component creation) and then updated lock-free.
class Registry {
 public:
  Counter& counter(const std::string& name, const std::string& help, Labels labels);
  Gauge& gauge(const std::string& name, const std::string& help, Labels labels);
  // A floating-point counter (is_counter) or gauge.
  Value& value(const std::string& name, const std::string& help, Labels labels, bool is_counter);
  [[nodiscard]] std::string render() const;

 private:
  struct Family {
    std::string help;
    bool is_counter = true;
    std::map<Labels, std::unique_ptr<Counter>> counters;
    std::map<Labels, std::unique_ptr<Gauge>> gauges;
    std::map<Labels, std::unique_ptr<Value>> values;
  };
  template <class T>
  T& series_in(std::map<Labels, std::unique_ptr<T>> Family::*slots, const std::string& name,
               const std::string& help, Labels labels, bool is_counter);

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
};

}  // namespace weft::telemetry
