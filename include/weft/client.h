#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weft {

// Who sent a batch (the Go collector's client.Info), carried with the batch from the receiver
// through processors and connectors: the client's address, what the receiver's authenticator
// said about it (auth: tenant, subject, ...) and, with the receiver's include_metadata, the
// request's headers (gRPC metadata), names in lower case.
struct ClientInfo {
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  std::string address;  // "host:port"; empty if unknown
  Pairs auth;
  Pairs metadata;

  // "client.address", "auth.<name>" or "metadata.<name>" (the first value; the name is
  // matched without case); nullopt if the batch has none.
  [[nodiscard]] std::optional<std::string_view> get(std::string_view key) const;
  // A value for a batching key: the metadata of that name, else the auth attribute.
  [[nodiscard]] std::optional<std::string_view> metadata_or_auth(std::string_view name) const;
};

}  // namespace weft
