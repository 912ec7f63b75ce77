#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

#include "components/receivers/otlp/cors.h"
#include "components/receivers/otlp/servers.h"
#include "pdata/otlp_json.h"
#include "pdata/wire.h"
#include "util/http_listener.h"
#include "util/tls.h"
#include "util/yaml_json.h"
#include "weft/auth.h"
#include "weft/config_reader.h"

namespace weft::receivers::otlp {
namespace {

constexpr const char* kProtobuf = "application/x-protobuf";
constexpr const char* kJson = "application/json";

// gRPC codes carried in the google.rpc.Status body of an error response.
constexpr int kGrpcInvalidArgument = 3;
constexpr int kGrpcUnavailable = 14;
constexpr int kGrpcPermissionDenied = 7;
constexpr int kGrpcUnauthenticated = 16;

// What the authenticator said about the client of the request this thread is serving: set in
// the pre-routing handler, taken by the route handler of the same request (the library serves a
// request on one thread, from its headers to its response).
thread_local ClientInfo::Pairs t_auth_attributes;

enum class Encoding { kProtobuf, kJson, kUnsupported };

Encoding encoding_of(const httplib::Request& request) {
  std::string type = request.get_header_value("Content-Type");
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  if (type == kProtobuf) return Encoding::kProtobuf;
  if (type == kJson) return Encoding::kJson;
  return Encoding::kUnsupported;
}

// Writes an error as a google.rpc.Status in the request's encoding, as OTLP/HTTP asks.
void write_error(httplib::Response& response, int http_status, int grpc_code,
                 const std::string& message, Encoding encoding) {
  response.status = http_status;
  if (encoding == Encoding::kJson) {
    response.set_content(
        fmt::format("{{\"code\":{},\"message\":{}}}", grpc_code, json_quote(message)), kJson);
    return;
  }
  std::string body;
  pdata::wire::append_varint(body, 1 << 3);  // code, varint
  pdata::wire::append_varint(body, static_cast<uint64_t>(grpc_code));
  pdata::wire::append_len_field(body, 2, message);
  response.set_content(body, kProtobuf);
}

uint64_t declared_length(const httplib::Request& request) {
  try {
    return std::stoull(request.get_header_value("Content-Length"));
  } catch (...) {
    return 0;
  }
}

class HttpServer final : public Server {
 public:
  HttpServer(const HttpSettings& settings, Ingest& ingest, const ComponentContext& ctx)
      : settings_(settings), ingest_(ingest), ctx_(ctx) {}

  Status start() override {
    std::string host;
    int port = 0;
    if (!split_endpoint(settings_.endpoint, host, port)) {
      return Status::permanent("bad endpoint " + settings_.endpoint);
    }
    http::Deadlines deadlines;
    deadlines.read = settings_.read_timeout;
    deadlines.write = settings_.write_timeout;
    if (settings_.read_header_timeout.count() > 0) {
      deadlines.read_header = settings_.read_header_timeout;
    } else if (settings_.read_timeout.count() > 0) {
      deadlines.read_header = settings_.read_timeout;
    }
    deadlines.idle =
        settings_.idle_timeout.count() > 0 ? settings_.idle_timeout : std::chrono::seconds(5);
    deadlines.on_timeout = [this] { ingest_.count_failed_request("timeout"); };
    auto server = tls::make_http_server(
        settings_.tls,
        [this](bool error, const std::string& m) {
          if (error) {
            ctx_.logger->error("OTLP/HTTP on {}: {}", settings_.endpoint, m);
          } else {
            ctx_.logger->info("OTLP/HTTP on {}: {}", settings_.endpoint, m);
          }
        },
        std::move(deadlines));
    if (!server.ok()) {
      return Status::permanent("OTLP/HTTP on " + settings_.endpoint + ": " +
                               server.status().message());
    }
    server_ = std::move(server).value();
    if (!settings_.authenticator.empty()) {
      auto authenticator = server_authenticator(ctx_, settings_.authenticator);
      if (!authenticator.ok()) {
        return Status::permanent("OTLP/HTTP on " + settings_.endpoint + ": " +
                                 authenticator.status().message());
      }
      authenticator_ = *authenticator;
    }
    // Before routing, so that a refused request's body is never read: CORS preflights are
    // answered (they carry no credentials), then the authenticator decides.
    server_->set_pre_routing_handler(
        [this](const httplib::Request& request, httplib::Response& response) {
          if (request.method == "OPTIONS") {
            preflight(settings_.cors, request, response);
            return httplib::Server::HandlerResponse::Handled;
          }
          if (authenticator_ != nullptr && !authenticate(request, response)) {
            return httplib::Server::HandlerResponse::Handled;
          }
          return httplib::Server::HandlerResponse::Unhandled;
        });
    server_->set_post_routing_handler(
        [this](const httplib::Request& request, httplib::Response& response) {
          for (const auto& [name, value] : settings_.response_headers) {
            response.set_header(name, value);
          }
          const std::string origin = request.get_header_value("Origin");
          if (request.method != "OPTIONS" && !origin.empty() &&
              origin_allowed(settings_.cors, origin)) {
            response.set_header("Access-Control-Allow-Origin", origin);
            response.set_header("Access-Control-Allow-Credentials", "true");
            response.set_header("Vary", "Origin");
            if (!settings_.cors.exposed_headers.empty()) {
              response.set_header("Access-Control-Expose-Headers",
                                  join_headers(settings_.cors.exposed_headers));
            }
          }
        });
    server_->set_keep_alive_max_count(settings_.keep_alives_enabled ? 100000 : 1);
    server_->set_payload_max_length(settings_.max_request_body_size);
    route(settings_.traces_url_path, Signal::kTraces);
    route(settings_.metrics_url_path, Signal::kMetrics);
    route(settings_.logs_url_path, Signal::kLogs);
    // Called for every status >= 400; only the library's own (bodyless) errors are filled in.
    server_->set_error_handler(
        [this](const httplib::Request& request, httplib::Response& response) {
          if (!response.body.empty()) return;
          if (response.status == 413) {
            ingest_.count_failed_request("too_large");
            write_error(response, 413, kGrpcInvalidArgument, "request body too large",
                        encoding_of(request));
          } else if (response.status == 404) {
            ingest_.count_failed_request("not_found");
            write_error(response, 404, kGrpcInvalidArgument, "unknown path " + request.path,
                        encoding_of(request));
          }
        });
    if (host.empty()) host = "0.0.0.0";
    if (!server_->bind_to_port(host, port)) {
      return Status::permanent("cannot listen for OTLP/HTTP on " + settings_.endpoint);
    }
    listener_.start(*server_);
    ctx_.logger->info("OTLP/HTTP receiver listening on {}{}", settings_.endpoint,
                      settings_.tls.enabled ? " (TLS)" : "");
    return Status::ok();
  }

  void stop(std::chrono::steady_clock::time_point /*deadline*/) override {
    if (server_) listener_.stop(*server_);
  }

 private:
  bool authenticate(const httplib::Request& request, httplib::Response& response) {
    AuthRequest auth{"http", [&request](std::string_view name) -> std::optional<std::string> {
                       const std::string key(name);
                       if (!request.has_header(key)) return std::nullopt;
                       return request.get_header_value(key);
                     }};
    const std::string peer = peer_of(request);
    auth.peer = peer;
    auth.path = request.path;
    auth.headers = [&request] { return headers_of(request); };
    AuthOutcome outcome = authenticator_->authenticate(auth);
    if (outcome.ok) {
      t_auth_attributes = std::move(outcome.attributes);
      return true;
    }
    ctx_.logger->debug("refused a request from {}: {}", peer, outcome.reason);
    switch (outcome.code) {
      case AuthOutcome::kPermissionDenied:
        ingest_.count_failed_request("unauthenticated");
        write_error(response, 403, kGrpcPermissionDenied, "permission denied: " + outcome.reason,
                    encoding_of(request));
        break;
      case AuthOutcome::kUnavailable:
        ingest_.count_failed_request("auth_unavailable");
        response.set_header("Retry-After", "1");
        write_error(response, 503, kGrpcUnavailable,
                    "authentication unavailable: " + outcome.reason, encoding_of(request));
        break;
      case AuthOutcome::kUnauthenticated:
        ingest_.count_failed_request("unauthenticated");
        write_error(response, 401, kGrpcUnauthenticated, "unauthenticated: " + outcome.reason,
                    encoding_of(request));
        break;
    }
    return false;
  }

  static std::string peer_of(const httplib::Request& request) {
    if (request.remote_addr.find(':') != std::string::npos) {
      return "[" + request.remote_addr + "]:" + std::to_string(request.remote_port);
    }
    return request.remote_addr + ":" + std::to_string(request.remote_port);
  }

  static ClientInfo::Pairs headers_of(const httplib::Request& request) {
    ClientInfo::Pairs pairs;
    for (const auto& [name, value] : request.headers) {
      std::string key = name;
      for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      pairs.emplace_back(std::move(key), value);
    }
    return pairs;
  }

  void route(const std::string& path, Signal signal) {
    // The body is read here, chunk by chunk as the library inflates it, so that neither a
    // chunked upload nor a gzip bomb can grow past max_request_body_size in memory.
    server_->Post(path, [this, signal](const httplib::Request& request, httplib::Response& response,
                                       const httplib::ContentReader& reader) {
      std::string body;
      bool too_large = false;
      const bool complete = reader([&](const char* data, size_t length) {
        if (body.size() + length > settings_.max_request_body_size) {
          too_large = true;
          return false;
        }
        body.append(data, length);
        return true;
      });
      // The library refuses a declared Content-Length over the limit before reading it.
      too_large =
          too_large || (!complete && declared_length(request) > settings_.max_request_body_size);
      if (!complete && !too_large) {
        ingest_.count_failed_request("malformed");
        write_error(response, 400, kGrpcInvalidArgument, "unreadable request body",
                    encoding_of(request));
        return;
      }
      if (too_large) {
        ingest_.count_failed_request("too_large");
        write_error(response, 413, kGrpcInvalidArgument,
                    "request body larger than " + std::to_string(settings_.max_request_body_size) +
                        " bytes",
                    encoding_of(request));
        return;
      }
      handle(signal, request, body, response);
    });
    auto not_allowed = [this](const httplib::Request& request, httplib::Response& response) {
      ingest_.count_failed_request("method_not_allowed");
      response.set_header("Allow", "POST");
      write_error(response, 405, kGrpcInvalidArgument, request.method + " is not allowed",
                  encoding_of(request));
    };
    server_->Get(path, not_allowed);
    server_->Put(path, not_allowed);
    server_->Delete(path, not_allowed);
    server_->Patch(path, not_allowed);
  }

  void handle(Signal signal, const httplib::Request& request, const std::string& body,
              httplib::Response& response) {
    const Encoding encoding = encoding_of(request);
    if (encoding == Encoding::kUnsupported) {
      ingest_.count_failed_request("unsupported_media_type");
      write_error(response, 415, kGrpcInvalidArgument,
                  "unsupported content type \"" + request.get_header_value("Content-Type") +
                      "\"; use application/x-protobuf or application/json",
                  Encoding::kProtobuf);
      return;
    }
    if (!ingest_.wired(signal)) {
      ingest_.count_failed_request("not_found");
      write_error(response, 404, kGrpcInvalidArgument,
                  std::string("no pipeline receives ") + std::string(signal_name(signal)),
                  encoding);
      return;
    }
    auto parsed = encoding == Encoding::kJson ? pdata::telemetry_from_json(signal, body)
                                              : pdata::Telemetry::from_wire(signal, body);
    auto client = std::make_shared<ClientInfo>();
    client->address = peer_of(request);
    if (authenticator_ != nullptr) client->auth = std::exchange(t_auth_attributes, {});
    if (settings_.include_metadata) client->metadata = headers_of(request);
    if (parsed.ok()) parsed->set_client(std::move(client));
    const Status status = ingest_.accept(signal, std::move(parsed));
    if (status.is_ok()) {
      response.status = 200;
      if (encoding == Encoding::kJson) {
        response.set_content(Ingest::response_json(signal, status), kJson);
      } else {
        response.set_content(Ingest::response_proto(status), kProtobuf);
      }
      return;
    }
    if (status.is_retryable()) {
      const auto seconds = std::max<int64_t>(
          1, std::chrono::duration_cast<std::chrono::seconds>(status.retry_after()).count());
      response.set_header("Retry-After", std::to_string(seconds));
      write_error(response, 503, kGrpcUnavailable, status.message(), encoding);
      return;
    }
    write_error(response, 400, kGrpcInvalidArgument, status.message(), encoding);
  }

  HttpSettings settings_;
  Ingest& ingest_;
  const ComponentContext& ctx_;
  std::unique_ptr<httplib::Server> server_;
  ServerAuthenticator* authenticator_ = nullptr;
  HttpListener listener_;
};

}  // namespace

std::unique_ptr<Server> make_http_server(const HttpSettings& settings, Ingest& ingest,
                                         const ComponentContext& ctx) {
  return std::make_unique<HttpServer>(settings, ingest, ctx);
}

}  // namespace weft::receivers::otlp
