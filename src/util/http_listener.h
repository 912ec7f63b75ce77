#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

namespace weft {

// Runs a bound httplib::Server's accept loop on a thread of its own. The
// library ignores stop() until that loop has started, so stop() keeps asking
// until the loop has ended; requests in flight finish first.
class HttpListener {
 public:
  HttpListener() = default;
  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;
  ~HttpListener() = default;

  void start(httplib::Server& server) {
    done_ = std::make_shared<std::atomic<bool>>(false);
    thread_ = std::thread([&server, done = done_] {
      server.listen_after_bind();
      *done = true;
    });
  }

  void stop(httplib::Server& server) {
    if (!thread_.joinable()) return;
    while (!done_->load()) {
      server.stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    thread_.join();
  }

 private:
  std::thread thread_;
  std::shared_ptr<std::atomic<bool>> done_;
};

}  // namespace weft
