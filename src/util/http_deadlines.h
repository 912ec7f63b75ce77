#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <type_traits>

// HTTP servers whose connections keep deadlines for the whole request, not only for each
// wait (cpp-httplib's own timeouts): a client that sends one byte at a time (slowloris)
// holds a connection for `read_header` at most, and a slow body for `read`.
namespace weft::http {

// The Go collector's confighttp server timeouts, with weft's defaults.
struct Deadlines {
  // From the accept (TLS: the handshake included) or, on a kept-alive connection, the
  // request's first byte, to the end of its headers.
  std::chrono::nanoseconds read_header{std::chrono::seconds(10)};
  // From the request's first byte to the end of its body; 0: no limit.
  std::chrono::nanoseconds read{std::chrono::seconds(60)};
  // Each write of the response; 0: no limit.
  std::chrono::nanoseconds write{std::chrono::seconds(30)};
  // Between requests on a kept-alive connection.
  std::chrono::nanoseconds idle{std::chrono::seconds(60)};
  // Called when a request (or a new connection's first request) is given up at a deadline.
  std::function<void()> on_timeout;
};

class DeadlineSetter {
 public:
  virtual ~DeadlineSetter() = default;
  // Before the server starts listening.
  virtual void set_deadlines(Deadlines deadlines) = 0;
};

// Serves one accepted socket: the TLS handshake if `ctx` is set, then requests one after
// another through `process` (httplib's process_request) until the client closes, a
// deadline passes, `max_requests` were served or `listening` is closed. Closes the socket.
using ProcessRequest = std::function<bool(httplib::Stream& stream, bool close_connection,
                                          bool& connection_closed, SSL* ssl)>;
void serve_socket(int sock, SSL_CTX* ctx, const Deadlines& deadlines, size_t max_requests,
                  const std::atomic<socket_t>& listening, const ProcessRequest& process);

// An httplib::Server or httplib::SSLServer (or a class built on one) that serves its
// connections with serve_socket.
template <class Base>
class DeadlineServer : public Base, public DeadlineSetter {
 public:
  using Base::Base;

  void set_deadlines(Deadlines deadlines) override { deadlines_ = std::move(deadlines); }

 private:
  bool process_and_close_socket(socket_t sock) override {
    SSL_CTX* ctx = nullptr;
    if constexpr (std::is_base_of_v<httplib::SSLServer, Base>) ctx = this->ssl_context();
    serve_socket(sock, ctx, deadlines_, this->keep_alive_max_count_, this->svr_sock_,
                 [this](httplib::Stream& stream, bool close, bool& closed, SSL* ssl) {
                   if (ssl == nullptr) return this->process_request(stream, close, closed, nullptr);
                   return this->process_request(stream, close, closed,
                                                [ssl](httplib::Request& req) { req.ssl = ssl; });
                 });
    return true;
  }

  Deadlines deadlines_;
};

// A task queue that adds a thread whenever every thread is busy (up to `max`), so that
// connections held by slow clients do not keep the others waiting. Threads stay once made.
httplib::TaskQueue* elastic_pool(size_t min, size_t max);

}  // namespace weft::http
