#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "weft/component.h"
#include "weft/result.h"

// Authenticators: extensions that receivers and exporters name in `auth: {authenticator: ID}`,
// as in the Go collector. One extension may be both (bearertokenauth, basicauth).
namespace weft {

class ConfigReader;

// One incoming request, as a server authenticator sees it.
struct AuthRequest {
  std::string_view transport;  // "grpc" or "http"
  // The first value of a header (gRPC: metadata key), names compared case-insensitively.
  std::function<std::optional<std::string>(std::string_view name)> header;
  std::string_view peer = {};  // the client's address, "host:port"
  std::string_view path = {};  // the HTTP path, or the gRPC method ("/pkg.Service/Export")
  // Every header as (lower-case name, value), for authenticators that read them all.
  std::function<std::vector<std::pair<std::string, std::string>>()> headers = {};
};

struct AuthOutcome {
  // Refusals: no or bad credentials (HTTP 401, gRPC UNAUTHENTICATED), good credentials without
  // the right (403, PERMISSION_DENIED), or the authenticator could not decide (503, UNAVAILABLE:
  // the client may retry).
  enum Code { kUnauthenticated, kPermissionDenied, kUnavailable };
  bool ok = false;
  Code code = kUnauthenticated;
  std::string reason;  // why not; never contains the credential
  // What the authenticator says about the client (tenant, subject, ...): the batch's
  // ClientInfo::auth.
  std::vector<std::pair<std::string, std::string>> attributes = {};

  static AuthOutcome allow() {
    AuthOutcome o;
    o.ok = true;
    return o;
  }
  static AuthOutcome refuse(std::string why, Code code = kUnauthenticated) {
    AuthOutcome o;
    o.code = code;
    o.reason = std::move(why);
    return o;
  }
};

class ServerAuthenticator {
 public:
  virtual ~ServerAuthenticator() = default;
  // Called on the receiving thread for every request; must be thread-safe.
  [[nodiscard]] virtual AuthOutcome authenticate(const AuthRequest& request) = 0;
};

// One outgoing request, as a client authenticator sees it (to sign it, say).
struct OutboundRequest {
  std::string_view method;  // "POST", ...
  // The URL: "https://host:port/v1/traces"; for gRPC "grpc://host:port/<package.Service>/Export".
  std::string_view url;
  std::string_view body;  // as sent (compressed if it is; for gRPC the serialized message)
};

class ClientAuthenticator {
 public:
  virtual ~ClientAuthenticator() = default;
  // Adds the headers (gRPC: metadata) of one outgoing request, which holds the headers set so
  // far; thread-safe. A failure fails the send (retryable).
  [[nodiscard]] virtual Status add_headers(const OutboundRequest& request,
                                           std::map<std::string, std::string>& headers) = 0;
};

// The authenticator extension `id` of a running collector, as a server or as a client; an
// error that says what is wrong (not found, not started, not that kind) otherwise.
Result<ServerAuthenticator*> server_authenticator(const ComponentContext& ctx,
                                                  const std::string& id);
Result<ClientAuthenticator*> client_authenticator(const ComponentContext& ctx,
                                                  const std::string& id);

// Reads `auth: {authenticator: ID}` (the Go collector's configauth) into id; absent: empty.
void read_authenticator(ConfigReader& reader, std::string& id);

// Compares two secrets in time that depends only on their lengths.
bool secrets_equal(std::string_view a, std::string_view b);

}  // namespace weft
