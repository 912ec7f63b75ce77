#include <httplib.h>
#include <spdlog/spdlog.h>

#include <map>
#include <mutex>

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
  std::string compression = "gzip";
  std::map<std::string, std::string> headers;
  TlsSettings tls;            // used for https:// URLs
  std::string authenticator;  // auth.authenticator: a client authenticator extension
  ExporterSettings exporter;
};

struct Url {
  std::string origin;  // scheme://host:port
  std::string path;
  bool https = false;
  std::string host;
  int port = 0;
};

bool split_url(const std::string& url, Url& out) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return false;
  const std::string scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return false;
  out.https = scheme == "https";
  const size_t path_start = url.find('/', scheme_end + 3);
  out.origin = url.substr(0, path_start);
  out.path = path_start == std::string::npos ? "" : url.substr(path_start);
  std::string authority = out.origin.substr(scheme_end + 3);
  if (authority.empty()) return false;
  const size_t colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']', colon) == std::string::npos) {
    out.host = authority.substr(0, colon);
    try {
      out.port = std::stoi(authority.substr(colon + 1));
    } catch (...) {
      return false;
    }
  } else {
    out.host = authority;
    out.port = out.https ? 443 : 80;
  }
  if (out.host.size() > 2 && out.host.front() == '[')
    out.host = out.host.substr(1, out.host.size() - 2);
  return !out.host.empty() && out.port > 0 && out.port < 65536;
}

std::chrono::milliseconds retry_after(const httplib::Response& response) {
  const std::string value = response.get_header_value("Retry-After");
  if (value.empty()) return std::chrono::milliseconds(0);
  try {
    return std::chrono::seconds(std::stoll(value));
  } catch (...) {
    return std::chrono::milliseconds(0);  // an HTTP date: fall back to our own backoff
  }
}

class HttpSender final : public Sender {
 public:
  HttpSender(const ComponentContext& ctx, const Config& config) : ctx_(ctx), config_(config) {}

  Status start() override {
    if (config_.authenticator.empty()) return Status::ok();
    auto authenticator = client_authenticator(ctx_, config_.authenticator);
    if (!authenticator.ok()) return authenticator.status();
    authenticator_ = *authenticator;
    return Status::ok();
  }

  Status send(const pdata::Telemetry& data, std::chrono::nanoseconds timeout) override {
    Url url;
    auto it = config_.signal_endpoints.find(data.signal());
    if (it != config_.signal_endpoints.end()) {
      split_url(it->second, url);
    } else {
      split_url(config_.endpoint, url);
      while (!url.path.empty() && url.path.back() == '/') url.path.pop_back();
      url.path += "/v1/" + std::string(signal_name(data.signal()));
    }
    std::string body;
    std::string content_type = "application/x-protobuf";
    if (config_.encoding == "json") {
      auto json = pdata::telemetry_to_json(data);
      if (!json.ok()) return json.status();
      body = std::move(json).value();
      content_type = "application/json";
    }
    std::map<std::string, std::string> header_map = config_.headers;
    if (authenticator_ != nullptr) {
      if (Status s = authenticator_->add_headers(header_map); !s.is_ok()) return s;
    }
    httplib::Headers headers(header_map.begin(), header_map.end());
    const std::string& payload = config_.encoding == "json" ? body : data.wire();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
    bool reused = false;
    auto client = take_client(url, reused);
    if (!client.ok()) return client.status();
    auto post = [&] {
      if (ms.count() > 0) {
        (*client)->set_connection_timeout(ms);
        (*client)->set_read_timeout(ms);
        (*client)->set_write_timeout(ms);
      }
      return (*client)->Post(url.path, headers, payload, content_type);
    };
    auto result = post();
    if (!result && reused &&
        (result.error() == httplib::Error::Read || result.error() == httplib::Error::Write)) {
      // A kept-alive connection the server closed as the request went out: once more, on a
      // new connection, before it counts as a failure.
      client = take_client(url, reused, /*fresh=*/true);
      if (!client.ok()) return client.status();
      result = post();
    }
    const std::string target = url.origin + url.path;
    if (!result) {
      std::string reason = httplib::to_string(result.error());
      if (result.error() == httplib::Error::SSLServerVerification) {
        const auto verify = static_cast<httplib::SSLClient&>(**client).get_openssl_verify_result();
        reason += std::string(": ") + X509_verify_cert_error_string(verify);
      } else if (result.error() == httplib::Error::SSLConnection) {
        reason += ": " + tls::last_error();
      }
      return Status::retryable("OTLP/HTTP export to " + target + " failed: " + reason);
    }
    give_back(url, std::move(client).value());
    const int code = result->status;
    if (code >= 200 && code < 300) {
      if (config_.encoding != "json") {
        auto partial = parse_partial_success(result->body);
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
      return Status::retryable(std::move(message), retry_after(*result));
    }
    return Status::permanent(std::move(message));
  }

 private:
  using ClientPtr = std::unique_ptr<httplib::ClientImpl>;

  // A kept-alive client for url's origin: an idle one, or a new one. Clients that failed are
  // dropped, not given back.
  Result<ClientPtr> take_client(const Url& url, bool& reused, bool fresh = false) {
    reused = false;
    if (!fresh) {
      std::lock_guard lock(mutex_);
      auto& idle = idle_[url.origin];
      if (!idle.empty()) {
        reused = true;
        ClientPtr client = std::move(idle.back());
        idle.pop_back();
        return client;
      }
    }
    ClientPtr client;
    if (url.https) {
      const TlsSettings& tls = config_.tls;
      const std::string& name =
          tls.server_name_override.empty() ? url.host : tls.server_name_override;
      auto ssl = std::make_unique<httplib::SSLClient>(name, url.port);
      if (name != url.host) ssl->set_hostname_addr_map({{name, url.host}});
      if (Status s = tls::configure_client(*ssl->ssl_context(), tls); !s.is_ok()) {
        return Status::permanent("OTLP/HTTP export to " + url.origin + ": " + s.message());
      }
      if (!tls.ca_file.empty()) ssl->set_ca_cert_path(tls.ca_file);
      ssl->enable_server_certificate_verification(!tls.insecure_skip_verify);
      client = std::move(ssl);
    } else {
      client = std::make_unique<httplib::ClientImpl>(url.host, url.port);
    }
    client->set_keep_alive(true);
    // The headers and the body go out in separate writes: without this, the body waits for
    // the server's delayed ACK of the headers (40 ms a request).
    client->set_tcp_nodelay(true);
    client->set_compress(config_.compression == "gzip");
    return client;
  }

  void give_back(const Url& url, ClientPtr client) {
    std::lock_guard lock(mutex_);
    idle_[url.origin].push_back(std::move(client));
  }

  ComponentContext ctx_;
  Config config_;
  ClientAuthenticator* authenticator_ = nullptr;
  std::mutex mutex_;
  std::map<std::string, std::vector<ClientPtr>> idle_;  // by origin
};

class Factory final : public FactoryFor<Config> {
 public:
  [[nodiscard]] ComponentKind kind() const override { return ComponentKind::kExporter; }
  [[nodiscard]] std::string_view type() const override { return "otlphttp"; }

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
      Url url;
      if (!split_url(value, url)) reader.error(key, "expected an http:// or https:// URL");
      config.signal_endpoints[s] = value;
    }
    reader.read("encoding", config.encoding);
    reader.read("compression", config.compression);
    reader.read("headers", config.headers);
    read_tls_client(reader, config.tls);
    read_authenticator(reader, config.authenticator);
    config.exporter.load(reader);
    Url url;
    if (config.endpoint.empty() && config.signal_endpoints.size() < kAllSignals.size()) {
      reader.error("endpoint", "must be set, for example \"http://collector.example:4318\"");
    } else if (!config.endpoint.empty() && !split_url(config.endpoint, url)) {
      reader.error("endpoint",
                   "expected an http:// or https:// URL, got \"" + config.endpoint + "\"");
    }
    if (config.encoding != "proto" && config.encoding != "json") {
      reader.error("encoding", "must be proto or json, got \"" + config.encoding + "\"");
    }
    if (config.compression != "gzip" && config.compression != "none" &&
        !config.compression.empty()) {
      reader.error("compression", "must be gzip or none, got \"" + config.compression + "\"");
    }
  }
};

}  // namespace
}  // namespace weft::exporters::otlphttp

WEFT_DEFINE_FACTORY(otlphttp_exporter, weft::exporters::otlphttp::Factory)
