#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "weft/result.h"

namespace httplib {
class ClientImpl;
}

// A client of the OCI distribution API (docs/packages.md, "Registries"): manifests, blobs,
// tags and the catalog, with basic and bearer-token auth.
namespace weft::pkg {

struct RegistrySettings {
  std::string ca_file;  // a private CA for the registry's TLS certificate
  // Default: HTTPS; for a loopback host without ca_file, plain HTTP when it does not speak TLS.
  std::optional<bool> plain_http;
  std::string username, password;  // default: $WEFT_REGISTRY_USERNAME/PASSWORD, Docker config
  std::string mirror;              // host[:port][/prefix] asked first for this registry's content
};

// Whether a host (host[:port]) is a loopback address: 127.0.0.0/8, ::1 or localhost.
bool is_loopback_host(const std::string& host_port);

struct FetchedManifest {
  std::string digest;  // of the bytes received
  std::string media_type;
  std::string body;
};

class Registry {
 public:
  // `host`: host[:port] as in the reference.
  // `mirror_settings`: the mirror's own (its CA, its credentials), when it has a mirror.
  Registry(std::string host, RegistrySettings settings, RegistrySettings mirror_settings = {});
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // By tag or digest. With a digest, the bytes must match it.
  Result<FetchedManifest> manifest(const std::string& repository, const std::string& reference);
  // nullopt when the registry has no such manifest (404).
  Result<std::optional<FetchedManifest>> manifest_if_present(const std::string& repository,
                                                             const std::string& reference);
  Result<std::string> blob(const std::string& repository, const std::string& digest);
  Status put_blob(const std::string& repository, const std::string& bytes);
  Status put_manifest(const std::string& repository, const std::string& reference,
                      const std::string& body, const std::string& media_type);
  Result<std::vector<std::string>> tags(const std::string& repository);
  Result<std::vector<std::string>> catalog();
  [[nodiscard]] const std::string& host() const { return host_; }

 private:
  struct Endpoint;
  struct Reply {
    int status = 0;
    std::string body;
    std::map<std::string, std::string> headers;  // lowercase names
  };
  // One request to the endpoint, answering the registry's auth challenges.
  Result<Reply> request(Endpoint& endpoint, const std::string& method, const std::string& path,
                        const std::string& body = "", const std::string& content_type = "",
                        const std::string& accept = "");
  Result<Reply> get_with_mirror(const std::string& path_after_name, const std::string& repository,
                                const std::string& accept);
  Status authorize(Endpoint& endpoint, const std::string& challenge);
  Status error_of(const Endpoint& endpoint, const std::string& what, const Reply& reply) const;

  std::string host_;
  RegistrySettings settings_;
  std::unique_ptr<Endpoint> origin_, mirror_;
};

}  // namespace weft::pkg
