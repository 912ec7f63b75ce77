#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "pkg/package.h"
#include "wasm/engine/engine.h"
#include "wasm/plugin/anomaly.h"
#include "wasm/plugin/backoff.h"
#include "wasm/plugin/file_watcher.h"
#include "wasm/plugin/instance_pool.h"
#include "wasm/plugin/plugin_metrics.h"
#include "weft/component.h"
#include "weft/metrics.h"
#include "weft/telemetry.h"

namespace weft::wasm {

struct PluginShared;
class CallHost;

enum class OnError { kPass, kDrop, kReject };

// weft.http_request as the component supplies it (the wasm exporter): weft's own client, with
// the component's endpoint, permissions, TLS, compression, headers and auth.
struct HttpExchange {
  std::string method;
  std::string url;  // a path relative to the component's endpoint, or an absolute URL
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view body;
  std::chrono::nanoseconds timeout{0};  // what is left of the call's deadline
};
struct HttpReply {
  int32_t code = 0;   // the HTTP status, or an ABI error code (-2, -3, -4, -5)
  std::string error;  // why, for a negative code
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};
class HttpPort {
 public:
  virtual ~HttpPort() = default;
  virtual HttpReply exchange(const HttpExchange& request) = 0;
};

// The entry point weft calls per batch: weft_process_<signal> (processors, connectors),
// weft_export_<signal> (exporters) or weft_receive (receivers, for every signal).
// weft_authenticate and weft_sign for authenticator extensions.
enum class Entry { kProcess, kExport, kReceive, kAuthenticate };

// What a receiver plugin is handed with the bytes of a request (push) or of a fetched
// target (pull), for weft.request_info and weft.request_header.
struct ReceivedRequest {
  std::string method, path, query;
  std::string target;  // pull: the URL fetched
  std::string peer;    // push: the client's address
  int status = 0;      // pull: the target's HTTP status
  std::vector<std::pair<std::string, std::string>> headers;
  std::string transport;  // authenticators: "grpc" or "http"
  std::string url;        // signers: the outbound request's URL
};

// What an authenticator plugin decided about a request (weft_authenticate, docs/abi.md).
struct AuthDecision {
  enum Kind { kAllowed, kUnauthenticated, kForbidden, kFailed } kind = kFailed;
  std::string error;  // set_error's text, or why the call failed
  std::vector<std::pair<std::string, std::string>> attributes;  // set_client_attribute
};

// The headers a signing plugin adds to an outbound request (weft_sign).
struct SignResult {
  bool ok = false;
  std::string error;
  std::vector<std::pair<std::string, std::string>> headers;
};

// What a receiver plugin made of a request.
struct ReceiveOutcome {
  enum Kind { kAccepted, kBadRequest, kFailed } kind = kAccepted;
  int status = 0;  // weft.respond's status (0: none given)
  std::string body;
  std::string error;
  std::vector<pdata::Telemetry> emitted;
};

// Whether `plugin:` names a package (an oci:// reference or an OCI layout directory),
// resolved through the package store (src/pkg), rather than a .wasm file.
bool is_package_path(const std::string& path);

struct PluginSettings {
  std::string path;  // a .wasm file, an oci:// package reference or an OCI layout directory
  std::string config_json = "{}";
  InstanceLimits limits;
  uint64_t module_bytes = 32ull << 20;
  uint64_t state_bytes = 1 << 20;
  double log_rate = 100;    // weft.log lines per second, on average
  double log_burst = 1000;  // lines at once
  uint32_t metric_series = 1000;
  OnError on_error = OnError::kPass;
  std::set<std::string> env_allowed;
  std::set<std::string> tables_allowed;        // weft.lookup may read these (service.tables)
  std::map<std::string, std::string> secrets;  // secrets: what hmac_sha256 and HS256 may key with
  std::set<Signal> signals;                    // the plugin must export process for these
  std::optional<Signal> emits;                 // connectors: the signal weft.emit may produce
  std::set<Signal> receives;                   // receivers: the signals weft.emit may produce
  std::chrono::milliseconds watch_interval{1000};  // 0: do not watch the file
  Entry entry = Entry::kProcess;
  std::shared_ptr<HttpPort> http;  // null: weft.http_request is denied
  AnomalySettings anomaly;         // processors: anomaly detection and rollback
  // Processors: a candidate version run on a copy of the traffic (shadow.plugin, shadow.config;
  // the live config when absent).
  std::string shadow_path;
  std::optional<std::string> shadow_config_json;
};

// What an exporter plugin made of a batch (weft_export_<signal>'s status, docs/abi.md).
struct ExportOutcome {
  enum Kind { kSent, kRetryable, kPermanent, kPartial, kFailed } kind = kSent;
  Failure failure = Failure::kNone;  // kFailed: a trap, timeout or bad status
  std::chrono::milliseconds retry_after{0};
  uint64_t rejected = 0;  // kPartial: items the destination refused
  std::string error;
};

// What became of a batch handed to a plugin.
struct Outcome {
  enum Kind { kKept, kDropped, kFailed } kind = kKept;
  Failure failure = Failure::kNone;  // kFailed: of what kind (kNone: backed off, no call)
  std::string error;
  std::vector<pdata::Telemetry> emitted;  // connectors: what weft.emit produced
  // kKept with a result: the changed batch. The batch handed in is never changed, so a
  // caller whose next stage refuses it can retry with the original.
  std::optional<pdata::Telemetry> output;
  // How `output` came about: a keep-mask (one byte per item of the batch handed in), or a
  // replacement (no item of it corresponds to an item handed in).
  std::optional<std::string> keep_mask;
  bool edited = false;  // edits were applied (else a keep-mask alone made `output`)
  // Connectors (1.4): the route of each item (of `output` if set, else of the batch).
  std::optional<std::string> routes;
  bool replaced = false;
};

// One loaded plugin (one per wasm processor id and pipeline), composed of: the running
// version (an InstancePool of the module), its metrics (PluginMetrics), the failure backoff
// (Backoff), the file watch (FileWatcher) and what the host calls of its instances share
// (PluginShared: state, log budget, metric series). A reload compiles and checks the new
// file off the data path and swaps it in atomically; calls in flight finish on the version
// they started with.
class Plugin {
 public:
  static Result<std::shared_ptr<Plugin>> load(std::shared_ptr<Engine> engine,
                                              PluginSettings settings, ComponentContext ctx);
  ~Plugin();

  // Runs the plugin on a batch; on kKept the batch holds the plugin's result.
  // On kFailed the batch is untouched.
  Outcome process(pdata::Telemetry& data);
  // Hands a batch to an exporter plugin (Entry::kExport), which sends it with http_request.
  ExportOutcome export_batch(const pdata::Telemetry& data);
  // Hands a request to a receiver plugin (Entry::kReceive), which emits telemetry.
  ReceiveOutcome receive(std::string_view bytes, const ReceivedRequest& request);
  // Authenticator extensions: a request's headers ("name: value" lines) to weft_authenticate,
  // an outbound request's body digest (lowercase hex SHA-256) to weft_sign.
  AuthDecision authenticate(std::string_view header_lines, const ReceivedRequest& request);
  SignResult sign(std::string_view body_digest, const ReceivedRequest& request);
  // Whether the running version exports a function of this name.
  [[nodiscard]] bool exports(const std::string& name);
  // Loads the file again; on failure the running version stays and the error is returned.
  Status reload();
  // Goes back to the version the last reload replaced; false if there is none.
  bool rollback(const std::string& why);
  // Runs another file (a promoted candidate) through the reload path, and watches it.
  Status switch_to(const std::string& path, const std::string& why);
  [[nodiscard]] std::string path() const;
  void start_watching();
  void stop_watching();
  [[nodiscard]] uint64_t generation() const { return generation_.load(); }

 private:
  Plugin(std::shared_ptr<Engine> engine, PluginSettings settings, ComponentContext ctx);
  Result<std::shared_ptr<InstancePool>> load_version(const std::string& bytes);
  // The module: the file, or the package (oci:// or an OCI layout) the package store resolved
  // and the trust policy allowed; `meta` receives the package's metadata.
  Result<std::string> read_module(std::optional<pkg::PluginMeta>& meta);
  // "sha256=..." of a loaded module, and the package's name, version and digest.
  std::string describe_version(const InstancePool& pool) const;
  Result<std::unique_ptr<Instance>> new_instance(InstancePool& pool);
  // Copies bytes into a buffer from weft_alloc; the call's result holds the pointer, or why
  // there is none (a weft_alloc that returns 0 below the memory cap is the plugin's error).
  CallResult place(Instance& instance, CallHost& host, std::string_view bytes,
                   std::optional<std::chrono::milliseconds> timeout);
  Outcome failed(Failure kind, std::string error);
  // Whether the failure backoff skips calls now (counted).
  bool backed_off(std::chrono::steady_clock::time_point now);
  // An instance of the running version (taken from its pool, or made), and that version.
  Result<std::unique_ptr<Instance>> take_instance(std::shared_ptr<InstancePool>& pool);
  // What both entries share: an instance, the batch copied in, the call and its metrics.
  // `held` keeps the version and the instance for the caller to give back (no instance
  // after a failed call: a trapped or timed-out instance is never reused).
  using Held = std::pair<std::shared_ptr<InstancePool>, std::unique_ptr<Instance>>;
  // A call about one request (weft_receive, weft_authenticate, weft_sign): `host` set up with
  // the request and the deadline, the call made and its instance given back. ok with the
  // status, or not with why (backed off, or a failed call, counted).
  struct RequestCall {
    bool ok = false;
    int32_t status = 0;
    std::string error;
  };
  RequestCall call_on_request(std::string_view bytes, const std::string& export_name,
                              CallHost& host, const ReceivedRequest& request);
  // Counts a status the entry does not define as the plugin's error; returns the message.
  std::string guest_error(const std::string& export_name, int32_t status, const CallHost& host);
  CallResult call_on_bytes(std::string_view bytes, const std::string& export_name, size_t items,
                           CallHost& host, std::chrono::steady_clock::time_point start, Held& held);
  void audit(const std::string& event, const std::string& detail);
  Outcome process_call(pdata::Telemetry& data, std::chrono::steady_clock::time_point start);
  // Feeds the anomaly detector one call; reports (and rolls back) what it finds.
  void watch_call(uint64_t items_in, uint64_t items_out, bool failed,
                  std::chrono::steady_clock::time_point start);

  std::shared_ptr<Engine> engine_;
  PluginSettings settings_;
  ComponentContext ctx_;
  std::unique_ptr<PluginShared> shared_;  // with the host calls of every instance
  std::unique_ptr<PluginMetrics> metrics_;
  Backoff backoff_;

  std::mutex version_mu_;  // guards current_ (swapped on reload)
  std::shared_ptr<InstancePool> current_;
  std::shared_ptr<InstancePool> previous_;  // what the last reload replaced (for a rollback)
  std::unique_ptr<AnomalyDetector> anomaly_;
  std::atomic<uint64_t> generation_{0};
  mutable std::mutex reload_mu_;            // one reload at a time
  std::optional<pkg::PluginMeta> package_;  // the running package (guarded by reload_mu_)
  std::string package_detail_;
  std::string pending_detail_;  // of the version being loaded

  std::unique_ptr<FileWatcher> watcher_;
};

}  // namespace weft::wasm
