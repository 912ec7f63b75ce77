#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "weft/factory.h"
#include "weft/tls.h"

namespace weft::receivers::otlp {

// keepalive.server_parameters and keepalive.enforcement_policy; 0: gRPC's default.
struct GrpcKeepalive {
  std::chrono::nanoseconds max_connection_idle{0};
  std::chrono::nanoseconds max_connection_age{0};
  std::chrono::nanoseconds max_connection_age_grace{0};
  std::chrono::nanoseconds time{0};
  std::chrono::nanoseconds timeout{0};
  std::chrono::nanoseconds min_time{0};
  bool permit_without_stream = false;
};

struct Cors {
  std::vector<std::string> allowed_origins;  // exact, "*", or one "*" inside ("https://*.x")
  std::vector<std::string> allowed_headers;
  std::vector<std::string> exposed_headers;
  int max_age = 0;  // seconds; 0: no Access-Control-Max-Age
};

struct GrpcSettings {
  bool enabled = false;
  std::string endpoint = "localhost:4317";
  int max_recv_msg_size_mib = 4;
  TlsSettings tls;
  std::string authenticator;            // auth.authenticator: an extension id
  uint32_t max_concurrent_streams = 0;  // per connection; 0: unlimited
  uint64_t read_buffer_size = 512 * 1024;
  uint64_t write_buffer_size = 0;
  bool include_metadata = false;  // the request's headers go with its batch (ClientInfo)
  GrpcKeepalive keepalive;
};

struct HttpSettings {
  bool enabled = false;
  std::string endpoint = "localhost:4318";
  uint64_t max_request_body_size = 20ull << 20;  // bytes, after decompression
  std::string traces_url_path = "/v1/traces";
  std::string metrics_url_path = "/v1/metrics";
  std::string logs_url_path = "/v1/logs";
  TlsSettings tls;
  std::string authenticator;
  // Deadlines of a request (util/http_deadlines.h): its headers from the first byte (0: the
  // read_timeout if set, else 10 s), the whole request (0: no limit), each response write
  // (0: no limit), and the wait for the next request on a kept-alive connection (0: 5 s).
  std::chrono::nanoseconds read_timeout{std::chrono::seconds(60)};
  std::chrono::nanoseconds read_header_timeout{std::chrono::seconds(10)};
  std::chrono::nanoseconds write_timeout{std::chrono::seconds(30)};
  std::chrono::nanoseconds idle_timeout{std::chrono::seconds(5)};
  bool keep_alives_enabled = true;
  bool include_metadata = false;  // the request's headers go with its batch (ClientInfo)
  Cors cors;
  std::map<std::string, std::string> response_headers;
};

struct Config : ComponentConfig {
  GrpcSettings grpc;
  HttpSettings http;
};

}  // namespace weft::receivers::otlp
