#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include "components/common/grpc_tls.h"
#include "components/common/otlp_grpc.h"
#include "components/receivers/otlp/servers.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.grpc.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.grpc.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"
#include "weft/auth.h"

namespace weft::receivers::otlp {
namespace {

namespace collector = opentelemetry::proto::collector;

grpc::Status to_grpc(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return grpc::Status::OK;
    case StatusCode::kRetryable:
      return {grpc::StatusCode::UNAVAILABLE, status.message()};
    case StatusCode::kInvalidArgument:
    case StatusCode::kPermanent:
      return {grpc::StatusCode::INVALID_ARGUMENT, status.message()};
  }
  return {grpc::StatusCode::INTERNAL, status.message()};
}

// Handles Export with the request still in wire form: the bytes are handed on
// as they came, never decoded here. An empty response means full success.
struct Handling {
  ServerAuthenticator* authenticator = nullptr;
  size_t max_message_bytes = 0;  // max_recv_msg_size_mib
  bool include_metadata = false;
};

// gRPC's peer ("ipv4:127.0.0.1:5000", "ipv6:[::1]:5000") as "host:port".
std::string peer_address(const std::string& peer) {
  for (std::string_view prefix : {"ipv4:", "ipv6:"}) {
    if (peer.starts_with(prefix)) return peer.substr(prefix.size());
  }
  return peer;
}

grpc::StatusCode refusal_code(AuthOutcome::Code code) {
  switch (code) {
    case AuthOutcome::kPermissionDenied:
      return grpc::StatusCode::PERMISSION_DENIED;
    case AuthOutcome::kUnavailable:
      return grpc::StatusCode::UNAVAILABLE;
    case AuthOutcome::kUnauthenticated:
      break;
  }
  return grpc::StatusCode::UNAUTHENTICATED;
}

grpc::ServerUnaryReactor* handle(grpc::CallbackServerContext* context, Ingest& ingest,
                                 const Handling& handling, Signal signal,
                                 const grpc::ByteBuffer* request, grpc::ByteBuffer* response) {
  ServerAuthenticator* authenticator = handling.authenticator;
  auto* reactor = context->DefaultReactor();
  const auto& metadata = context->client_metadata();  // keys are lowercase
  auto all_metadata = [&metadata] {
    ClientInfo::Pairs pairs;
    for (const auto& [k, v] : metadata)
      pairs.emplace_back(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
    return pairs;
  };
  auto client = std::make_shared<ClientInfo>();
  client->address = peer_address(context->peer());
  if (authenticator != nullptr) {
    const std::string method = otlp_grpc::export_method(signal);
    AuthRequest auth{"grpc", [&metadata](std::string_view name) -> std::optional<std::string> {
                       std::string key(name);
                       for (char& c : key) c = static_cast<char>(std::tolower(c));
                       auto it = metadata.find(key);
                       if (it == metadata.end()) return std::nullopt;
                       return std::string(it->second.data(), it->second.size());
                     }};
    auth.peer = client->address;
    auth.path = method;
    auth.headers = all_metadata;
    AuthOutcome outcome = authenticator->authenticate(auth);
    if (!outcome.ok) {
      ingest.count_failed_request(outcome.code == AuthOutcome::kUnavailable ? "auth_unavailable"
                                                                            : "unauthenticated");
      reactor->Finish({refusal_code(outcome.code), outcome.reason});
      return reactor;
    }
    client->auth = std::move(outcome.attributes);
  }
  if (handling.include_metadata) client->metadata = all_metadata();
  if (!ingest.wired(signal)) {
    reactor->Finish({grpc::StatusCode::UNIMPLEMENTED,
                     std::string("no pipeline receives ") + std::string(signal_name(signal))});
    return reactor;
  }
  if (request->Length() > handling.max_message_bytes) {
    ingest.count_failed_request("too_large");
    reactor->Finish({grpc::StatusCode::RESOURCE_EXHAUSTED,
                     "request of " + std::to_string(request->Length()) +
                         " bytes is larger than max_recv_msg_size_mib (" +
                         std::to_string(handling.max_message_bytes) + " bytes)"});
    return reactor;
  }
  std::string wire;
  std::vector<grpc::Slice> slices;
  if (!request->Dump(&slices).ok()) {
    ingest.count_failed_request("malformed");
    reactor->Finish({grpc::StatusCode::INVALID_ARGUMENT, "unreadable request"});
    return reactor;
  }
  wire.reserve(request->Length());
  for (const auto& slice : slices) {
    wire.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  auto request_data = pdata::Telemetry::from_wire(signal, std::move(wire));
  if (request_data.ok()) request_data->set_client(std::move(client));
  const Status status = ingest.accept(signal, std::move(request_data));
  if (status.is_ok()) {
    // Empty when everything was accepted, else with its partial_success.
    const std::string encoded = Ingest::response_proto(status);
    grpc::Slice slice(encoded.data(), encoded.size());
    grpc::ByteBuffer body(&slice, 1);
    response->Swap(&body);
  }
  reactor->Finish(to_grpc(status));
  return reactor;
}

// gRPC reads a whole message before its own size check, so weft checks max_recv_msg_size_mib
// itself (and counts the refusal) and leaves gRPC a ceiling above it, which bounds what a
// compressed message may inflate to: twice the limit, and at least 64 MiB more.
int grpc_message_limit(size_t limit) {
  const size_t ceiling = std::max(limit * 2, limit + (size_t{64} << 20));
  return static_cast<int>(std::min<size_t>(ceiling, INT32_MAX));
}

// Export for one signal, with the request left as raw bytes.
template <class Service, Signal kSignal>
class RawExport final
    : public Service::template WithRawCallbackMethod_Export<typename Service::Service> {
 public:
  explicit RawExport(Ingest& ingest) : ingest_(ingest) {}
  grpc::ServerUnaryReactor* Export(grpc::CallbackServerContext* context,
                                   const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response) override {
    return handle(context, ingest_, handling, kSignal, request, response);
  }

  Handling handling;  // set before the server starts

 private:
  Ingest& ingest_;
};

using TraceService = RawExport<collector::trace::v1::TraceService, Signal::kTraces>;
using MetricsService = RawExport<collector::metrics::v1::MetricsService, Signal::kMetrics>;
using LogsService = RawExport<collector::logs::v1::LogsService, Signal::kLogs>;

class GrpcServer final : public Server {
 public:
  GrpcServer(const GrpcSettings& settings, Ingest& ingest, const ComponentContext& ctx)
      : settings_(settings), ctx_(ctx), traces_(ingest), metrics_(ingest), logs_(ingest) {}

  Status start() override {
    auto credentials = grpc_tls::server_credentials(settings_.tls);
    if (!credentials.ok()) {
      return Status::permanent("OTLP/gRPC on " + settings_.endpoint + ": " +
                               credentials.status().message());
    }
    if (!settings_.authenticator.empty()) {
      auto authenticator = server_authenticator(ctx_, settings_.authenticator);
      if (!authenticator.ok()) {
        return Status::permanent("OTLP/gRPC on " + settings_.endpoint + ": " +
                                 authenticator.status().message());
      }
      traces_.handling.authenticator = *authenticator;
    }
    traces_.handling.max_message_bytes = static_cast<size_t>(settings_.max_recv_msg_size_mib) << 20;
    traces_.handling.include_metadata = settings_.include_metadata;
    metrics_.handling = logs_.handling = traces_.handling;
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort(settings_.endpoint, *credentials, &port);
    builder.SetMaxReceiveMessageSize(
        grpc_message_limit(static_cast<size_t>(settings_.max_recv_msg_size_mib) << 20));
    apply_limits(builder);
    builder.RegisterService(&traces_);
    builder.RegisterService(&metrics_);
    builder.RegisterService(&logs_);
    server_ = builder.BuildAndStart();
    if (!server_ || port == 0) {
      server_.reset();
      return Status::permanent("cannot listen for OTLP/gRPC on " + settings_.endpoint);
    }
    ctx_.logger->info("OTLP/gRPC receiver listening on {}{}", settings_.endpoint,
                      settings_.tls.enabled ? " (TLS)" : "");
    return Status::ok();
  }

  void stop(std::chrono::steady_clock::time_point deadline) override {
    if (!server_) return;
    const auto wall = std::chrono::system_clock::now() +
                      std::chrono::duration_cast<std::chrono::system_clock::duration>(
                          deadline - std::chrono::steady_clock::now());
    server_->Shutdown(wall);
    server_->Wait();
    server_.reset();
  }

 private:
  // The Go collector's server settings, as gRPC channel arguments (0: gRPC's default).
  void apply_limits(grpc::ServerBuilder& builder) const {
    auto ms = [](std::chrono::nanoseconds d) {
      return static_cast<int>(std::min<int64_t>(
          INT32_MAX, std::chrono::duration_cast<std::chrono::milliseconds>(d).count()));
    };
    if (settings_.max_concurrent_streams > 0) {
      builder.AddChannelArgument(
          GRPC_ARG_MAX_CONCURRENT_STREAMS,
          static_cast<int>(std::min<uint32_t>(settings_.max_concurrent_streams, INT32_MAX)));
    }
    if (settings_.read_buffer_size > 0) {
      builder.AddChannelArgument(
          GRPC_ARG_TCP_READ_CHUNK_SIZE,
          static_cast<int>(std::min<uint64_t>(settings_.read_buffer_size, INT32_MAX)));
    }
    const GrpcKeepalive& k = settings_.keepalive;
    const std::pair<const char*, std::chrono::nanoseconds> durations[] = {
        {GRPC_ARG_MAX_CONNECTION_IDLE_MS, k.max_connection_idle},
        {GRPC_ARG_MAX_CONNECTION_AGE_MS, k.max_connection_age},
        {GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, k.max_connection_age_grace},
        {GRPC_ARG_KEEPALIVE_TIME_MS, k.time},
        {GRPC_ARG_KEEPALIVE_TIMEOUT_MS, k.timeout},
        {GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, k.min_time},
    };
    for (const auto& [name, value] : durations) {
      if (value.count() > 0) builder.AddChannelArgument(name, ms(value));
    }
    if (k.permit_without_stream)
      builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  }

  GrpcSettings settings_;
  const ComponentContext& ctx_;
  TraceService traces_;
  MetricsService metrics_;
  LogsService logs_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace

std::unique_ptr<Server> make_grpc_server(const GrpcSettings& settings, Ingest& ingest,
                                         const ComponentContext& ctx) {
  return std::make_unique<GrpcServer>(settings, ingest, ctx);
}

}  // namespace weft::receivers::otlp
