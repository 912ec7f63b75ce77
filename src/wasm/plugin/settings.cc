#include "wasm/plugin/settings.h"

#include <cstdlib>
#include <filesystem>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "pkg/reference.h"
#include "util/yaml_json.h"
#include "wasm/plugin/directory.h"

namespace weft::wasm {

Status PluginFactory::check(const ComponentConfig& config, const std::set<Signal>& signals) const {
  const PluginSettings& settings = cast(config).plugin;
  if (!settings.shadow_path.empty()) {
    PluginSettings candidate = settings;
    candidate.path = settings.shadow_path;
    if (settings.shadow_config_json) candidate.config_json = *settings.shadow_config_json;
    if (Status s = check_plugin(candidate, signals); !s.is_ok()) {
      return Status::invalid_argument("shadow: " + s.message());
    }
  }
  return check_plugin(settings, signals);
}

void PluginFactory::load(ConfigReader& reader, PluginConfig& config) const {
  load_plugin_settings(reader, config.plugin, nullptr, kind() == ComponentKind::kProcessor);
}

Status check_plugin(PluginSettings settings, const std::set<Signal>& signals) {
  auto engine = shared_engine();
  if (!engine.ok()) return engine.status();
  settings.signals = signals;
  settings.watch_interval = std::chrono::milliseconds(0);
  telemetry::Registry registry;
  ComponentContext ctx{
      "check", &registry,
      std::make_shared<spdlog::logger>("check", std::make_shared<spdlog::sinks::null_sink_mt>()),
      nullptr};
  auto plugin = Plugin::load(engine.value(), std::move(settings), ctx);
  return plugin.ok() ? Status::ok() : plugin.status();
}

namespace {

// A change factor: 5, 5x or "5x"; 0 turns the measure off.
void read_factor(ConfigReader& reader, std::string_view key, double& out) {
  if (!reader.has(key)) return;
  std::string text;
  reader.read(key, text);
  if (!text.empty() && (text.back() == 'x' || text.back() == 'X')) text.pop_back();
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || v < 0 || (v > 0 && v <= 1)) {
    reader.error(key, "must be a factor above 1 (\"5x\"), or 0 to turn it off");
    return;
  }
  out = v;
}

// anomaly: {drop_ratio_change, error_rate_change, latency_change, window, min_calls,
// on_anomaly}; on_anomaly may also stand beside it.
void read_anomaly(ConfigReader& reader, AnomalySettings& a) {
  std::string on_anomaly;
  reader.read("on_anomaly", on_anomaly);
  if (!reader.has("anomaly")) {
    if (!on_anomaly.empty()) reader.error("on_anomaly", "needs anomaly: {...} (the thresholds)");
    return;
  }
  a.enabled = true;
  ConfigReader anomaly = reader.child("anomaly");
  read_factor(anomaly, "drop_ratio_change", a.drop_ratio_change);
  read_factor(anomaly, "error_rate_change", a.error_rate_change);
  read_factor(anomaly, "latency_change", a.latency_change);
  std::chrono::nanoseconds window = a.window;
  anomaly.read_duration("window", window);
  a.window = std::chrono::duration_cast<std::chrono::milliseconds>(window);
  if (a.window.count() <= 0) anomaly.error("window", "must be greater than 0");
  anomaly.read("min_calls", a.min_calls);
  if (a.min_calls == 0) anomaly.error("min_calls", "must be at least 1");
  anomaly.read("on_anomaly", on_anomaly);
  if (on_anomaly == "rollback") {
    a.rollback = true;
  } else if (!on_anomaly.empty() && on_anomaly != "log") {
    reader.error("on_anomaly", "must be log or rollback, got \"" + on_anomaly + "\"");
  }
}

}  // namespace

void load_plugin_settings(ConfigReader& reader, PluginSettings& p,
                          std::vector<std::string>* http_origins, bool processor) {
  if (!processor) {
    for (const char* key : {"shadow", "anomaly", "on_anomaly"}) {
      if (reader.has(key)) {
        (void)reader.read_node(key);
        reader.error(key, "is for a wasm processor");
      }
    }
  }
  reader.read("plugin", p.path);
  const bool package = is_package_path(p.path);
  if (p.path.empty()) {
    reader.error("plugin", "must name the plugin's .wasm file or package");
  } else if (pkg::is_package_reference(p.path)) {
    if (auto ref = pkg::Reference::parse(p.path); !ref.ok()) {
      reader.error("plugin", ref.status().message());
    }
  } else if (!package && !std::filesystem::is_regular_file(p.path)) {
    reader.error("plugin", "no such file \"" + p.path + "\"");
  }
  if (reader.has("config")) {
    YAML::Node node = reader.read_node("config");
    if (!node.IsNull() && !node.IsMap()) reader.error("config", "must be a map");
    p.config_json = yaml_to_json(node.IsNull() ? YAML::Node(YAML::NodeType::Map) : node);
  }
  ConfigReader limits = reader.child("limits");
  limits.read_size("memory", p.limits.memory_bytes);
  limits.read_size("state", p.state_bytes);
  limits.read_size("module_size", p.module_bytes);
  auto read_ms = [&limits](const char* key, std::chrono::milliseconds& out) {
    std::chrono::nanoseconds value = out;
    limits.read_duration(key, value);
    out = std::chrono::duration_cast<std::chrono::milliseconds>(value);
    if (out.count() < 1) limits.error(key, "must be at least 1ms");
  };
  read_ms("timeout", p.limits.timeout);
  read_ms("start_timeout", p.limits.start_timeout);
  if (p.limits.memory_bytes < (1 << 16)) limits.error("memory", "must be at least 64KiB");
  if (p.limits.memory_bytes > kMaxInstanceMemory) {
    limits.error("memory", "must be at most " + std::to_string(kMaxInstanceMemory >> 20) + "MiB");
  }
  limits.read("log_rate", p.log_rate);
  if (p.log_rate < 0)
    limits.error("log_rate", "must be 0 (no plugin logs) or more lines per second");
  limits.read("log_burst", p.log_burst);
  if (p.log_burst < 1) limits.error("log_burst", "must be at least 1 line");
  uint64_t series = p.metric_series;
  limits.read("metric_series", series);
  if (series < 1 || series > 1000000) limits.error("metric_series", "must be 1 to 1000000");
  p.metric_series = static_cast<uint32_t>(series);
  std::string on_error = "pass";
  reader.read("on_error", on_error);
  if (on_error == "pass") {
    p.on_error = OnError::kPass;
  } else if (on_error == "drop") {
    p.on_error = OnError::kDrop;
  } else if (on_error == "reject") {
    p.on_error = OnError::kReject;
  } else {
    reader.error("on_error", "must be pass, drop or reject, got \"" + on_error + "\"");
  }
  ConfigReader permissions = reader.child("permissions");
  std::vector<std::string> env;
  permissions.read("env", env);
  p.env_allowed.insert(env.begin(), env.end());
  std::vector<std::string> tables;
  permissions.read("tables", tables);
  p.tables_allowed.insert(tables.begin(), tables.end());
  // Secrets the plugin may key hmac_sha256 and HS256 checks with, by name; it never reads them.
  if (reader.has("secrets")) {
    const YAML::Node secrets = reader.read_node("secrets");
    if (!secrets.IsMap()) {
      reader.error("secrets", "must map secret names to their values (${env:...}, ${file:...})");
    } else {
      for (const auto& item : secrets) p.secrets[item.first.Scalar()] = item.second.Scalar();
    }
  }
  if (http_origins != nullptr) {
    permissions.read("http", *http_origins);
  } else if (permissions.has("http")) {
    (void)permissions.read_node("http");
    permissions.error("http", "is for a wasm exporter; this component makes no requests");
  }
  if (permissions.has("files")) {
    (void)permissions.read_node("files");
    permissions.error("files", "is not available in plugin ABI v1 yet");
  }
  if (processor) {
    read_anomaly(reader, p.anomaly);
    if (reader.has("shadow")) {
      ConfigReader shadow = reader.child("shadow");
      shadow.read("plugin", p.shadow_path);
      if (p.shadow_path.empty()) {
        shadow.error("plugin", "must name the candidate's .wasm file");
      } else if (!std::filesystem::is_regular_file(p.shadow_path)) {
        shadow.error("plugin", "no such file \"" + p.shadow_path + "\"");
      }
      if (shadow.has("config")) {
        YAML::Node node = shadow.read_node("config");
        p.shadow_config_json = yaml_to_json(node.IsNull() ? YAML::Node(YAML::NodeType::Map) : node);
      }
    }
  }
  bool watch = true;
  reader.read("watch", watch);
  std::chrono::nanoseconds interval = p.watch_interval;
  reader.read_duration("watch_interval", interval);
  // A package changes through the lock and a reload (POST /plugins/reload), not on disk.
  p.watch_interval = watch && !package
                         ? std::chrono::duration_cast<std::chrono::milliseconds>(interval)
                         : std::chrono::milliseconds(0);
}

}  // namespace weft::wasm
