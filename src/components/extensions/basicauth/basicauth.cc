#include <openssl/evp.h>
#include <spdlog/spdlog.h>
#include <strings.h>

#include <fstream>
#include <sstream>

#include "components/extensions/basicauth/htpasswd.h"
#include "util/base64.h"
#include "weft/auth.h"
#include "weft/config_reader.h"
#include "weft/factory.h"

namespace weft::extensions::basicauth {
namespace {

struct Config : ComponentConfig {
  std::string htpasswd_file;
  std::string htpasswd_inline;
  bool server = false;
  std::string username;
  std::string password;
  bool client = false;
};

// Strict base64 (with padding); false if text is not that.
bool base64_decode(std::string_view text, std::string& out) {
  if (text.empty() || text.size() % 4 != 0) return false;
  out.assign(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return false;
  size_t size = static_cast<size_t>(n);
  if (text.back() == '=') --size;
  if (text[text.size() - 2] == '=') --size;
  out.resize(size);
  return true;
}

// The Go collector's basicauth: a server authenticator checking "Authorization: Basic ..."
// against htpasswd users (a file and inline lines; inline wins), or a client authenticator
// sending a username and password.
class BasicAuth final : public Extension, public ServerAuthenticator, public ClientAuthenticator {
 public:
  BasicAuth(ComponentContext ctx, const Config& config) : ctx_(std::move(ctx)), config_(config) {}

  Status start() override {
    if (!config_.server) return Status::ok();
    if (!config_.htpasswd_file.empty()) {
      std::ifstream in(config_.htpasswd_file);
      if (!in) return Status::permanent("basicauth: cannot read " + config_.htpasswd_file);
      std::ostringstream text;
      text << in.rdbuf();
      if (Status s = users_.add(text.str(), config_.htpasswd_file); !s.is_ok()) return s;
    }
    if (Status s = users_.add(config_.htpasswd_inline, "htpasswd.inline"); !s.is_ok()) return s;
    ctx_.logger->info("basicauth: {} users", users_.size());
    return Status::ok();
  }

  AuthOutcome authenticate(const AuthRequest& request) override {
    if (!config_.server)
      return AuthOutcome::refuse("basicauth is configured as a client (client_auth)");
    const auto value = request.header("authorization");
    if (!value || value->empty()) return AuthOutcome::refuse("no basic auth provided");
    if (value->size() < 6 || strncasecmp(value->c_str(), "basic ", 6) != 0) {
      return AuthOutcome::refuse("invalid authorization scheme prefix");
    }
    std::string decoded;
    if (!base64_decode(std::string_view(*value).substr(6), decoded)) {
      return AuthOutcome::refuse("invalid authorization format");
    }
    const size_t colon = decoded.find(':');
    if (colon == std::string::npos) return AuthOutcome::refuse("invalid authorization format");
    if (!users_.verify(decoded.substr(0, colon), decoded.substr(colon + 1))) {
      return AuthOutcome::refuse("invalid credentials");
    }
    return AuthOutcome::allow();
  }

  Status add_headers(const OutboundRequest& /*request*/,
                     std::map<std::string, std::string>& headers) override {
    if (!config_.client) {
      return Status::permanent("basicauth is configured as a server (htpasswd)");
    }
    headers["Authorization"] = "Basic " + base64_encode(config_.username + ":" + config_.password);
    return Status::ok();
  }

 private:
  ComponentContext ctx_;
  Config config_;
  Htpasswd users_;
};

class Factory final : public FactoryFor<Config> {
 public:
  [[nodiscard]] ComponentKind kind() const override { return ComponentKind::kExtension; }
  [[nodiscard]] std::string_view type() const override { return "basicauth"; }

  std::unique_ptr<Extension> create_extension(const ComponentContext& ctx,
                                              const ComponentConfig& config) const override {
    return std::make_unique<BasicAuth>(ctx, cast(config));
  }

 protected:
  void load(ConfigReader& reader, Config& config) const override {
    config.server = reader.has("htpasswd");
    config.client = reader.has("client_auth");
    ConfigReader htpasswd = reader.child("htpasswd");
    htpasswd.read("file", config.htpasswd_file);
    htpasswd.read("inline", config.htpasswd_inline);
    ConfigReader client = reader.child("client_auth");
    client.read("username", config.username);
    client.read("password", config.password);
    if (config.server && config.client) {
      reader.error("client_auth", "only one of `htpasswd` or `client_auth` can be specified");
    } else if (!config.server && !config.client) {
      reader.error("htpasswd", "no credential source provided (htpasswd or client_auth)");
    }
    if (config.server && config.htpasswd_file.empty() && config.htpasswd_inline.empty()) {
      htpasswd.error("file", "set file or inline");
    }
    if (config.client && config.username.empty()) client.error("username", "must be set");
  }
};

}  // namespace
}  // namespace weft::extensions::basicauth

WEFT_DEFINE_FACTORY(basicauth_extension, weft::extensions::basicauth::Factory)
