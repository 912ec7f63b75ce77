#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "lookup/tables.h"
#include "wasm/engine/host_calls.h"
#include "wasm/plugin/plugin.h"
#include "weft/audit.h"
#include "weft/component.h"
#include "weft/metrics.h"
#include "weft/telemetry.h"

namespace weft::wasm {

// weft.log's budget: a token bucket of `burst` lines refilled at `rate` lines per second.
// What it refuses is counted, and summed up in one log line per kSummaryInterval.
class LogBudget {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kSummaryInterval{10};

  LogBudget(double rate, double burst) : rate_(rate), burst_(burst), tokens_(burst) {}
  // Whether one more line may be written now.
  bool admit(Clock::time_point now);
  // The lines refused since the last summary, once per interval (0 when none is due).
  uint64_t summary_due(Clock::time_point now);

 private:
  std::mutex mu_;
  double rate_, burst_, tokens_;
  Clock::time_point refilled_ = Clock::now();
  Clock::time_point summarised_{};
  uint64_t refused_ = 0;
};

// What the host calls of every instance of one plugin share: its identity, settings,
// key-value state and where its logs and metrics go.
struct PluginShared {
  PluginShared(const PluginSettings& settings, const ComponentContext& ctx);

  // Writes the summary of suppressed log lines if one is due.
  void summarise_logs();

  std::string id;
  // Of every metric of the plugin: plugin, and the pipeline if any (a processor listed in two
  // pipelines is two plugins, with their own state, so with their own series).
  telemetry::Labels labels;
  std::string config;
  uint64_t state_cap = 0;
  std::set<std::string> env_allowed;
  std::set<std::string, std::less<>> tables_allowed;
  std::map<std::string, std::string, std::less<>> secrets;
  std::optional<Signal> emits;
  std::set<Signal> receives;
  std::shared_ptr<HttpPort> http;
  telemetry::Registry* registry = nullptr;
  telemetry::AuditLog* audit = nullptr;
  std::shared_ptr<spdlog::logger> log;
  telemetry::Counter* denied = nullptr;
  std::mutex kv_mu;
  std::map<std::string, std::string, std::less<>> kv;
  uint64_t kv_bytes = 0;

  LogBudget log_budget;
  telemetry::Counter* log_suppressed = nullptr;

  std::mutex series_mu;
  std::set<std::string, std::less<>> series;  // name and attributes of each weft.metric series
  uint32_t series_cap = 0;
  telemetry::Counter* metric_refused = nullptr;
};

// The host side of one call: the plugin's shared state plus this call's result.
class CallHost final : public HostCalls {
 public:
  explicit CallHost(PluginShared& shared) : shared_(shared) {}
  ~CallHost() override;
  CallHost(const CallHost&) = delete;
  CallHost& operator=(const CallHost&) = delete;

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
  int32_t lookup(std::string_view table, std::string_view key, std::string& fields) override;
  int32_t client_info(std::string_view key, std::string& value) override;
  int32_t set_client_attribute(std::string_view key, std::string_view value) override;
  int32_t add_header(std::string_view name, std::string_view value) override;
  int32_t hmac_sha256(std::string_view secret, std::string_view message, std::string& mac) override;
  int32_t verify_signature(std::string_view alg, std::string_view key, std::string_view message,
                           std::string_view signature) override;
  int32_t result_drop_all() override;
  int32_t result_keep(std::string_view mask) override;
  int32_t result_route(std::string_view routes) override;
  int32_t result_edits(std::string_view edits) override;
  int32_t result_replace(std::string_view request) override;
  int32_t emit(int32_t signal, std::string_view request) override;
  int32_t http_request(std::string_view method, std::string_view url, std::string_view headers,
                       std::string_view body) override;
  int32_t http_response_header(std::string_view name, std::string& value) override;
  const std::string* http_response_body() override;
  int32_t set_retry_after(int64_t milliseconds) override;
  int32_t set_rejected(int64_t items) override;
  int32_t request_info(int32_t which, std::string& value) override;
  int32_t request_header(std::string_view name, std::string& value) override;
  int32_t respond(int32_t status, std::string_view body) override;

  // After a call that returned 0: what became of `data` (never changed itself; a changed
  // batch goes to outcome.output). Not ok if the plugin's result is invalid.
  Status apply(const pdata::Telemetry& data, Outcome& outcome);

  static constexpr uint64_t kMaxEmittedBytes = 64ull << 20;
  std::vector<pdata::Telemetry> emitted;
  uint64_t emitted_bytes = 0;

  // The result: nothing (unchanged), drop, a replacement, or a keep-mask and edits (either
  // or both; edits address the items as they came, then the mask drops some).
  bool drop = false;
  std::optional<std::string> keep, edits, replace;
  std::optional<std::string> route;  // connectors (1.4): with edits or alone
  std::string error;

  // Exporters: when the call must end (outbound requests get what is left of it), what the
  // status's details are, and the last response.
  std::chrono::steady_clock::time_point deadline{};
  std::chrono::milliseconds retry_after{0};
  uint64_t rejected = 0;
  std::optional<HttpReply> response;
  // Processors and connectors: who sent the batch (weft.client_info); null if nobody said.
  const ClientInfo* client = nullptr;
  // Authenticators: which entry runs, and what it said (set_client_attribute, add_header).
  bool authenticating = false;
  bool signing = false;
  static constexpr size_t kMaxAuthPairs = 32;
  std::vector<std::pair<std::string, std::string>> client_attributes;
  std::vector<std::pair<std::string, std::string>> added_headers;
  // Receivers: the request being received, and the answer weft.respond set.
  const ReceivedRequest* request = nullptr;
  int response_status = 0;
  std::string response_body;

 private:
  [[nodiscard]] bool result_set() const { return drop || keep || edits || replace || route; }
  PluginShared& shared_;
  // The version of each table this call looked in, kept for the rest of the call: a batch
  // sees one version of a table even if the file is swapped meanwhile.
  // Lookups are counted when the call ends (one update per table and call).
  struct Pinned {
    std::shared_ptr<const lookup::Table> table;  // null: not granted (refused, logged once)
    uint64_t hits = 0, misses = 0;
  };
  std::map<std::string, Pinned, std::less<>> pinned_;
  std::vector<lookup::Field> fields_;
};

}  // namespace weft::wasm
