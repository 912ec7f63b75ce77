#include "weft/audit.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

#include "util/yaml_json.h"

namespace weft::telemetry {

AuditLog::~AuditLog() {
  if (file_ != nullptr) std::fclose(file_);
}

Status AuditLog::open() {
  std::lock_guard lock(mu_);
  if (file_ != nullptr) return Status::ok();
  file_ = std::fopen(path_.c_str(), "a");
  if (file_ == nullptr) {
    return Status::permanent("cannot open audit log " + path_ + ": " + std::strerror(errno));
  }
  return Status::ok();
}

void AuditLog::record(std::string_view event, std::string_view component,
                      const std::vector<std::pair<std::string, std::string>>& fields) {
  const auto now = std::chrono::system_clock::now();
  const std::time_t secs = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&secs, &utc);
  char stamp[40];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  std::string line =
      "{\"time\":\"" + std::string(stamp) + "." + std::to_string(1000 + millis).substr(1) +
      "Z\",\"event\":" + json_quote(event) + ",\"component\":" + json_quote(component);
  for (const auto& [key, value] : fields) line += "," + json_quote(key) + ":" + json_quote(value);
  line += "}\n";
  std::lock_guard lock(mu_);
  if (file_ == nullptr) return;
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fflush(file_);
}

}  // namespace weft::telemetry
