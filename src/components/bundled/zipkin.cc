// The zipkin receiver and exporter: bundled plugin-backed components (docs/architecture.md,
// "Bundled plugin-backed components"). weft ships plugins/zipkin's plugins next to its
// binary and registers them under the Go collector's component names and settings, so a
// configuration says `receivers: {zipkin: {endpoint: ...}}` as it does for the Go
// collector. Settings it does not have are refused as unknown.
#include "components/bundled/bundled.h"
#include "util/yaml_json.h"
#include "weft/config_reader.h"

namespace weft::bundled::zipkin {
namespace {

std::string json_string(const std::string& s) {
  return weft::json_quote(s);
}

// receivers: zipkin: endpoint (default localhost:9411), parse_string_tags, tls,
// max_request_body_size, read_timeout, read_header_timeout. Serves /api/v2/spans (JSON).
class ZipkinReceiverFactory final : public ReceiverFactory {
 public:
  ZipkinReceiverFactory() : ReceiverFactory("zipkin", {Signal::kTraces}, "zipkin_receiver.wasm") {}

 protected:
  void load_settings(ConfigReader& reader, receivers::wasm::Config& config) const override {
    config.plugin.limits.timeout = std::chrono::seconds(1);
    config.endpoint = "localhost:9411";
    config.paths = {"/api/v2/spans"};
    bool parse_string_tags = false;
    reader.read("parse_string_tags", parse_string_tags);
    config.plugin.config_json =
        std::string("{\"parse_string_tags\":") + (parse_string_tags ? "true" : "false") + "}";
    receivers::wasm::load_push_settings(reader, config);
  }
};

// exporters: zipkin: endpoint (the full URL, as for the Go collector), format (json),
// default_service_name, headers, auth, tls, compression, timeout, sending_queue,
// retry_on_failure.
class ZipkinExporterFactory final : public ExporterFactory {
 public:
  ZipkinExporterFactory() : ExporterFactory("zipkin", {Signal::kTraces}, "zipkin_exporter.wasm") {}

 protected:
  void load_settings(ConfigReader& reader, exporters::wasm::Config& config) const override {
    const http_client::Url url =
        read_endpoint_url(reader, config, "http://zipkin:9411/api/v2/spans");
    std::string format = "json";
    reader.read("format", format);
    if (format != "json") {
      reader.error("format", "only json is supported (Zipkin JSON v2), got \"" + format + "\"");
    }
    std::string service;
    reader.read("default_service_name", service);
    config.plugin.config_json = "{\"path\":" + json_string(url.path) +
                                ",\"default_service_name\":" + json_string(service) + "}";
    exporters::wasm::load_client_settings(reader, config, false);
  }
};

}  // namespace
}  // namespace weft::bundled::zipkin

WEFT_DEFINE_FACTORY(zipkin_receiver, weft::bundled::zipkin::ZipkinReceiverFactory)
WEFT_DEFINE_FACTORY(zipkin_exporter, weft::bundled::zipkin::ZipkinExporterFactory)
