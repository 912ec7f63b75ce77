#pragma once

#include <memory>
#include <string>
#include <thread>

#include "telemetry/metrics.h"
#include "weft/status.h"

namespace httplib {
class Server;
}

namespace weft::telemetry {

// Serves the registry at http://ADDRESS/metrics in the Prometheus text format.
class MetricsServer {
 public:
  MetricsServer(std::string address, const Registry& registry);
  ~MetricsServer();
  [[nodiscard]] Status start();
  void stop();

 private:
  std::string address_;
  const Registry& registry_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

}  // namespace weft::telemetry
