#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "pdata/otlp_json.h"
#include "pkg/json.h"
#include "pkg/store.h"
#include "tools/common.h"
#include "tools/loaded_plugin.h"
#include "tools/located.h"
#include "tools/package_tool.h"
#include "tools/plugin_tool.h"

namespace weft::tools {

namespace {

namespace fs = std::filesystem;

// OTLP/JSON requests shaped to stress a plugin: `items` items of the signal, each with
// `attrs` string attributes of `value_size` bytes, the first of them nested `depth` deep.
std::string hostile_request(Signal signal, int items, int attrs, size_t value_size, int depth) {
  // Text in one-, two-, three- and four-byte UTF-8, a quote and a backslash.
  std::string value;
  while (value.size() < value_size) value += "ab \"\\ é € 𝄞 ";
  std::string attributes = "[";
  for (int a = 0; a < attrs; ++a) {
    std::string v = "{\"stringValue\":" + pkg::json_quote(value) + "}";
    if (a == 0) {
      for (int d = 0; d < depth; ++d) {
        v = "{\"kvlistValue\":{\"values\":[{\"key\":\"level" + std::to_string(d) +
            "\",\"value\":" + v + "}]}}";
      }
    }
    attributes += std::string(a ? "," : "") + "{\"key\":\"attr." + std::to_string(a) +
                  "\",\"value\":" + v + "}";
  }
  attributes += "]";
  char id[64];
  std::string list;
  for (int i = 0; i < items; ++i) {
    if (i) list += ",";
    switch (signal) {
      case Signal::kTraces:
        std::snprintf(id, sizeof id, "%032x", i + 1);
        list += std::string("{\"traceId\":\"") + id + "\",";
        std::snprintf(id, sizeof id, "%016x", i + 1);
        list += std::string("\"spanId\":\"") + id + "\",\"name\":\"op-" + std::to_string(i) +
                "\",\"kind\":2,\"startTimeUnixNano\":\"1000\",\"endTimeUnixNano\":\"2000\","
                "\"attributes\":" +
                attributes + "}";
        break;
      case Signal::kMetrics:
        list += "{\"name\":\"m" + std::to_string(i) +
                "\",\"sum\":{\"aggregationTemporality\":2,\"isMonotonic\":true,\"dataPoints\":[{"
                "\"asInt\":\"1\",\"timeUnixNano\":\"1000\",\"attributes\":" +
                attributes + "}]}}";
        break;
      case Signal::kLogs:
        list +=
            "{\"timeUnixNano\":\"1000\",\"severityText\":\"INFO\",\"body\":{\"stringValue\":"
            "\"user alice@example.com from 10.0.0.1\"},\"attributes\":" +
            attributes + "}";
        break;
    }
  }
  const char* outer = signal == Signal::kTraces    ? "resourceSpans"
                      : signal == Signal::kMetrics ? "resourceMetrics"
                                                   : "resourceLogs";
  const char* scoped = signal == Signal::kTraces    ? "scopeSpans"
                       : signal == Signal::kMetrics ? "scopeMetrics"
                                                    : "scopeLogs";
  const char* inner = signal == Signal::kTraces    ? "spans"
                      : signal == Signal::kMetrics ? "metrics"
                                                   : "logRecords";
  return std::string("{\"") + outer +
         "\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{"
         "\"stringValue\":\"certify\"}}]},\"" +
         scoped + "\":[{\"scope\":{\"name\":\"certify\"},\"" + inner + "\":[" + list + "]}]}]}";
}

struct HostileCase {
  const char* name;
  int items, attrs;
  size_t value_size;
  int depth;
};
constexpr HostileCase kHostile[] = {
    {"empty", 0, 0, 0, 0},
    {"oversized", 20000, 4, 16, 0},
    {"huge_value", 1, 1, 4 << 20, 0},
    {"deep_nesting", 4, 2, 8, 24},
    {"many_attributes", 8, 2000, 8, 0},
};

// A trap, a timeout or a bad result is a defect; an error status, or the memory cap reached
// on an oversized batch, is a plugin refusing within its limits.
bool survived(const wasm::Outcome& o) {
  if (o.kind != wasm::Outcome::kFailed) return true;
  return o.failure == wasm::Failure::kGuestError || o.failure == wasm::Failure::kMemoryLimit;
}

}  // namespace

int plugin_certify(const CertifyOptions& o, std::ostream& out, std::ostream& err) {
  auto at = locate_package(o.target, o.registry);
  if (!at.ok()) return fail(err, at.status().message());
  auto package = pkg::read_package(*at->layout, at->digest, o.target);
  if (!package.ok()) return fail(err, package.status().message());
  const pkg::PluginMeta& meta = package->meta;
  const std::string config = o.config.empty() ? "{}" : o.config;
  const fs::path module =
      fs::temp_directory_path() / ("weft-certify-" + at->digest.substr(7, 16) + ".wasm");
  if (Status s = pkg::write_file_atomic(module, package->module); !s.is_ok())
    return fail(err, s.message());
  std::ostringstream log;
  bool passed = true;
  std::string results = "{\"tests\":";
  // 1. The plugin's own tests: DIR/<case>/{input,config,expected}.json.
  int cases = 0, failed = 0;
  if (!o.tests.empty()) {
    std::vector<fs::path> dirs;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(o.tests, ec)) {
      if (entry.is_directory() && fs::exists(entry.path() / "input.json")) dirs.push_back(entry);
    }
    std::sort(dirs.begin(), dirs.end());
    if (dirs.empty()) return fail(err, "no test cases in " + o.tests + " (<case>/input.json)", 2);
    for (const auto& c : dirs) {
      PluginTestOptions one;
      one.plugin = module.string();
      one.input = (c / "input.json").string();
      if (fs::exists(c / "config.json")) one.config = (c / "config.json").string();
      if (fs::exists(c / "expected.json")) one.expect = (c / "expected.json").string();
      ++cases;
      std::ostringstream case_out;
      if (plugin_test(one, case_out, log) != 0) {
        ++failed;
        out << "test " << c.filename().string() << ": FAIL\n" << case_out.str();
      } else {
        out << "test " << c.filename().string() << ": ok\n";
      }
    }
    passed = passed && failed == 0;
  }
  results += "{\"cases\":" + std::to_string(cases) + ",\"failed\":" + std::to_string(failed) + "}";
  // 2. Hostile batches, and 3. the cost of a 512-item batch, per signal a processor serves.
  const bool processes =
      std::find(meta.kinds.begin(), meta.kinds.end(), "processor") != meta.kinds.end() ||
      std::find(meta.kinds.begin(), meta.kinds.end(), "connector") != meta.kinds.end();
  std::string hostile = "[", cost = "[";
  for (const auto& signal_text : processes ? meta.signals : std::vector<std::string>{}) {
    const auto signal = signal_from_name(signal_text);
    if (!signal) continue;
    auto loaded = load_plugin(module.string(), config, *signal, log);
    if (!loaded.ok()) {
      fs::remove(module);
      return fail(
          err, "the plugin does not load with config " + config + ": " + loaded.status().message());
    }
    for (const auto& h : kHostile) {
      auto batch = pdata::telemetry_from_json(
          *signal, hostile_request(*signal, h.items, h.attrs, h.value_size, h.depth));
      if (!batch.ok()) return fail(err, std::string(h.name) + ": " + batch.status().message());
      const wasm::Outcome outcome = loaded->plugin->process(batch.value());
      const bool ok = survived(outcome);
      passed = passed && ok;
      const std::string what =
          outcome.kind == wasm::Outcome::kFailed
              ? std::string(wasm::failure_name(outcome.failure)) + ": " + outcome.error
              : (outcome.kind == wasm::Outcome::kDropped ? "dropped" : "kept");
      out << "hostile " << signal_text << " " << h.name << ": " << (ok ? "survived" : "FAILED")
          << " (" << what << ")\n";
      hostile += std::string(hostile.size() > 1 ? "," : "") +
                 "{\"signal\":" + pkg::json_quote(signal_text) +
                 ",\"case\":" + pkg::json_quote(h.name) +
                 ",\"survived\":" + (ok ? "true" : "false") +
                 ",\"outcome\":" + pkg::json_quote(what) + "}";
    }
    auto batch = pdata::telemetry_from_json(*signal, hostile_request(*signal, 512, 8, 24, 0));
    if (!batch.ok()) return fail(err, batch.status().message());
    std::vector<double> us;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (us.size() < 500 && (us.size() < 20 || std::chrono::steady_clock::now() < until)) {
      const auto start = std::chrono::steady_clock::now();
      (void)loaded->plugin->process(batch.value());  // (never changes the batch handed in)
      us.push_back(
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
              .count());
    }
    std::sort(us.begin(), us.end());
    const double median = us[us.size() / 2];
    char line[160];
    std::snprintf(line, sizeof line,
                  "{\"signal\":\"%s\",\"items\":512,\"us_per_batch\":%.1f,"
                  "\"us_per_item\":%.3f,\"runs\":%zu}",
                  signal_text.c_str(), median, median / 512, us.size());
    cost += std::string(cost.size() > 1 ? "," : "") + line;
    std::snprintf(line, sizeof line, "cost %s: %.1f us per 512-item batch (%.3f us per item)\n",
                  signal_text.c_str(), median, median / 512);
    out << line;
  }
  fs::remove(module);
  results += ",\"hostile\":" + hostile + "],\"cost\":" + cost + "]";
  // The in-toto statement, signed as a certification claim about this digest.
  const std::string statement =
      "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":" +
      pkg::json_quote(meta.name) +
      ",\"digest\":{\"sha256\":" + pkg::json_quote(at->digest.substr(7)) +
      "}}],\"predicateType\":\"https://weft.dev/plugin-certification/v1\",\"predicate\":{"
      "\"passed\":" +
      (passed ? "true" : "false") + ",\"weft\":" + pkg::json_quote(WEFT_VERSION) +
      ",\"config\":" + config + ",\"results\":" + results + "}}}";
  pkg::SignedClaims claims;
  claims.digest = at->digest;
  claims.name = meta.name;
  claims.version = meta.version;
  claims.kind = "certification";
  claims.predicate = statement;
  auto doc = pkg::sign_claims(o.key, claims);
  if (!doc.ok()) return fail(err, doc.status().message(), 2);
  if (Status s = attach_to(*at, "att", *doc, o.registry); !s.is_ok()) return fail(err, s.message());
  out << (passed ? "certified " : "NOT certified ") << meta.name << " " << meta.version << " ("
      << at->digest << "); the signed result is attached\n";
  if (!passed && !log.str().empty()) err << log.str();
  return passed ? 0 : 1;
}

}  // namespace weft::tools
