#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

#include "weft/result.h"
#include "weft/tls.h"

// gRPC's side of TlsSettings: server and channel credentials. gRPC has its own TLS stack:
// certificates from files are re-read every second by its file watcher; versions other
// than TLS 1.2 and 1.3 and cipher suites cannot be chosen through its API, so settings that
// ask for them are refused with a clear error instead of being ignored.
namespace weft::grpc_tls {

// Insecure credentials when !settings.enabled. Checks the certificate and key first, so a
// bad file fails start() with its reason instead of every handshake.
Result<std::shared_ptr<grpc::ServerCredentials>> server_credentials(const TlsSettings& settings);

// Channel credentials for a client; args gets the server name override.
Result<std::shared_ptr<grpc::ChannelCredentials>> channel_credentials(const TlsSettings& settings,
                                                                      grpc::ChannelArguments& args);

// What gRPC cannot do of these settings ("" if nothing): for config validation.
std::string unsupported(const TlsSettings& settings);

}  // namespace weft::grpc_tls
