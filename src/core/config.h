#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lookup/tables.h"
#include "pkg/store.h"
#include "weft/factory.h"
#include "weft/tls.h"

namespace weft {

// The built-in factories, looked up by kind and type.
class Factories {
 public:
  explicit Factories(std::vector<std::unique_ptr<Factory>> factories);
  [[nodiscard]] const Factory* find(ComponentKind kind, std::string_view type) const;
  [[nodiscard]] std::vector<const Factory*> of_kind(ComponentKind kind) const;

 private:
  std::vector<std::unique_ptr<Factory>> factories_;
};

struct ComponentEntry {
  std::string id;  // type[/name]
  const Factory* factory = nullptr;
  std::unique_ptr<ComponentConfig> config;
};

struct PipelineConfig {
  std::string id;  // signal[/name]
  Signal signal = Signal::kTraces;
  std::vector<std::string> receivers, processors, exporters;
};

struct CollectorConfig {
  std::map<std::string, ComponentEntry> receivers, processors, exporters, extensions, connectors;
  std::vector<std::string> service_extensions;
  std::vector<PipelineConfig> pipelines;
  std::string metrics_address = "localhost:8888";  // empty: no self-metrics endpoint
  TlsSettings metrics_tls;  // service.telemetry.metrics.tls (weft's own): HTTPS for it
  std::string log_level = "info";
  std::string log_encoding = "console";  // or json: one JSON object per line
  std::string audit_path;                // empty: audit events only in the log
  std::chrono::nanoseconds shutdown_timeout = std::chrono::seconds(20);
  pkg::PackageSettings packages;          // service.plugins
  std::vector<lookup::TableSpec> tables;  // service.tables

  [[nodiscard]] std::map<std::string, ComponentEntry>& section(ComponentKind kind);
  [[nodiscard]] const std::map<std::string, ComponentEntry>& section(ComponentKind kind) const;
};

struct LoadedConfig {
  std::optional<CollectorConfig> config;
  // "FILE: PATH: MESSAGE", one per problem; empty when config is set.
  std::vector<std::string> errors;
  // "PATH: MESSAGE": what loads but should change (a deprecated component name).
  std::vector<std::string> warnings;
};

// Reads the files, merges them in order (maps deep-merged, later values win),
// expands ${env:NAME} / ${NAME} / ${env:NAME:-default}, and checks everything.
// With deep_check, components also run their Factory::check (what `weft validate` does).
LoadedConfig load_config(const std::vector<std::string>& files, const Factories& factories,
                         bool deep_check = false);

}  // namespace weft
