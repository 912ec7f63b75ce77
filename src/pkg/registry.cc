#include "pkg/registry.h"

#include <httplib.h>

#include <algorithm>
#include <cstdlib>

#include "pkg/json.h"
#include "pkg/oci.h"
#include "util/base64.h"

namespace weft::pkg {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::pair<std::string, int> split_host_port(const std::string& host_port, int default_port) {
  if (!host_port.empty() && host_port[0] == '[') {
    const auto close = host_port.find(']');
    const std::string host = host_port.substr(1, close - 1);
    if (close + 1 < host_port.size() && host_port[close + 1] == ':')
      return {host, std::atoi(host_port.c_str() + close + 2)};
    return {host, default_port};
  }
  const auto colon = host_port.rfind(':');
  if (colon == std::string::npos) return {host_port, default_port};
  return {host_port.substr(0, colon), std::atoi(host_port.c_str() + colon + 1)};
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

// The credentials for a registry from the Docker config file ($DOCKER_CONFIG/config.json,
// else ~/.docker/config.json): auths.<host>.auth (base64 user:password) or username/password.
bool docker_config_credentials(const std::string& host, std::string& user, std::string& pass,
                               std::string& source) {
  std::string dir = env("DOCKER_CONFIG");
  if (dir.empty()) {
    if (env("HOME").empty()) return false;
    dir = env("HOME") + "/.docker";
  }
  const std::string path = dir + "/config.json";
  auto text = read_whole_file(path);
  if (!text.ok()) return false;
  auto doc = parse_json(*text, path);
  if (!doc.ok()) return false;
  const JsonObject* auths = json_object(*doc, "auths");
  if (auths == nullptr) return false;
  for (const std::string& key : {host, "https://" + host, "http://" + host}) {
    const JsonObject* entry = json_object(*auths, key);
    if (entry == nullptr) continue;
    if (auto decoded = base64_decode(json_string(*entry, "auth"))) {
      const auto colon = decoded->find(':');
      if (colon != std::string::npos) {
        user = decoded->substr(0, colon);
        pass = decoded->substr(colon + 1);
        source = path;
        return true;
      }
    }
    if (!json_string(*entry, "username").empty()) {
      user = json_string(*entry, "username");
      pass = json_string(*entry, "password");
      source = path;
      return true;
    }
  }
  return false;
}

// key="value" pairs of a WWW-Authenticate challenge after its scheme.
std::map<std::string, std::string> challenge_params(const std::string& challenge) {
  std::map<std::string, std::string> out;
  size_t i = challenge.find(' ');
  while (i != std::string::npos && i < challenge.size()) {
    while (i < challenge.size() && (challenge[i] == ' ' || challenge[i] == ',')) ++i;
    const auto eq = challenge.find('=', i);
    if (eq == std::string::npos) break;
    const std::string key = lower(challenge.substr(i, eq - i));
    std::string value;
    size_t j = eq + 1;
    if (j < challenge.size() && challenge[j] == '"') {
      const auto end = challenge.find('"', j + 1);
      value = challenge.substr(j + 1, end == std::string::npos ? std::string::npos : end - j - 1);
      j = end == std::string::npos ? challenge.size() : end + 1;
    } else {
      const auto end = challenge.find(',', j);
      value = challenge.substr(j, end == std::string::npos ? std::string::npos : end - j);
      j = end == std::string::npos ? challenge.size() : end;
    }
    out[key] = value;
    i = j;
  }
  return out;
}

std::unique_ptr<httplib::ClientImpl> make_client(bool https, const std::string& host, int port,
                                                 const std::string& ca_file) {
  std::unique_ptr<httplib::ClientImpl> client;
  if (https) {
    auto ssl = std::make_unique<httplib::SSLClient>(host, port);
    if (!ca_file.empty()) ssl->set_ca_cert_path(ca_file.c_str());
    ssl->enable_server_certificate_verification(true);
    client = std::move(ssl);
  } else {
    client = std::make_unique<httplib::ClientImpl>(host, port);
  }
  client->set_connection_timeout(std::chrono::seconds(5));
  client->set_read_timeout(std::chrono::seconds(60));
  client->set_write_timeout(std::chrono::seconds(60));
  client->set_keep_alive(true);
  client->set_follow_location(true);
  return client;
}

std::string url_encode(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

bool is_loopback_host(const std::string& host_port) {
  const std::string host = split_host_port(host_port, 0).first;
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

struct Registry::Endpoint {
  std::string display;  // host[:port][/prefix]
  bool https = true;
  std::string host;
  int port = 443;
  std::string prefix;  // a mirror's namespace: "mirror/" before the repository
  std::string ca_file;
  std::unique_ptr<httplib::ClientImpl> client;
  std::string host_key;  // host[:port]: its key in service.plugins.registries
  RegistrySettings settings;
  std::string credential_source;  // where the credentials came from, for messages
  std::string authorization;      // the header that worked last
  std::string token_scope;        // the scope the bearer token in `authorization` was issued for
  bool basic_tried = false;
  // A loopback registry without settings: HTTPS first, plain HTTP when it does not speak TLS.
  bool may_fall_back = false;
};

Registry::Registry(std::string host, RegistrySettings settings, RegistrySettings mirror_settings)
    : host_(std::move(host)), settings_(std::move(settings)) {
  // Each endpoint (the registry, its mirror) with its own TLS settings and credentials.
  auto make = [](const std::string& spec, RegistrySettings s) {
    auto e = std::make_unique<Endpoint>();
    e->display = spec;
    const auto slash = spec.find('/');
    const std::string host_port = spec.substr(0, slash);
    if (slash != std::string::npos) e->prefix = spec.substr(slash + 1) + "/";
    e->host_key = host_port;
    if (!s.username.empty()) {
      e->credential_source = "the registry's settings";
    } else if (!env("WEFT_REGISTRY_USERNAME").empty()) {
      s.username = env("WEFT_REGISTRY_USERNAME");
      s.password = env("WEFT_REGISTRY_PASSWORD");
      e->credential_source = "WEFT_REGISTRY_USERNAME";
    } else {
      (void)docker_config_credentials(host_port, s.username, s.password, e->credential_source);
    }
    e->ca_file = s.ca_file;
    e->https = !s.plain_http.value_or(false);
    e->may_fall_back = !s.plain_http && is_loopback_host(host_port) && s.ca_file.empty();
    auto [h, p] = split_host_port(host_port, e->https ? 443 : 80);
    e->host = h;
    e->port = p;
    e->client = make_client(e->https, e->host, e->port, e->ca_file);
    e->settings = std::move(s);
    return e;
  };
  origin_ = make(host_, settings_);
  if (!settings_.mirror.empty()) mirror_ = make(settings_.mirror, std::move(mirror_settings));
}

Registry::~Registry() = default;

Status Registry::authorize(Endpoint& e, const std::string& challenge) {
  const std::string scheme = lower(challenge.substr(0, challenge.find(' ')));
  const bool have_credentials = !e.settings.username.empty();
  if (scheme == "basic") {
    if (!have_credentials) {
      return Status::permanent(
          "registry " + e.display +
          " asks for credentials and none were found (service.plugins.registries." + host_ +
          ".username/password, WEFT_REGISTRY_USERNAME/WEFT_REGISTRY_PASSWORD, or the Docker "
          "config file)");
    }
    if (e.basic_tried) {
      return Status::permanent("registry " + e.display + " refused the credentials of \"" +
                               e.settings.username + "\" (from " + e.credential_source + ")");
    }
    e.basic_tried = true;
    e.authorization = "Basic " + base64_encode(e.settings.username + ":" + e.settings.password);
    return Status::ok();
  }
  if (scheme != "bearer") {
    return Status::permanent("registry " + e.display +
                             " asks for an unsupported auth scheme: " + challenge);
  }
  auto params = challenge_params(challenge);
  // A token is asked for per scope (a HEAD needs pull, an upload pull and push): a second
  // challenge for the scope of the token just issued means the registry refuses it.
  if (e.authorization.rfind("Bearer ", 0) == 0 && e.token_scope == params["scope"]) {
    return Status::permanent("registry " + e.display + " refused the token it issued" +
                             (have_credentials ? " for \"" + e.settings.username + "\"" : "") +
                             " (scope " + params["scope"] + ")");
  }
  const std::string realm = params["realm"];
  const bool https = realm.rfind("https://", 0) == 0;
  if (!https && realm.rfind("http://", 0) != 0) {
    return Status::permanent("registry " + e.display + " names no token realm: " + challenge);
  }
  const std::string rest = realm.substr(https ? 8 : 7);
  const auto slash = rest.find('/');
  auto [h, p] = split_host_port(rest.substr(0, slash), https ? 443 : 80);
  auto client = make_client(https, h, p, e.ca_file);
  std::string path = slash == std::string::npos ? "/" : rest.substr(slash);
  std::string query;
  if (!params["service"].empty()) query += "service=" + url_encode(params["service"]);
  if (!params["scope"].empty())
    query += (query.empty() ? "" : "&") + ("scope=" + url_encode(params["scope"]));
  if (!query.empty()) path += (path.find('?') == std::string::npos ? "?" : "&") + query;
  httplib::Headers headers;
  if (have_credentials) {
    headers.emplace("Authorization",
                    "Basic " + base64_encode(e.settings.username + ":" + e.settings.password));
  }
  auto res = client->Get(path, headers);
  if (!res) {
    return Status::retryable("cannot reach the token service of " + e.display + " at " + realm +
                             ": " + httplib::to_string(res.error()));
  }
  if (res->status == 401 || res->status == 403) {
    return Status::permanent("the token service of " + e.display + " refused " +
                             (have_credentials ? "the credentials of \"" + e.settings.username +
                                                     "\" (from " + e.credential_source + ")"
                                               : "an anonymous request (no credentials found)"));
  }
  auto doc = parse_json(res->body, "the token response of " + realm);
  std::string token = doc.ok() ? json_string(*doc, "token") : "";
  if (token.empty() && doc.ok()) token = json_string(*doc, "access_token");
  if (res->status != 200 || token.empty()) {
    return Status::permanent("the token service of " + e.display + " answered " +
                             std::to_string(res->status) + " without a token");
  }
  e.token_scope = params["scope"];
  e.authorization = "Bearer " + token;
  return Status::ok();
}

Result<Registry::Reply> Registry::request(Endpoint& e, const std::string& method,
                                          const std::string& path, const std::string& body,
                                          const std::string& content_type,
                                          const std::string& accept) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    httplib::Headers headers;
    if (!e.authorization.empty()) headers.emplace("Authorization", e.authorization);
    if (!accept.empty()) headers.emplace("Accept", accept);
    httplib::Result res(nullptr, httplib::Error::Unknown);
    if (method == "GET") {
      res = e.client->Get(path, headers);
    } else if (method == "HEAD") {
      res = e.client->Head(path, headers);
    } else if (method == "PUT") {
      res = e.client->Put(path, headers, body, content_type.c_str());
    } else {
      res = e.client->Post(path, headers, body, content_type.c_str());
    }
    if (!res) {
      const auto err = res.error();
      if (e.may_fall_back && err == httplib::Error::SSLConnection) {
        e.may_fall_back = false;
        e.https = false;
        e.client = make_client(false, e.host, e.port, "");
        continue;
      }
      if (err == httplib::Error::SSLServerVerification) {
        return Status::permanent("cannot verify the TLS certificate of registry " + e.display +
                                 " (for a private CA, set ca_file in "
                                 "service.plugins.registries." +
                                 e.host_key + " or pass --ca-file)");
      }
      if (err == httplib::Error::SSLConnection && !e.ca_file.empty()) {
        return Status::permanent("TLS with registry " + e.display + " failed (ca_file " +
                                 e.ca_file + "): " + httplib::to_string(err));
      }
      return Status::retryable("cannot reach registry " + e.display + " (" +
                               (e.https ? "https" : "http") + "): " + httplib::to_string(err));
    }
    e.may_fall_back = false;  // it answered: the scheme stays
    if (res->status == 401) {
      const std::string challenge = res->get_header_value("WWW-Authenticate");
      if (Status s = authorize(e, challenge); !s.is_ok()) return s;
      continue;
    }
    Reply reply;
    reply.status = res->status;
    reply.body = std::move(res->body);
    for (const auto& [k, v] : res->headers) reply.headers[lower(k)] = v;
    return reply;
  }
  return Status::permanent("registry " + e.display + " keeps asking for credentials");
}

Status Registry::error_of(const Endpoint& e, const std::string& what, const Reply& reply) const {
  std::string detail;
  if (auto doc = parse_json(reply.body, "error"); doc.ok()) {
    for (const auto* err : json_list(*doc, "errors")) {
      if (err->has_struct_value()) {
        detail += (detail.empty() ? "" : "; ") + json_string(err->struct_value(), "code") + ": " +
                  json_string(err->struct_value(), "message");
      }
    }
  }
  std::string message = "registry " + e.display + ": " + what + ": HTTP " +
                        std::to_string(reply.status) + (detail.empty() ? "" : " (" + detail + ")");
  if (reply.status == 403) {
    message += " (the account \"" + e.settings.username + "\" may not do this)";
  }
  return reply.status >= 500 || reply.status == 429 ? Status::retryable(message)
                                                    : Status::permanent(message);
}

Result<Registry::Reply> Registry::get_with_mirror(const std::string& path_after_name,
                                                  const std::string& repository,
                                                  const std::string& accept) {
  std::string mirror_said;
  std::optional<Reply> mirror_reply;
  if (mirror_) {
    auto reply = request(*mirror_, "GET", "/v2/" + mirror_->prefix + repository + path_after_name,
                         "", "", accept);
    if (reply.ok() && reply->status == 200) return reply;
    mirror_said = reply.ok() ? "HTTP " + std::to_string(reply->status) : reply.status().message();
    if (reply.ok()) mirror_reply = std::move(reply).value();
  }
  auto reply = request(*origin_, "GET", "/v2/" + repository + path_after_name, "", "", accept);
  // The registry unreachable, the mirror's "not found" stands (a signature that was never
  // made, a tag that does not exist).
  if (!reply.ok() && mirror_reply && mirror_reply->status == 404) return std::move(*mirror_reply);
  if (!reply.ok() && mirror_) {
    return Status::retryable(reply.status().message() + "; its mirror " + mirror_->display +
                             " answered: " + mirror_said);
  }
  return reply;
}

Result<std::optional<FetchedManifest>> Registry::manifest_if_present(const std::string& repository,
                                                                     const std::string& reference) {
  const std::string accept = std::string(kImageManifestType) + ", " + kImageIndexType;
  auto reply = get_with_mirror("/manifests/" + reference, repository, accept);
  if (!reply.ok()) return reply.status();
  if (reply->status == 404) return std::optional<FetchedManifest>();
  if (reply->status != 200) {
    return error_of(*origin_, "manifest " + repository + ":" + reference, *reply);
  }
  FetchedManifest m;
  m.digest = sha256_digest(reply->body);
  m.media_type = reply->headers["content-type"];
  m.body = std::move(reply->body);
  if (is_sha256_digest(reference) && m.digest != reference) {
    return Status::permanent("registry " + host_ + " returned a manifest for " + repository + "@" +
                             reference + " whose digest is " + m.digest);
  }
  return std::optional<FetchedManifest>(std::move(m));
}

Result<FetchedManifest> Registry::manifest(const std::string& repository,
                                           const std::string& reference) {
  auto m = manifest_if_present(repository, reference);
  if (!m.ok()) return m.status();
  if (!m->has_value()) {
    return Status::permanent("registry " + host_ + " has no " + repository + ":" + reference);
  }
  return std::move(**m);
}

Result<std::string> Registry::blob(const std::string& repository, const std::string& digest) {
  auto reply = get_with_mirror("/blobs/" + digest, repository, "");
  if (!reply.ok()) return reply.status();
  if (reply->status != 200) return error_of(*origin_, "blob " + digest, *reply);
  if (sha256_digest(reply->body) != digest) {
    return Status::permanent("registry " + host_ + " returned blob " + digest + " of " +
                             repository + " with other content (digest " +
                             sha256_digest(reply->body) + ")");
  }
  return std::move(reply->body);
}

Status Registry::put_blob(const std::string& repository, const std::string& bytes) {
  const std::string digest = sha256_digest(bytes);
  auto head = request(*origin_, "HEAD", "/v2/" + repository + "/blobs/" + digest);
  if (!head.ok()) return head.status();
  if (head->status == 200) return Status::ok();
  auto start = request(*origin_, "POST", "/v2/" + repository + "/blobs/uploads/", "",
                       "application/octet-stream");
  if (!start.ok()) return start.status();
  if (start->status != 202) return error_of(*origin_, "starting an upload", *start);
  std::string location = start->headers["location"];
  if (location.rfind("http://", 0) == 0 || location.rfind("https://", 0) == 0) {
    const auto path = location.find('/', location.find("//") + 2);
    location = path == std::string::npos ? "/" : location.substr(path);
  }
  location +=
      (location.find('?') == std::string::npos ? "?" : "&") + ("digest=" + url_encode(digest));
  auto put = request(*origin_, "PUT", location, bytes, "application/octet-stream");
  if (!put.ok()) return put.status();
  if (put->status != 201) return error_of(*origin_, "uploading blob " + digest, *put);
  return Status::ok();
}

Status Registry::put_manifest(const std::string& repository, const std::string& reference,
                              const std::string& body, const std::string& media_type) {
  auto reply =
      request(*origin_, "PUT", "/v2/" + repository + "/manifests/" + reference, body, media_type);
  if (!reply.ok()) return reply.status();
  if (reply->status != 201) {
    return error_of(*origin_, "pushing manifest " + repository + ":" + reference, *reply);
  }
  return Status::ok();
}

Result<std::vector<std::string>> Registry::tags(const std::string& repository) {
  auto reply = get_with_mirror("/tags/list", repository, "");
  if (!reply.ok()) return reply.status();
  if (reply->status == 404) return std::vector<std::string>();
  if (reply->status != 200) return error_of(*origin_, "tags of " + repository, *reply);
  auto doc = parse_json(reply->body, "the tag list of " + repository);
  if (!doc.ok()) return doc.status();
  return json_strings(*doc, "tags");
}

Result<std::vector<std::string>> Registry::catalog() {
  std::vector<std::string> out;
  std::string path = "/v2/_catalog?n=1000";
  // Pages follow the Link header: </v2/_catalog?last=x&n=1000>; rel="next".
  for (int page = 0; page < 1000 && !path.empty(); ++page) {
    auto reply = request(*origin_, "GET", path);
    if (!reply.ok()) return reply.status();
    if (reply->status != 200) return error_of(*origin_, "the catalog", *reply);
    auto doc = parse_json(reply->body, "the catalog of " + host_);
    if (!doc.ok()) return doc.status();
    for (auto& r : json_strings(*doc, "repositories")) out.push_back(std::move(r));
    const std::string link = reply->headers["link"];
    const auto open = link.find('<');
    const auto close = link.find('>');
    path = open != std::string::npos && close != std::string::npos && close > open
               ? link.substr(open + 1, close - open - 1)
               : "";
  }
  return out;
}

}  // namespace weft::pkg
