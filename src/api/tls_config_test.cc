#include <gtest/gtest.h>

#include "weft/auth.h"
#include "weft/config_reader.h"
#include "weft/tls.h"

namespace weft {
namespace {

// Reads `yaml` as a server (or client) tls block; returns "path: message" of every error.
std::vector<std::string> read(const std::string& yaml, TlsSettings& out, bool server = true) {
  Diagnostics diagnostics;
  ConfigReader reader(YAML::Load(yaml), "r", &diagnostics);
  if (server) {
    read_tls_server(reader, out);
  } else {
    read_tls_client(reader, out);
  }
  reader.report_unknown_keys();
  std::vector<std::string> errors;
  for (const auto& [path, message] : diagnostics.errors()) errors.push_back(path + ": " + message);
  return errors;
}

TEST(TlsConfig, ServerBlockTurnsTlsOnWithGoNamesAndDefaults) {
  TlsSettings tls;
  auto errors = read(
      "tls: {cert_file: a.crt, key_file: a.key, client_ca_file: ca.crt, reload_interval: 1m,"
      " cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]}",
      tls);
  EXPECT_TRUE(errors.empty()) << errors[0];
  EXPECT_TRUE(tls.enabled);
  EXPECT_EQ(tls.min_version, "1.2");
  EXPECT_EQ(tls.client_ca_file, "ca.crt");
  EXPECT_EQ(tls.reload_interval, std::chrono::minutes(1));
  EXPECT_EQ(openssl_cipher_name(tls.cipher_suites[0]), "ECDHE-RSA-AES128-GCM-SHA256");
  TlsSettings none;
  EXPECT_TRUE(read("other: 1", none).size() == 1);  // only the unknown key
  EXPECT_FALSE(none.enabled);
}

TEST(TlsConfig, RefusesWhatGoRefusesWithThePath) {
  auto read_fresh = [](const std::string& yaml) {
    TlsSettings tls;
    return read(yaml, tls);
  };
  auto errors = read_fresh("tls: {cert_file: a.crt}");
  ASSERT_EQ(errors.size(), 1U);
  EXPECT_NE(errors[0].find("r.tls.key_file"), std::string::npos) << errors[0];
  errors = read_fresh("tls: {cert_file: a, key_file: b, min_version: '1.3', max_version: '1.2'}");
  ASSERT_EQ(errors.size(), 1U);
  EXPECT_NE(errors[0].find("cannot be greater than max_version"), std::string::npos);
  errors = read_fresh("tls: {cert_file: a, key_file: b, min_version: '1.4', cipher_suites: [RC4]}");
  EXPECT_EQ(errors.size(), 2U);
  errors = read_fresh("tls: {cert_file: a, cert_pem: b, key_file: c}");
  ASSERT_EQ(errors.size(), 1U);
  EXPECT_NE(errors[0].find("not both"), std::string::npos);
  errors = read_fresh("tls: {}");
  ASSERT_EQ(errors.size(), 1U);
  EXPECT_NE(errors[0].find("needs a certificate"), std::string::npos);
}

TEST(TlsConfig, ClientInsecureMeansPlaintextUnlessACaIsGiven) {
  TlsSettings tls;
  EXPECT_TRUE(read("tls: {insecure: true}", tls, false).empty());
  EXPECT_FALSE(tls.enabled);
  TlsSettings with_ca;
  EXPECT_TRUE(read("tls: {insecure: true, ca_file: ca.crt}", with_ca, false).empty());
  EXPECT_TRUE(with_ca.enabled);
  TlsSettings fallback;
  EXPECT_TRUE(read("{}", fallback, false).empty());
  EXPECT_TRUE(fallback.enabled);  // the Go collector's default: TLS with the system's CAs
}

TEST(Auth, SecretsCompareByContentOnly) {
  EXPECT_TRUE(secrets_equal("Bearer abc", "Bearer abc"));
  EXPECT_FALSE(secrets_equal("Bearer abc", "Bearer abd"));
  EXPECT_FALSE(secrets_equal("Bearer abc", "Bearer abcd"));
  EXPECT_FALSE(secrets_equal("", "x"));
  EXPECT_TRUE(secrets_equal("", ""));
}

}  // namespace
}  // namespace weft
