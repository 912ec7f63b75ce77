// The elasticsearch exporter (logs): a bundled plugin-backed component (docs/architecture.md,
// "Bundled plugin-backed components"). plugins/elasticsearch (Go) writes each batch as one
// `_bulk` request and reads the per-item answers; weft sends it with the exporter's
// headers, credentials, TLS and compression. The settings are the Go collector's; the ones
// weft does not have are refused by name.
#include "components/bundled/bundled.h"
#include "util/base64.h"
#include "util/yaml_json.h"
#include "weft/config_reader.h"

namespace weft::bundled::elasticsearch {
namespace {

// exporters: elasticsearch: endpoint or endpoints (one), logs_index, mapping.mode (otel or
// none), flush.bytes, user and password, api_key, headers, auth, tls, compression (gzip),
// timeout, sending_queue, retry (enabled, initial_interval, max_interval) or
// retry_on_failure.
class ElasticsearchExporterFactory final : public ExporterFactory {
 public:
  ElasticsearchExporterFactory()
      : ExporterFactory("elasticsearch", {Signal::kLogs}, "elasticsearch.wasm") {}

 protected:
  void load_settings(ConfigReader& reader, exporters::wasm::Config& config) const override {
    for (const char* setting :
         {"traces_index", "metrics_index", "logs_dynamic_index", "traces_dynamic_index",
          "metrics_dynamic_index", "pipeline", "cloudid", "discover", "batcher", "num_workers"}) {
      if (reader.has(setting)) {
        reader.read_node(setting);
        reader.error(setting, "is not supported by weft's elasticsearch exporter yet");
      }
    }
    std::vector<std::string> endpoints;
    reader.read("endpoints", endpoints);
    if (reader.has("endpoint") && !endpoints.empty()) {
      reader.error("endpoints", "set endpoint or endpoints, not both");
    }
    if (endpoints.size() > 1) {
      reader.error("endpoints", "one endpoint is supported (a load balancer in front of several)");
    }
    http_client::Url url;
    if (endpoints.empty()) {
      url = read_endpoint_url(reader, config, "http://elasticsearch:9200");
    } else if (!http_client::split_url(endpoints.front(), url)) {
      reader.error("endpoints",
                   "expected an http:// or https:// URL, got \"" + endpoints.front() + "\"");
    } else {
      config.endpoint = url.origin;
    }
    std::string base = url.path;
    while (!base.empty() && base.back() == '/') base.pop_back();
    std::string index;
    std::string mode = "otel";
    reader.read("logs_index", index);
    reader.child("mapping").read("mode", mode);
    if (mode != "otel" && mode != "none") {
      reader.child("mapping").error("mode", "otel and none are supported, got \"" + mode + "\"");
    }
    // flush.bytes: the most bytes of one bulk request (a batch goes as several).
    uint64_t flush_bytes = 5000000;
    ConfigReader flush = reader.child("flush");
    flush.read_size("bytes", flush_bytes);
    if (flush_bytes == 0) flush.error("bytes", "must be positive");
    if (flush.has("interval")) {
      flush.read_node("interval");
      flush.error("interval", "is not supported: batch with the batch processor");
    }
    config.plugin.config_json =
        "{\"path\":" + json_quote(base + "/_bulk") + ",\"index\":" + json_quote(index) +
        ",\"mode\":" + json_quote(mode) + ",\"max_bytes\":" + std::to_string(flush_bytes) + "}";
    // Credentials become headers weft adds; the plugin never sees them.
    std::string user;
    std::string password;
    std::string api_key;
    reader.read("user", user);
    reader.read("password", password);
    reader.read("api_key", api_key);
    config.compression = http_client::Compression::kGzip;
    config.exporter.timeout = std::chrono::seconds(90);
    ConfigReader retry = reader.child("retry");
    retry.read("enabled", config.exporter.retry.enabled);
    retry.read_duration("initial_interval", config.exporter.retry.initial_interval);
    retry.read_duration("max_interval", config.exporter.retry.max_interval);
    exporters::wasm::load_client_settings(reader, config, false);
    if (!user.empty() || !password.empty()) {
      if (!api_key.empty()) reader.error("api_key", "set user and password or api_key, not both");
      config.headers["Authorization"] = "Basic " + base64_encode(user + ":" + password);
    } else if (!api_key.empty()) {
      config.headers["Authorization"] = "ApiKey " + api_key;
    }
  }
};

}  // namespace
}  // namespace weft::bundled::elasticsearch

WEFT_DEFINE_FACTORY(elasticsearch_exporter,
                    weft::bundled::elasticsearch::ElasticsearchExporterFactory)
