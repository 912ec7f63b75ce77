#pragma once

#include <functional>
#include <memory>
#include <string>

#include "weft/metrics.h"
#include "weft/status.h"

namespace httplib {
class Server;
}

namespace weft {
class HttpListener;
}

namespace weft::telemetry {

// Serves the registry at http://ADDRESS/metrics in the Prometheus text format.
class MetricsServer {
 public:
  MetricsServer(std::string address, const Registry& registry);
  ~MetricsServer();
  // An admin action at POST path; the handler returns the HTTP status and a JSON body.
  void add_action(const std::string& path, std::function<std::pair<int, std::string>()> handler);
  [[nodiscard]] Status start();
  void stop();

 private:
  std::string address_;
  const Registry& registry_;
  std::unique_ptr<httplib::Server> server_;
  std::unique_ptr<HttpListener> listener_;
};

}  // namespace weft::telemetry
