#include <spdlog/spdlog.h>

#include <map>
#include <mutex>

#include "components/common/http_client.h"
#include "components/exporters/helper/otlp_response.h"
#include "components/exporters/helper/queued_exporter.h"
#include "pdata/otlp_json.h"
#include "util/tls.h"
#include "weft/auth.h"
#include "weft/config_reader.h"
#include "weft/factory.h"
#include "weft/tls.h"

namespace weft::exporters::otlphttp {
namespace {

struct Config : ComponentConfig {
  std::string endpoint;                            // base URL; /v1/<signal> is appended
  std::map<Signal, std::string> signal_endpoints;  // full URLs overriding the base
  std::string encoding = "proto";
  http_client::Compression compression = http_client::Compression::kGzip;
  std::map<std::string, std::string> headers;
  TlsSettings tls;            // used for https:// URLs
  std::string authenticator;  // auth.authenticator: a client authenticator extension
  ExporterSettings exporter;
};

std::chrono::milliseconds retry_after(const http_client::Response& response) {
  const std::string value = response.header("Retry-After");
  if (value.empty()) return std::chrono::milliseconds(0);
  try {
    return std::chrono::seconds(std::stoll(value));
  } catch (...) {
    return std::chrono::milliseconds(0);  // an HTTP date: fall back to our own backoff
  }
}

// The operator configured the endpoint: any address it resolves to is allowed.
http_client::ClientSettings settings(const Config& config) {
  http_client::ClientSettings settings;
  settings.tls = config.tls;
  settings.addresses.refuse_link_local = false;
  return settings;
}

class HttpSender final : public Sender {
 public:
  HttpSender(const ComponentContext& ctx, const Config& config)
      : ctx_(ctx), config_(config), client_(settings(config)) {}

  Status start() override {
    if (config_.authenticator.empty()) return Status::ok();
    auto authenticator = client_authenticator(ctx_, config_.authenticator);
    if (!authenticator.ok()) return authenticator.status();
    authenticator_ = *authenticator;
    return Status::ok();
  }

  Status send(const pdata::Telemetry& data, std::chrono::nanoseconds timeout) override {
    http_client::Request request;
    auto it = config_.signal_endpoints.find(data.signal());
    if (it != config_.signal_endpoints.end()) {
      http_client::split_url(it->second, request.url);
    } else {
      http_client::split_url(config_.endpoint, request.url);
      std::string& path = request.url.path;
      while (!path.empty() && path.back() == '/') path.pop_back();
      path += "/v1/" + std::string(signal_name(data.signal()));
    }
    std::string json;
    if (config_.encoding == "json") {
      auto encoded = pdata::telemetry_to_json(data);
      if (!encoded.ok()) return encoded.status();
      json = std::move(encoded).value();
    }
    const std::string& payload = config_.encoding == "json" ? json : data.wire();
    auto body = http_client::compress(config_.compression, payload);
    if (!body.ok()) return body.status();
    request.body = std::move(body).value();
    std::map<std::string, std::string> headers = config_.headers;
    if (authenticator_ != nullptr) {
      const std::string url = request.url.origin + request.url.path;
      const OutboundRequest outbound{"POST", url, request.body};
      if (Status s = authenticator_->add_headers(outbound, headers); !s.is_ok()) {
        return Status::retryable("auth " + config_.authenticator + ": " + s.message());
      }
    }
    request.headers.assign(headers.begin(), headers.end());
    request.headers.emplace_back(
        "Content-Type", config_.encoding == "json" ? "application/json" : "application/x-protobuf");
    if (config_.compression != http_client::Compression::kNone) {
      request.headers.emplace_back("Content-Encoding",
                                   std::string(http_client::compression_name(config_.compression)));
    }
    const std::string target = request.url.origin + request.url.path;
    http_client::Outcome outcome = client_.send(request, timeout);
    if (!outcome.ok())
      return Status::retryable("OTLP/HTTP export to " + target + " failed: " + outcome.error);
    const http_client::Response& response = outcome.response;
    const int code = response.status;
    if (code >= 200 && code < 300) {
      if (config_.encoding != "json") {
        auto partial = parse_partial_success(response.body);
        if (partial.rejected > 0 || !partial.error_message.empty()) {
          ctx_.metrics
              ->counter("otelcol_exporter_send_failed_" + std::string(item_noun(data.signal())),
                        "Items that could not be sent.", {{"exporter", ctx_.id}})
              .add(static_cast<uint64_t>(std::max<int64_t>(0, partial.rejected)));
          ctx_.logger->error("destination rejected {} of {} {}: {}", partial.rejected,
                             data.item_count(), item_noun(data.signal()), partial.error_message);
        }
      }
      return Status::ok();
    }
    std::string message =
        "OTLP/HTTP export to " + target + " failed with HTTP " + std::to_string(code);
    if (code == 429 || code == 502 || code == 503 || code == 504) {
      return Status::retryable(std::move(message), retry_after(response));
    }
    return Status::permanent(std::move(message));
  }

 private:
  ComponentContext ctx_;
  Config config_;
  http_client::Client client_;
  ClientAuthenticator* authenticator_ = nullptr;
};

class Factory final : public FactoryFor<Config> {
 public:
  [[nodiscard]] ComponentKind kind() const override { return ComponentKind::kExporter; }
  [[nodiscard]] std::string_view type() const override { return "otlphttp"; }
  [[nodiscard]] std::vector<std::string_view> aliases() const override { return {"otlp_http"}; }

  std::unique_ptr<Exporter> create_exporter(const ComponentContext& ctx,
                                            const ComponentConfig& config) const override {
    const Config& c = cast(config);
    return std::make_unique<QueuedExporter>(ctx, c.exporter, std::make_unique<HttpSender>(ctx, c));
  }

 protected:
  void load(ConfigReader& reader, Config& config) const override {
    reader.read("endpoint", config.endpoint);
    for (Signal s : kAllSignals) {
      const std::string key = std::string(signal_name(s)) + "_endpoint";
      std::string value;
      reader.read(key, value);
      if (value.empty()) continue;
      http_client::Url url;
      if (!http_client::split_url(value, url)) {
        reader.error(key, "expected an http:// or https:// URL");
      }
      config.signal_endpoints[s] = value;
    }
    reader.read("encoding", config.encoding);
    std::string compression = "gzip";
    reader.read("compression", compression);
    if (!http_client::parse_compression(compression, config.compression)) {
      reader.error("compression",
                   "must be gzip, zstd, snappy or none, got \"" + compression + "\"");
    }
    reader.read("headers", config.headers);
    read_tls_client(reader, config.tls);
    read_authenticator(reader, config.authenticator);
    config.exporter.load(reader);
    http_client::Url url;
    if (config.endpoint.empty() && config.signal_endpoints.size() < kAllSignals.size()) {
      reader.error("endpoint", "must be set, for example \"http://collector.example:4318\"");
    } else if (!config.endpoint.empty() && !http_client::split_url(config.endpoint, url)) {
      reader.error("endpoint",
                   "expected an http:// or https:// URL, got \"" + config.endpoint + "\"");
    }
    if (config.encoding != "proto" && config.encoding != "json") {
      reader.error("encoding", "must be proto or json, got \"" + config.encoding + "\"");
    }
  }
};

}  // namespace
}  // namespace weft::exporters::otlphttp

WEFT_DEFINE_FACTORY(otlphttp_exporter, weft::exporters::otlphttp::Factory)
