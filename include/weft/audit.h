#pragma once

#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "weft/status.h"

namespace weft::telemetry {

// An append-only file of security-relevant events (plugin loads, reloads,
// refused modules, denied host calls), one JSON object per line:
//   {"time":"2026-11-24T13:00:00.123Z","event":"reloaded","component":"wasm/x",...}
class AuditLog {
 public:
  explicit AuditLog(std::string path) : path_(std::move(path)) {}
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  [[nodiscard]] Status open();
  void record(std::string_view event, std::string_view component,
              const std::vector<std::pair<std::string, std::string>>& fields);

 private:
  std::string path_;
  std::mutex mu_;
  std::FILE* file_ = nullptr;
};

}  // namespace weft::telemetry
