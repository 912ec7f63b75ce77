#include "components/common/grpc_tls.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <fstream>
#include <sstream>

#include "util/tls.h"

namespace weft::grpc_tls {
namespace {

namespace experimental = grpc::experimental;

constexpr unsigned kRefreshSeconds = 1;
constexpr const char* kSystemBundle = "/etc/ssl/certs/ca-certificates.crt";

}  // namespace

std::string unsupported(const TlsSettings& settings) {
  if (!settings.cipher_suites.empty()) {
    return "cipher_suites cannot be chosen for gRPC (its TLS stack has a fixed list)";
  }
  if (settings.min_version == "1.3") {
    return "min_version \"1.3\" cannot be set for gRPC (it offers TLS 1.2 and 1.3)";
  }
  if (!settings.max_version.empty() && settings.max_version != "1.3") {
    return "max_version \"" + settings.max_version +
           "\" cannot be set for gRPC (it offers TLS 1.2 and 1.3)";
  }
  return {};
}

Result<std::shared_ptr<grpc::ServerCredentials>> server_credentials(const TlsSettings& settings) {
  if (!settings.enabled) return grpc::InsecureServerCredentials();
  if (std::string problem = unsupported(settings); !problem.empty()) {
    return Status::permanent(problem);
  }
  auto identity = tls::ServerIdentity::load(settings);  // the files parse and match
  if (!identity.ok()) return identity.status();
  std::shared_ptr<experimental::CertificateProviderInterface> provider;
  const bool files = settings.cert_pem.empty() && settings.key_pem.empty();
  if (files && !settings.client_ca_file.empty()) {
    provider = std::make_shared<experimental::FileWatcherCertificateProvider>(
        settings.key_file, settings.cert_file, settings.client_ca_file, kRefreshSeconds);
  } else if (files) {
    provider = std::make_shared<experimental::FileWatcherCertificateProvider>(
        settings.key_file, settings.cert_file, kRefreshSeconds);
  } else {
    const auto pems = (*identity)->pems();
    std::vector<experimental::IdentityKeyCertPair> pairs = {{pems.key, pems.cert}};
    provider =
        pems.client_ca.empty()
            ? std::make_shared<experimental::StaticDataCertificateProvider>(pairs)
            : std::make_shared<experimental::StaticDataCertificateProvider>(pems.client_ca, pairs);
  }
  experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (settings.client_ca_file.empty()) {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  } else {
    options.watch_root_certs();
    options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return experimental::TlsServerCredentials(options);
}

Result<std::shared_ptr<grpc::ChannelCredentials>> channel_credentials(
    const TlsSettings& settings, grpc::ChannelArguments& args) {
  if (!settings.enabled) return grpc::InsecureChannelCredentials();
  if (std::string problem = unsupported(settings); !problem.empty()) {
    return Status::permanent(problem);
  }
  auto ca = tls::read_pem(settings.ca_file, settings.ca_pem, "CA");
  if (!ca.ok()) return ca.status();
  if (settings.has_ca() && settings.include_system_ca_certs_pool) {
    std::ifstream bundle(kSystemBundle);
    std::ostringstream text;
    text << bundle.rdbuf();
    *ca += "\n" + text.str();
  }
  std::vector<experimental::IdentityKeyCertPair> pairs;
  if (settings.has_certificate()) {
    auto cert = tls::read_pem(settings.cert_file, settings.cert_pem, "certificate");
    if (!cert.ok()) return cert.status();
    auto key = tls::read_pem(settings.key_file, settings.key_pem, "key");
    if (!key.ok()) return key.status();
    pairs.push_back({std::move(key).value(), std::move(cert).value()});
  }
  experimental::TlsChannelCredentialsOptions options;
  if (settings.has_ca() || !pairs.empty()) {
    std::shared_ptr<experimental::CertificateProviderInterface> provider;
    if (settings.has_ca() && !pairs.empty()) {
      provider = std::make_shared<experimental::StaticDataCertificateProvider>(*ca, pairs);
    } else if (settings.has_ca()) {
      provider = std::make_shared<experimental::StaticDataCertificateProvider>(*ca);
    } else {
      provider = std::make_shared<experimental::StaticDataCertificateProvider>(pairs);
    }
    options.set_certificate_provider(provider);
    if (settings.has_ca()) options.watch_root_certs();
    if (!pairs.empty()) options.watch_identity_key_cert_pairs();
  }
  if (settings.insecure_skip_verify) {
    options.set_verify_server_certs(false);
    options.set_certificate_verifier(std::make_shared<experimental::NoOpCertificateVerifier>());
    options.set_check_call_host(false);
  }
  if (!settings.server_name_override.empty()) {
    args.SetSslTargetNameOverride(settings.server_name_override);
  }
  return experimental::TlsCredentials(options);
}

}  // namespace weft::grpc_tls
