#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace weft {

class ConfigReader;

// A `tls` block, with the Go collector's names (configtls). One struct for servers and
// clients; read_tls_server and read_tls_client read the keys each side has.
struct TlsSettings {
  // Server: a `tls` block is present. Client: TLS is used (not `insecure`, or an https URL).
  bool enabled = false;
  std::string ca_file;
  std::string ca_pem;
  std::string cert_file;
  std::string cert_pem;
  std::string key_file;
  std::string key_pem;
  bool include_system_ca_certs_pool = false;
  std::string min_version = "1.2";  // "1.0", "1.1", "1.2" or "1.3"
  std::string max_version;          // empty: the highest the library has (1.3)
  // Go's names ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256"); empty:
  // the library's defaults.
  std::vector<std::string> cipher_suites;
  // Certificate files are also re-read when they change (checked at most once a second);
  // this forces a re-read after the interval even if they seem unchanged. 0: only on change.
  std::chrono::nanoseconds reload_interval{0};

  // Server only: require client certificates signed by this CA (mutual TLS).
  std::string client_ca_file;
  bool client_ca_file_reload = false;  // accepted; the client CA is always re-read on change

  // Client only.
  bool insecure = false;              // gRPC: plaintext (unless a CA is given or https://)
  bool insecure_skip_verify = false;  // do not verify the server's certificate
  std::string server_name_override;   // the name verified and sent as SNI

  [[nodiscard]] bool has_certificate() const { return !cert_file.empty() || !cert_pem.empty(); }
  [[nodiscard]] bool has_ca() const { return !ca_file.empty() || !ca_pem.empty(); }
};

// The OpenSSL name of a cipher suite given by its Go name; empty if it has none.
std::string openssl_cipher_name(std::string_view go_name);

// Reads `key` (default "tls") under reader into out: present means TLS on, and a certificate
// and key are then required. Problems are reported with their YAML path.
void read_tls_server(ConfigReader& reader, TlsSettings& out, std::string_view key = "tls");
// Reads a client's `tls` block; out.enabled is set from `insecure` (the caller adjusts it for
// URL schemes).
void read_tls_client(ConfigReader& reader, TlsSettings& out, std::string_view key = "tls");

}  // namespace weft
