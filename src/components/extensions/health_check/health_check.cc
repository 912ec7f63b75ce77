#include <httplib.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <thread>

#include "util/http_listener.h"
#include "weft/config_reader.h"
#include "weft/factory.h"

namespace weft::extensions::health_check {
namespace {

struct Config : ComponentConfig {
  std::string endpoint = "localhost:13133";
  std::string path = "/";
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
    server_.Get(config_.path, [this](const httplib::Request&, httplib::Response& response) {
      if (ready_.load()) {
        response.set_content(R"({"status":"Server available"})", "application/json");
      } else {
        response.status = 503;
        response.set_content(R"({"status":"Server not available"})", "application/json");
      }
    });
    if (!server_.bind_to_port(host.empty() ? "0.0.0.0" : host, port)) {
      return Status::permanent("health_check cannot listen on " + config_.endpoint);
    }
    listener_.start(server_);
    ctx_.logger->info("health check listening on {}{}", config_.endpoint, config_.path);
    return Status::ok();
  }

  void set_ready(bool ready) override { ready_ = ready; }

  void shutdown(std::chrono::steady_clock::time_point /*deadline*/) override {
    ready_ = false;
    listener_.stop(server_);
  }

 private:
  ComponentContext ctx_;
  Config config_;
  std::atomic<bool> ready_{false};
  httplib::Server server_;
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
    if (config.path.empty() || config.path.front() != '/') {
      reader.error("path", "must start with /");
    }
  }
};

}  // namespace
}  // namespace weft::extensions::health_check

WEFT_DEFINE_FACTORY(health_check_extension, weft::extensions::health_check::Factory)
