#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "pdata/telemetry.h"
#include "telemetry/audit.h"
#include "telemetry/metrics.h"
#include "wasm/engine/host_calls.h"
#include "wasm/plugin/plugin.h"
#include "weft/component.h"

namespace weft::wasm {

// What the host calls of every instance of one plugin share: its identity, settings,
// key-value state and where its logs and metrics go.
struct PluginShared {
  PluginShared(const PluginSettings& settings, const ComponentContext& ctx);

  std::string id;
  std::string config;
  uint64_t state_cap = 0;
  std::set<std::string> env_allowed;
  std::optional<Signal> emits;
  telemetry::Registry* registry = nullptr;
  telemetry::AuditLog* audit = nullptr;
  std::shared_ptr<spdlog::logger> log;
  telemetry::Counter* denied = nullptr;
  std::mutex kv_mu;
  std::map<std::string, std::string, std::less<>> kv;
  uint64_t kv_bytes = 0;
};

// The host side of one call: the plugin's shared state plus this call's result.
class CallHost final : public HostCalls {
 public:
  enum class Kind { kNone, kDrop, kKeep, kEdits, kReplace };

  explicit CallHost(PluginShared& shared) : shared_(shared) {}

  void log(int32_t level, std::string_view message) override;
  void set_error(std::string_view message) override;
  [[nodiscard]] std::string_view config() const override { return shared_.config; }
  int64_t now_unix_nano() override;
  int32_t metric(int32_t kind, std::string_view name, double value,
                 std::string_view attributes) override;
  int32_t kv_get(std::string_view key, std::string& value) override;
  int32_t kv_set(std::string_view key, std::string_view value) override;
  int32_t kv_delete(std::string_view key) override;
  int32_t env_get(std::string_view name, std::string& value) override;
  int32_t result_drop_all() override { return set(Kind::kDrop, {}); }
  int32_t result_keep(std::string_view mask) override { return set(Kind::kKeep, mask); }
  int32_t result_edits(std::string_view edits) override { return set(Kind::kEdits, edits); }
  int32_t result_replace(std::string_view request) override { return set(Kind::kReplace, request); }
  int32_t emit(int32_t signal, std::string_view request) override;

  // After a call that returned 0: what became of `data` (never changed itself; a changed
  // batch goes to outcome.output). Not ok if the plugin's result is invalid.
  Status apply(const pdata::Telemetry& data, Outcome& outcome);

  static constexpr uint64_t kMaxEmittedBytes = 64ull << 20;
  std::vector<pdata::Telemetry> emitted;
  uint64_t emitted_bytes = 0;

  Kind kind = Kind::kNone;
  std::string bytes;
  std::string error;

 private:
  int32_t set(Kind k, std::string_view b);
  PluginShared& shared_;
};

}  // namespace weft::wasm
