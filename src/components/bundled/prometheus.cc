// The prometheus receiver and the prometheusremotewrite exporter: bundled plugin-backed
// components (docs/architecture.md, "Bundled plugin-backed components"). The receiver:
// weft fetches every target of `config.scrape_configs` on its job's schedule and
// plugins/prometheus (C++) parses the text exposition format into OTLP. The exporter:
// plugins/prometheusremotewrite (Rust) encodes remote-write requests, which weft compresses
// with snappy and sends. The settings are the Go collector's; the ones weft does not have
// are refused by name.
#include <set>

#include "components/bundled/bundled.h"
#include "util/yaml_json.h"
#include "weft/config_reader.h"

namespace weft::bundled::prometheus {
namespace {

// Prometheus settings that real configurations use and weft does not have yet: refused with
// a message that says so rather than as unknown keys.
constexpr const char* kUnsupportedJobSettings[] = {"relabel_configs",
                                                   "metric_relabel_configs",
                                                   "kubernetes_sd_configs",
                                                   "file_sd_configs",
                                                   "dns_sd_configs",
                                                   "consul_sd_configs",
                                                   "ec2_sd_configs",
                                                   "http_sd_configs",
                                                   "tls_config",
                                                   "basic_auth",
                                                   "authorization",
                                                   "oauth2",
                                                   "proxy_url",
                                                   "params",
                                                   "sample_limit",
                                                   "label_limit",
                                                   "enable_http2",
                                                   "follow_redirects"};

std::string labels_json(const std::map<std::string, std::string>& labels) {
  std::string out = "{";
  for (const auto& [k, v] : labels) {
    out += (out.size() > 1 ? "," : "") + json_quote(k) + ":" + json_quote(v);
  }
  return out + "}";
}

// receivers: prometheus: config: {global: {scrape_interval, scrape_timeout},
//   scrape_configs: [{job_name, scrape_interval, scrape_timeout, metrics_path, scheme,
//   honor_labels (false only), static_configs: [{targets, labels}]}]}
class PrometheusReceiverFactory final : public ReceiverFactory {
 public:
  PrometheusReceiverFactory()
      : ReceiverFactory("prometheus", {Signal::kMetrics}, "prometheus_receiver.wasm") {}

 protected:
  void load_settings(ConfigReader& reader, receivers::wasm::Config& config) const override {
    config.plugin.limits.timeout = std::chrono::seconds(5);
    config.plugin.limits.memory_bytes = 256ull << 20;  // a large target's text and its OTLP
    // Ask for the text format (what the plugin reads), as Prometheus does without OpenMetrics.
    config.pull_headers = {{"Accept", "text/plain;version=0.0.4;q=1,*/*;q=0.1"}};
    ConfigReader prom = reader.child("config");
    ConfigReader global = prom.child("global");
    std::chrono::nanoseconds default_interval = std::chrono::minutes(1);
    std::chrono::nanoseconds default_timeout = std::chrono::seconds(10);
    global.read_duration("scrape_interval", default_interval);
    global.read_duration("scrape_timeout", default_timeout);
    std::string targets_json;
    std::set<std::string> jobs;
    std::set<std::string> urls;
    for (ConfigReader job : prom.items("scrape_configs")) {
      for (const char* setting : kUnsupportedJobSettings) {
        if (job.has(setting)) {
          job.read_node(setting);
          job.error(setting, "is not supported by weft's prometheus receiver yet");
        }
      }
      std::string name;
      job.read("job_name", name);
      if (name.empty()) job.error("job_name", "must be set");
      if (!jobs.insert(name).second) job.error("job_name", "\"" + name + "\" is used twice");
      receivers::wasm::Config::Target schedule;
      schedule.interval = default_interval;
      schedule.timeout = std::min(default_timeout, default_interval);
      job.read_duration("scrape_interval", schedule.interval);
      if (job.has("scrape_timeout")) {
        job.read_duration("scrape_timeout", schedule.timeout);
      } else {
        schedule.timeout = std::min(default_timeout, schedule.interval);
      }
      if (schedule.interval.count() <= 0) job.error("scrape_interval", "must be positive");
      if (schedule.timeout.count() <= 0 || schedule.timeout > schedule.interval) {
        job.error("scrape_timeout", "must be positive and not longer than scrape_interval");
      }
      std::string path = "/metrics";
      std::string scheme = "http";
      job.read("metrics_path", path);
      job.read("scheme", scheme);
      if (path.empty() || path.front() != '/') job.error("metrics_path", "must start with /");
      if (scheme != "http" && scheme != "https") {
        job.error("scheme", "expected http or https, got \"" + scheme + "\"");
      }
      bool honor_labels = false;
      bool honor_timestamps = true;
      job.read("honor_labels", honor_labels);
      job.read("honor_timestamps", honor_timestamps);
      if (honor_labels) job.error("honor_labels", "true is not supported yet");
      if (!honor_timestamps) job.error("honor_timestamps", "false is not supported yet");
      for (ConfigReader group : job.items("static_configs")) {
        std::vector<std::string> hosts;
        std::map<std::string, std::string> labels;
        group.read("targets", hosts);
        group.read("labels", labels);
        for (const auto& host : hosts) {
          std::string h;
          int port = 0;
          if (!split_endpoint(host, h, port) || h.empty()) {
            group.error("targets", "expected host:port, got \"" + host + "\"");
            continue;
          }
          schedule.url = scheme + "://" + host + path;
          if (!urls.insert(schedule.url).second) {
            group.error("targets",
                        schedule.url + " is scraped twice (by two jobs or twice in one)");
            continue;
          }
          config.targets.push_back(schedule);
          targets_json += std::string(targets_json.empty() ? "" : ",") +
                          "{\"url\":" + json_quote(schedule.url) + ",\"job\":" + json_quote(name) +
                          ",\"instance\":" + json_quote(host) +
                          ",\"scheme\":" + json_quote(scheme) +
                          ",\"labels\":" + labels_json(labels) + "}";
        }
      }
    }
    if (config.targets.empty()) {
      reader.error("config", "needs scrape_configs with at least one static_configs target");
    }
    config.plugin.config_json = "{\"targets\":[" + targets_json + "]}";
  }
};

// exporters: prometheusremotewrite: endpoint (the full URL), namespace, external_labels,
// resource_to_telemetry_conversion.enabled, add_metric_suffixes, send_metadata,
// target_info.enabled, max_batch_size_bytes, remote_write_queue {enabled, queue_size,
// num_consumers}, headers, auth, tls, timeout, retry_on_failure. Bodies are snappy.
class RemoteWriteExporterFactory final : public ExporterFactory {
 public:
  RemoteWriteExporterFactory()
      : ExporterFactory("prometheusremotewrite", {Signal::kMetrics}, "prometheusremotewrite.wasm") {
  }
  [[nodiscard]] std::vector<std::string_view> aliases() const override {
    return {"prometheus_remote_write"};
  }

 protected:
  void load_settings(ConfigReader& reader, exporters::wasm::Config& config) const override {
    for (const char* setting : {"wal", "protobuf_message", "max_batch_request_parallelism"}) {
      if (reader.has(setting)) {
        reader.read_node(setting);
        reader.error(setting, "is not supported by weft's prometheusremotewrite exporter yet");
      }
    }
    const http_client::Url url =
        read_endpoint_url(reader, config, "http://prometheus:9090/api/v1/write");
    std::string ns;
    std::map<std::string, std::string> external_labels;
    bool add_metric_suffixes = true;
    bool send_metadata = false;
    bool resource_to_telemetry = false;
    bool target_info = true;
    uint64_t max_batch_size_bytes = 3000000;
    reader.read("namespace", ns);
    reader.read("external_labels", external_labels);
    reader.read("add_metric_suffixes", add_metric_suffixes);
    reader.read("send_metadata", send_metadata);
    reader.child("resource_to_telemetry_conversion").read("enabled", resource_to_telemetry);
    reader.child("target_info").read("enabled", target_info);
    reader.read("max_batch_size_bytes", max_batch_size_bytes);
    if (max_batch_size_bytes == 0) reader.error("max_batch_size_bytes", "must be positive");
    for (const auto& [name, value] : external_labels) {
      if (value.empty()) reader.error("external_labels", "\"" + name + "\" has an empty value");
    }
    config.plugin.config_json =
        "{\"path\":" + json_quote(url.path) + ",\"namespace\":" + json_quote(ns) +
        ",\"external_labels\":" + labels_json(external_labels) +
        ",\"add_metric_suffixes\":" + (add_metric_suffixes ? "true" : "false") +
        ",\"send_metadata\":" + (send_metadata ? "true" : "false") +
        ",\"resource_to_telemetry_conversion\":" + (resource_to_telemetry ? "true" : "false") +
        ",\"target_info\":" + (target_info ? "true" : "false") +
        ",\"max_batch_size_bytes\":" + std::to_string(max_batch_size_bytes) + "}";
    // Remote write is snappy (its block format) by definition.
    config.compression = http_client::Compression::kSnappy;
    config.exporter.queue.queue_size = 10000;
    config.exporter.queue.num_consumers = 5;
    exporters::wasm::load_client_settings(reader, config, false);
    if (config.compression != http_client::Compression::kSnappy) {
      reader.error("compression", "remote write bodies are snappy-compressed; leave it unset");
    }
    ConfigReader queue = reader.child("remote_write_queue");
    queue.read("enabled", config.exporter.queue.enabled);
    queue.read("queue_size", config.exporter.queue.queue_size);
    queue.read("num_consumers", config.exporter.queue.num_consumers);
    if (config.exporter.queue.num_consumers < 1) {
      queue.error("num_consumers", "must be at least 1");
    }
  }
};

}  // namespace
}  // namespace weft::bundled::prometheus

WEFT_DEFINE_FACTORY(prometheus_receiver, weft::bundled::prometheus::PrometheusReceiverFactory)
WEFT_DEFINE_FACTORY(prometheusremotewrite_exporter,
                    weft::bundled::prometheus::RemoteWriteExporterFactory)
