#include "wasm/plugin/call_host.h"

#include <spdlog/spdlog.h>

#include <cctype>
#include <chrono>
#include <cstdlib>

#include "wasm/host/results.h"

namespace weft::wasm {
namespace {

constexpr double kHistogramBuckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

bool valid_metric_name(std::string_view name) {
  if (name.empty() || name.size() > 100) return false;
  for (char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '_') return false;
  }
  return true;
}

}  // namespace

PluginShared::PluginShared(const PluginSettings& settings, const ComponentContext& ctx)
    : id(ctx.id),
      config(settings.config_json),
      state_cap(settings.state_bytes),
      env_allowed(settings.env_allowed),
      emits(settings.emits),
      registry(ctx.metrics),
      audit(ctx.audit),
      log(ctx.logger),
      denied(&ctx.metrics->counter("weft_plugin_denied_calls",
                                   "Host calls refused for lack of a permission.",
                                   {{"plugin", ctx.id}})) {}

void CallHost::log(int32_t level, std::string_view message) {
  const auto lvl = level <= 0   ? spdlog::level::debug
                   : level == 1 ? spdlog::level::info
                   : level == 2 ? spdlog::level::warn
                                : spdlog::level::err;
  shared_.log->log(lvl, "plugin: {}", message.substr(0, 4096));
}

void CallHost::set_error(std::string_view message) {
  error = std::string(message.substr(0, 4096));
}

int64_t CallHost::now_unix_nano() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int32_t CallHost::metric(int32_t kind, std::string_view name, double value,
                         std::string_view attributes) {
  if (!valid_metric_name(name) || kind < 0 || kind > 2) return kAbiInvalid;
  telemetry::Labels labels = {{"plugin", shared_.id}};
  size_t pos = 0;
  while (pos < attributes.size()) {
    if (labels.size() > 16) return kAbiInvalid;  // "plugin" plus at most 16 of its own
    size_t end = attributes.find('\n', pos);
    if (end == std::string_view::npos) end = attributes.size();
    const std::string_view line = attributes.substr(pos, end - pos);
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos || !valid_metric_name(line.substr(0, eq)) ||
        line.substr(0, eq) == "plugin" || line.substr(0, eq) == "le") {
      return kAbiInvalid;
    }
    labels.emplace_back(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
    pos = end + 1;
  }
  const std::string full = "weft_plugin_" + std::string(name);
  const std::string help = "Reported by a plugin.";
  if (kind == 0) {
    if (value < 0) return kAbiInvalid;
    shared_.registry->value(full, help, labels, true).add(value);
  } else if (kind == 1) {
    shared_.registry->value(full, help, labels, false).set(value);
  } else {  // a histogram with Prometheus's default buckets
    for (double le : kHistogramBuckets) {
      if (value > le) continue;
      auto with_le = labels;
      with_le.emplace_back("le", fmt::format("{}", le));
      shared_.registry->value(full + "_bucket", help, with_le, true).add(1);
    }
    auto inf = labels;
    inf.emplace_back("le", "+Inf");
    shared_.registry->value(full + "_bucket", help, inf, true).add(1);
    shared_.registry->value(full + "_count", help, labels, true).add(1);
    shared_.registry->value(full + "_sum", help, labels, true).add(value);
  }
  return kAbiOk;
}

int32_t CallHost::kv_get(std::string_view key, std::string& value) {
  std::lock_guard lock(shared_.kv_mu);
  auto it = shared_.kv.find(key);
  if (it == shared_.kv.end()) return kAbiNotFound;
  value = it->second;
  return static_cast<int32_t>(value.size());
}

int32_t CallHost::kv_set(std::string_view key, std::string_view value) {
  std::lock_guard lock(shared_.kv_mu);
  auto it = shared_.kv.find(key);
  const uint64_t old = it == shared_.kv.end() ? 0 : key.size() + it->second.size();
  if (shared_.kv_bytes - old + key.size() + value.size() > shared_.state_cap) return kAbiLimit;
  shared_.kv_bytes = shared_.kv_bytes - old + key.size() + value.size();
  shared_.kv[std::string(key)] = std::string(value);
  return kAbiOk;
}

int32_t CallHost::kv_delete(std::string_view key) {
  std::lock_guard lock(shared_.kv_mu);
  auto it = shared_.kv.find(key);
  if (it == shared_.kv.end()) return kAbiNotFound;
  shared_.kv_bytes -= key.size() + it->second.size();
  shared_.kv.erase(it);
  return kAbiOk;
}

int32_t CallHost::env_get(std::string_view name, std::string& value) {
  const std::string n(name);
  if (shared_.env_allowed.count(n) == 0) {
    shared_.denied->add();
    shared_.log->warn(
        "audit: event=permission_denied call=env_get name={} (grant it with permissions.env)", n);
    if (shared_.audit != nullptr) {
      shared_.audit->record("permission_denied", shared_.id, {{"call", "env_get"}, {"name", n}});
    }
    return kAbiDenied;
  }
  const char* v = std::getenv(n.c_str());
  if (v == nullptr) return kAbiNotFound;
  value = v;
  return static_cast<int32_t>(value.size());
}

int32_t CallHost::emit(int32_t signal, std::string_view request) {
  if (!shared_.emits || signal < 0 || signal > 2 || static_cast<Signal>(signal) != *shared_.emits) {
    return kAbiInvalid;
  }
  if (emitted_bytes + request.size() > kMaxEmittedBytes) return kAbiLimit;
  auto t = pdata::Telemetry::from_wire(*shared_.emits, std::string(request));
  if (!t.ok()) return kAbiInvalid;
  emitted_bytes += request.size();
  emitted.push_back(std::move(t).value());
  return kAbiOk;
}

int32_t CallHost::set(Kind k, std::string_view b) {
  if (kind != Kind::kNone) return kAbiInvalid;
  kind = k;
  bytes = std::string(b);
  return kAbiOk;
}

Status CallHost::apply(const pdata::Telemetry& data, Outcome& outcome) {
  switch (kind) {
    case Kind::kNone:
      return Status::ok();
    case Kind::kDrop:
      outcome.kind = Outcome::kDropped;
      return Status::ok();
    case Kind::kKeep:
    case Kind::kEdits: {
      pdata::Telemetry changed = data.clone();
      Status applied =
          kind == Kind::kKeep ? apply_keep_mask(changed, bytes) : apply_edits(changed, bytes);
      if (applied.is_ok()) outcome.output = std::move(changed);
      return applied;
    }
    case Kind::kReplace: {
      auto replaced = pdata::Telemetry::from_wire(data.signal(), std::move(bytes));
      if (!replaced.ok()) {
        return Status::invalid_argument("replacement is not a valid request: " +
                                        replaced.status().message());
      }
      outcome.output = std::move(replaced).value();
      return Status::ok();
    }
  }
  return Status::ok();
}

}  // namespace weft::wasm
