#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <fstream>
#include <mutex>
#include <sstream>

#include "weft/auth.h"
#include "weft/config_reader.h"
#include "weft/factory.h"

namespace weft::extensions::bearertokenauth {
namespace {

struct Config : ComponentConfig {
  std::string header = "Authorization";
  std::string scheme = "Bearer";
  std::string token;
  std::vector<std::string> tokens;
  std::string filename;  // one token per line; re-read when it changes
};

// The Go collector's bearertokenauth: a server authenticator that accepts requests whose
// header is "<scheme> <token>" for one of the tokens, and a client authenticator that sends
// the first token. Tokens from a file are re-read (checked at most once a second).
class BearerTokenAuth final : public Extension,
                              public ServerAuthenticator,
                              public ClientAuthenticator {
 public:
  BearerTokenAuth(ComponentContext ctx, const Config& config)
      : ctx_(std::move(ctx)), config_(config) {}

  Status start() override {
    std::lock_guard lock(mutex_);
    if (config_.filename.empty()) {
      tokens_ = config_.tokens;
      if (!config_.token.empty()) tokens_.push_back(config_.token);
      return Status::ok();
    }
    return read_file();
  }

  AuthOutcome authenticate(const AuthRequest& request) override {
    const auto value = request.header(config_.header);
    if (!value || value->empty()) {
      return AuthOutcome::refuse("missing or empty authorization header: " + config_.header);
    }
    const auto tokens = current();
    bool ok = false;
    for (const auto& token : tokens) {  // every token compared: the time tells nothing
      ok = secrets_equal(*value, expected(token)) || ok;
    }
    if (!ok)
      return AuthOutcome::refuse("provided authorization does not match expected scheme or token");
    return AuthOutcome::allow();
  }

  Status add_headers(const OutboundRequest& /*request*/,
                     std::map<std::string, std::string>& headers) override {
    const auto tokens = current();
    if (tokens.empty()) return Status::permanent("bearertokenauth: no token");
    headers[config_.header] = expected(tokens.front());
    return Status::ok();
  }

 private:
  [[nodiscard]] std::string expected(const std::string& token) const {
    return config_.scheme.empty() ? token : config_.scheme + " " + token;
  }

  std::vector<std::string> current() {
    std::lock_guard lock(mutex_);
    if (!config_.filename.empty()) {
      const auto now = std::chrono::steady_clock::now();
      if (now - last_check_ >= std::chrono::seconds(1)) {
        last_check_ = now;
        if (Status s = read_file(); !s.is_ok()) ctx_.logger->error("{}", s.message());
      }
    }
    return tokens_;
  }

  // Reads the token file if it changed; the tokens stay as they were if it cannot be read.
  Status read_file() {
    struct stat st {};
    if (::stat(config_.filename.c_str(), &st) != 0) {
      return Status::permanent("bearertokenauth: cannot read the token file " + config_.filename);
    }
    const std::string stamp = std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) +
                              "." + std::to_string(st.st_mtim.tv_nsec) + ":" +
                              std::to_string(st.st_ino);
    if (stamp == stamp_) return Status::ok();
    std::ifstream in(config_.filename);
    if (!in) {
      return Status::permanent("bearertokenauth: cannot read the token file " + config_.filename);
    }
    std::vector<std::string> tokens;
    std::string line;
    while (std::getline(in, line)) {
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      if (!line.empty()) tokens.push_back(line);
    }
    if (tokens.empty()) {
      return Status::permanent("bearertokenauth: no token in " + config_.filename);
    }
    if (!stamp_.empty()) ctx_.logger->info("tokens re-read from {}", config_.filename);
    stamp_ = stamp;
    tokens_ = std::move(tokens);
    return Status::ok();
  }

  ComponentContext ctx_;
  Config config_;
  std::mutex mutex_;
  std::vector<std::string> tokens_;
  std::string stamp_;
  std::chrono::steady_clock::time_point last_check_;
};

class Factory final : public FactoryFor<Config> {
 public:
  [[nodiscard]] ComponentKind kind() const override { return ComponentKind::kExtension; }
  [[nodiscard]] std::string_view type() const override { return "bearertokenauth"; }

  std::unique_ptr<Extension> create_extension(const ComponentContext& ctx,
                                              const ComponentConfig& config) const override {
    return std::make_unique<BearerTokenAuth>(ctx, cast(config));
  }

 protected:
  void load(ConfigReader& reader, Config& config) const override {
    reader.read("header", config.header);
    reader.read("scheme", config.scheme);
    reader.read("token", config.token);
    reader.read("tokens", config.tokens);
    reader.read("filename", config.filename);
    if (config.header.empty()) reader.error("header", "must not be empty");
    if (config.filename.empty() && config.token.empty() && config.tokens.empty()) {
      reader.error("token", "no bearer token provided (token, tokens or filename)");
    }
    if (!config.token.empty() && !config.tokens.empty()) {
      reader.error("tokens", "either tokens or token should be provided, not both");
    }
  }
};

}  // namespace
}  // namespace weft::extensions::bearertokenauth

WEFT_DEFINE_FACTORY(bearertokenauth_extension, weft::extensions::bearertokenauth::Factory)
