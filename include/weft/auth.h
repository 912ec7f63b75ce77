#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

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
};

struct AuthOutcome {
  bool ok = false;
  std::string reason;  // why not; never contains the credential
};

class ServerAuthenticator {
 public:
  virtual ~ServerAuthenticator() = default;
  // Called on the receiving thread for every request; must be thread-safe.
  [[nodiscard]] virtual AuthOutcome authenticate(const AuthRequest& request) = 0;
};

class ClientAuthenticator {
 public:
  virtual ~ClientAuthenticator() = default;
  // Adds the headers (gRPC: metadata) of one outgoing request; thread-safe.
  [[nodiscard]] virtual Status add_headers(std::map<std::string, std::string>& headers) = 0;
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
