#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "weft/result.h"
#include "weft/tls.h"

namespace httplib {
class ClientImpl;
}

// Outbound HTTP for exporters (otlphttp, wasm): kept-alive connections per origin, TLS,
// request-body compression, a cap on the response and deadlines for the whole exchange.
namespace weft::http_client {

struct Url {
  std::string origin;  // scheme://host:port, as written (the port may be implied)
  std::string path;    // with the query; may be empty
  bool https = false;
  std::string host;  // without brackets
  int port = 0;
};

// Parses an http:// or https:// URL; false if it is not one.
bool split_url(const std::string& url, Url& out);
// scheme://host:port with the port always written: what permissions name.
std::string canonical_origin(const Url& url);

// Compression of a request body: none, gzip, zstd, or snappy (the block format, as
// Prometheus remote write sends it).
enum class Compression { kNone, kGzip, kZstd, kSnappy };
bool parse_compression(std::string_view name, Compression& out);
std::string_view compression_name(Compression c);
Result<std::string> compress(Compression c, std::string_view body);

// The addresses a connection may go to. Link-local addresses (cloud metadata services among
// them) are refused unless allowed as IP literals.
struct AddressPolicy {
  bool refuse_link_local = true;
  std::vector<std::string> allowed_literals;  // IP literals that are allowed anyway
};

struct Request {
  std::string method = "POST";
  Url url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // as it goes out (compressed by the caller if at all)
};

struct Response {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names as the server sent them
  std::string body;
  [[nodiscard]] std::string header(std::string_view name) const;  // case-insensitive; "" if none
};

// Why a request failed before it had a response.
enum class Failure { kNone, kInvalid, kDenied, kTooLarge, kIo };

struct Outcome {
  Failure failure = Failure::kNone;
  std::string error;  // what went wrong, for the log
  Response response;
  [[nodiscard]] bool ok() const { return failure == Failure::kNone; }
};

struct ClientSettings {
  TlsSettings tls;
  size_t max_response_bytes = 64ull << 20;
  AddressPolicy addresses;
};

// Safe for use from several threads at once: each request takes an idle connection of its
// origin or makes one, and gives it back when the exchange went well.
class Client {
 public:
  explicit Client(ClientSettings settings);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // One exchange within `timeout` (0: none). A kept-alive connection the server had closed is
  // retried once on a new one. Redirects are not followed.
  Outcome send(const Request& request, std::chrono::nanoseconds timeout);

 private:
  using ClientPtr = std::unique_ptr<httplib::ClientImpl>;
  Result<ClientPtr> take(const Url& url, bool& reused, bool fresh);
  void give_back(const Url& url, ClientPtr client);

  ClientSettings settings_;
  std::mutex mutex_;
  std::map<std::string, std::vector<ClientPtr>> idle_;  // by canonical origin
};

}  // namespace weft::http_client
