#include "telemetry/metrics_server.h"

#include <httplib.h>

#include "telemetry/process.h"
#include "util/http_listener.h"
#include "util/tls.h"

#include "weft/config_reader.h"

namespace weft::telemetry {

MetricsServer::MetricsServer(std::string address, const Registry& registry, TlsSettings tls)
    : address_(std::move(address)),
      registry_(registry),
      tls_(std::move(tls)),
      listener_(std::make_unique<HttpListener>()) {}

MetricsServer::~MetricsServer() {
  stop();
}

void MetricsServer::add_action(const std::string& path,
                               std::function<std::pair<int, std::string>()> handler) {
  actions_.emplace_back(path, std::move(handler));
}

void MetricsServer::serve_action(const std::string& path,
                                 std::function<std::pair<int, std::string>()> handler) {
  server_->Post(
      path, [handler = std::move(handler)](const httplib::Request&, httplib::Response& response) {
        auto [status, body] = handler();
        response.status = status;
        response.set_content(body, "application/json");
      });
}

Status MetricsServer::start() {
  std::string host;
  int port = 0;
  if (!split_endpoint(address_, host, port)) return Status::permanent("bad address " + address_);
  auto server = tls::make_http_server(tls_);
  if (!server.ok())
    return Status::permanent("self-metrics on " + address_ + ": " + server.status().message());
  server_ = std::move(server).value();
  for (auto& [path, handler] : actions_) serve_action(path, std::move(handler));
  actions_.clear();
  if (plugin_handler_) {
    auto serve = [this](const httplib::Request& request, httplib::Response& response) {
      auto [status, body] =
          plugin_handler_(request.method, request.matches[1].str(), request.matches[2].str());
      response.status = status;
      response.set_content(body, "application/json");
    };
    server_->Get(R"(/plugins/(.+)/(shadow))", serve);
    server_->Post(R"(/plugins/(.+)/(promote|shadow))", serve);
  }
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& response) {
    std::string body = registry_.render();
    body += "# HELP otelcol_process_memory_rss Resident memory of the collector in bytes.\n";
    body += "# TYPE otelcol_process_memory_rss gauge\n";
    body += "otelcol_process_memory_rss " + std::to_string(resident_bytes()) + "\n";
    response.set_content(body, "text/plain; version=0.0.4");
  });
  if (!server_->bind_to_port(host.empty() ? "0.0.0.0" : host, port)) {
    return Status::permanent("cannot serve self-metrics on " + address_);
  }
  listener_->start(*server_);
  return Status::ok();
}

void MetricsServer::stop() {
  if (server_) listener_->stop(*server_);
}

}  // namespace weft::telemetry
