#include "core/builtin.h"

namespace weft {

std::string_view kind_name(ComponentKind kind) {
  switch (kind) {
    case ComponentKind::kReceiver:
      return "receiver";
    case ComponentKind::kProcessor:
      return "processor";
    case ComponentKind::kExporter:
      return "exporter";
    case ComponentKind::kExtension:
      return "extension";
    case ComponentKind::kConnector:
      return "connector";
  }
  return "component";
}

std::string_view kind_section(ComponentKind kind) {
  switch (kind) {
    case ComponentKind::kReceiver:
      return "receivers";
    case ComponentKind::kProcessor:
      return "processors";
    case ComponentKind::kExporter:
      return "exporters";
    case ComponentKind::kExtension:
      return "extensions";
    case ComponentKind::kConnector:
      return "connectors";
  }
  return "components";
}

std::vector<std::unique_ptr<Factory>> builtin_factories() {
  std::vector<std::unique_ptr<Factory>> all;
  all.push_back(make_otlp_receiver_factory());
  all.push_back(make_batch_processor_factory());
  all.push_back(make_memory_limiter_processor_factory());
  all.push_back(make_wasm_processor_factory());
  all.push_back(make_otlp_exporter_factory());
  all.push_back(make_otlphttp_exporter_factory());
  all.push_back(make_debug_exporter_factory());
  all.push_back(make_file_exporter_factory());
  all.push_back(make_health_check_extension_factory());
  all.push_back(make_wasm_connector_factory());
  return all;
}

}  // namespace weft
