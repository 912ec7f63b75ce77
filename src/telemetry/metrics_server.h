#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "weft/metrics.h"
#include "weft/status.h"
#include "weft/tls.h"

namespace httplib {
class Server;
}

namespace weft {
class HttpListener;
}

namespace weft::telemetry {

// Serves the registry at http://ADDRESS/metrics in the Prometheus text format (https:// with
// `tls`), with the same connection deadlines as the receivers.
class MetricsServer {
 public:
  MetricsServer(std::string address, const Registry& registry, TlsSettings tls = {});
  ~MetricsServer();
  // An admin action at POST path; the handler returns the HTTP status and a JSON body.
  void add_action(const std::string& path, std::function<std::pair<int, std::string>()> handler);
  // GET and POST /plugins/<id>/<what>: handler(method, id, what) returns the HTTP status and a
  // JSON body.
  using PluginHandler = std::function<std::pair<int, std::string>(
      const std::string& method, const std::string& id, const std::string& what)>;
  void set_plugin_handler(PluginHandler handler) { plugin_handler_ = std::move(handler); }
  [[nodiscard]] Status start();
  void stop();

 private:
  void serve_action(const std::string& path, std::function<std::pair<int, std::string>()> handler);

  std::string address_;
  const Registry& registry_;
  TlsSettings tls_;
  std::vector<std::pair<std::string, std::function<std::pair<int, std::string>()>>> actions_;
  PluginHandler plugin_handler_;
  std::unique_ptr<httplib::Server> server_;
  std::unique_ptr<HttpListener> listener_;
};

}  // namespace weft::telemetry
