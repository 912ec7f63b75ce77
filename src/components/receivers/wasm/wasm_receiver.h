#pragma once

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "wasm/plugin/settings.h"
#include "weft/component.h"
#include "weft/config_reader.h"
#include "weft/tls.h"

// The `wasm` receiver (docs/abi.md, "Receiver plugins"), also the base of the bundled
// plugin-backed receivers (src/components/bundled).
namespace weft::receivers::wasm {

struct Config : weft::wasm::PluginConfig {
  // push
  std::string endpoint;
  std::vector<std::string> paths = {"/"};
  uint64_t max_request_body_size = 20ull << 20;
  std::chrono::nanoseconds read_timeout{std::chrono::seconds(60)};
  std::chrono::nanoseconds read_header_timeout{std::chrono::seconds(10)};
  // pull: each target on its own schedule (the generic receiver gives all the same one)
  struct Target {
    std::string url;
    std::chrono::nanoseconds interval{std::chrono::seconds(10)};
    std::chrono::nanoseconds timeout{std::chrono::seconds(5)};
  };
  std::vector<Target> targets;
  std::vector<std::pair<std::string, std::string>> pull_headers;  // sent with every fetch
  uint64_t max_response_size = 64ull << 20;
  TlsSettings tls;  // the server's (push) or the client's (pull)
};

std::unique_ptr<Receiver> make_wasm_receiver(const ComponentContext& ctx, const Config& config,
                                             SignalConsumers next);
Status check_wasm_receiver(const Config& config, const std::set<Signal>& signals);
// Push: endpoint (if not set already), paths, max_request_body_size, read_timeout,
// read_header_timeout, tls.
void load_push_settings(ConfigReader& reader, Config& config);

}  // namespace weft::receivers::wasm
