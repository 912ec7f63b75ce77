#include "tools/plugin_tool.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <sstream>
#include <vector>

#include "pdata/otlp_json.h"
#include "tools/common.h"
#include "tools/loaded_plugin.h"
#include "wasm/engine/engine.h"
#include "wasm/plugin/plugin.h"
#include "weft/audit.h"
#include "weft/metrics.h"

namespace weft::tools {
namespace {

// The plugin's own log lines to err; weft's audit lines about loading it are left out.
class PluginLogSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit PluginLogSink(std::ostream& out) : out_(out) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const std::string_view text(msg.payload.data(), msg.payload.size());
    if (text.rfind("audit: ", 0) == 0) return;
    out_ << "plugin " << spdlog::level::to_string_view(msg.level).data() << ": " << text << "\n";
  }
  void flush_() override { out_.flush(); }

 private:
  std::ostream& out_;
};

}  // namespace

Result<LoadedPlugin> load_plugin(const std::string& path, const std::string& config_json,
                                 Signal signal, std::ostream& err) {
  LoadedPlugin loaded;
  loaded.registry = std::make_unique<telemetry::Registry>();
  loaded.audit = std::make_unique<telemetry::AuditLog>("/dev/null");
  if (auto opened = loaded.audit->open(); !opened.is_ok()) return opened;
  auto sink = std::make_shared<PluginLogSink>(err);
  ComponentContext ctx{"test", loaded.registry.get(),
                       std::make_shared<spdlog::logger>("plugin", sink), loaded.audit.get()};
  ctx.logger->set_level(spdlog::level::debug);
  auto engine = wasm::Engine::create({});
  if (!engine.ok()) return engine.status();
  wasm::PluginSettings settings;
  settings.path = path;
  settings.config_json = config_json;
  settings.signals = {signal};
  settings.watch_interval = std::chrono::milliseconds(0);
  auto plugin = wasm::Plugin::load(engine.value(), settings, ctx);
  if (!plugin.ok()) return plugin.status();
  loaded.plugin = plugin.value();
  return loaded;
}

namespace {

// Runs one case; writes the output or the difference. 0 ok, 1 differs/fails, 2 bad input.
int run_case(const PluginTestOptions& o, std::ostream& out, std::ostream& err) {
  auto input = read_text(o.input, err);
  if (!input) return 2;
  const std::optional<Signal> signal = o.signal ? o.signal : signal_of(*input);
  if (!signal) {
    err << "error: " << o.input
        << ": not an OTLP/JSON request (no resourceSpans, resourceMetrics or resourceLogs)\n";
    return 2;
  }
  auto batch = pdata::telemetry_from_json(*signal, *input);
  if (!batch.ok()) {
    err << "error: " << o.input << ": " << batch.status().message() << "\n";
    return 2;
  }
  std::string config = "{}";
  if (!o.config.empty()) {
    auto text = read_text(o.config, err);
    if (!text) return 2;
    google::protobuf::Struct parsed;
    if (!parse_json_object(*text, parsed)) {
      err << "error: " << o.config << ": not a JSON object\n";
      return 2;
    }
    config = *text;
  }
  auto loaded = load_plugin(o.plugin, config, *signal, err);
  if (!loaded.ok()) {
    err << "error: cannot load the plugin: " << loaded.status().message() << "\n";
    return 1;
  }
  wasm::Outcome outcome = loaded.value().plugin->process(batch.value());
  if (outcome.kind == wasm::Outcome::kFailed) {
    err << "error: the plugin failed on " << o.input << ": " << outcome.error << "\n";
    return 1;
  }
  pdata::Telemetry empty = std::move(pdata::Telemetry::from_wire(*signal, "")).value();
  const pdata::Telemetry& result = outcome.kind == wasm::Outcome::kDropped ? empty
                                   : outcome.output                        ? *outcome.output
                                                                           : batch.value();
  auto json = pdata::telemetry_to_json(result, true);
  if (!json.ok()) {
    err << "error: " << json.status().message() << "\n";
    return 1;
  }
  for (const auto& emitted : outcome.emitted) {
    auto e = pdata::telemetry_to_json(emitted, true);
    err << "emitted " << signal_name(emitted.signal()) << ":\n" << (e.ok() ? e.value() : "?\n");
  }
  if (o.expect.empty()) {
    out << json.value() << "\n";
    return 0;
  }
  auto expected_text = read_text(o.expect, err);
  if (!expected_text) return 2;
  auto expected = pdata::telemetry_from_json(*signal, *expected_text);
  if (!expected.ok()) {
    err << "error: " << o.expect << ": " << expected.status().message() << "\n";
    return 2;
  }
  auto expected_json = pdata::telemetry_to_json(expected.value(), true);
  if (!expected_json.ok()) {
    err << "error: " << o.expect << ": " << expected_json.status().message() << "\n";
    return 2;
  }
  if (expected_json.value() == json.value()) {
    out << "ok: " << o.input << ": " << result.item_count() << " of " << batch.value().item_count()
        << " items out (" << signal_name(*signal) << "), as expected\n";
    return 0;
  }
  out << "FAIL: the output of " << o.input << " differs from " << o.expect
      << " (- expected, + output):\n"
      << line_diff(expected_json.value(), json.value());
  return 1;
}

}  // namespace

int plugin_test(const PluginTestOptions& options, std::ostream& out, std::ostream& err) {
  if (!options.plugin.empty() || !options.input.empty()) {
    if (options.plugin.empty() || options.input.empty()) {
      err << "error: give both --plugin and --input (or neither, in a plugin project)\n";
      return 2;
    }
    return run_case(options, out, err);
  }
  // In a plugin project: every case in testdata/ against the built module.
  auto manifest_text = read_text(kManifest, err);
  if (!manifest_text) {
    err << "error: no --plugin/--input given and no " << kManifest
        << " here (make a project with `weft plugin new`)\n";
    return 2;
  }
  google::protobuf::Struct manifest;
  if (!parse_json_object(*manifest_text, manifest) || string_field(manifest, "name").empty()) {
    err << "error: " << kManifest << " is not a manifest with a name\n";
    return 2;
  }
  const std::string wasm = string_field(manifest, "name") + ".wasm";
  if (!fs::exists(wasm)) {
    err << "error: " << wasm << " is not built yet: run `weft plugin build`\n";
    return 2;
  }
  std::vector<fs::path> cases;
  if (fs::is_directory("testdata")) {
    for (const auto& entry : fs::directory_iterator("testdata")) {
      if (entry.is_directory() && fs::exists(entry.path() / "input.json"))
        cases.push_back(entry.path());
    }
  }
  std::sort(cases.begin(), cases.end());
  if (cases.empty()) {
    err << "error: no test cases: testdata/<case>/input.json (with config.json and "
           "expected.json)\n";
    return 2;
  }
  int failed = 0;
  for (const auto& c : cases) {
    PluginTestOptions one;
    one.plugin = wasm;
    one.input = (c / "input.json").string();
    if (fs::exists(c / "config.json")) one.config = (c / "config.json").string();
    if (fs::exists(c / "expected.json")) one.expect = (c / "expected.json").string();
    if (run_case(one, out, err) != 0) ++failed;
  }
  out << (failed == 0 ? "PASS" : "FAIL") << ": " << cases.size() - failed << " of " << cases.size()
      << " cases\n";
  return failed == 0 ? 0 : 1;
}

}  // namespace weft::tools
