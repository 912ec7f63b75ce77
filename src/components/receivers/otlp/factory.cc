#include <spdlog/spdlog.h>

#include "components/receivers/otlp/config.h"
#include "components/receivers/otlp/servers.h"
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

class Factory final : public FactoryFor<Config> {
 public:
  [[nodiscard]] ComponentKind kind() const override { return ComponentKind::kReceiver; }
  [[nodiscard]] std::string_view type() const override { return "otlp"; }

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
      if (config.grpc.max_recv_msg_size_mib <= 0) {
        grpc.error("max_recv_msg_size_mib", "must be greater than 0");
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
