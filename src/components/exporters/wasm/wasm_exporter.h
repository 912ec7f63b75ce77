#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "components/common/http_client.h"
#include "components/exporters/helper/queued_exporter.h"
#include "wasm/plugin/settings.h"
#include "weft/component.h"
#include "weft/config_reader.h"
#include "weft/tls.h"

// The `wasm` exporter (docs/abi.md, "Exporter plugins"), also the base of the bundled
// plugin-backed exporters (src/components/bundled).
namespace weft::exporters::wasm {

struct Config : weft::wasm::PluginConfig {
  std::string endpoint;  // the base of relative request paths
  std::map<std::string, std::string> headers;
  std::string authenticator;
  http_client::Compression compression = http_client::Compression::kNone;
  TlsSettings tls;
  uint64_t max_request_size = 16ull << 20;
  uint64_t max_response_size = 16ull << 20;
  uint64_t max_concurrent_requests = 16;
  std::vector<std::string> allowed_origins;  // permissions.http
  ExporterSettings exporter;
};

std::unique_ptr<Exporter> make_wasm_exporter(const ComponentContext& ctx, const Config& config);
Status check_wasm_exporter(const Config& config, const std::set<Signal>& signals);
// What every plugin-backed exporter reads besides its plugin: headers, auth, tls,
// compression, max_request_size, max_response_size, max_concurrent_requests, timeout,
// sending_queue, retry_on_failure; then limits.timeout from the exporter's timeout unless
// `own_timeout`.
void load_client_settings(ConfigReader& reader, Config& config, bool own_timeout);

}  // namespace weft::exporters::wasm
