#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace weft::wasm {

// Calls on_change (on its own thread) when a file's modification time, size or inode
// changes, checking every `interval`. stop() (or the destructor) ends the thread, after a
// call in progress has returned.
class FileWatcher {
 public:
  FileWatcher(std::string path, std::chrono::milliseconds interval,
              std::function<void()> on_change);
  ~FileWatcher();
  FileWatcher(const FileWatcher&) = delete;
  FileWatcher& operator=(const FileWatcher&) = delete;

  void start();
  void stop();

 private:
  void run();
  [[nodiscard]] std::string stamp() const;

  std::string path_;
  std::chrono::milliseconds interval_;
  std::function<void()> on_change_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace weft::wasm
