#include "wasm/plugin/call_host.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <utility>

#include "wasm/host/crypto.h"
#include "wasm/host/results.h"

namespace weft::wasm {
namespace {

constexpr double kHistogramBuckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
constexpr size_t kMaxText = 4096;  // log lines, error texts, metric attributes (bytes)
constexpr size_t kMaxMetricAttributes = 16;

bool valid_metric_name(std::string_view name) {
  if (name.empty() || name.size() > 100) return false;
  for (char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '_') return false;
  }
  return true;
}

telemetry::Labels labels_of(const ComponentContext& ctx) {
  telemetry::Labels labels = {{"plugin", ctx.id}};
  if (!ctx.pipeline.empty()) labels.emplace_back("pipeline", ctx.pipeline);
  return labels;
}

// A header's value by its name, matched without case: its size, or -1 if absent.
int32_t find_header(const std::vector<std::pair<std::string, std::string>>& headers,
                    std::string_view name, std::string& value) {
  for (const auto& [key, v] : headers) {
    if (key.size() == name.size() &&
        std::equal(key.begin(), key.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      value = v;
      return static_cast<int32_t>(value.size());
    }
  }
  return kAbiNotFound;
}

}  // namespace

bool LogBudget::admit(Clock::time_point now) {
  std::lock_guard lock(mu_);
  const double elapsed = std::chrono::duration<double>(now - refilled_).count();
  refilled_ = now;
  tokens_ = std::min(burst_, tokens_ + std::max(0.0, elapsed) * rate_);
  if (tokens_ >= 1) {
    tokens_ -= 1;
    return true;
  }
  ++refused_;
  return false;
}

uint64_t LogBudget::summary_due(Clock::time_point now) {
  std::lock_guard lock(mu_);
  if (refused_ == 0 || (summarised_ != Clock::time_point{} && now - summarised_ < kSummaryInterval))
    return 0;
  summarised_ = now;
  return std::exchange(refused_, 0);
}

PluginShared::PluginShared(const PluginSettings& settings, const ComponentContext& ctx)
    : id(ctx.id),
      labels(labels_of(ctx)),
      config(settings.config_json),
      state_cap(settings.state_bytes),
      env_allowed(settings.env_allowed),
      tables_allowed(settings.tables_allowed.begin(), settings.tables_allowed.end()),
      secrets(settings.secrets.begin(), settings.secrets.end()),
      emits(settings.emits),
      receives(settings.receives),
      http(settings.http),
      registry(ctx.metrics),
      audit(ctx.audit),
      log(ctx.logger),
      denied(&ctx.metrics->counter("weft_plugin_denied_calls",
                                   "Host calls refused for lack of a permission.", labels)),
      log_budget(settings.log_rate, settings.log_burst),
      log_suppressed(&ctx.metrics->counter("weft_plugin_log_suppressed",
                                           "Lines of weft.log over the plugin's budget.", labels)),
      series_cap(settings.metric_series),
      metric_refused(&ctx.metrics->counter("weft_plugin_metric_refused",
                                           "weft.metric calls past the plugin's series cap.",
                                           labels)) {}

void PluginShared::summarise_logs() {
  if (const uint64_t n = log_budget.summary_due(std::chrono::steady_clock::now()); n > 0) {
    log->warn(
        "plugin: {} log lines suppressed over its budget (limits.log_rate); the total is "
        "in weft_plugin_log_suppressed",
        n);
  }
}

void CallHost::log(int32_t level, std::string_view message) {
  if (!shared_.log_budget.admit(std::chrono::steady_clock::now())) {
    shared_.log_suppressed->add();
    shared_.summarise_logs();
    return;
  }
  const auto lvl = level <= 0   ? spdlog::level::debug
                   : level == 1 ? spdlog::level::info
                   : level == 2 ? spdlog::level::warn
                                : spdlog::level::err;
  // One line each, at most kMaxText bytes: a plugin cannot write lines that look like weft's.
  std::string line;
  line.reserve(std::min(message.size(), kMaxText));
  for (char c : message.substr(0, kMaxText)) {
    if (c == '\n') {
      line += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
      line += '?';
    } else {
      line.push_back(c);
    }
  }
  shared_.log->log(lvl, "plugin: {}", line);
}

void CallHost::set_error(std::string_view message) {
  error = std::string(message.substr(0, kMaxText));
}

int64_t CallHost::now_unix_nano() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int32_t CallHost::metric(int32_t kind, std::string_view name, double value,
                         std::string_view attributes) {
  if (!valid_metric_name(name) || kind < 0 || kind > 2 || attributes.size() > kMaxText)
    return kAbiInvalid;
  telemetry::Labels labels = shared_.labels;
  const size_t own = labels.size();
  size_t pos = 0;
  while (pos < attributes.size()) {
    if (labels.size() >= own + kMaxMetricAttributes) return kAbiInvalid;
    size_t end = attributes.find('\n', pos);
    if (end == std::string_view::npos) end = attributes.size();
    const std::string_view line = attributes.substr(pos, end - pos);
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos || !valid_metric_name(line.substr(0, eq)) ||
        line.substr(0, eq) == "plugin" || line.substr(0, eq) == "pipeline" ||
        line.substr(0, eq) == "le") {
      return kAbiInvalid;
    }
    labels.emplace_back(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
    pos = end + 1;
  }
  {
    std::string key = std::to_string(kind) + ":" + std::string(name) + "\n";
    key.append(attributes);
    std::lock_guard lock(shared_.series_mu);
    if (shared_.series.find(key) == shared_.series.end()) {
      if (shared_.series.size() >= shared_.series_cap) {
        if (shared_.metric_refused->value() == 0) {
          shared_.log->warn(
              "plugin reached its cap of {} metric series (limits.metric_series); "
              "weft.metric returns -4 for new series, counted in "
              "weft_plugin_metric_refused",
              shared_.series_cap);
        }
        shared_.metric_refused->add();
        return kAbiLimit;
      }
      shared_.series.insert(std::move(key));
    }
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

int32_t CallHost::client_info(std::string_view key, std::string& value) {
  if (client == nullptr) return kAbiNotFound;
  const auto v = client->get(key);
  if (!v) return kAbiNotFound;
  value = std::string(*v);
  return static_cast<int32_t>(value.size());
}

int32_t CallHost::set_client_attribute(std::string_view key, std::string_view value) {
  if (!authenticating || key.empty() || key.size() > kMaxText || value.size() > kMaxText ||
      client_attributes.size() >= kMaxAuthPairs) {
    return kAbiInvalid;
  }
  client_attributes.emplace_back(std::string(key), std::string(value));
  return kAbiOk;
}

int32_t CallHost::add_header(std::string_view name, std::string_view value) {
  const bool token = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
  });
  const bool clean = std::none_of(value.begin(), value.end(),
                                  [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
  if (!signing || !token || !clean || value.size() > kMaxText * 4 ||
      added_headers.size() >= kMaxAuthPairs) {
    return kAbiInvalid;
  }
  added_headers.emplace_back(std::string(name), std::string(value));
  return kAbiOk;
}

int32_t CallHost::hmac_sha256(std::string_view secret, std::string_view message, std::string& mac) {
  auto it = shared_.secrets.find(secret);
  if (it == shared_.secrets.end()) {
    shared_.denied->add();
    shared_.log->warn(
        "audit: event=permission_denied call=hmac_sha256 secret={} (declare it in the "
        "component's secrets)",
        secret);
    return kAbiDenied;
  }
  mac = wasm::hmac_sha256(it->second, message);
  return static_cast<int32_t>(mac.size());
}

int32_t CallHost::verify_signature(std::string_view alg, std::string_view key,
                                   std::string_view message, std::string_view signature) {
  if (alg == "HS256") {
    auto it = shared_.secrets.find(key);
    if (it == shared_.secrets.end()) return kAbiDenied;
    return wasm::verify_signature(alg, it->second, message, signature);
  }
  return wasm::verify_signature(alg, key, message, signature);
}

CallHost::~CallHost() {
  for (const auto& [name, pinned] : pinned_) {
    if (pinned.table != nullptr) lookup::tables().count(name, pinned.hits, pinned.misses);
  }
}

int32_t CallHost::lookup(std::string_view table, std::string_view key, std::string& fields) {
  auto pinned = pinned_.find(table);
  if (pinned == pinned_.end()) {
    const std::string name(table);
    Pinned p;
    if (shared_.tables_allowed.count(name) != 0) p.table = lookup::tables().get(name);
    if (p.table == nullptr) {
      shared_.denied->add();
      shared_.log->warn(
          "audit: event=permission_denied call=lookup table={} (grant it with "
          "permissions.tables; it must be declared in service.tables)",
          name);
      if (shared_.audit != nullptr) {
        shared_.audit->record("permission_denied", shared_.id,
                              {{"call", "lookup"}, {"table", name}});
      }
    }
    pinned = pinned_.emplace(name, std::move(p)).first;
  }
  Pinned& p = pinned->second;
  if (p.table == nullptr) return kAbiDenied;
  if (!p.table->find(key, fields_)) {
    ++p.misses;
    return kAbiNotFound;
  }
  ++p.hits;
  fields = lookup::encode_fields(fields_);
  return static_cast<int32_t>(fields.size());
}

int32_t CallHost::emit(int32_t signal, std::string_view request) {
  if (signal < 0 || signal > 2) return kAbiInvalid;
  const auto s = static_cast<Signal>(signal);
  if ((!shared_.emits || s != *shared_.emits) && shared_.receives.count(s) == 0) {
    return kAbiInvalid;
  }
  if (emitted_bytes + request.size() > kMaxEmittedBytes) return kAbiLimit;
  auto t = pdata::Telemetry::from_wire(s, std::string(request));
  if (!t.ok()) return kAbiInvalid;
  emitted_bytes += request.size();
  emitted.push_back(std::move(t).value());
  return kAbiOk;
}

int32_t CallHost::http_request(std::string_view method, std::string_view url,
                               std::string_view headers, std::string_view body) {
  response.reset();
  if (!shared_.http) {
    shared_.denied->add();
    shared_.log->warn(
        "audit: event=permission_denied call=http_request (only a wasm exporter "
        "may make requests)");
    if (shared_.audit != nullptr) {
      shared_.audit->record("permission_denied", shared_.id, {{"call", "http_request"}});
    }
    return kAbiDenied;
  }
  HttpExchange request;
  request.method = std::string(method);
  request.url = std::string(url);
  request.body = body;
  // "Name: value" lines; a line without a colon, or a name with a space, is refused.
  size_t start = 0;
  while (start < headers.size()) {
    size_t end = headers.find('\n', start);
    if (end == std::string_view::npos) end = headers.size();
    std::string_view line = headers.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos ||
        line.substr(0, colon).find_first_of(" \t\r") != std::string_view::npos) {
      return kAbiInvalid;
    }
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    request.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }
  const auto left = deadline - std::chrono::steady_clock::now();
  if (deadline != std::chrono::steady_clock::time_point{} && left <= std::chrono::nanoseconds(0)) {
    return kAbiLimit;  // no time left in the call
  }
  request.timeout = deadline == std::chrono::steady_clock::time_point{}
                        ? std::chrono::nanoseconds(0)
                        : std::chrono::duration_cast<std::chrono::nanoseconds>(left);
  HttpReply reply = shared_.http->exchange(request);
  if (reply.code == kAbiDenied) {
    shared_.denied->add();
    shared_.log->warn("audit: event=permission_denied call=http_request url={}: {}", request.url,
                      reply.error);
    if (shared_.audit != nullptr) {
      shared_.audit->record(
          "permission_denied", shared_.id,
          {{"call", "http_request"}, {"url", request.url}, {"detail", reply.error}});
    }
    return kAbiDenied;
  }
  if (reply.code < 0) {
    shared_.log->warn("http_request {} {}: {}", request.method, request.url, reply.error);
    return reply.code;
  }
  const int32_t code = reply.code;
  response = std::move(reply);
  return code;
}

int32_t CallHost::http_response_header(std::string_view name, std::string& value) {
  return response ? find_header(response->headers, name, value) : kAbiNotFound;
}

const std::string* CallHost::http_response_body() {
  return response ? &response->body : nullptr;
}

int32_t CallHost::set_retry_after(int64_t milliseconds) {
  if (milliseconds < 0) return kAbiInvalid;
  retry_after = std::chrono::milliseconds(std::min<int64_t>(milliseconds, 3600000));
  return kAbiOk;
}

int32_t CallHost::set_rejected(int64_t items) {
  if (items < 0) return kAbiInvalid;
  rejected = static_cast<uint64_t>(items);
  return kAbiOk;
}

int32_t CallHost::request_info(int32_t which, std::string& value) {
  if (request == nullptr) return kAbiNotFound;
  switch (which) {
    case 0:
      value = request->method;
      break;
    case 1:
      value = request->path;
      break;
    case 2:
      value = request->query;
      break;
    case 3:
      value = request->target;
      break;
    case 4:
      value = request->peer;
      break;
    case 5:
      value = request->status > 0 ? std::to_string(request->status) : "";
      break;
    case 6:
      value = request->transport;
      break;
    case 7:
      value = request->url;
      break;
    default:
      return kAbiInvalid;
  }
  if (value.empty()) return kAbiNotFound;
  return static_cast<int32_t>(value.size());
}

int32_t CallHost::request_header(std::string_view name, std::string& value) {
  return request != nullptr ? find_header(request->headers, name, value) : kAbiNotFound;
}

int32_t CallHost::respond(int32_t status, std::string_view body) {
  if (request == nullptr || !request->target.empty() || status < 200 || status > 599 ||
      body.size() > kMaxText * 256) {
    return kAbiInvalid;
  }
  response_status = status;
  response_body = std::string(body);
  return kAbiOk;
}

int32_t CallHost::result_drop_all() {
  if (result_set()) return kAbiInvalid;
  drop = true;
  return kAbiOk;
}

int32_t CallHost::result_replace(std::string_view request) {
  if (result_set()) return kAbiInvalid;
  replace = std::string(request);
  return kAbiOk;
}

int32_t CallHost::result_keep(std::string_view mask) {
  if (drop || replace || keep || route) return kAbiInvalid;
  keep = std::string(mask);
  return kAbiOk;
}

int32_t CallHost::result_route(std::string_view routes) {
  if (!shared_.emits || drop || replace || keep || route) return kAbiInvalid;
  route = std::string(routes);
  return kAbiOk;
}

int32_t CallHost::result_edits(std::string_view list) {
  if (drop || replace || edits) return kAbiInvalid;
  edits = std::string(list);
  return kAbiOk;
}

Status CallHost::apply(const pdata::Telemetry& data, Outcome& outcome) {
  if (drop) {
    outcome.kind = Outcome::kDropped;
    return Status::ok();
  }
  if (replace) {
    auto replaced = pdata::Telemetry::from_wire(data.signal(), std::move(*replace));
    if (!replaced.ok()) {
      return Status::invalid_argument("replacement is not a valid " +
                                      std::string(signal_name(data.signal())) +
                                      " request: " + replaced.status().message());
    }
    outcome.output = std::move(replaced).value();
    outcome.replaced = true;
    return Status::ok();
  }
  if (route) {
    if (route->size() != data.item_count()) {
      return Status::invalid_argument("route list has " + std::to_string(route->size()) +
                                      " entries for " + std::to_string(data.item_count()) +
                                      " items");
    }
    outcome.routes = std::move(route);
  }
  if (!keep && !edits) return Status::ok();
  pdata::Telemetry changed = data.clone();
  if (edits) {
    if (Status s = apply_edits(changed, *edits); !s.is_ok()) return s;
  }
  if (keep) {
    if (Status s = apply_keep_mask(changed, *keep); !s.is_ok()) return s;
  }
  outcome.output = std::move(changed);
  outcome.keep_mask = keep;
  outcome.edited = edits.has_value();
  return Status::ok();
}

}  // namespace weft::wasm
