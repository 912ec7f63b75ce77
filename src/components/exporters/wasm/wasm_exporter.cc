#include "components/exporters/wasm/wasm_exporter.h"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <map>

#include "components/common/http_client.h"
#include "components/exporters/helper/queued_exporter.h"
#include "wasm/plugin/directory.h"
#include "wasm/plugin/interface.h"
#include "wasm/plugin/plugin.h"
#include "wasm/plugin/settings.h"
#include "weft/auth.h"
#include "weft/config_reader.h"
#include "weft/factory.h"
#include "weft/metrics.h"
#include "weft/tls.h"

// An exporter whose format is a WebAssembly plugin's and whose I/O is weft's: the plugin
// turns each batch into requests and sends them with weft.http_request (docs/abi.md,
// "Exporter plugins"); weft owns the queue, retries, connections, TLS, compression, headers
// and auth, and checks every request against the component's endpoint and permissions.
namespace weft::exporters::wasm {
namespace {

using weft::wasm::ExportOutcome;
using weft::wasm::HttpExchange;
using weft::wasm::HttpReply;
namespace http = weft::http_client;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool ip_literal(const std::string& host) {
  in6_addr v6{};
  in_addr v4{};
  return inet_pton(AF_INET, host.c_str(), &v4) == 1 || inet_pton(AF_INET6, host.c_str(), &v6) == 1;
}

// weft.http_request for one exporter: where a request may go, what weft adds to it, and the
// caps on it.
class Port final : public weft::wasm::HttpPort {
 public:
  Port(const ComponentContext& ctx, const Config& config)
      : ctx_(ctx), config_(config), client_(client_settings(config)) {
    if (!config.endpoint.empty()) http::split_url(config.endpoint, endpoint_);
    for (const auto& origin : config.allowed_origins) {
      http::Url url;
      if (http::split_url(origin, url)) allowed_.push_back(http::canonical_origin(url));
    }
  }

  void set_authenticator(ClientAuthenticator* authenticator) { authenticator_ = authenticator; }

  HttpReply exchange(const HttpExchange& in) override {
    HttpReply reply;
    static constexpr const char* kMethods[] = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"};
    if (std::none_of(std::begin(kMethods), std::end(kMethods),
                     [&](const char* m) { return in.method == m; })) {
      return refuse(reply, weft::wasm::kAbiInvalid, "invalid", "method \"" + in.method + "\"");
    }
    http::Request request;
    request.method = in.method;
    if (in.url.find("://") == std::string::npos) {
      if (endpoint_.host.empty()) {
        return refuse(reply, weft::wasm::kAbiInvalid, "invalid",
                      "a relative URL, and the exporter has no endpoint");
      }
      request.url = endpoint_;
      std::string& path = request.url.path;
      while (!path.empty() && path.back() == '/') path.pop_back();
      path += (in.url.empty() || in.url.front() != '/') ? "/" + in.url : in.url;
    } else if (!http::split_url(in.url, request.url)) {
      return refuse(reply, weft::wasm::kAbiInvalid, "invalid", "not an http(s) URL: " + in.url);
    } else {
      const std::string origin = http::canonical_origin(request.url);
      const bool own = !endpoint_.host.empty() && origin == http::canonical_origin(endpoint_);
      if (!own && std::find(allowed_.begin(), allowed_.end(), origin) == allowed_.end()) {
        return refuse(reply, weft::wasm::kAbiDenied, "denied",
                      origin + " is neither the endpoint's origin nor in permissions.http");
      }
    }
    if (in.body.size() > config_.max_request_size) {
      return refuse(
          reply, weft::wasm::kAbiLimit, "too_large",
          "request body of " + std::to_string(in.body.size()) + " bytes is over max_request_size");
    }
    bool encoded = false;
    for (const auto& header : in.headers)
      encoded = encoded || iequals(header.first, "Content-Encoding");
    const bool compress =
        config_.compression != http::Compression::kNone && !in.body.empty() && !encoded;
    if (compress) {
      auto body = http::compress(config_.compression, in.body);
      if (!body.ok())
        return refuse(reply, weft::wasm::kAbiFailed, "failed", body.status().message());
      request.body = std::move(body).value();
    } else {
      request.body = std::string(in.body);
    }
    // The plugin's headers, then the configured ones and the authenticator's, which win (it
    // signs the body as sent).
    std::map<std::string, std::string> added = config_.headers;
    if (authenticator_ != nullptr) {
      const std::string url = request.url.origin + request.url.path;
      const OutboundRequest outbound{in.method, url, request.body};
      if (Status s = authenticator_->add_headers(outbound, added); !s.is_ok()) {
        return refuse(reply, weft::wasm::kAbiFailed, "failed", s.message());
      }
    }
    for (const auto& header : in.headers) {
      const std::string& name = header.first;
      const bool overridden = std::any_of(added.begin(), added.end(),
                                          [&](const auto& kv) { return iequals(kv.first, name); });
      if (overridden || iequals(name, "Content-Length") || iequals(name, "Host")) continue;
      request.headers.push_back(header);
    }
    for (const auto& [name, value] : added) request.headers.emplace_back(name, value);
    if (compress) {
      request.headers.emplace_back("Content-Encoding",
                                   std::string(http::compression_name(config_.compression)));
    }
    if (in_flight_.fetch_add(1) >= config_.max_concurrent_requests) {
      in_flight_.fetch_sub(1);
      return refuse(reply, weft::wasm::kAbiLimit, "limit",
                    "max_concurrent_requests (" + std::to_string(config_.max_concurrent_requests) +
                        ") in flight");
    }
    http::Outcome outcome = client_.send(request, in.timeout);
    in_flight_.fetch_sub(1);
    switch (outcome.failure) {
      case http::Failure::kNone:
        break;
      case http::Failure::kDenied:
        return refuse(reply, weft::wasm::kAbiDenied, "denied", outcome.error);
      case http::Failure::kTooLarge:
        return refuse(reply, weft::wasm::kAbiLimit, "too_large", outcome.error);
      case http::Failure::kInvalid:
        return refuse(reply, weft::wasm::kAbiInvalid, "invalid", outcome.error);
      case http::Failure::kIo:
        return refuse(reply, weft::wasm::kAbiFailed, "failed", outcome.error);
    }
    count("ok");
    reply.code = outcome.response.status;
    reply.headers = std::move(outcome.response.headers);
    reply.body = std::move(outcome.response.body);
    return reply;
  }

 private:
  static http::ClientSettings client_settings(const Config& config) {
    http::ClientSettings settings;
    settings.tls = config.tls;
    settings.max_response_bytes = config.max_response_size;
    // Link-local and metadata addresses only where the operator named them as IP literals.
    http::Url url;
    if (http::split_url(config.endpoint, url) && ip_literal(url.host)) {
      settings.addresses.allowed_literals.push_back(url.host);
    }
    for (const auto& origin : config.allowed_origins) {
      if (http::split_url(origin, url) && ip_literal(url.host)) {
        settings.addresses.allowed_literals.push_back(url.host);
      }
    }
    return settings;
  }

  HttpReply& refuse(HttpReply& reply, int32_t code, const char* outcome, std::string error) {
    count(outcome);
    reply.code = code;
    reply.error = std::move(error);
    return reply;
  }

  void count(const std::string& outcome) {
    ctx_.metrics
        ->counter("weft_plugin_http_requests",
                  "Outbound requests of exporter plugins, by outcome (ok: a response arrived).",
                  {{"plugin", ctx_.id}, {"outcome", outcome}})
        .add();
  }

  ComponentContext ctx_;
  const Config& config_;
  http::Client client_;
  http::Url endpoint_;
  std::vector<std::string> allowed_;
  ClientAuthenticator* authenticator_ = nullptr;
  std::atomic<uint64_t> in_flight_{0};
};

class PluginSender final : public Sender {
 public:
  PluginSender(const ComponentContext& ctx, const Config& config)
      : ctx_(ctx), config_(config), settings_(config.plugin) {
    settings_.entry = weft::wasm::Entry::kExport;
    port_ = std::make_shared<Port>(ctx_, config_);
    settings_.http = port_;
  }
  ~PluginSender() override { plugin_.stop(); }

  Status start() override {
    if (!config_.authenticator.empty()) {
      auto authenticator = client_authenticator(ctx_, config_.authenticator);
      if (!authenticator.ok()) return authenticator.status();
      port_->set_authenticator(*authenticator);
    }
    return plugin_.start(settings_, ctx_, "export");
  }

  Status send(const pdata::Telemetry& data, std::chrono::nanoseconds /*timeout*/) override {
    if (plugin_.get() == nullptr)
      return Status::retryable("wasm exporter " + ctx_.id + " is not running");
    ExportOutcome outcome = plugin_.get()->export_batch(data);
    switch (outcome.kind) {
      case ExportOutcome::kSent:
        return Status::ok();
      case ExportOutcome::kRetryable:
        return Status::retryable("plugin " + ctx_.id + ": " + describe(outcome, "retryable"),
                                 outcome.retry_after);
      case ExportOutcome::kPermanent:
        return Status::permanent("plugin " + ctx_.id + ": " + describe(outcome, "permanent"));
      case ExportOutcome::kPartial:
        return Status::partial(outcome.rejected, outcome.error);
      case ExportOutcome::kFailed:
        break;
    }
    // A timed-out call (a slow destination) and a backed-off plugin are tried again; a plugin
    // that traps on a batch would trap on it again.
    const bool again = outcome.failure == weft::wasm::Failure::kTimeout ||
                       outcome.failure == weft::wasm::Failure::kNone;
    std::string message = "plugin " + ctx_.id + " failed: " + outcome.error;
    return again ? Status::retryable(std::move(message)) : Status::permanent(std::move(message));
  }

 private:
  static std::string describe(const ExportOutcome& outcome, const char* kind) {
    return outcome.error.empty() ? std::string(kind) + " failure" : outcome.error;
  }

  ComponentContext ctx_;
  const Config& config_;
  weft::wasm::PluginSettings settings_;
  std::shared_ptr<Port> port_;
  weft::wasm::RunningPlugin plugin_;
};

class Factory final : public FactoryFor<Config> {
 public:
  [[nodiscard]] ComponentKind kind() const override { return ComponentKind::kExporter; }
  [[nodiscard]] std::string_view type() const override { return "wasm"; }

  std::unique_ptr<Exporter> create_exporter(const ComponentContext& ctx,
                                            const ComponentConfig& config) const override {
    return make_wasm_exporter(ctx, cast(config));
  }

  [[nodiscard]] Status check(const ComponentConfig& config,
                             const std::set<Signal>& signals) const override {
    return check_wasm_exporter(cast(config), signals);
  }

 protected:
  void load(ConfigReader& reader, Config& config) const override {
    const bool own_timeout = reader.child("limits").has("timeout");
    weft::wasm::load_plugin_settings(reader, config.plugin, &config.allowed_origins);
    reader.read("endpoint", config.endpoint);
    http::Url url;
    if (!config.endpoint.empty() && !http::split_url(config.endpoint, url)) {
      reader.error("endpoint",
                   "expected an http:// or https:// URL, got \"" + config.endpoint + "\"");
    }
    for (const auto& origin : config.allowed_origins) {
      if (!http::split_url(origin, url) || !(url.path.empty() || url.path == "/")) {
        reader.child("permissions")
            .error("http",
                   "expected origins such as \"https://host:port\", got \"" + origin + "\"");
      }
    }
    load_client_settings(reader, config, own_timeout);
  }
};

}  // namespace

std::unique_ptr<Exporter> make_wasm_exporter(const ComponentContext& ctx, const Config& config) {
  return std::make_unique<QueuedExporter>(ctx, config.exporter,
                                          std::make_unique<PluginSender>(ctx, config));
}

Status check_wasm_exporter(const Config& config, const std::set<Signal>& signals) {
  weft::wasm::PluginSettings settings = config.plugin;
  settings.entry = weft::wasm::Entry::kExport;
  return weft::wasm::check_plugin(settings, signals);
}

void load_client_settings(ConfigReader& reader, Config& config, bool own_timeout) {
  reader.read("headers", config.headers);
  read_authenticator(reader, config.authenticator);
  read_tls_client(reader, config.tls);
  std::string compression(http_client::compression_name(config.compression));
  reader.read("compression", compression);
  if (!http_client::parse_compression(compression, config.compression)) {
    reader.error("compression", "must be none, gzip, zstd or snappy, got \"" + compression + "\"");
  }
  reader.read_size("max_request_size", config.max_request_size);
  reader.read_size("max_response_size", config.max_response_size);
  reader.read("max_concurrent_requests", config.max_concurrent_requests);
  if (config.max_concurrent_requests < 1) {
    reader.error("max_concurrent_requests", "must be at least 1");
  }
  config.exporter.load(reader);
  // A call includes the plugin's requests: unless limits.timeout says otherwise, it has the
  // exporter's timeout.
  if (!own_timeout && config.exporter.timeout.count() > 0) {
    config.plugin.limits.timeout =
        std::chrono::duration_cast<std::chrono::milliseconds>(config.exporter.timeout);
  }
}

}  // namespace weft::exporters::wasm

WEFT_DEFINE_FACTORY(wasm_exporter, weft::exporters::wasm::Factory)
