#include <spdlog/spdlog.h>

#include <algorithm>
#include <climits>

#include "components/common/grpc_tls.h"
#include "components/receivers/otlp/config.h"
#include "components/receivers/otlp/servers.h"
#include "util/tls.h"
#include "weft/auth.h"
#include "weft/config_reader.h"
#include "weft/factory.h"

namespace weft::receivers::otlp {
namespace {

class OtlpReceiver final : public Receiver {
 public:
  OtlpReceiver(ComponentContext ctx, const Config& config, SignalConsumers next)
      : ctx_(std::move(ctx)), grpc_ingest_(ctx_, next, "grpc"), http_ingest_(ctx_, next, "http") {
    if (config.grpc.enabled) servers_.push_back(make_grpc_server(config.grpc, grpc_ingest_, ctx_));
    if (config.http.enabled) servers_.push_back(make_http_server(config.http, http_ingest_, ctx_));
  }

  Status start() override {
    for (auto& server : servers_) {
      Status status = server->start();
      if (!status.is_ok()) return status;
    }
    return Status::ok();
  }

  void shutdown(std::chrono::steady_clock::time_point deadline) override {
    for (auto& server : servers_) server->stop(deadline);
  }

 private:
  ComponentContext ctx_;
  Ingest grpc_ingest_;
  Ingest http_ingest_;
  std::vector<std::unique_ptr<Server>> servers_;
};

void read_grpc_limits(ConfigReader& grpc, GrpcSettings& out) {
  int64_t streams = 0;
  grpc.read("max_concurrent_streams", streams);
  if (streams < 0 || streams > UINT32_MAX) {
    grpc.error("max_concurrent_streams", "must be between 0 and 4294967295");
  }
  out.max_concurrent_streams = static_cast<uint32_t>(std::max<int64_t>(0, streams));
  grpc.read_size("read_buffer_size", out.read_buffer_size);
  grpc.read_size("write_buffer_size", out.write_buffer_size);
  grpc.read("include_metadata", out.include_metadata);
  std::string transport = "tcp";
  grpc.read("transport", transport);
  if (transport != "tcp") grpc.error("transport", "only tcp is supported");
  ConfigReader keepalive = grpc.child("keepalive");
  ConfigReader server = keepalive.child("server_parameters");
  server.read_duration("max_connection_idle", out.keepalive.max_connection_idle);
  server.read_duration("max_connection_age", out.keepalive.max_connection_age);
  server.read_duration("max_connection_age_grace", out.keepalive.max_connection_age_grace);
  server.read_duration("time", out.keepalive.time);
  server.read_duration("timeout", out.keepalive.timeout);
  ConfigReader policy = keepalive.child("enforcement_policy");
  policy.read_duration("min_time", out.keepalive.min_time);
  policy.read("permit_without_stream", out.keepalive.permit_without_stream);
}

void read_http_limits(ConfigReader& http, HttpSettings& out) {
  http.read_duration("read_timeout", out.read_timeout);
  http.read_duration("read_header_timeout", out.read_header_timeout);
  http.read_duration("write_timeout", out.write_timeout);
  http.read_duration("idle_timeout", out.idle_timeout);
  http.read("include_metadata", out.include_metadata);
  http.read("keep_alives_enabled", out.keep_alives_enabled);
  http.read("response_headers", out.response_headers);
  ConfigReader cors = http.child("cors");
  cors.read("allowed_origins", out.cors.allowed_origins);
  cors.read("allowed_headers", out.cors.allowed_headers);
  cors.read("exposed_headers", out.cors.exposed_headers);
  cors.read("max_age", out.cors.max_age);
  for (const auto& origin : out.cors.allowed_origins) {
    if (std::count(origin.begin(), origin.end(), '*') > 1) {
      cors.error("allowed_origins", "\"" + origin + "\" has more than one *");
    }
  }
  if (out.cors.max_age < 0) cors.error("max_age", "must not be negative");
}

class Factory final : public FactoryFor<Config> {
 public:
  [[nodiscard]] ComponentKind kind() const override { return ComponentKind::kReceiver; }
  [[nodiscard]] std::string_view type() const override { return "otlp"; }

  // For `weft validate`: the certificates and keys can be read, parse and match.
  [[nodiscard]] Status check(const ComponentConfig& config,
                             const std::set<Signal>& /*signals*/) const override {
    const Config& c = cast(config);
    for (const auto* tls : {&c.grpc.tls, &c.http.tls}) {
      if (!tls->enabled) continue;
      auto identity = tls::ServerIdentity::load(*tls);
      if (!identity.ok()) return identity.status();
    }
    return Status::ok();
  }

  std::unique_ptr<Receiver> create_receiver(const ComponentContext& ctx,
                                            const ComponentConfig& config,
                                            SignalConsumers next) const override {
    return std::make_unique<OtlpReceiver>(ctx, cast(config), next);
  }

 protected:
  void load(ConfigReader& reader, Config& config) const override {
    ConfigReader protocols = reader.child("protocols");
    if (protocols.has("grpc")) {
      config.grpc.enabled = true;
      ConfigReader grpc = protocols.child("grpc");
      grpc.read_endpoint("endpoint", config.grpc.endpoint);
      grpc.read("max_recv_msg_size_mib", config.grpc.max_recv_msg_size_mib);
      read_tls_server(grpc, config.grpc.tls);
      read_authenticator(grpc, config.grpc.authenticator);
      read_grpc_limits(grpc, config.grpc);
      if (config.grpc.tls.enabled) {
        if (std::string problem = grpc_tls::unsupported(config.grpc.tls); !problem.empty()) {
          grpc.error("tls", problem);
        }
      }
      if (config.grpc.max_recv_msg_size_mib <= 0 || config.grpc.max_recv_msg_size_mib > 2047) {
        grpc.error("max_recv_msg_size_mib", "must be from 1 to 2047 (gRPC's largest message)");
      }
    }
    if (protocols.has("http")) {
      config.http.enabled = true;
      ConfigReader http = protocols.child("http");
      http.read_endpoint("endpoint", config.http.endpoint);
      http.read("max_request_body_size", config.http.max_request_body_size);
      http.read("traces_url_path", config.http.traces_url_path);
      http.read("metrics_url_path", config.http.metrics_url_path);
      http.read("logs_url_path", config.http.logs_url_path);
      read_tls_server(http, config.http.tls);
      read_authenticator(http, config.http.authenticator);
      read_http_limits(http, config.http);
      if (config.http.max_request_body_size == 0) {
        http.error("max_request_body_size", "must be greater than 0");
      }
    }
    if (!config.grpc.enabled && !config.http.enabled) {
      reader.error("protocols", "must enable at least one of grpc and http");
    }
  }
};

}  // namespace
}  // namespace weft::receivers::otlp

WEFT_DEFINE_FACTORY(otlp_receiver, weft::receivers::otlp::Factory)
