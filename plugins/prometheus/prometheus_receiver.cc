// prometheus receiver: the Prometheus text exposition format (version 0.0.4) to OTLP
// metrics, the way the OpenTelemetry–Prometheus compatibility specification maps it. weft
// fetches each target on its schedule; this plugin parses and maps:
//   counter                    a monotonic cumulative Sum
//   gauge, untyped             a Gauge
//   histogram                  a cumulative Histogram: the finite `le` bounds, the buckets
//                              de-cumulated, _sum and _count
//   summary                    a Summary: quantiles, _sum and _count
//   # HELP                     the metric's description
//   the target's job, instance the resource's service.name and service.instance.id, with
//                              server.address, server.port and url.scheme
//   the series' labels         the points' attributes, with the target's labels (a scraped
//                              label that clashes with one becomes exported_<name>)
//   a sample's timestamp       the point's time (else the scrape's)
//   <name>_created             the start time of counters, histograms and summaries (else
//                              the first scrape of the target this plugin saw)
// Which target was fetched comes from weft (request_info: the target's URL); its job and
// labels from the config weft builds from `config.scrape_configs` (src/components/bundled).
// A body that is not the text format is refused with the line and what is wrong with it.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>
#include <weft.hpp>

namespace {

// Label names and values point into the scraped body (or into the scrape's own storage for
// values that had escapes): nothing is copied per sample.
using Labels = std::vector<std::pair<std::string_view, std::string_view>>;

struct Target {
  std::string url, job, instance, scheme;
  std::vector<std::pair<std::string, std::string>> labels;
};
std::vector<Target> targets;

char error_text[256];

weft::Status fail(const char* format, size_t line, std::string_view detail) {
  std::snprintf(error_text, sizeof error_text, format, line, static_cast<int>(detail.size()),
                detail.data());
  return weft::error(error_text);
}

weft::Status configure(weft::Json config) {
  targets.clear();
  for (weft::Json t : config["targets"]) {
    Target target;
    target.url = t["url"].str().value_or("");
    target.job = t["job"].str().value_or("");
    target.instance = t["instance"].str().value_or("");
    target.scheme = t["scheme"].str().value_or("http");
    t["labels"].for_each_member([&](const std::string& key, weft::Json value) {
      target.labels.emplace_back(key, value.str().value_or(""));
    });
    targets.push_back(std::move(target));
  }
  return weft::ok();
}

enum class Type { counter, gauge, histogram, summary, untyped };

// One series of a family: a counter's or gauge's sample, or a histogram's or summary's
// samples that share their labels (apart from le and quantile).
struct Point {
  Labels labels;
  double value = 0;
  int64_t time = 0;                                // ns
  int64_t created = 0;                             // ns, 0 if not given
  std::vector<std::pair<double, double>> buckets;  // le, cumulative count
  std::vector<std::pair<double, double>> quantiles;
  double sum = 0, count = 0;
  bool has_sum = false, has_count = false;
};

struct Family {
  std::string name, help;
  Type type = Type::untyped;
  std::vector<Point> points;
  std::unordered_map<std::string, size_t> by_labels;
};

bool name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool name_char(char c) {
  return name_start(c) || (c >= '0' && c <= '9');
}

void skip_blanks(std::string_view s, size_t& i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
}

std::string_view token(std::string_view s, size_t& i) {
  skip_blanks(s, i);
  const size_t start = i;
  while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
  return s.substr(start, i - start);
}

// A float as the format writes it: decimal or exponent notation, NaN, +Inf, -Inf.
bool parse_value(std::string_view text, double& out) {
  if (text.empty() || text.size() > 63) return false;
  char buf[64];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = 0;
  char* end = nullptr;
  out = std::strtod(buf, &end);
  return end == buf + text.size();
}

// A timestamp in milliseconds, within what nanoseconds in an int64 can hold.
bool parse_int(std::string_view text, int64_t& out) {
  double d = 0;
  if (!parse_value(text, d) || !std::isfinite(d) || std::fabs(d) > 9.2e12) return false;
  out = static_cast<int64_t>(d);
  return true;
}

// `{name="value",...}` from s[i] (at '{'); label values with escapes (\\, \", \n) are
// unescaped into `owned`.
bool parse_labels(std::string_view s, size_t& i, Labels& out, std::deque<std::string>& owned) {
  ++i;
  while (true) {
    skip_blanks(s, i);
    if (i < s.size() && s[i] == '}') {
      ++i;
      return true;
    }
    const size_t start = i;
    if (i >= s.size() || !name_start(s[i])) return false;
    while (i < s.size() && name_char(s[i])) ++i;
    const std::string_view name = s.substr(start, i - start);
    skip_blanks(s, i);
    if (i >= s.size() || s[i] != '=') return false;
    ++i;
    skip_blanks(s, i);
    if (i >= s.size() || s[i] != '"') return false;
    const size_t value_start = ++i;
    bool escaped = false;
    while (i < s.size() && s[i] != '"') {
      if (s[i] == '\\' && i + 1 < s.size()) {
        escaped = true;
        ++i;
      }
      ++i;
    }
    if (i >= s.size()) return false;
    std::string_view value = s.substr(value_start, i - value_start);
    ++i;
    if (escaped) {
      std::string& text = owned.emplace_back();
      for (size_t k = 0; k < value.size(); ++k) {
        if (value[k] == '\\' && k + 1 < value.size()) {
          ++k;
          text.push_back(value[k] == 'n' ? '\n' : value[k]);
        } else {
          text.push_back(value[k]);
        }
      }
      value = text;
    }
    if (!value.empty()) out.emplace_back(name, value);  // an empty value is no label
    skip_blanks(s, i);
    if (i < s.size() && s[i] == ',') ++i;
  }
}

std::string unescape_help(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      ++i;
      out.push_back(s[i] == 'n' ? '\n' : s[i]);
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() > suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

class Scrape {
 public:
  Scrape(const Target* target, int64_t now) : target_(target), now_(now) {}

  weft::Status parse(std::string_view body) {
    size_t line_no = 0;
    while (!body.empty()) {
      const size_t nl = body.find('\n');
      std::string_view line = body.substr(0, nl);
      body = nl == std::string_view::npos ? std::string_view() : body.substr(nl + 1);
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      size_t i = 0;
      skip_blanks(line, i);
      if (i == line.size()) continue;
      if (line[i] == '#') {
        if (weft::Status s = comment(line.substr(i + 1), line_no); !s.is_ok()) return s;
        continue;
      }
      if (weft::Status s = sample(line, i, line_no); !s.is_ok()) return s;
    }
    return weft::ok();
  }

  // The ExportMetricsServiceRequest: one resource (the target), one scope.
  weft::Proto request() const {
    weft::Proto resource, scope_metrics, scope, resource_metrics, out;
    if (target_ != nullptr) {
      resource.string_attribute(1, "service.name", target_->job);
      resource.string_attribute(1, "service.instance.id", target_->instance);
      const size_t colon = target_->instance.rfind(':');
      if (colon != std::string::npos) {
        std::string host = target_->instance.substr(0, colon);
        if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
        resource.string_attribute(1, "server.address", host);
        resource.string_attribute(1, "server.port", target_->instance.substr(colon + 1));
      }
      resource.string_attribute(1, "url.scheme", target_->scheme);
    }
    scope.string(1, "weft/prometheus");
    scope_metrics.message(1, scope);
    for (const Family& f : families_) {
      if (!f.points.empty()) scope_metrics.message(2, metric(f));
    }
    resource_metrics.message(1, resource).message(2, scope_metrics);
    out.message(1, resource_metrics);
    return out;
  }

  [[nodiscard]] size_t series() const { return series_; }
  // The start time of points without a _created sample.
  void set_start(int64_t start) { start_ = start; }

 private:
  weft::Status comment(std::string_view rest, size_t line_no) {
    size_t i = 0;
    const std::string_view keyword = token(rest, i);
    if (keyword != "HELP" && keyword != "TYPE") return weft::ok();  // a plain comment
    const std::string_view name = token(rest, i);
    if (name.empty() || !name_start(name[0])) {
      return fail("line %zu: # %.*s without a metric name", line_no, keyword);
    }
    skip_blanks(rest, i);
    Family& f = family(name);
    if (keyword == "HELP") {
      f.help = unescape_help(rest.substr(i));
      return weft::ok();
    }
    const std::string_view type = token(rest, i);
    if (type == "counter") {
      f.type = Type::counter;
    } else if (type == "gauge") {
      f.type = Type::gauge;
    } else if (type == "histogram") {
      f.type = Type::histogram;
    } else if (type == "summary") {
      f.type = Type::summary;
    } else if (type == "untyped" || type == "unknown") {
      f.type = Type::untyped;
    } else {
      return fail("line %zu: unknown metric type \"%.*s\"", line_no, type);
    }
    return weft::ok();
  }

  Family& family(std::string_view name) {
    auto it = index_.find(name);
    if (it != index_.end()) return families_[it->second];
    families_.emplace_back();
    families_.back().name = std::string(name);
    index_.emplace(families_.back().name, families_.size() - 1);  // a deque: names stay put
    return families_.back();
  }

  Family* declared(std::string_view name, Type a, Type b) {
    auto it = index_.find(name);
    if (it == index_.end()) return nullptr;
    Family& f = families_[it->second];
    return f.type == a || f.type == b ? &f : nullptr;
  }

  weft::Status sample(std::string_view line, size_t i, size_t line_no) {
    const size_t start = i;
    if (!name_start(line[i])) return fail("line %zu: expected a metric name: %.*s", line_no, line);
    while (i < line.size() && name_char(line[i])) ++i;
    const std::string_view name = line.substr(start, i - start);
    Labels labels;
    skip_blanks(line, i);
    if (i < line.size() && line[i] == '{' && !parse_labels(line, i, labels, owned_)) {
      return fail("line %zu: malformed labels: %.*s", line_no, line);
    }
    double value = 0;
    const std::string_view value_text = token(line, i);
    if (!parse_value(value_text, value)) {
      return fail("line %zu: not a sample value: %.*s", line_no, line);
    }
    int64_t time = now_;
    const std::string_view ts_text = token(line, i);
    if (!ts_text.empty()) {
      int64_t ms = 0;
      if (!parse_int(ts_text, ms)) return fail("line %zu: not a timestamp: %.*s", line_no, line);
      time = ms * 1000000;
    }
    skip_blanks(line, i);
    if (i != line.size())
      return fail("line %zu: unexpected text after the sample: %.*s", line_no, line);

    // Which family the sample belongs to, and in what role (most samples: the last one's).
    Family* f = nullptr;
    std::string_view role;
    if (last_ != nullptr && name == last_->name && (last_->type != Type::histogram)) {
      f = last_;
    }
    for (std::string_view suffix : {"_bucket", "_sum", "_count", "_created"}) {
      if (f != nullptr) break;
      if (!ends_with(name, suffix)) continue;
      const std::string_view base = name.substr(0, name.size() - suffix.size());
      if (suffix == "_bucket") {
        f = declared(base, Type::histogram, Type::histogram);
      } else if (suffix == "_created") {
        f = declared(base, Type::histogram, Type::summary);
        if (f == nullptr) f = declared(base, Type::counter, Type::counter);
        if (f == nullptr) {  // `# TYPE foo_total counter` with `foo_created`, as clients write
          f = declared(std::string(base) + "_total", Type::counter, Type::counter);
        }
        if (f == nullptr && ends_with(base, "_total")) {
          f = declared(base.substr(0, base.size() - 6), Type::counter, Type::counter);
        }
      } else {
        f = declared(base, Type::histogram, Type::summary);
      }
      if (f != nullptr) {
        role = suffix;
        break;
      }
    }
    if (f == nullptr && ends_with(name, "_total")) {
      f = declared(name.substr(0, name.size() - 6), Type::counter, Type::counter);  // OpenMetrics
    }
    if (f == nullptr) f = &family(name);
    last_ = f;

    double bound = 0;
    if (role == "_bucket" || (f->type == Type::summary && role.empty())) {
      const char* key = role == "_bucket" ? "le" : "quantile";
      bool found = false;
      for (size_t k = 0; k < labels.size(); ++k) {
        if (labels[k].first != key) continue;
        if (!parse_value(labels[k].second, bound)) {
          return fail("line %zu: a bad bound: %.*s", line_no, line);
        }
        labels.erase(labels.begin() + static_cast<std::ptrdiff_t>(k));
        found = true;
        break;
      }
      if (!found) return fail("line %zu: no le or quantile label: %.*s", line_no, line);
    }
    if (role == "_created" && !(std::isfinite(value) && value > 0 && value < 9.2e9)) {
      return weft::ok();  // not a time in seconds since the epoch: no start time
    }
    if (role == "_created" && f->type == Type::counter) {
      // A counter's points are not keyed: its own sample came just before, as a rule.
      for (auto it = f->points.rbegin(); it != f->points.rend(); ++it) {
        if (it->labels == labels) {
          it->created = static_cast<int64_t>(value * 1e9);
          break;
        }
      }
      return weft::ok();  // a _created without its counter says nothing
    }
    Point& p = point(*f, std::move(labels), time);
    if (role == "_bucket") {
      p.buckets.emplace_back(bound, value);
    } else if (role == "_sum") {
      p.sum = value;
      p.has_sum = true;
    } else if (role == "_count") {
      p.count = value;
      p.has_count = true;
    } else if (role == "_created") {
      p.created = static_cast<int64_t>(value * 1e9);
    } else if (f->type == Type::summary) {
      p.quantiles.emplace_back(bound, value);
    } else {
      p.value = value;
    }
    return weft::ok();
  }

  Point& point(Family& f, Labels labels, int64_t time) {
    if (f.type != Type::histogram && f.type != Type::summary) {  // one sample, one point
      f.points.emplace_back();
      Point& p = f.points.back();
      p.labels = std::move(labels);
      p.time = time;
      ++series_;
      return p;
    }
    std::string key;
    for (const auto& [k, v] : labels) {
      key.append(k).push_back('\x01');
      key.append(v).push_back('\x02');
    }
    auto it = f.by_labels.find(key);
    if (it != f.by_labels.end()) return f.points[it->second];
    f.by_labels.emplace(std::move(key), f.points.size());
    f.points.emplace_back();
    Point& p = f.points.back();
    p.labels = std::move(labels);
    p.time = time;
    ++series_;
    return p;
  }

  // The point's attributes: its labels (job, instance and the target's own labels renamed
  // to exported_<name>), then the target's labels.
  void attributes(weft::Proto& point, uint32_t field, const Labels& labels) const {
    for (const auto& [k, v] : labels) {
      bool clash = k == "job" || k == "instance";
      if (target_ != nullptr) {
        for (const auto& tl : target_->labels) clash = clash || tl.first == k;
      }
      if (clash) {
        point.string_attribute(field, std::string("exported_").append(k), v);
      } else {
        point.string_attribute(field, k, v);
      }
    }
    if (target_ != nullptr) {
      for (const auto& [k, v] : target_->labels) point.string_attribute(field, k, v);
    }
  }

  [[nodiscard]] int64_t start_of(const Point& p) const {
    return p.created != 0 ? p.created : start_;
  }

  weft::Proto metric(const Family& f) const {
    weft::Proto m, data;
    m.string(1, f.name);
    if (!f.help.empty()) m.string(2, f.help);
    switch (f.type) {
      case Type::counter:
      case Type::gauge:
      case Type::untyped:
        for (const Point& p : f.points) {
          weft::Proto dp;
          attributes(dp, 7, p.labels);
          if (f.type == Type::counter) dp.fixed64(2, static_cast<uint64_t>(start_of(p)));
          dp.fixed64(3, static_cast<uint64_t>(p.time)).number(4, p.value);
          data.message(1, dp);
        }
        if (f.type == Type::counter) {
          data.varint(2, 2).varint(3, 1);  // cumulative, monotonic
          m.message(7, data);
        } else {
          m.message(5, data);
        }
        break;
      case Type::histogram:
        for (const Point& p : f.points) histogram_point(data, p);
        data.varint(2, 2);
        m.message(9, data);
        break;
      case Type::summary:
        for (const Point& p : f.points) {
          weft::Proto dp;
          attributes(dp, 7, p.labels);
          dp.fixed64(2, static_cast<uint64_t>(start_of(p)))
              .fixed64(3, static_cast<uint64_t>(p.time));
          dp.fixed64(4, static_cast<uint64_t>(std::llround(p.count))).number(5, p.sum);
          for (const auto& [q, v] : p.quantiles) {
            weft::Proto qv;
            qv.number(1, q).number(2, v);
            dp.message(6, qv);
          }
          data.message(1, dp);
        }
        m.message(11, data);
        break;
    }
    return m;
  }

  void histogram_point(weft::Proto& data, const Point& p) const {
    std::vector<std::pair<double, double>> buckets = p.buckets;
    std::sort(buckets.begin(), buckets.end());
    std::vector<double> bounds;
    std::vector<uint64_t> counts;
    double below = 0, total = p.has_count ? p.count : 0;
    for (const auto& [le, cumulative] : buckets) {
      if (std::isinf(le)) {
        if (!p.has_count) total = cumulative;
        continue;
      }
      bounds.push_back(le);
      counts.push_back(static_cast<uint64_t>(std::llround(std::max(0.0, cumulative - below))));
      below = std::max(below, cumulative);
    }
    counts.push_back(static_cast<uint64_t>(std::llround(std::max(0.0, total - below))));
    weft::Proto dp;
    attributes(dp, 9, p.labels);
    dp.fixed64(2, static_cast<uint64_t>(start_of(p))).fixed64(3, static_cast<uint64_t>(p.time));
    dp.fixed64(4, static_cast<uint64_t>(std::llround(total)));
    if (p.has_sum) dp.number(5, p.sum);
    dp.packed_fixed64(6, counts).packed_double(7, bounds);
    data.message(1, dp);
  }

 private:
  const Target* target_;
  int64_t now_;
  std::deque<Family> families_;
  std::unordered_map<std::string_view, size_t> index_;
  std::deque<std::string> owned_;  // label values that had escapes
  size_t series_ = 0;
  int64_t start_ = 0;
  Family* last_ = nullptr;
};

// The first time this plugin scraped the target (kept in the state across reloads).
int64_t first_scrape(const std::string& url, int64_t now) {
  const std::string key = "start " + url;
  int64_t start = 0;
  if (weft::kv_get(key.c_str(), &start, sizeof start) == static_cast<int>(sizeof start)) {
    return start;
  }
  weft::kv_set(key.c_str(), std::string_view(reinterpret_cast<const char*>(&now), sizeof now));
  return now;
}

weft::Status receive(std::string_view body) {
  const std::string url = weft::request_info(weft::RequestInfo::target).value_or("");
  const Target* target = nullptr;
  for (const Target& t : targets) {
    if (t.url == url) target = &t;
  }
  const int64_t now = weft::now_unix_nano();
  Scrape scrape(target, now);
  if (weft::Status s = scrape.parse(body); !s.is_ok()) return s;
  if (scrape.series() == 0) return weft::ok();
  scrape.set_start(first_scrape(url, now));
  if (weft::emit(weft::Signal::metrics, scrape.request()) != 0) {
    return weft::error("weft refused the metrics");
  }
  return weft::ok();
}

}  // namespace

WEFT_CPP_PLUGIN(configure)
WEFT_CPP_RECEIVE(receive)
