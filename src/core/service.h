#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/fanout.h"
#include "telemetry/metrics_server.h"
#include "weft/audit.h"
#include "weft/component.h"
#include "weft/metrics.h"

namespace spdlog::sinks {
class sink;
}

namespace weft {

// The running collector: builds the component graph from a checked config,
// starts it back to front (exporters first, receivers last) and shuts it down
// front to back, so that whatever was accepted drains through to the exporters.
class Service final : public Host {
 public:
  Service(CollectorConfig config, std::shared_ptr<spdlog::sinks::sink> sink);
  ~Service();

  [[nodiscard]] Status start();
  // Stops receivers, drains processors and exporters, within shutdown_timeout.
  void shutdown();
  [[nodiscard]] telemetry::Registry& metrics() { return registry_; }
  // Reloads every reloadable component (the wasm plugins; SIGHUP, POST /plugins/reload):
  // HTTP status and a JSON report.
  std::pair<int, std::string> reload_plugins();

  void add_reloadable(const std::string& id, Reloadable* reloadable) override;
  void remove_reloadable(Reloadable* reloadable) override;
  [[nodiscard]] Extension* extension(const std::string& id) const override;
  void add_shadowed(const std::string& id, Shadowed* shadowed) override;
  void remove_shadowed(Shadowed* shadowed) override;
  // GET /plugins/<id>/shadow, POST /plugins/<id>/promote.
  std::pair<int, std::string> plugin_action(const std::string& method, const std::string& id,
                                            const std::string& what);

 private:
  struct Pipeline {
    PipelineConfig config;
    std::unique_ptr<FanOut> to_exporters;
    std::vector<std::unique_ptr<Processor>> processors;  // in pipeline order
    Consumer* head = nullptr;
  };

  ComponentContext context(ComponentKind kind, const std::string& id);
  Status build();

  CollectorConfig config_;
  std::shared_ptr<spdlog::sinks::sink> sink_;
  telemetry::Registry registry_;
  std::vector<std::unique_ptr<Extension>> extensions_;
  std::map<std::string, std::unique_ptr<Exporter>> exporters_;
  std::vector<Pipeline> pipelines_;
  struct ConnectorInstance {
    std::string id;
    Signal in, out;
    std::unique_ptr<FanOut> next;
    std::unique_ptr<Connector> connector;
  };

  std::vector<std::unique_ptr<FanOut>> receiver_fanouts_;
  std::vector<ConnectorInstance> connectors_;
  std::map<std::string, std::unique_ptr<Receiver>> receivers_;
  std::unique_ptr<telemetry::MetricsServer> metrics_server_;
  std::unique_ptr<telemetry::AuditLog> audit_;
  std::shared_ptr<spdlog::logger> logger_;
  bool shut_down_ = false;
  std::mutex reload_mu_;  // held through a reload, so a component leaving waits for it
  std::map<std::string, Reloadable*> reloadables_;
  std::map<std::string, Shadowed*> shadowed_;  // guarded by reload_mu_
};

}  // namespace weft
