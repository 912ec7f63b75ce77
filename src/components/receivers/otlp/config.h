#pragma once

#include <cstdint>
#include <string>

#include "weft/factory.h"

namespace weft::receivers::otlp {

struct GrpcSettings {
  bool enabled = false;
  std::string endpoint = "localhost:4317";
  int max_recv_msg_size_mib = 4;
};

struct HttpSettings {
  bool enabled = false;
  std::string endpoint = "localhost:4318";
  uint64_t max_request_body_size = 20ull << 20;  // bytes, after decompression
  std::string traces_url_path = "/v1/traces";
  std::string metrics_url_path = "/v1/metrics";
  std::string logs_url_path = "/v1/logs";
};

struct Config : ComponentConfig {
  GrpcSettings grpc;
  HttpSettings http;
};

}  // namespace weft::receivers::otlp
