#include "wasm/plugin/plugin.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "pkg/store.h"
#include "wasm/plugin/call_host.h"
#include "wasm/plugin/interface.h"
#include "weft/audit.h"

namespace weft::wasm {
namespace {

constexpr uint64_t kWasmPage = 64ULL * 1024;
constexpr const char* kBackedOff = "plugin is backed off after repeated failures";

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Status::permanent("cannot read plugin file " + path).with_reason(LoadFailure::kRead);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

}  // namespace

bool is_package_path(const std::string& path) {
  std::error_code ec;
  return pkg::is_package_reference(path) || std::filesystem::is_directory(path, ec);
}

Result<std::string> Plugin::read_module(std::optional<pkg::PluginMeta>& meta) {
  if (!is_package_path(settings_.path)) return read_file(settings_.path);
  auto resolved = pkg::package_store()->resolve(settings_.path, package_ ? &*package_ : nullptr);
  if (!resolved.ok()) {
    return Status::permanent(resolved.status().message()).with_reason(LoadFailure::kPackage);
  }
  for (const auto& violation : resolved->violations) {
    audit("trust_violation", "would be refused under enforce: " + violation);
  }
  for (const auto& note : resolved->notes) audit("rollback", note);
  meta = resolved->package.meta;
  pending_detail_ = resolved->package.digest +
                    (resolved->signer.empty() ? "" : " signer=" + resolved->signer) +
                    " from=" + resolved->origin;
  return std::move(resolved->package.module);
}

std::string Plugin::describe_version(const InstancePool& pool) const {
  std::string out = "sha256=" + pool.module()->hash();
  if (package_) {
    out += " package=" + package_->name + " version=" + package_->version +
           " digest=" + package_detail_;
  }
  return out;
}

Plugin::Plugin(std::shared_ptr<Engine> engine, PluginSettings settings, ComponentContext ctx)
    : engine_(std::move(engine)), settings_(std::move(settings)), ctx_(std::move(ctx)) {
  shared_ = std::make_unique<PluginShared>(settings_, ctx_);
  metrics_ = std::make_unique<PluginMetrics>(*ctx_.metrics, shared_->labels);
  watcher_ = std::make_unique<FileWatcher>(settings_.path, settings_.watch_interval,
                                           [this, watched = settings_.path] {
                                             ctx_.logger->info("{} changed; reloading", watched);
                                             (void)reload();
                                           });
}

Plugin::~Plugin() {
  stop_watching();
}

void Plugin::audit(const std::string& event, const std::string& detail) {
  telemetry::Labels labels = shared_->labels;
  labels.emplace_back("event", event);
  ctx_.metrics
      ->counter("weft_plugin_lifecycle_events", "Plugin lifecycle events (see the audit log).",
                labels)
      .add();
  ctx_.logger->info("audit: event={} plugin={} path={} {}", event, ctx_.id, settings_.path, detail);
  if (ctx_.audit != nullptr) {
    ctx_.audit->record(event, ctx_.id, {{"path", settings_.path}, {"detail", detail}});
  }
}

Result<std::unique_ptr<Instance>> Plugin::new_instance(InstancePool& pool) {
  auto created = Instance::create(pool.module(), settings_.limits);
  if (!created.ok()) return created.status();
  auto instance = std::move(created).value();
  // Setting an instance up is part of starting it: each call has the start deadline.
  const auto deadline = settings_.limits.start_timeout;
  CallHost host(*shared_);
  // A set-up call that ran out of time is a start timeout, whatever the step.
  auto refuse = [](const CallResult& call, LoadFailure step, const std::string& message) {
    return Status::invalid_argument(message).with_reason(
        call.failure == Failure::kTimeout ? LoadFailure::kStartTimeout : step);
  };
  auto abi = instance->call("weft_abi_version", {}, &host, deadline);
  if (!abi.ok()) {
    return refuse(abi, LoadFailure::kAbiVersion, "weft_abi_version failed: " + abi.message);
  }
  if (abi.value != 1) {
    return refuse(
        abi, LoadFailure::kAbiVersion,
        "plugin speaks ABI version " + std::to_string(abi.value) + "; this weft loads version 1");
  }
  const std::string& config = settings_.config_json;
  auto ptr = place(*instance, host, config, deadline);
  if (!ptr.ok()) return refuse(ptr, LoadFailure::kConfigure, "placing the config: " + ptr.message);
  auto configured = instance->call(
      "weft_configure", {ptr.value, static_cast<int32_t>(config.size())}, &host, deadline);
  if (!configured.ok()) {
    return refuse(configured, LoadFailure::kConfigure,
                  "weft_configure failed: " + configured.message);
  }
  if (configured.value != 0) {
    return refuse(configured, LoadFailure::kConfigure,
                  "weft_configure returned " + std::to_string(configured.value) +
                      (host.error.empty() ? "" : ": " + host.error));
  }
  return instance;
}

CallResult Plugin::place(Instance& instance, CallHost& host, std::string_view bytes,
                         std::optional<std::chrono::milliseconds> timeout) {
  const auto size = static_cast<int32_t>(bytes.size());
  CallResult ptr = instance.call("weft_alloc", {size}, &host, timeout);
  if (!ptr.ok() || (ptr.value != 0 && instance.write(static_cast<uint32_t>(ptr.value), bytes))) {
    return ptr;
  }
  const uint64_t memory = instance.memory_bytes();
  ptr.message = "weft_alloc(" + std::to_string(size) + ") returned " +
                std::to_string(static_cast<uint32_t>(ptr.value));
  if (ptr.value != 0) {
    ptr.failure = Failure::kBadResult;
    ptr.message += ", which with " + std::to_string(size) + " bytes runs past the end of memory (" +
                   std::to_string(memory) + " bytes)";
  } else if (memory + bytes.size() + kWasmPage > settings_.limits.memory_bytes) {
    // Its memory cannot grow by the request: the plugin has hit its cap.
    ptr.failure = Failure::kMemoryLimit;
    ptr.message += ": memory is at " + std::to_string(memory) + " bytes of its limits.memory " +
                   std::to_string(settings_.limits.memory_bytes);
  } else {
    ptr.failure = Failure::kBadResult;
    ptr.message += " with memory at " + std::to_string(memory) + " of " +
                   std::to_string(settings_.limits.memory_bytes) + " bytes";
  }
  return ptr;
}

Result<std::shared_ptr<InstancePool>> Plugin::load_version(const std::string& bytes) {
  auto module = engine_->compile(bytes, {settings_.module_bytes, settings_.limits.memory_bytes});
  if (!module.ok()) return module.status();
  if (Status s = check_interface(*module.value(), settings_.signals, settings_.entry); !s.is_ok()) {
    return s;
  }
  std::function<void(Instance&)> on_drop;
  if (module.value()->exports_function("weft_shutdown")) {
    PluginShared* shared = shared_.get();
    const auto deadline = settings_.limits.start_timeout;
    on_drop = [shared, deadline](Instance& instance) {
      CallHost host(*shared);
      (void)instance.call("weft_shutdown", {}, &host, deadline);
    };
  }
  auto pool = std::make_shared<InstancePool>(module.value(), std::move(on_drop));
  auto first = new_instance(*pool);  // proves it instantiates and configures
  if (!first.ok()) return first.status();
  pool->put(std::move(first).value());
  return pool;
}

Result<std::shared_ptr<Plugin>> Plugin::load(std::shared_ptr<Engine> engine,
                                             PluginSettings settings, ComponentContext ctx) {
  for (const auto& table : settings.tables_allowed) {
    if (!lookup::tables().has(table)) {
      return Status::invalid_argument("permissions.tables grants table \"" + table +
                                      "\", which service.tables does not declare");
    }
  }
  std::shared_ptr<Plugin> plugin(
      new Plugin(std::move(engine), std::move(settings), std::move(ctx)));
  if (plugin->settings_.anomaly.enabled) {
    plugin->anomaly_ = std::make_unique<AnomalyDetector>(plugin->settings_.anomaly);
  }
  std::optional<pkg::PluginMeta> meta;
  auto bytes = plugin->read_module(meta);
  if (!bytes.ok()) {
    plugin->audit("load_failed", bytes.status().message());
    return bytes.status();
  }
  auto pool = plugin->load_version(bytes.value());
  if (!pool.ok()) {
    plugin->audit("load_failed", pool.status().message());
    return Status::invalid_argument(plugin->settings_.path + ": " + pool.status().message())
        .with_reason(load_failure_of(pool.status()));
  }
  pool.value()->generation = 1;
  plugin->package_ = std::move(meta);
  plugin->package_detail_ = plugin->pending_detail_;
  plugin->current_ = pool.value();
  plugin->generation_ = 1;
  plugin->metrics_->generation->set(1);
  plugin->audit("loaded", "generation=1 " + plugin->describe_version(*pool.value()));
  return plugin;
}

Status Plugin::reload() {
  std::lock_guard reload_lock(reload_mu_);
  std::optional<pkg::PluginMeta> meta;
  auto bytes = read_module(meta);
  Result<std::shared_ptr<InstancePool>> pool =
      bytes.ok() ? load_version(bytes.value())
                 : Result<std::shared_ptr<InstancePool>>(bytes.status());
  if (!pool.ok()) {
    metrics_->reloads_failed->add();
    telemetry::Labels by_reason = shared_->labels;
    by_reason.emplace_back("reason",
                           std::string(load_failure_name(load_failure_of(pool.status()))));
    ctx_.metrics
        ->counter("weft_plugin_reload_failures", "Reloads refused, by the reason.", by_reason)
        .add();
    audit("reload_failed", pool.status().message());
    ctx_.logger->error("reload of {} failed, generation {} keeps running: {}", settings_.path,
                       generation_.load(), pool.status().message());
    return pool.status();
  }
  const uint64_t gen = generation_.load() + 1;
  pool.value()->generation = gen;
  package_ = std::move(meta);
  package_detail_ = pending_detail_;
  {
    std::lock_guard lock(version_mu_);
    previous_ = std::exchange(current_, pool.value());
  }
  if (anomaly_) anomaly_->new_version(std::chrono::steady_clock::now());
  generation_ = gen;
  metrics_->generation->set(static_cast<int64_t>(gen));
  metrics_->reloads_ok->add();
  backoff_.succeeded();
  audit("reloaded", "generation=" + std::to_string(gen) + " " + describe_version(*pool.value()));
  return Status::ok();
}

Outcome Plugin::failed(Failure kind, std::string error) {
  metrics_->failed(kind);
  if (const auto backoff = backoff_.failed(std::chrono::steady_clock::now()); backoff.count() > 0) {
    ctx_.logger->warn("plugin failed {} times in a row; backing off for {} ms",
                      backoff_.failures_in_row(), backoff.count());
  }
  Outcome outcome;
  outcome.kind = Outcome::kFailed;
  outcome.failure = kind;
  outcome.error = std::move(error);
  return outcome;
}

Status Plugin::switch_to(const std::string& path, const std::string& why) {
  const bool watching = settings_.watch_interval.count() > 0;
  stop_watching();
  std::string before;
  {
    std::lock_guard lock(reload_mu_);
    before = std::exchange(settings_.path, path);
  }
  Status status = reload();
  if (!status.is_ok()) {
    std::lock_guard lock(reload_mu_);
    settings_.path = before;
  } else {
    audit("promoted", why + " " + path);
  }
  std::string watched;
  {
    std::lock_guard lock(reload_mu_);
    watched = settings_.path;
  }
  watcher_ = std::make_unique<FileWatcher>(watched, settings_.watch_interval, [this, watched] {
    ctx_.logger->info("{} changed; reloading", watched);
    (void)reload();
  });
  if (watching) start_watching();
  return status;
}

std::string Plugin::path() const {
  std::lock_guard lock(reload_mu_);
  return settings_.path;
}

bool Plugin::rollback(const std::string& why) {
  std::unique_lock reload_lock(reload_mu_, std::try_to_lock);
  if (!reload_lock.owns_lock()) return false;  // a reload is under way: it decides
  std::shared_ptr<InstancePool> back;
  uint64_t from = 0;
  {
    std::lock_guard lock(version_mu_);
    if (!previous_) return false;
    from = current_->generation;
    back = previous_;
    current_ = previous_;
    previous_.reset();
  }
  const uint64_t gen = generation_.load() + 1;
  generation_ = gen;
  metrics_->generation->set(static_cast<int64_t>(gen));
  backoff_.succeeded();
  if (anomaly_) anomaly_->new_version(std::chrono::steady_clock::now());
  audit("rollback", "generation=" + std::to_string(gen) + " the version of generation " +
                        std::to_string(back->generation) + " replaces generation " +
                        std::to_string(from) + " (" + why + ") " + describe_version(*back));
  return true;
}

void Plugin::watch_call(uint64_t items_in, uint64_t items_out, bool failed,
                        std::chrono::steady_clock::time_point start) {
  if (!anomaly_) return;
  const auto now = std::chrono::steady_clock::now();
  auto anomaly = anomaly_->record(items_in, items_out, failed, now - start, now);
  if (!anomaly) return;
  telemetry::Labels labels = shared_->labels;
  labels.emplace_back("kind", anomaly->kind);
  ctx_.metrics->counter("weft_plugin_anomalies", "Anomalies the plugin's windows showed.", labels)
      .add();
  const std::string what =
      fmt::format("{} {:.3g} against a baseline of {:.3g} ({:.1f}x)", anomaly->kind,
                  anomaly->current, anomaly->baseline, anomaly->change);
  ctx_.logger->error("anomaly in generation {}: {}", generation_.load(), what);
  audit("anomaly", "generation=" + std::to_string(generation_.load()) + " " + what);
  if (settings_.anomaly.rollback && !rollback("anomaly: " + what)) {
    ctx_.logger->error("anomaly: no earlier version to roll back to (or a reload is under way)");
  }
}

Outcome Plugin::process(pdata::Telemetry& data) {
  const auto start = std::chrono::steady_clock::now();
  Outcome outcome = process_call(data, start);
  if (outcome.failure != Failure::kNone || outcome.kind != Outcome::kFailed) {
    const uint64_t in = data.item_count();
    const uint64_t out = outcome.kind == Outcome::kDropped ? 0
                         : outcome.output                  ? outcome.output->item_count()
                                                           : in;
    watch_call(in, out, outcome.kind == Outcome::kFailed, start);
  }
  return outcome;
}

Outcome Plugin::process_call(pdata::Telemetry& data, std::chrono::steady_clock::time_point start) {
  if (backed_off(start)) {
    Outcome skipped;
    skipped.kind = Outcome::kFailed;
    skipped.error = kBackedOff;
    return skipped;
  }
  CallHost host(*shared_);
  host.client = data.client().get();
  Held held;
  const CallResult call = call_on_bytes(data.wire(), entry_export(Entry::kProcess, data.signal()),
                                        data.item_count(), host, start, held);
  if (!call.ok()) return failed(call.failure, call.message);
  auto& [pool, instance] = held;
  if (call.value != 0) {
    pool->put(std::move(instance));
    return failed(Failure::kGuestError, "plugin returned status " + std::to_string(call.value) +
                                            (host.error.empty() ? "" : ": " + host.error));
  }
  Outcome outcome;
  if (const Status applied = host.apply(data, outcome); !applied.is_ok()) {
    pool->put(std::move(instance));
    return failed(Failure::kBadResult, "plugin result rejected: " + applied.message());
  }
  pool->put(std::move(instance));
  backoff_.succeeded();
  if (outcome.kind == Outcome::kKept) {
    metrics_->items_out->add(outcome.output ? outcome.output->item_count() : data.item_count());
  }
  // What the plugin made of the batch (a changed batch, a connector's output) still comes
  // from the batch's client.
  if (outcome.output) outcome.output->set_client(data.client());
  for (auto& t : host.emitted) t.set_client(data.client());
  outcome.emitted = std::move(host.emitted);
  return outcome;
}

bool Plugin::backed_off(std::chrono::steady_clock::time_point now) {
  if (!backoff_.backing_off(now)) return false;
  metrics_->backed_off->add();
  return true;
}

Result<std::unique_ptr<Instance>> Plugin::take_instance(std::shared_ptr<InstancePool>& pool) {
  {
    std::lock_guard lock(version_mu_);
    pool = current_;
  }
  std::unique_ptr<Instance> instance = pool->take();
  if (instance) return instance;
  auto created = new_instance(*pool);
  if (!created.ok()) {
    return Status::invalid_argument("cannot start an instance: " + created.status().message());
  }
  return created;
}

CallResult Plugin::call_on_bytes(std::string_view bytes, const std::string& export_name,
                                 size_t items, CallHost& host,
                                 std::chrono::steady_clock::time_point start, Held& held) {
  auto& [pool, instance] = held;
  auto taken = take_instance(pool);
  if (!taken.ok()) {
    CallResult none;
    none.failure = Failure::kBadResult;
    none.message = taken.status().message();
    return none;
  }
  instance = std::move(taken).value();
  metrics_->calls->add();
  metrics_->items_in->add(items);
  CallResult call = place(*instance, host, bytes, std::nullopt);
  if (call.ok()) {
    call = instance->call(export_name, {call.value, static_cast<int32_t>(bytes.size())}, &host);
  }
  shared_->summarise_logs();
  metrics_->memory->set(static_cast<int64_t>(instance->memory_bytes()));
  metrics_->timed(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  if (!call.ok()) {  // a trapped or timed-out instance is never reused
    ctx_.logger->error("plugin call failed, instance replaced: {}", call.message);
    instance.reset();
  }
  return call;
}

ExportOutcome Plugin::export_batch(const pdata::Telemetry& data) {
  const auto start = std::chrono::steady_clock::now();
  ExportOutcome result;
  auto fail = [&](Failure kind, std::string error) {
    (void)failed(kind, error);
    result.kind = ExportOutcome::kFailed;
    result.failure = kind;
    result.error = std::move(error);
    return result;
  };
  if (backed_off(start)) {
    result.kind = ExportOutcome::kFailed;
    result.error = kBackedOff;
    return result;
  }
  CallHost host(*shared_);
  host.deadline = start + settings_.limits.timeout;
  Held held;
  const CallResult call = call_on_bytes(data.wire(), entry_export(Entry::kExport, data.signal()),
                                        data.item_count(), host, start, held);
  if (!call.ok()) return fail(call.failure, call.message);
  auto& [pool, instance] = held;
  pool->put(std::move(instance));
  switch (call.value) {
    case 0:
      result.kind = ExportOutcome::kSent;
      break;
    case 1:
      result.kind = ExportOutcome::kRetryable;
      result.retry_after = host.retry_after;
      break;
    case 2:
      result.kind = ExportOutcome::kPermanent;
      break;
    case 3:
      if (host.rejected > data.item_count()) {
        return fail(Failure::kBadResult, "plugin reported " + std::to_string(host.rejected) +
                                             " of " + std::to_string(data.item_count()) +
                                             " items rejected");
      }
      result.kind = ExportOutcome::kPartial;
      result.rejected = host.rejected;
      break;
    default:
      return fail(Failure::kGuestError, "plugin returned status " + std::to_string(call.value) +
                                            (host.error.empty() ? "" : ": " + host.error));
  }
  result.error = host.error;
  backoff_.succeeded();
  return result;
}

Plugin::RequestCall Plugin::call_on_request(std::string_view bytes, const std::string& export_name,
                                            CallHost& host, const ReceivedRequest& request) {
  const auto start = std::chrono::steady_clock::now();
  if (backed_off(start)) return {false, 0, kBackedOff};
  host.deadline = start + settings_.limits.timeout;
  host.request = &request;
  Held held;
  const CallResult call = call_on_bytes(bytes, export_name, 0, host, start, held);
  if (!call.ok()) return {false, 0, failed(call.failure, call.message).error};
  auto& [pool, instance] = held;
  pool->put(std::move(instance));
  return {true, call.value, {}};
}

std::string Plugin::guest_error(const std::string& export_name, int32_t status,
                                const CallHost& host) {
  return failed(Failure::kGuestError, export_name + " returned status " + std::to_string(status) +
                                          (host.error.empty() ? "" : ": " + host.error))
      .error;
}

ReceiveOutcome Plugin::receive(std::string_view bytes, const ReceivedRequest& request) {
  CallHost host(*shared_);
  const RequestCall call = call_on_request(bytes, "weft_receive", host, request);
  ReceiveOutcome result;
  result.kind = ReceiveOutcome::kFailed;
  if (!call.ok) {
    result.error = call.error;
    return result;
  }
  result.status = host.response_status;
  result.body = std::move(host.response_body);
  result.error = host.error;
  if (call.status != 0 && call.status != 1) {
    result.error = guest_error("weft_receive", call.status, host);
    return result;
  }
  backoff_.succeeded();  // a bad request (1) is the request's fault, not the plugin's
  if (call.status == 1) {
    result.kind = ReceiveOutcome::kBadRequest;
    return result;
  }
  result.kind = ReceiveOutcome::kAccepted;
  for (const auto& t : host.emitted) metrics_->items_out->add(t.item_count());
  result.emitted = std::move(host.emitted);
  return result;
}

AuthDecision Plugin::authenticate(std::string_view header_lines, const ReceivedRequest& request) {
  CallHost host(*shared_);
  host.authenticating = true;
  const RequestCall call = call_on_request(header_lines, "weft_authenticate", host, request);
  AuthDecision decision;
  if (!call.ok) {
    decision.error = call.error;
    return decision;
  }
  if (call.status < 0 || call.status > 2) {
    decision.error = guest_error("weft_authenticate", call.status, host);
    return decision;
  }
  backoff_.succeeded();
  decision.error = host.error;
  static constexpr AuthDecision::Kind kKinds[] = {
      AuthDecision::kAllowed, AuthDecision::kUnauthenticated, AuthDecision::kForbidden};
  decision.kind = kKinds[call.status];
  if (decision.kind == AuthDecision::kAllowed)
    decision.attributes = std::move(host.client_attributes);
  return decision;
}

SignResult Plugin::sign(std::string_view body_digest, const ReceivedRequest& request) {
  CallHost host(*shared_);
  host.signing = true;
  const RequestCall call = call_on_request(body_digest, "weft_sign", host, request);
  SignResult result;
  if (!call.ok) {
    result.error = call.error;
    return result;
  }
  if (call.status != 0) {
    result.error = guest_error("weft_sign", call.status, host);
    return result;
  }
  backoff_.succeeded();
  result.ok = true;
  result.headers = std::move(host.added_headers);
  return result;
}

bool Plugin::exports(const std::string& name) {
  std::shared_ptr<InstancePool> pool;
  {
    std::lock_guard lock(version_mu_);
    pool = current_;
  }
  return pool != nullptr && pool->module()->exports_function(name);
}

void Plugin::start_watching() {
  watcher_->start();
}

void Plugin::stop_watching() {
  watcher_->stop();
}

}  // namespace weft::wasm
