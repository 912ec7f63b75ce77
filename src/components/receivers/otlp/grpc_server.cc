#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include "components/receivers/otlp/servers.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.grpc.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.grpc.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"

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
grpc::ServerUnaryReactor* handle(grpc::CallbackServerContext* context, Ingest& ingest,
                                 Signal signal, const grpc::ByteBuffer* request,
                                 grpc::ByteBuffer* response) {
  auto* reactor = context->DefaultReactor();
  if (!ingest.wired(signal)) {
    reactor->Finish({grpc::StatusCode::UNIMPLEMENTED,
                     std::string("no pipeline receives ") + std::string(signal_name(signal))});
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
  const Status status = ingest.accept(signal, pdata::Telemetry::from_wire(signal, std::move(wire)));
  if (status.is_ok()) {
    // An empty Export*ServiceResponse: everything was accepted.
    grpc::Slice empty;
    grpc::ByteBuffer body(&empty, 1);
    response->Swap(&body);
  }
  reactor->Finish(to_grpc(status));
  return reactor;
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
    return handle(context, ingest_, kSignal, request, response);
  }

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
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort(settings_.endpoint, grpc::InsecureServerCredentials(), &port);
    builder.SetMaxReceiveMessageSize(settings_.max_recv_msg_size_mib * (1 << 20));
    builder.RegisterService(&traces_);
    builder.RegisterService(&metrics_);
    builder.RegisterService(&logs_);
    server_ = builder.BuildAndStart();
    if (!server_ || port == 0) {
      server_.reset();
      return Status::permanent("cannot listen for OTLP/gRPC on " + settings_.endpoint);
    }
    ctx_.logger->info("OTLP/gRPC receiver listening on {}", settings_.endpoint);
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
