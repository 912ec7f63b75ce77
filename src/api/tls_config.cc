#include "weft/tls.h"

#include <algorithm>
#include <array>

#include "weft/config_reader.h"

namespace weft {
namespace {

constexpr std::array<std::string_view, 4> kVersions = {"1.0", "1.1", "1.2", "1.3"};

int version_rank(const std::string& version) {
  const auto* it = std::find(kVersions.begin(), kVersions.end(), version);
  return it == kVersions.end() ? -1 : static_cast<int>(it - kVersions.begin());
}

// The keys both sides have.
void read_common(ConfigReader& tls, TlsSettings& out) {
  tls.read("ca_file", out.ca_file);
  tls.read("ca_pem", out.ca_pem);
  tls.read("cert_file", out.cert_file);
  tls.read("cert_pem", out.cert_pem);
  tls.read("key_file", out.key_file);
  tls.read("key_pem", out.key_pem);
  tls.read("include_system_ca_certs_pool", out.include_system_ca_certs_pool);
  tls.read("min_version", out.min_version);
  tls.read("max_version", out.max_version);
  tls.read("cipher_suites", out.cipher_suites);
  tls.read_duration("reload_interval", out.reload_interval);
  if (out.min_version.empty()) out.min_version = "1.2";
  if (version_rank(out.min_version) < 0) {
    tls.error("min_version", "unsupported TLS version \"" + out.min_version +
                                 "\"; use \"1.0\", \"1.1\", \"1.2\" or \"1.3\"");
  }
  if (!out.max_version.empty() && version_rank(out.max_version) < 0) {
    tls.error("max_version", "unsupported TLS version \"" + out.max_version +
                                 "\"; use \"1.0\", \"1.1\", \"1.2\" or \"1.3\"");
  }
  if (!out.max_version.empty() && version_rank(out.max_version) >= 0 &&
      version_rank(out.min_version) > version_rank(out.max_version)) {
    tls.error("min_version", "cannot be greater than max_version");
  }
  for (const auto& suite : out.cipher_suites) {
    if (openssl_cipher_name(suite).empty()) {
      tls.error("cipher_suites", "unknown cipher suite \"" + suite + "\"");
    }
  }
  if (!out.ca_file.empty() && !out.ca_pem.empty()) {
    tls.error("ca_pem", "set either ca_file or ca_pem, not both");
  }
  if (!out.cert_file.empty() && !out.cert_pem.empty()) {
    tls.error("cert_pem", "set either cert_file or cert_pem, not both");
  }
  if (!out.key_file.empty() && !out.key_pem.empty()) {
    tls.error("key_pem", "set either key_file or key_pem, not both");
  }
  const bool has_key = !out.key_file.empty() || !out.key_pem.empty();
  if (out.has_certificate() != has_key) {
    tls.error(out.has_certificate() ? "key_file" : "cert_file",
              "a certificate needs its key and a key its certificate (cert_file or cert_pem "
              "with key_file or key_pem)");
  }
}

}  // namespace

std::string openssl_cipher_name(std::string_view go_name) {
  // Go's crypto/tls names; TLS 1.3 suites have the same names in OpenSSL.
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 17> kSuites = {{
      {"TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256"},
      {"TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384"},
      {"TLS_CHACHA20_POLY1305_SHA256", "TLS_CHACHA20_POLY1305_SHA256"},
      {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"},
      {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
      {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"},
      {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"},
      {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"},
      {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"},
      {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
      {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
      {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
      {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
      {"TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"},
      {"TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"},
      {"TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"},
      {"TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"},
  }};
  for (const auto& [go, openssl] : kSuites) {
    if (go == go_name) return std::string(openssl);
  }
  return {};
}

void read_tls_server(ConfigReader& reader, TlsSettings& out, std::string_view key) {
  if (!reader.has(key)) return;
  out.enabled = true;
  ConfigReader tls = reader.child(key);
  read_common(tls, out);
  tls.read("client_ca_file", out.client_ca_file);
  tls.read("client_ca_file_reload", out.client_ca_file_reload);
  if (!out.has_certificate()) {
    tls.error("cert_file", "a server needs a certificate and its key (cert_file and key_file)");
  }
}

void read_tls_client(ConfigReader& reader, TlsSettings& out, std::string_view key) {
  ConfigReader tls = reader.child(key);
  read_common(tls, out);
  tls.read("insecure", out.insecure);
  tls.read("insecure_skip_verify", out.insecure_skip_verify);
  tls.read("server_name_override", out.server_name_override);
  // As the Go collector: insecure without a CA is plaintext; a CA means TLS all the same.
  out.enabled = !out.insecure || out.has_ca();
}

}  // namespace weft
