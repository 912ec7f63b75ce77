#include "weft/factory.h"

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

}  // namespace weft
