#include <httplib.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <thread>

#include "util/http_listener.h"
#include "util/tls.h"
#include "weft/config_reader.h"
#include "weft/factory.h"
#include "weft/tls.h"

namespace weft::extensions::health_check {
namespace {

struct Config : ComponentConfig {
  std::string endpoint = "localhost:13133";
  std::string path = "/";
  TlsSettings tls;
};

// Answers GET <path> with 200 while every pipeline runs, 503 before and during shutdown.
class HealthCheck final : public Extension {
 public:
  HealthCheck(const ComponentContext& ctx, const Config& config) : ctx_(ctx), config_(config) {}
  ~HealthCheck() override { shutdown(std::chrono::steady_clock::now()); }

  Status start() override {
    std::string host;
    int port = 0;
    split_endpoint(config_.endpoint, host, port);
    auto server = tls::make_http_server(config_.tls, [this](bool error, const std::string& m) {
      if (error) {
        ctx_.logger->error("{}", m);
      } else {
        ctx_.logger->info("{}", m);
      }
    });
    if (!server.ok()) return Status::permanent("health_check: " + server.status().message());
    server_ = std::move(server).value();
    server_->Get(config_.path, [this](const httplib::Request&, httplib::Response& response) {
      if (ready_.load()) {
        response.set_content(R"({"status":"Server available"})", "application/json");
      } else {
        response.status = 503;
        response.set_content(R"({"status":"Server not available"})", "application/json");
      }
    });
    if (!server_->bind_to_port(host.empty() ? "0.0.0.0" : host, port)) {
      return Status::permanent("health_check cannot listen on " + config_.endpoint);
    }
    listener_.start(*server_);
    ctx_.logger->info("health check listening on {}{}", config_.endpoint, config_.path);
    return Status::ok();
  }

  void set_ready(bool ready) override { ready_ = ready; }

  void shutdown(std::chrono::steady_clock::time_point /*deadline*/) override {
    ready_ = false;
    if (server_) listener_.stop(*server_);
  }

 private:
  ComponentContext ctx_;
  Config config_;
  std::atomic<bool> ready_{false};
  std::unique_ptr<httplib::Server> server_;
  HttpListener listener_;
};

class Factory final : public FactoryFor<Config> {
 public:
  [[nodiscard]] ComponentKind kind() const override { return ComponentKind::kExtension; }
  [[nodiscard]] std::string_view type() const override { return "health_check"; }

  std::unique_ptr<Extension> create_extension(const ComponentContext& ctx,
                                              const ComponentConfig& config) const override {
    return std::make_unique<HealthCheck>(ctx, cast(config));
  }

 protected:
  void load(ConfigReader& reader, Config& config) const override {
    reader.read_endpoint("endpoint", config.endpoint);
    reader.read("path", config.path);
    read_tls_server(reader, config.tls);
    if (config.path.empty() || config.path.front() != '/') {
      reader.error("path", "must start with /");
    }
  }
};

}  // namespace
}  // namespace weft::extensions::health_check

WEFT_DEFINE_FACTORY(health_check_extension, weft::extensions::health_check::Factory)
