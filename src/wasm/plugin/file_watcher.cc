#include "wasm/plugin/file_watcher.h"

#include <sys/stat.h>

namespace weft::wasm {

FileWatcher::FileWatcher(std::string path, std::chrono::milliseconds interval,
                         std::function<void()> on_change)
    : path_(std::move(path)), interval_(interval), on_change_(std::move(on_change)) {}

FileWatcher::~FileWatcher() {
  stop();
}

void FileWatcher::start() {
  if (interval_.count() <= 0 || thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void FileWatcher::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::string FileWatcher::stamp() const {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return {};
  return std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + "/" +
         std::to_string(st.st_size) + "/" + std::to_string(st.st_ino);
}

void FileWatcher::run() {
  std::string last = stamp();
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, interval_);
    if (stop_) break;
    const std::string now = stamp();
    if (now.empty() || now == last) continue;
    last = now;
    lock.unlock();
    on_change_();
    lock.lock();
  }
}

}  // namespace weft::wasm
