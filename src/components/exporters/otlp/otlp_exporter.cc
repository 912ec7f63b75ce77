#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <future>
#include <map>

#include "components/common/grpc_tls.h"
#include "components/common/otlp_grpc.h"
#include "components/exporters/helper/otlp_response.h"
#include "components/exporters/helper/queued_exporter.h"
#include "weft/auth.h"
#include "weft/config_reader.h"
#include "weft/factory.h"
#include "weft/tls.h"

namespace weft::exporters::otlp {
namespace {

struct Config : ComponentConfig {
  std::string endpoint;
  std::string compression = "gzip";
  std::map<std::string, std::string> headers;
  TlsSettings tls;
  std::string authenticator;  // auth.authenticator: a client authenticator extension
  ExporterSettings exporter;
};

// Sends requests as they are on the wire: no decoding, no re-encoding.
class GrpcSender final : public Sender {
 public:
  GrpcSender(const ComponentContext& ctx, const Config& config) : ctx_(ctx), config_(config) {}

  Status start() override {
    if (!config_.authenticator.empty()) {
      auto authenticator = client_authenticator(ctx_, config_.authenticator);
      if (!authenticator.ok()) return authenticator.status();
      authenticator_ = *authenticator;
    }
    // As the Go collector: the scheme is dropped, and https:// means TLS even if insecure.
    std::string target = config_.endpoint;
    TlsSettings tls = config_.tls;
    if (target.rfind("http://", 0) == 0) {
      target = target.substr(7);
    } else if (target.rfind("https://", 0) == 0) {
      target = target.substr(8);
      tls.enabled = true;
    }
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    auto credentials = grpc_tls::channel_credentials(tls, args);
    if (!credentials.ok()) {
      return Status::permanent("OTLP/gRPC export to " + config_.endpoint + ": " +
                               credentials.status().message());
    }
    channel_ = grpc::CreateCustomChannel(target, *credentials, args);
    stub_ = std::make_unique<grpc::GenericStub>(channel_);
    return Status::ok();
  }

  Status send(const pdata::Telemetry& data, std::chrono::nanoseconds timeout) override {
    grpc::ClientContext context;
    if (timeout.count() > 0) {
      context.set_deadline(
          std::chrono::system_clock::now() +
          std::chrono::duration_cast<std::chrono::system_clock::duration>(timeout));
    }
    std::map<std::string, std::string> headers = config_.headers;
    if (authenticator_ != nullptr) {
      const std::string url =
          "grpc://" + config_.endpoint + otlp_grpc::export_method(data.signal());
      const OutboundRequest outbound{"POST", url, data.wire()};
      if (Status s = authenticator_->add_headers(outbound, headers); !s.is_ok()) {
        return Status::retryable("auth " + config_.authenticator + ": " + s.message());
      }
    }
    for (const auto& [key, value] : headers) {
      std::string name = key;  // gRPC metadata keys are lowercase
      for (char& c : name) c = static_cast<char>(std::tolower(c));
      context.AddMetadata(name, value);
    }
    if (config_.compression == "gzip") context.set_compression_algorithm(GRPC_COMPRESS_GZIP);
    grpc::Slice slice(data.wire());
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    std::promise<grpc::Status> done;
    stub_->UnaryCall(&context, otlp_grpc::export_method(data.signal()), grpc::StubOptions(),
                     &request, &response,
                     [&done](const grpc::Status& status) { done.set_value(status); });
    const grpc::Status status = done.get_future().get();
    if (!status.ok()) {
      std::string message = "OTLP/gRPC export to " + config_.endpoint +
                            " failed: " + std::to_string(status.error_code()) + " " +
                            status.error_message();
      return grpc_code_is_retryable(status.error_code()) ? Status::retryable(std::move(message))
                                                         : Status::permanent(std::move(message));
    }
    std::vector<grpc::Slice> slices;
    std::string body;
    if (response.Dump(&slices).ok()) {
      for (const auto& s : slices) body.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    auto partial = parse_partial_success(body);
    if (partial.rejected > 0 || !partial.error_message.empty()) {
      ctx_.metrics
          ->counter("otelcol_exporter_send_failed_" + std::string(item_noun(data.signal())),
                    "Items that could not be sent.", {{"exporter", ctx_.id}})
          .add(static_cast<uint64_t>(std::max<int64_t>(0, partial.rejected)));
      ctx_.logger->error("destination rejected {} of {} {}: {}", partial.rejected,
                         data.item_count(), item_noun(data.signal()), partial.error_message);
    }
    return Status::ok();
  }

 private:
  ComponentContext ctx_;
  Config config_;
  ClientAuthenticator* authenticator_ = nullptr;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpc::GenericStub> stub_;
};

class Factory final : public FactoryFor<Config> {
 public:
  [[nodiscard]] ComponentKind kind() const override { return ComponentKind::kExporter; }
  [[nodiscard]] std::string_view type() const override { return "otlp"; }
  [[nodiscard]] std::vector<std::string_view> aliases() const override { return {"otlp_grpc"}; }

  std::unique_ptr<Exporter> create_exporter(const ComponentContext& ctx,
                                            const ComponentConfig& config) const override {
    const Config& c = cast(config);
    return std::make_unique<QueuedExporter>(ctx, c.exporter, std::make_unique<GrpcSender>(ctx, c));
  }

 protected:
  void load(ConfigReader& reader, Config& config) const override {
    reader.read("endpoint", config.endpoint);
    reader.read("compression", config.compression);
    reader.read("headers", config.headers);
    read_tls_client(reader, config.tls);
    read_authenticator(reader, config.authenticator);
    if (std::string problem = grpc_tls::unsupported(config.tls); !problem.empty()) {
      reader.error("tls", problem);
    }
    config.exporter.load(reader);
    std::string target = config.endpoint;
    for (const char* scheme : {"http://", "https://"}) {
      if (target.rfind(scheme, 0) == 0) target = target.substr(std::string_view(scheme).size());
    }
    std::string host;
    int port = 0;
    if (config.endpoint.empty()) {
      reader.error("endpoint", "must be set, for example \"collector.example:4317\"");
    } else if (target.find(":///") == std::string::npos && !split_endpoint(target, host, port)) {
      reader.error("endpoint", "expected \"host:port\", got \"" + config.endpoint + "\"");
    }
    if (config.compression != "gzip" && config.compression != "none" &&
        !config.compression.empty()) {
      reader.error("compression", "must be gzip or none, got \"" + config.compression + "\"");
    }
  }
};

}  // namespace
}  // namespace weft::exporters::otlp

WEFT_DEFINE_FACTORY(otlp_exporter, weft::exporters::otlp::Factory)
