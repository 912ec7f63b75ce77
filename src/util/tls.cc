#include "util/tls.h"

#include <httplib.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

namespace weft::tls {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kCheckEvery = std::chrono::seconds(1);

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

BioPtr memory_bio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

int protocol_version(const std::string& version) {
  if (version == "1.0") return TLS1_VERSION;
  if (version == "1.1") return TLS1_1_VERSION;
  if (version == "1.3") return TLS1_3_VERSION;
  return TLS1_2_VERSION;
}

// Every certificate in a PEM text, in order.
std::vector<X509*> read_certificates(const std::string& pem) {
  std::vector<X509*> out;
  BioPtr bio = memory_bio(pem);
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    out.push_back(cert);
  }
  ERR_clear_error();  // the end of the text reads as an error
  return out;
}

// A store of the certificates in pem; null if it has none.
X509_STORE* make_store(const std::string& pem, bool with_system) {
  std::vector<X509*> certs = read_certificates(pem);
  if (certs.empty() && !with_system) return nullptr;
  X509_STORE* store = X509_STORE_new();
  for (X509* cert : certs) {
    X509_STORE_add_cert(store, cert);
    X509_free(cert);
  }
  if (with_system) X509_STORE_set_default_paths(store);
  return store;
}

// What identifies a file's version: size, change time and inode.
std::string stamp_of(const std::string& path) {
  if (path.empty()) return "-";
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "missing";
  return std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec) + ":" + std::to_string(st.st_ino);
}

}  // namespace

std::string last_error() {
  std::string out;
  while (const unsigned long code = ERR_get_error()) {  // NOLINT(google-runtime-int)
    char text[256];
    ERR_error_string_n(code, text, sizeof(text));
    if (!out.empty()) out += "; ";
    out += text;
  }
  return out;
}

Result<std::string> read_pem(const std::string& file, const std::string& inline_pem,
                             const char* what) {
  if (file.empty()) return inline_pem;
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status::permanent(std::string("cannot read the ") + what + " file " + file);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct ServerIdentity::Material {
  X509* cert = nullptr;
  EVP_PKEY* key = nullptr;
  STACK_OF(X509) * chain = nullptr;  // intermediates after the leaf
  X509_STORE* client_cas = nullptr;  // null: no client certificates asked for
  STACK_OF(X509_NAME) * ca_names = nullptr;
  ServerIdentity::Pems pems;

  Material() = default;
  Material(const Material&) = delete;
  Material& operator=(const Material&) = delete;
  ~Material() {
    X509_free(cert);
    EVP_PKEY_free(key);
    sk_X509_pop_free(chain, X509_free);
    X509_STORE_free(client_cas);
    sk_X509_NAME_pop_free(ca_names, X509_NAME_free);
  }
};

ServerIdentity::ServerIdentity(TlsSettings settings, EventSink on_event)
    : settings_(std::move(settings)), on_event_(std::move(on_event)) {}

ServerIdentity::~ServerIdentity() = default;

Result<std::shared_ptr<ServerIdentity>> ServerIdentity::load(const TlsSettings& settings,
                                                             EventSink on_event) {
  std::shared_ptr<ServerIdentity> identity(new ServerIdentity(settings, std::move(on_event)));
  const std::string stamp = stamp_of(settings.cert_file) + "|" + stamp_of(settings.key_file) + "|" +
                            stamp_of(settings.client_ca_file);
  auto material = identity->read();
  if (!material.ok()) return material.status();
  identity->material_ = std::move(material).value();
  identity->stamp_ = stamp;
  identity->last_check_ = identity->last_read_ = Clock::now();
  return identity;
}

Result<std::shared_ptr<const ServerIdentity::Material>> ServerIdentity::read() const {
  auto cert_pem = read_pem(settings_.cert_file, settings_.cert_pem, "certificate");
  if (!cert_pem.ok()) return cert_pem.status();
  auto key_pem = read_pem(settings_.key_file, settings_.key_pem, "key");
  if (!key_pem.ok()) return key_pem.status();
  auto material = std::make_shared<Material>();
  std::vector<X509*> certs = read_certificates(*cert_pem);
  const std::string cert_name = settings_.cert_file.empty() ? "cert_pem" : settings_.cert_file;
  if (certs.empty()) return Status::permanent("no PEM certificate in " + cert_name);
  material->cert = certs[0];
  material->chain = sk_X509_new_null();
  for (size_t i = 1; i < certs.size(); ++i) sk_X509_push(material->chain, certs[i]);
  BioPtr key_bio = memory_bio(*key_pem);
  material->key = PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr);
  const std::string key_name = settings_.key_file.empty() ? "key_pem" : settings_.key_file;
  if (material->key == nullptr) {
    return Status::permanent("no PEM private key in " + key_name + ": " + last_error());
  }
  if (X509_check_private_key(material->cert, material->key) != 1) {
    last_error();
    return Status::permanent("the key in " + key_name + " does not match the certificate in " +
                             cert_name);
  }
  if (!settings_.client_ca_file.empty()) {
    auto ca_pem = read_pem(settings_.client_ca_file, "", "client CA");
    if (!ca_pem.ok()) return ca_pem.status();
    material->client_cas = make_store(*ca_pem, false);
    if (material->client_cas == nullptr) {
      return Status::permanent("no PEM certificate in " + settings_.client_ca_file);
    }
    material->ca_names = sk_X509_NAME_new_null();
    for (X509* ca : read_certificates(*ca_pem)) {
      sk_X509_NAME_push(material->ca_names, X509_NAME_dup(X509_get_subject_name(ca)));
      X509_free(ca);
    }
    material->pems.client_ca = std::move(ca_pem).value();
  }
  material->pems.cert = std::move(cert_pem).value();
  material->pems.key = std::move(key_pem).value();
  return std::shared_ptr<const Material>(std::move(material));
}

std::shared_ptr<const ServerIdentity::Material> ServerIdentity::current() {
  std::lock_guard lock(mutex_);
  const auto now = Clock::now();
  if (now - last_check_ < kCheckEvery) return material_;
  last_check_ = now;
  const std::string stamp = stamp_of(settings_.cert_file) + "|" + stamp_of(settings_.key_file) +
                            "|" + stamp_of(settings_.client_ca_file);
  const bool due =
      settings_.reload_interval.count() > 0 && now - last_read_ >= settings_.reload_interval;
  if (stamp == stamp_ && !due) return material_;
  stamp_ = stamp;  // a file that fails to read is not retried until it changes again
  last_read_ = now;
  auto material = read();
  if (!material.ok()) {
    if (on_event_) {
      on_event_(true, "cannot reload the TLS certificate, keeping the previous one: " +
                          material.status().message());
    }
    return material_;
  }
  material_ = std::move(material).value();
  if (on_event_) on_event_(false, "TLS certificate reloaded");
  return material_;
}

ServerIdentity::Pems ServerIdentity::pems() const {
  std::lock_guard lock(mutex_);
  return material_->pems;
}

int ServerIdentity::hello_index() {
  static const int kIndex = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return kIndex;
}

int ServerIdentity::on_hello(SSL* ssl, int* /*alert*/, void* /*arg*/) {
  SSL_set_ex_data(ssl, hello_index(), ssl);  // any non-null value: a ClientHello came
  return SSL_CLIENT_HELLO_SUCCESS;
}

void ServerIdentity::on_info(const SSL* ssl, int where, int value) {
  if ((where & SSL_CB_ALERT) == 0 || (value >> 8) != SSL3_AL_FATAL) return;
  // A connection closed before its ClientHello (a port probe, a health check) is not news;
  // nor is one that ends mid-record (OpenSSL answers both with a decode error).
  if (SSL_get_ex_data(ssl, hello_index()) == nullptr) return;
  if ((where & SSL_CB_WRITE) != 0 && (value & 0xff) == SSL_AD_DECODE_ERROR) return;
  auto* self = static_cast<ServerIdentity*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  if (self == nullptr || !self->on_event_) return;
  std::string peer = "a client";
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  char host[64] = {};
  if (getpeername(SSL_get_fd(ssl), reinterpret_cast<sockaddr*>(&address), &length) == 0 &&
      getnameinfo(reinterpret_cast<sockaddr*>(&address), length, host, sizeof(host), nullptr, 0,
                  NI_NUMERICHOST) == 0) {
    peer = host;
  }
  const std::string alert = SSL_alert_desc_string_long(value);
  const std::string message =
      (where & SSL_CB_READ) != 0
          ? "TLS handshake with " + peer + " failed: the client refused our certificate (" + alert +
                ")"
          : "TLS handshake with " + peer + " failed: refused the client (" + alert + ")";
  // At most one line a second: a flood of bad clients does not flood the log.
  std::lock_guard lock(self->mutex_);
  const auto now = Clock::now();
  if (now - self->last_alert_log_ < std::chrono::seconds(1)) {
    ++self->alerts_suppressed_;
    return;
  }
  self->last_alert_log_ = now;
  const uint64_t suppressed = std::exchange(self->alerts_suppressed_, 0);
  self->on_event_(true, suppressed == 0 ? message
                                        : message + " (and " + std::to_string(suppressed) +
                                              " more since the last such line)");
}

int ServerIdentity::on_certificate(SSL* ssl, void* self) {
  const auto material = static_cast<ServerIdentity*>(self)->current();
  if (SSL_use_cert_and_key(ssl, material->cert, material->key, material->chain, 1) != 1) {
    return 0;
  }
  if (material->client_cas != nullptr) {
    SSL_set1_verify_cert_store(ssl, material->client_cas);
    SSL_set_client_CA_list(ssl, SSL_dup_CA_list(material->ca_names));
  }
  return 1;
}

Status configure_versions(SSL_CTX& ctx, const TlsSettings& settings) {
  SSL_CTX_set_min_proto_version(&ctx, protocol_version(settings.min_version));
  if (!settings.max_version.empty()) {
    SSL_CTX_set_max_proto_version(&ctx, protocol_version(settings.max_version));
  }
  if (settings.min_version == "1.0" || settings.min_version == "1.1") {
    SSL_CTX_set_security_level(&ctx, 0);  // OpenSSL refuses TLS < 1.2 at its default level
  }
  std::string tls12;
  std::string tls13;
  for (const auto& suite : settings.cipher_suites) {
    const std::string name = openssl_cipher_name(suite);
    std::string& list = name.rfind("TLS_", 0) == 0 ? tls13 : tls12;
    if (!list.empty()) list += ":";
    list += name;
  }
  if (!tls12.empty() && SSL_CTX_set_cipher_list(&ctx, tls12.c_str()) != 1) {
    return Status::permanent("cipher_suites: none usable here: " + last_error());
  }
  if (!tls13.empty() && SSL_CTX_set_ciphersuites(&ctx, tls13.c_str()) != 1) {
    return Status::permanent("cipher_suites: none usable here: " + last_error());
  }
  return Status::ok();
}

Status ServerIdentity::configure(SSL_CTX& ctx) const {
  SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (Status s = configure_versions(ctx, settings_); !s.is_ok()) return s;
  // No resumption: a resumed session would skip the certificate callback, so a rotated client
  // CA would not apply to it.
  SSL_CTX_set_session_cache_mode(&ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(&ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(&ctx, 0);
  if (!settings_.client_ca_file.empty()) {
    SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  auto* self = const_cast<ServerIdentity*>(this);  // NOLINT(*-const-cast)
  SSL_CTX_set_cert_cb(&ctx, &ServerIdentity::on_certificate, self);
  SSL_CTX_set_app_data(&ctx, self);
  SSL_CTX_set_info_callback(&ctx, &ServerIdentity::on_info);
  SSL_CTX_set_client_hello_cb(&ctx, &ServerIdentity::on_hello, nullptr);
  return Status::ok();
}

Status configure_client(SSL_CTX& ctx, const TlsSettings& settings) {
  if (Status s = configure_versions(ctx, settings); !s.is_ok()) return s;
  auto ca = read_pem(settings.ca_file, settings.ca_pem, "CA");
  if (!ca.ok()) return ca.status();
  const bool system = settings.include_system_ca_certs_pool || !settings.has_ca();
  X509_STORE* store = make_store(*ca, system);
  if (settings.has_ca() && read_certificates(*ca).empty()) {
    X509_STORE_free(store);
    return Status::permanent("no PEM certificate in " +
                             (settings.ca_file.empty() ? std::string("ca_pem") : settings.ca_file));
  }
  SSL_CTX_set_cert_store(&ctx, store);  // the context owns it
  if (settings.has_certificate()) {
    auto cert = read_pem(settings.cert_file, settings.cert_pem, "certificate");
    if (!cert.ok()) return cert.status();
    auto key = read_pem(settings.key_file, settings.key_pem, "key");
    if (!key.ok()) return key.status();
    std::vector<X509*> certs = read_certificates(*cert);
    if (certs.empty()) return Status::permanent("no PEM client certificate");
    SSL_CTX_use_certificate(&ctx, certs[0]);
    X509_free(certs[0]);
    for (size_t i = 1; i < certs.size(); ++i) SSL_CTX_add0_chain_cert(&ctx, certs[i]);
    BioPtr key_bio = memory_bio(*key);
    EVP_PKEY* pkey = PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr);
    if (pkey == nullptr || SSL_CTX_use_PrivateKey(&ctx, pkey) != 1) {
      EVP_PKEY_free(pkey);
      return Status::permanent("the client key cannot be used: " + last_error());
    }
    EVP_PKEY_free(pkey);
  }
  SSL_CTX_set_verify(&ctx, settings.insecure_skip_verify ? SSL_VERIFY_NONE : SSL_VERIFY_PEER,
                     nullptr);
  return Status::ok();
}

namespace {

// Keeps the identity alive until the server (and its SSL_CTX) is gone: bases are destroyed
// in reverse order, so the holder outlives SSLServer.
struct IdentityHolder {
  std::shared_ptr<ServerIdentity> identity;
};

class IdentityServer final : private IdentityHolder,
                             public http::DeadlineServer<httplib::SSLServer> {
 public:
  IdentityServer(std::shared_ptr<ServerIdentity> identity, Status& status)
      : IdentityHolder{std::move(identity)},
        http::DeadlineServer<httplib::SSLServer>([this, &status](SSL_CTX& ctx) {
          status = this->identity->configure(ctx);
          return status.is_ok();
        }) {}
};

}  // namespace

Result<std::unique_ptr<httplib::Server>> make_http_server(const TlsSettings& settings,
                                                          ServerIdentity::EventSink on_event,
                                                          http::Deadlines deadlines) {
  std::unique_ptr<httplib::Server> server;
  if (settings.enabled) {
    auto identity = ServerIdentity::load(settings, std::move(on_event));
    if (!identity.ok()) return identity.status();
    Status status = Status::ok();
    auto tls_server = std::make_unique<IdentityServer>(std::move(identity).value(), status);
    if (!status.is_ok()) return status;
    if (!tls_server->is_valid()) return Status::permanent("cannot set up TLS: " + last_error());
    tls_server->set_deadlines(std::move(deadlines));
    server = std::move(tls_server);
  } else {
    auto plain = std::make_unique<http::DeadlineServer<httplib::Server>>();
    plain->set_deadlines(std::move(deadlines));
    server = std::move(plain);
  }
  // Slow clients hold a thread each until their deadline; the others get new threads.
  server->new_task_queue = [] { return http::elastic_pool(4, 256); };
  // A response's headers and body are separate writes: without this the body can wait for
  // the client's delayed ACK.
  server->set_tcp_nodelay(true);
  return server;
}

}  // namespace weft::tls
