// The `wasm` extension: an authenticator written as a plugin (docs/abi.md, "Authenticator
// plugins"). As a server authenticator (receivers' auth.authenticator) it hands each request's
// headers to weft_authenticate, which allows it, with attributes of the client (a tenant), or
// refuses it; decisions may be cached per credential. As a client authenticator (exporters'
// auth.authenticator) it hands each outbound request to weft_sign, which adds headers.
#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include <mutex>
#include <unordered_map>

#include "wasm/plugin/directory.h"
#include "wasm/plugin/plugin.h"
#include "wasm/plugin/settings.h"
#include "weft/auth.h"
#include "weft/config_reader.h"
#include "weft/factory.h"
#include "weft/metrics.h"

namespace weft::extensions::wasm {
namespace {

using weft::wasm::AuthDecision;

struct Config : ComponentConfig {
  weft::wasm::PluginSettings plugin;
  std::chrono::nanoseconds cache_ttl{0};  // 0: every request goes to the plugin
  uint64_t cache_max_entries = 10000;
  std::vector<std::string> cache_headers = {"authorization"};
};

std::string sha256(std::string_view bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  return {reinterpret_cast<const char*>(digest), sizeof digest};
}

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// Decisions by credential (a digest of the transport and the cache headers' values), each
// until its time is up. Full: expired entries go, and if none had, everything.
class DecisionCache {
 public:
  using Clock = std::chrono::steady_clock;
  DecisionCache(std::chrono::nanoseconds ttl, uint64_t max_entries)
      : ttl_(std::chrono::duration_cast<Clock::duration>(ttl)), max_(max_entries) {}

  bool find(const std::string& key, AuthOutcome& out) {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return false;
    if (Clock::now() >= it->second.first) {
      entries_.erase(it);
      return false;
    }
    out = it->second.second;
    return true;
  }

  void put(const std::string& key, const AuthOutcome& outcome) {
    std::lock_guard lock(mu_);
    const auto now = Clock::now();
    if (entries_.size() >= max_) {
      std::erase_if(entries_, [now](const auto& e) { return now >= e.second.first; });
      if (entries_.size() >= max_) entries_.clear();
    }
    entries_[key] = {now + ttl_, outcome};
  }

 private:
  Clock::duration ttl_;
  uint64_t max_;
  std::mutex mu_;
  std::unordered_map<std::string, std::pair<Clock::time_point, AuthOutcome>> entries_;
};

class WasmExtension final : public Extension,
                            public ServerAuthenticator,
                            public ClientAuthenticator {
 public:
  WasmExtension(ComponentContext ctx, const Config& config)
      : ctx_(std::move(ctx)), config_(config) {
    config_.plugin.entry = weft::wasm::Entry::kAuthenticate;
    if (config_.cache_ttl.count() > 0) {
      cache_ = std::make_unique<DecisionCache>(config_.cache_ttl, config_.cache_max_entries);
    }
    cache_hits_ = &ctx_.metrics->counter("weft_authenticator_cache_hits",
                                         "Requests decided from the authenticator's cache.",
                                         {{"extension", ctx_.id}});
  }
  ~WasmExtension() override { plugin_.stop(); }

  Status start() override {
    if (Status s = plugin_.start(config_.plugin, ctx_, "extension"); !s.is_ok()) return s;
    serves_ = plugin_.get()->exports("weft_authenticate");
    signs_ = plugin_.get()->exports("weft_sign");
    return Status::ok();
  }

  void shutdown(std::chrono::steady_clock::time_point) override { plugin_.stop(); }

  AuthOutcome authenticate(const AuthRequest& request) override {
    if (plugin_.get() == nullptr || !serves_) {
      return AuthOutcome::refuse(ctx_.id + " does not authenticate requests (no weft_authenticate)",
                                 AuthOutcome::kUnavailable);
    }
    std::string key;
    if (cache_) {
      std::string credential(request.transport);
      for (const auto& name : config_.cache_headers) {
        const auto value = request.header(name);
        credential += value ? "\n+" + *value : "\n-";
      }
      key = sha256(credential);
      AuthOutcome cached;
      if (cache_->find(key, cached)) {
        cache_hits_->add();
        count(cached);
        return cached;
      }
    }
    weft::wasm::ReceivedRequest received;
    received.method = "POST";
    received.path = std::string(request.path);
    received.peer = std::string(request.peer);
    received.transport = std::string(request.transport);
    std::string lines;
    if (request.headers) received.headers = request.headers();
    for (const auto& [name, value] : received.headers) lines += name + ": " + value + "\n";
    AuthDecision decision = plugin_.get()->authenticate(lines, received);
    const std::string why = decision.error.empty() ? "refused by " + ctx_.id : decision.error;
    AuthOutcome outcome;
    switch (decision.kind) {
      case AuthDecision::kAllowed:
        outcome = AuthOutcome::allow();
        outcome.attributes = std::move(decision.attributes);
        break;
      case AuthDecision::kUnauthenticated:
        outcome = AuthOutcome::refuse(why);
        break;
      case AuthDecision::kForbidden:
        outcome = AuthOutcome::refuse(why, AuthOutcome::kPermissionDenied);
        break;
      case AuthDecision::kFailed:
        ctx_.logger->warn("the authenticator plugin failed: {}", decision.error);
        outcome = AuthOutcome::refuse("the authenticator failed", AuthOutcome::kUnavailable);
        count(outcome);
        return outcome;  // never cached: the next request asks again
    }
    if (cache_) cache_->put(key, outcome);
    count(outcome);
    return outcome;
  }

  Status add_headers(const OutboundRequest& request,
                     std::map<std::string, std::string>& headers) override {
    if (plugin_.get() == nullptr || !signs_) {
      return Status::permanent(ctx_.id + " does not sign requests (no weft_sign)");
    }
    weft::wasm::ReceivedRequest outbound;
    outbound.method = std::string(request.method);
    outbound.url = std::string(request.url);
    const size_t scheme = outbound.url.find("://");
    const size_t path = scheme == std::string::npos ? 0 : outbound.url.find('/', scheme + 3);
    outbound.path = path == std::string::npos ? "/" : outbound.url.substr(path);
    outbound.headers.assign(headers.begin(), headers.end());
    weft::wasm::SignResult signed_request =
        plugin_.get()->sign(hex(sha256(request.body)), outbound);
    if (!signed_request.ok) return Status::retryable("signing failed: " + signed_request.error);
    for (auto& [name, value] : signed_request.headers) headers[name] = std::move(value);
    return Status::ok();
  }

 private:
  void count(const AuthOutcome& outcome) {
    std::string result = "allowed";
    if (!outcome.ok) {
      result = outcome.code == AuthOutcome::kPermissionDenied ? "forbidden"
               : outcome.code == AuthOutcome::kUnavailable    ? "failed"
                                                              : "unauthenticated";
    }
    ctx_.metrics
        ->counter("weft_authenticator_decisions", "Requests an authenticator plugin decided.",
                  {{"extension", ctx_.id}, {"result", result}})
        .add();
  }

  ComponentContext ctx_;
  Config config_;
  weft::wasm::RunningPlugin plugin_;
  bool serves_ = false;
  bool signs_ = false;
  std::unique_ptr<DecisionCache> cache_;
  telemetry::Counter* cache_hits_ = nullptr;
};

class Factory final : public FactoryFor<Config> {
 public:
  [[nodiscard]] ComponentKind kind() const override { return ComponentKind::kExtension; }
  [[nodiscard]] std::string_view type() const override { return "wasm"; }

  std::unique_ptr<Extension> create_extension(const ComponentContext& ctx,
                                              const ComponentConfig& config) const override {
    return std::make_unique<WasmExtension>(ctx, cast(config));
  }

  [[nodiscard]] Status check(const ComponentConfig& config,
                             const std::set<Signal>& /*signals*/) const override {
    weft::wasm::PluginSettings settings = cast(config).plugin;
    settings.entry = weft::wasm::Entry::kAuthenticate;
    return weft::wasm::check_plugin(std::move(settings), {});
  }

 protected:
  void load(ConfigReader& reader, Config& config) const override {
    weft::wasm::load_plugin_settings(reader, config.plugin);
    if (reader.has("cache")) {
      ConfigReader cache = reader.child("cache");
      cache.read_duration("ttl", config.cache_ttl);
      cache.read("max_entries", config.cache_max_entries);
      cache.read("headers", config.cache_headers);
      if (config.cache_max_entries == 0) cache.error("max_entries", "must be at least 1");
      if (config.cache_headers.empty()) {
        cache.error("headers", "must name the headers that carry the credential");
      }
    }
  }
};

}  // namespace
}  // namespace weft::extensions::wasm

WEFT_DEFINE_FACTORY(wasm_extension, weft::extensions::wasm::Factory)
