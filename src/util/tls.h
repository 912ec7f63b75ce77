#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "util/http_deadlines.h"
#include "weft/result.h"
#include "weft/tls.h"

namespace httplib {
class Server;
}

// TLS with OpenSSL for weft's HTTP servers and clients (gRPC has its own, see the receiver
// and the exporter): contexts built from TlsSettings, and server certificates that are
// re-read when their files change.
namespace weft::tls {

// The PEM text of a file or of an inline value (exactly one of them is non-empty).
Result<std::string> read_pem(const std::string& file, const std::string& inline_pem,
                             const char* what);

// A server's certificate, key and client CAs as the next connection gets them. The files are
// checked (stat) at most once a second on a handshake and re-read when one changed, or when
// reload_interval passed; connections already open keep what they were handed. A file that
// cannot be read or parsed leaves the last good material in place, reported through on_event.
class ServerIdentity {
 public:
  using EventSink = std::function<void(bool error, const std::string& message)>;
  static Result<std::shared_ptr<ServerIdentity>> load(const TlsSettings& settings,
                                                      EventSink on_event = {});
  ~ServerIdentity();
  ServerIdentity(const ServerIdentity&) = delete;
  ServerIdentity& operator=(const ServerIdentity&) = delete;

  // Sets up a server context: versions, cipher suites, client verification and the
  // certificate callback (the context keeps a pointer to this object).
  [[nodiscard]] Status configure(SSL_CTX& ctx) const;
  // The PEM texts as last read (for gRPC's providers, which take text).
  struct Pems {
    std::string cert;
    std::string key;
    std::string client_ca;
  };
  [[nodiscard]] Pems pems() const;

 private:
  struct Material;
  ServerIdentity(TlsSettings settings, EventSink on_event);
  [[nodiscard]] Result<std::shared_ptr<const Material>> read() const;
  [[nodiscard]] std::shared_ptr<const Material> current();
  static int on_certificate(SSL* ssl, void* self);
  // Logs fatal alerts of handshakes (through on_event, at most one line a second).
  static void on_info(const SSL* ssl, int where, int value);
  static int on_hello(SSL* ssl, int* alert, void* arg);
  static int hello_index();

  TlsSettings settings_;
  EventSink on_event_;
  mutable std::mutex mutex_;
  std::shared_ptr<const Material> material_;
  std::string stamp_;  // the files' sizes and times when material_ was read
  std::chrono::steady_clock::time_point last_check_;
  std::chrono::steady_clock::time_point last_read_;
  std::chrono::steady_clock::time_point last_alert_log_;
  uint64_t alerts_suppressed_ = 0;
};

// The protocol version and cipher suites of settings, on a context of either side.
[[nodiscard]] Status configure_versions(SSL_CTX& ctx, const TlsSettings& settings);

// A client context's trust and identity: the CA (file or PEM, plus the system's if asked or
// if no CA is given), the client certificate and key, versions and cipher suites, and peer
// verification unless insecure_skip_verify.
[[nodiscard]] Status configure_client(SSL_CTX& ctx, const TlsSettings& settings);

// An httplib server, with TLS when settings.enabled (then an SSLServer on identity), whose
// connections keep `deadlines` (util/http_deadlines.h) and whose threads grow with them.
[[nodiscard]] Result<std::unique_ptr<httplib::Server>> make_http_server(
    const TlsSettings& settings, ServerIdentity::EventSink on_event = {},
    http::Deadlines deadlines = {});

// The last OpenSSL error as text ("" if none), and the queue cleared.
std::string last_error();

}  // namespace weft::tls
