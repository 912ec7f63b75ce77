#pragma once

#include <chrono>
#include <memory>

#include "components/receivers/otlp/config.h"
#include "components/receivers/otlp/ingest.h"

namespace weft::receivers::otlp {

// One listening transport of the receiver.
class Server {
 public:
  virtual ~Server() = default;
  [[nodiscard]] virtual Status start() = 0;
  // Stops accepting; requests already being handled finish first.
  virtual void stop(std::chrono::steady_clock::time_point deadline) = 0;
};

std::unique_ptr<Server> make_grpc_server(const GrpcSettings& settings, Ingest& ingest,
                                         const ComponentContext& ctx);
std::unique_ptr<Server> make_http_server(const HttpSettings& settings, Ingest& ingest,
                                         const ComponentContext& ctx);

}  // namespace weft::receivers::otlp
