#include "util/http_deadlines.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

namespace weft::http {
namespace {

using Clock = std::chrono::steady_clock;
constexpr Clock::time_point kNever = Clock::time_point::max();

Clock::time_point after(std::chrono::nanoseconds d) {
  return d.count() > 0 ? Clock::now() + std::chrono::duration_cast<Clock::duration>(d) : kNever;
}

// Whether the server has stopped listening (it is shutting down).
bool stopped(const std::atomic<socket_t>* listening) {
  return listening != nullptr && listening->load() == INVALID_SOCKET;
}

// Waits until the socket is ready for `events` (or has an error or hang-up, which the next
// read or write reports); false if `deadline` came first, or the server stopped listening
// (checked every second, so that shutdown does not wait out a slow client's deadline).
bool wait_until(int sock, short events, Clock::time_point deadline,
                const std::atomic<socket_t>* listening = nullptr) {
  while (true) {
    long long slice = 1000;
    if (deadline != kNever) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      slice = std::min<long long>(slice, left);
    }
    pollfd p{sock, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(slice));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return true;  // let the read or write report it
    if (stopped(listening)) return false;
  }
}

void address_of(int sock, bool peer, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  const int rc = peer ? ::getpeername(sock, reinterpret_cast<sockaddr*>(&addr), &len)
                      : ::getsockname(sock, reinterpret_cast<sockaddr*>(&addr), &len);
  if (rc != 0) return;
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &a->sin_addr, text, sizeof(text));
    port = ntohs(a->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof(text));
    port = ntohs(a->sin6_port);
  }
  ip = text;
}

// One connection, plain or TLS, on a non-blocking socket. Reads keep the request's
// deadlines: before its first byte, the one given by next_request(); then read_header
// until the blank line that ends the headers; then read for the whole request.
class ConnectionStream final : public httplib::Stream {
 public:
  ConnectionStream(int sock, SSL* ssl, const Deadlines& deadlines,
                   const std::atomic<socket_t>& listening)
      : sock_(sock), ssl_(ssl), deadlines_(deadlines), listening_(listening) {}

  void next_request(Clock::time_point first_byte_deadline, bool idle_wait_is_timeout) {
    started_ = false;
    headers_done_ = false;
    matched_ = 0;
    timed_out_ = false;
    first_byte_deadline_ = first_byte_deadline;
    idle_wait_is_timeout_ = idle_wait_is_timeout;
  }
  [[nodiscard]] bool timed_out() const { return timed_out_; }

  bool is_readable() const override {
    return (ssl_ != nullptr && SSL_pending(ssl_) > 0) ||
           wait_until(sock_, POLLIN, deadline(), &listening_);
  }
  bool is_writable() const override { return wait_until(sock_, POLLOUT, after(deadlines_.write)); }

  ssize_t read(char* ptr, size_t size) override {
    while (true) {
      short want = POLLIN;
      if (ssl_ != nullptr) {
        const int n = SSL_read(ssl_, ptr, static_cast<int>(std::min<size_t>(size, INT32_MAX)));
        if (n > 0) return got(ptr, n);
        const int error = SSL_get_error(ssl_, n);
        if (error == SSL_ERROR_ZERO_RETURN) return 0;
        if (error == SSL_ERROR_WANT_WRITE) {
          want = POLLOUT;
        } else if (error != SSL_ERROR_WANT_READ) {
          ERR_clear_error();
          return -1;
        }
      } else {
        const ssize_t n = ::recv(sock_, ptr, size, 0);
        if (n >= 0) return n == 0 ? 0 : got(ptr, n);
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
      }
      if (!wait_until(sock_, want, deadline(), &listening_)) {
        timed_out_ = (started_ || idle_wait_is_timeout_) && !stopped(&listening_);
        return -1;
      }
    }
  }

  ssize_t write(const char* ptr, size_t size) override {
    const auto deadline = after(deadlines_.write);
    while (true) {
      short want = POLLOUT;
      if (ssl_ != nullptr) {
        const int n = SSL_write(ssl_, ptr, static_cast<int>(std::min<size_t>(size, INT32_MAX)));
        if (n > 0) return n;
        const int error = SSL_get_error(ssl_, n);
        if (error == SSL_ERROR_WANT_READ) {
          want = POLLIN;
        } else if (error != SSL_ERROR_WANT_WRITE) {
          ERR_clear_error();
          return -1;
        }
      } else {
        const ssize_t n = ::send(sock_, ptr, size, MSG_NOSIGNAL);
        if (n >= 0) return n;
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
      }
      if (!wait_until(sock_, want, deadline)) return -1;
    }
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    address_of(sock_, true, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    address_of(sock_, false, ip, port);
  }
  socket_t socket() const override { return sock_; }

 private:
  [[nodiscard]] Clock::time_point deadline() const {
    if (!started_) return first_byte_deadline_;
    return headers_done_ ? request_deadline_ : std::min(header_deadline_, request_deadline_);
  }

  ssize_t got(const char* ptr, ssize_t n) {
    if (!started_) {
      started_ = true;
      header_deadline_ = after(deadlines_.read_header);
      request_deadline_ = after(deadlines_.read);
    }
    // The blank line that ends the headers: "\r\n\r\n", possibly split over reads.
    static constexpr char kEnd[] = "\r\n\r\n";
    for (ssize_t i = 0; i < n && !headers_done_; ++i) {
      if (ptr[i] == kEnd[matched_]) {
        headers_done_ = ++matched_ == 4;
      } else {
        matched_ = ptr[i] == '\r' ? 1 : 0;
      }
    }
    return n;
  }

  int sock_;
  SSL* ssl_;
  const Deadlines& deadlines_;
  const std::atomic<socket_t>& listening_;
  Clock::time_point first_byte_deadline_ = kNever;
  Clock::time_point header_deadline_ = kNever;
  Clock::time_point request_deadline_ = kNever;
  bool started_ = false;
  bool headers_done_ = false;
  int matched_ = 0;
  bool timed_out_ = false;
  bool idle_wait_is_timeout_ = false;
};

// The TLS handshake within the new connection's header deadline.
SSL* accept_tls(int sock, SSL_CTX* ctx, Clock::time_point deadline,
                const std::atomic<socket_t>& listening, bool& timed_out) {
  SSL* ssl = SSL_new(ctx);
  if (ssl == nullptr) return nullptr;
  SSL_set_fd(ssl, sock);
  while (true) {
    const int rc = SSL_accept(ssl);
    if (rc == 1) return ssl;
    const int error = SSL_get_error(ssl, rc);
    short want = 0;
    if (error == SSL_ERROR_WANT_READ) want = POLLIN;
    if (error == SSL_ERROR_WANT_WRITE) want = POLLOUT;
    if (want == 0 || !wait_until(sock, want, deadline, &listening)) {
      timed_out = want != 0 && !stopped(&listening);
      ERR_clear_error();
      SSL_free(ssl);
      return nullptr;
    }
  }
}

class ElasticPool final : public httplib::TaskQueue {
 public:
  ElasticPool(size_t min, size_t max) : max_(std::max<size_t>(1, max)) {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < std::min(min, max_); ++i) spawn();
  }
  ~ElasticPool() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    std::lock_guard lock(mu_);
    jobs_.push_back(std::move(fn));
    if (idle_ < jobs_.size() && threads_.size() < max_) {
      spawn();
    } else {
      wake_.notify_one();
    }
  }

  void shutdown() override {
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      threads.swap(threads_);
    }
    wake_.notify_all();
    for (auto& t : threads) t.join();
  }

 private:
  void spawn() {
    threads_.emplace_back([this] {
      std::unique_lock lock(mu_);
      while (true) {
        ++idle_;
        wake_.wait(lock, [this] { return !jobs_.empty() || stopping_; });
        --idle_;
        if (jobs_.empty()) return;  // stopping, and nothing left to do
        auto job = std::move(jobs_.front());
        jobs_.pop_front();
        lock.unlock();
        job();
        lock.lock();
      }
    });
  }

  size_t max_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  size_t idle_ = 0;
  bool stopping_ = false;
};

}  // namespace

void serve_socket(int sock, SSL_CTX* ctx, const Deadlines& deadlines, size_t max_requests,
                  const std::atomic<socket_t>& listening, const ProcessRequest& process) {
  ::fcntl(sock, F_SETFL, ::fcntl(sock, F_GETFL) | O_NONBLOCK);
  const auto first_deadline = after(deadlines.read_header);
  SSL* ssl = nullptr;
  bool ok = true;
  if (ctx != nullptr) {
    bool timed_out = false;
    ssl = accept_tls(sock, ctx, first_deadline, listening, timed_out);
    ok = ssl != nullptr;
    if (timed_out && deadlines.on_timeout) deadlines.on_timeout();
  }
  if (ok) {
    ConnectionStream stream(sock, ssl, deadlines, listening);
    for (size_t left = max_requests; left > 0 && listening != INVALID_SOCKET; --left) {
      const bool first = left == max_requests;
      // A new connection must start its request within the header deadline; a kept-alive one
      // may wait for the next request as long as the idle timeout.
      stream.next_request(first ? first_deadline : after(deadlines.idle), first);
      bool closed = false;
      const bool served = process(stream, left == 1, closed, ssl);
      if (stream.timed_out()) {
        if (deadlines.on_timeout) deadlines.on_timeout();
        break;
      }
      if (!served || closed) break;
    }
  }
  if (ssl != nullptr) {
    SSL_shutdown(ssl);
    SSL_free(ssl);
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
}

httplib::TaskQueue* elastic_pool(size_t min, size_t max) {
  return new ElasticPool(min, max);
}

}  // namespace weft::http
