// The OTLP/HTTP request path of a running collector: each input is written as it is to a new
// connection to the `otlp` receiver (cpp-httplib's parsing, weft's deadlines, CORS, the
// body's size limit and decompression, the content type, the protobuf and JSON decoders,
// and the pipelines behind them). Checked invariants: the collector answers with a well-formed
// status line or closes the connection, and always closes it once the client has sent
// everything; after every input it still accepts a valid request.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <spdlog/sinks/null_sink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>

#include "core/config.h"
#include "core/service.h"
#include "exe/components.h"
#include "fuzz_check.h"

namespace {

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  check(::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0, "bind a free port");
  check(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0, "getsockname");
  ::close(fd);
  return ntohs(addr.sin_port);
}

int g_port = 0;

// Sends `request` on a new connection, closes the sending side and returns all that came
// back. Aborts if the collector keeps the connection open for 10 s after that.
std::string exchange(const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(g_port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    std::fprintf(stderr, "connect: %s\n", std::strerror(errno));
    check(false, "the receiver accepts connections");
  }
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the server closed early (a refused request): fine
    sent += static_cast<size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string response;
  char buffer[16384];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (true) {
    pollfd p{fd, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    int ready = 0;
    do {  // libFuzzer's -timeout alarm interrupts poll
      ready = left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
    } while (ready < 0 && errno == EINTR);
    if (ready != 1) {
      std::fprintf(stderr, "sent %zu of %zu bytes, got %zu: %.200s\n", sent, request.size(),
                   response.size(), response.c_str());
      check(false, "the connection is closed once the client has sent everything");
    }
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    response.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return response;
}

// Every response on the connection starts with a status line; checks the first.
void check_response(const std::string& response) {
  if (response.empty()) return;  // closed without an answer (not HTTP at all)
  check(response.rfind("HTTP/1.1 ", 0) == 0 && response.size() >= 12, "a status line");
  const int code = std::atoi(response.substr(9, 3).c_str());
  check(code >= 200 && code < 600, "a status code");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_port = free_port();
  std::string dir = "/tmp/fuzz_http_request.XXXXXX";
  check(mkdtemp(dir.data()) != nullptr, "a temporary directory");
  const std::string path = dir + "/config.yaml";
  std::ofstream(path) << "receivers:\n  otlp:\n    protocols:\n      http:\n"
                      << "        endpoint: 127.0.0.1:" << g_port << "\n"
                      << "        max_request_body_size: 262144\n"
                      << "        read_header_timeout: 2s\n"
                      << "        cors: {allowed_origins: [\"https://*.example.com\"]}\n"
                      << "exporters:\n  file: {path: /dev/null}\n"
                      << "service:\n  telemetry: {metrics: {level: none}}\n  pipelines:\n"
                      << "    traces: {receivers: [otlp], exporters: [file]}\n"
                      << "    metrics: {receivers: [otlp], exporters: [file]}\n"
                      << "    logs: {receivers: [otlp], exporters: [file]}\n";
  static const weft::Factories factories(weft::builtin_factories());
  weft::LoadedConfig loaded = weft::load_config({path}, factories);
  for (const auto& error : loaded.errors) std::fprintf(stderr, "%s\n", error.c_str());
  check(loaded.config.has_value(), "the fuzzing configuration loads");
  // As in weft's main(): the collector's threads take no asynchronous signals (libFuzzer's
  // -timeout alarm would interrupt cpp-httplib's accept, which then stops listening).
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  // Runs until the process exits.
  static auto* service =
      new weft::Service(std::move(*loaded.config), std::make_shared<spdlog::sinks::null_sink_mt>());
  check(service->start().is_ok(), "the collector starts");
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // libFuzzer's -timeout alarm waits until the exchange is over (it would interrupt
  // connect, send, poll and recv; a hang still fails the exchange's own 10 s check).
  sigset_t alarm, old;
  sigemptyset(&alarm);
  sigaddset(&alarm, SIGALRM);
  pthread_sigmask(SIG_BLOCK, &alarm, &old);
  check_response(exchange(std::string(reinterpret_cast<const char*>(data), size)));
  static const std::string probe =
      "POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 2\r\nConnection: close\r\n\r\n{}";
  const std::string answer = exchange(probe);
  check(answer.rfind("HTTP/1.1 200", 0) == 0, "the receiver still accepts a valid request");
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return 0;
}
