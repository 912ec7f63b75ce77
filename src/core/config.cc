#include "core/config.h"

#include "util/yaml_json.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include "weft/config_reader.h"

namespace weft {

Factories::Factories(std::vector<std::unique_ptr<Factory>> factories)
    : factories_(std::move(factories)) {}

const Factory* Factories::find(ComponentKind kind, std::string_view type) const {
  for (const auto& f : factories_) {
    if (f->kind() != kind) continue;
    if (f->type() == type) return f.get();
    for (std::string_view alias : f->aliases()) {
      if (alias == type) return f.get();
    }
    for (std::string_view alias : f->deprecated_aliases()) {
      if (alias == type) return f.get();
    }
  }
  return nullptr;
}

std::vector<const Factory*> Factories::of_kind(ComponentKind kind) const {
  std::vector<const Factory*> out;
  for (const auto& f : factories_) {
    if (f->kind() == kind) out.push_back(f.get());
  }
  return out;
}

std::map<std::string, ComponentEntry>& CollectorConfig::section(ComponentKind kind) {
  switch (kind) {
    case ComponentKind::kReceiver:
      return receivers;
    case ComponentKind::kProcessor:
      return processors;
    case ComponentKind::kExporter:
      return exporters;
    case ComponentKind::kExtension:
      return extensions;
    case ComponentKind::kConnector:
      return connectors;
  }
  return receivers;
}

const std::map<std::string, ComponentEntry>& CollectorConfig::section(ComponentKind kind) const {
  return const_cast<CollectorConfig*>(this)->section(kind);
}

namespace {

using Origins = std::map<std::string, std::string>;  // YAML path -> file that set it

std::string join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

void record_origins(const YAML::Node& node, const std::string& path, const std::string& file,
                    Origins& origins) {
  origins[path] = file;
  if (!node.IsMap()) return;
  for (const auto& item : node) {
    record_origins(item.second, join(path, item.first.Scalar()), file, origins);
  }
}

YAML::Node merge(const YAML::Node& base, const YAML::Node& over) {
  if (!base.IsMap() || !over.IsMap()) return YAML::Clone(over);
  YAML::Node out = YAML::Clone(base);
  for (const auto& item : over) {
    const std::string key = item.first.Scalar();
    out[key] = out[key].IsDefined() ? merge(out[key], item.second) : YAML::Clone(item.second);
  }
  return out;
}

// Expands ${env:NAME}, ${NAME}, ${env:NAME:-default} and ${file:PATH} (the file's text, its
// trailing line breaks dropped); $$ is a literal $.
bool expand(const std::string& in, std::string& out, std::string& error) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '$') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 1 < in.size() && in[i + 1] == '$') {
      out.push_back('$');
      ++i;
      continue;
    }
    if (i + 1 >= in.size() || in[i + 1] != '{') {
      out.push_back('$');
      continue;
    }
    const size_t close = in.find('}', i);
    if (close == std::string::npos) {
      error = "unterminated ${ in \"" + in + "\"";
      return false;
    }
    std::string ref = in.substr(i + 2, close - i - 2);
    if (ref.rfind("file:", 0) == 0) {
      std::ifstream file(ref.substr(5), std::ios::binary);
      if (ref.size() == 5 || !file) {
        error = "cannot read the file of ${" + ref + "}";
        return false;
      }
      std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
      while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
      out += text;
      i = close;
      continue;
    }
    if (ref.rfind("env:", 0) == 0) ref = ref.substr(4);
    std::string fallback;
    const size_t dash = ref.find(":-");
    if (dash != std::string::npos) {
      fallback = ref.substr(dash + 2);
      ref = ref.substr(0, dash);
    }
    if (ref.empty() ||
        ref.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") !=
            std::string::npos) {
      error = "bad environment reference \"${" + in.substr(i + 2, close - i - 2) + "}\"";
      return false;
    }
    const char* value = std::getenv(ref.c_str());
    out += value != nullptr ? value : fallback;
    i = close;
  }
  return true;
}

void expand_all(YAML::Node node, const std::string& path, Diagnostics& diag) {
  if (node.IsScalar()) {
    std::string expanded, error;
    if (node.Scalar().find('$') == std::string::npos) return;
    if (!expand(node.Scalar(), expanded, error)) {
      diag.error(path, error);
      return;
    }
    node = expanded;
    return;
  }
  if (node.IsMap()) {
    for (auto item : node) expand_all(item.second, join(path, item.first.Scalar()), diag);
  } else if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) {
      expand_all(node[i], path + "[" + std::to_string(i) + "]", diag);
    }
  }
}

std::string type_of(const std::string& id) {
  return id.substr(0, id.find('/'));
}

bool valid_id(const std::string& id) {
  const size_t slash = id.find('/');
  return !id.empty() && slash != 0 && (slash == std::string::npos || slash + 1 < id.size());
}

void load_section(const YAML::Node& root, ComponentKind kind, const Factories& factories,
                  CollectorConfig& out, Diagnostics& diag, std::vector<std::string>& warnings) {
  const std::string section(kind_section(kind));
  const YAML::Node node = root[section];
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsMap()) {
    diag.error(section, "expected a map of " + section);
    return;
  }
  for (const auto& item : node) {
    const std::string id = item.first.Scalar();
    const std::string path = section + "." + id;
    if (!valid_id(id)) {
      diag.error(path, "bad component id \"" + id + "\"; expected type or type/name");
      continue;
    }
    const Factory* factory = factories.find(kind, type_of(id));
    if (factory == nullptr) {
      std::string known;
      for (const Factory* f : factories.of_kind(kind)) {
        known += (known.empty() ? "" : ", ") + std::string(f->type());
      }
      diag.error(path, "unknown " + std::string(kind_name(kind)) + " type \"" + type_of(id) +
                           "\" (built in: " + known + ")");
      continue;
    }
    for (std::string_view old : factory->deprecated_aliases()) {
      if (old == type_of(id)) {
        warnings.push_back(path + ": \"" + std::string(old) + "\" is a deprecated name of the " +
                           std::string(kind_name(kind)) + " \"" + std::string(factory->type()) +
                           "\"; use " + std::string(factory->type()));
      }
    }
    ComponentEntry entry{id, factory, factory->create_default_config()};
    ConfigReader reader(item.second, path, &diag);
    factory->load_config(reader, *entry.config);
    reader.report_unknown_keys();
    out.section(kind).emplace(id, std::move(entry));
  }
}

void check_refs(ConfigReader& pipeline, const std::string& key, ComponentKind kind,
                const std::vector<std::string>& ids, const CollectorConfig& config, Signal signal) {
  std::set<std::string> seen;
  for (const auto& id : ids) {
    if (!seen.insert(id).second) {
      pipeline.error(key, "lists " + std::string(kind_name(kind)) + " \"" + id + "\" twice");
    }
    const auto& section = config.section(kind);
    auto it = section.find(id);
    const bool via_connector =
        (kind == ComponentKind::kReceiver || kind == ComponentKind::kExporter) &&
        config.connectors.count(id) != 0;
    if (via_connector) continue;  // checked once every pipeline is known
    if (it == section.end()) {
      pipeline.error(key, "references " + std::string(kind_name(kind)) + " \"" + id +
                              "\" which is not defined in " + std::string(kind_section(kind)));
      continue;
    }
    if (it->second.factory->signals().count(signal) == 0) {
      pipeline.error(key, std::string(kind_name(kind)) + " \"" + id + "\" does not support " +
                              std::string(signal_name(signal)));
    }
  }
}

// A connector must end at least one pipeline and start at least one, and support
// every pair of signals it joins.
void check_connectors(const CollectorConfig& config, Diagnostics& diag) {
  for (const auto& [id, entry] : config.connectors) {
    std::set<Signal> in, out;
    for (const auto& p : config.pipelines) {
      for (const auto& e : p.exporters) {
        if (e == id) in.insert(p.signal);
      }
      for (const auto& r : p.receivers) {
        if (r == id) out.insert(p.signal);
      }
    }
    if (in.empty() && out.empty()) continue;  // defined but unused
    if (in.empty() || out.empty()) {
      diag.error("connectors." + id,
                 std::string("is used as ") + (in.empty() ? "a receiver" : "an exporter") +
                     " but not as " + (in.empty() ? "an exporter" : "a receiver") +
                     "; a connector joins the end of one pipeline to the start of another");
      continue;
    }
    for (Signal i : in) {
      for (Signal o : out) {
        if (!entry.factory->connects(i, o)) {
          diag.error("connectors." + id, "cannot connect " + std::string(signal_name(i)) + " to " +
                                             std::string(signal_name(o)));
        }
      }
    }
    for (Signal o : out) {
      std::vector<std::string> outputs;
      for (const auto& p : config.pipelines) {
        if (p.signal == o &&
            std::find(p.receivers.begin(), p.receivers.end(), id) != p.receivers.end()) {
          outputs.push_back(p.id);
        }
      }
      if (Status s = entry.factory->check_outputs(*entry.config, o, outputs); !s.is_ok()) {
        diag.error("connectors." + id, s.message());
      }
    }
  }
}

// Data must not flow in a circle through connectors: a batch would come back to the
// pipeline it left, forever.
void check_connector_cycles(const CollectorConfig& config, Diagnostics& diag) {
  const auto& pipelines = config.pipelines;
  const size_t n = pipelines.size();
  std::vector<std::vector<size_t>> next(n);  // p -> q when p exports to a connector q receives from
  for (size_t p = 0; p < n; ++p) {
    for (const auto& e : pipelines[p].exporters) {
      if (config.connectors.count(e) == 0) continue;
      for (size_t q = 0; q < n; ++q) {
        const auto& r = pipelines[q].receivers;
        if (std::find(r.begin(), r.end(), e) != r.end()) next[p].push_back(q);
      }
    }
  }
  std::vector<int> state(n, 0);  // 0 new, 1 on the current path, 2 done
  std::function<bool(size_t)> visit = [&](size_t p) {
    state[p] = 1;
    for (size_t q : next[p]) {
      if (state[q] == 1) {
        diag.error("service.pipelines." + pipelines[q].id,
                   "is part of a cycle through connectors (it feeds, through " + pipelines[p].id +
                       ", back into itself)");
        return true;
      }
      if (state[q] == 0 && visit(q)) return true;
    }
    state[p] = 2;
    return false;
  };
  for (size_t p = 0; p < n; ++p) {
    if (state[p] == 0 && visit(p)) return;
  }
}

// service.tables: lookup tables for weft.lookup (docs/tables.md).
void load_tables(ConfigReader service, std::vector<lookup::TableSpec>& out, Diagnostics& diag) {
  if (!service.has("tables")) return;
  const YAML::Node tables = service.read_node("tables");
  if (!tables.IsMap()) {
    service.error("tables", "must map table names to their settings");
    return;
  }
  for (const auto& item : tables) {
    lookup::TableSpec spec;
    spec.name = item.first.Scalar();
    ConfigReader t(item.second, service.path_of("tables") + "." + spec.name, &diag);
    t.read("path", spec.path);
    std::string format;
    t.read("format", format);
    t.read("key", spec.key);
    std::chrono::nanoseconds interval = spec.watch_interval;
    t.read_duration("watch_interval", interval);
    spec.watch_interval = std::chrono::duration_cast<std::chrono::milliseconds>(interval);
    t.report_unknown_keys();
    if (spec.path.empty()) {
      t.error("path", "must name the table's file (.csv, .json or .mmdb)");
      continue;
    }
    if (format == "csv") {
      spec.format = lookup::Format::kCsv;
    } else if (format == "json") {
      spec.format = lookup::Format::kJson;
    } else if (format == "mmdb") {
      spec.format = lookup::Format::kMmdb;
    } else if (format == "jwks") {
      spec.format = lookup::Format::kJwks;
    } else if (!format.empty()) {
      t.error("format", "must be csv, json, mmdb or jwks, got \"" + format + "\"");
    } else if (!lookup::format_from_path(spec.path, spec.format)) {
      t.error("format", "must be given: the file name does not end in .csv, .json, .mmdb or .jwks");
    }
    if (!spec.key.empty() && spec.format != lookup::Format::kCsv) {
      t.error("key",
              "is for csv tables (json tables are keyed by their members' names, mmdb by "
              "address)");
    }
    out.push_back(std::move(spec));
  }
}

// service.plugins: where packages come from and whom to trust (docs/packages.md).
void load_plugin_packages(ConfigReader service, const std::string& first_file,
                          pkg::PackageSettings& out, Diagnostics& diag) {
  ConfigReader plugins = service.child("plugins");
  std::string cache;
  plugins.read("cache", cache);
  if (!cache.empty()) out.cache_dir = cache;
  std::string lock = (std::filesystem::path(first_file).parent_path() / "weft.lock").string();
  plugins.read("lock", lock);
  out.lock_path = lock;
  if (plugins.has("registries")) {
    const YAML::Node registries = plugins.read_node("registries");
    if (!registries.IsMap()) {
      plugins.error("registries", "must map registry hosts to their settings");
    } else {
      for (const auto& item : registries) {
        const std::string host = item.first.Scalar();
        ConfigReader r(item.second, plugins.path_of("registries") + "." + host, &diag);
        pkg::RegistrySettings& s = out.registries[host];
        r.read("ca_file", s.ca_file);
        if (!s.ca_file.empty() && !std::filesystem::is_regular_file(s.ca_file)) {
          r.error("ca_file", "no such file \"" + s.ca_file + "\"");
        }
        if (r.has("plain_http")) {
          bool plain = false;
          r.read("plain_http", plain);
          s.plain_http = plain;
        }
        r.read("username", s.username);
        r.read("password", s.password);
        r.read("mirror", s.mirror);
        r.report_unknown_keys();
      }
    }
  }
  for (ConfigReader rule : plugins.items("trust")) {
    pkg::TrustRule t;
    rule.read("namespace", t.ns);
    if (t.ns.empty())
      rule.error("namespace", "must name a registry namespace (host/path), a directory or *");
    std::vector<std::string> keys;
    rule.read("keys", keys);
    for (const auto& k : keys) {
      auto key = pkg::read_public_key(k);
      if (key.ok()) {
        t.keys.push_back(std::move(key).value());
      } else {
        rule.error("keys", key.status().message());
      }
    }
    std::string level = "enforce";
    rule.read("level", level);
    if (level == "enforce") {
      t.level = pkg::TrustLevel::kEnforce;
    } else if (level == "audit") {
      t.level = pkg::TrustLevel::kAudit;
    } else if (level == "off") {
      t.level = pkg::TrustLevel::kOff;
    } else {
      rule.error("level", "must be enforce, audit or off, got \"" + level + "\"");
    }
    std::vector<std::string> require;
    rule.read("require", require);
    for (const auto& r : require) {
      if (r == "certified") {
        t.require_certified = true;
      } else {
        rule.error("require", "knows only \"certified\", got \"" + r + "\"");
      }
    }
    if (t.level != pkg::TrustLevel::kOff && t.keys.empty()) {
      rule.error("keys", "must list at least one public key (or set level: off)");
    }
    rule.report_unknown_keys();
    out.trust.push_back(std::move(t));
  }
}

void load_service(const YAML::Node& root, const std::string& first_file, CollectorConfig& out,
                  Diagnostics& diag) {
  ConfigReader service(root["service"], "service", &diag);
  if (!root["service"].IsDefined()) {
    diag.error("service", "missing: a config needs service.pipelines");
    return;
  }
  if (!root["service"].IsMap()) {
    diag.error("service", "expected a map with pipelines (and extensions, telemetry)");
    return;
  }
  service.read("extensions", out.service_extensions);
  for (const auto& id : out.service_extensions) {
    if (out.extensions.count(id) == 0) {
      service.error("extensions",
                    "references extension \"" + id + "\" which is not defined in extensions");
    }
  }
  ConfigReader telemetry = service.child("telemetry");
  ConfigReader metrics = telemetry.child("metrics");
  metrics.read_endpoint("address", out.metrics_address);
  // The Go collector's newer form: readers: [{pull: {exporter: {prometheus: {host, port}}}}].
  int pull_readers = 0;
  for (ConfigReader reader : metrics.items("readers")) {
    if (reader.has("periodic")) {
      (void)reader.read_node("periodic");
      reader.error("periodic",
                   "is not supported yet: weft serves its own metrics for scraping (a pull "
                   "reader with a prometheus exporter)");
      continue;
    }
    ConfigReader prometheus = reader.child("pull").child("exporter").child("prometheus");
    std::string host = "localhost";
    int port = 8888;
    prometheus.read("host", host);
    prometheus.read("port", port);
    if (port < 1 || port > 65535) prometheus.error("port", "must be 1 to 65535");
    if (++pull_readers > 1) {
      reader.error("pull", "weft serves its metrics on one endpoint: give one pull reader");
    }
    if (metrics.has("address")) {
      reader.error("pull", "give service.telemetry.metrics.address or readers, not both");
    }
    out.metrics_address = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
                          std::to_string(port);
  }
  read_tls_server(metrics, out.metrics_tls);
  std::string level = "normal";
  metrics.read("level", level);
  if (level == "none") out.metrics_address.clear();
  if (level != "none" && level != "basic" && level != "normal" && level != "detailed") {
    metrics.error("level", "must be none, basic, normal or detailed, got \"" + level + "\"");
  }
  ConfigReader audit = telemetry.child("audit");
  audit.read("path", out.audit_path);
  ConfigReader logs = telemetry.child("logs");
  logs.read("level", out.log_level);
  static const std::set<std::string> kLevels = {"debug", "info", "warn", "error"};
  if (kLevels.count(out.log_level) == 0) {
    logs.error("level", "must be one of debug, info, warn, error");
  }
  logs.read("encoding", out.log_encoding);
  if (out.log_encoding != "console" && out.log_encoding != "json") {
    logs.error("encoding", "must be console or json, got \"" + out.log_encoding + "\"");
  }
  service.read_duration("shutdown_timeout", out.shutdown_timeout);
  load_plugin_packages(service, first_file, out.packages, diag);
  load_tables(service, out.tables, diag);

  const YAML::Node pipelines = root["service"]["pipelines"];
  service.read_node("pipelines");
  if (!pipelines.IsDefined() || !pipelines.IsMap() || pipelines.size() == 0) {
    diag.error("service.pipelines", "must define at least one pipeline");
    return;
  }
  for (const auto& item : pipelines) {
    PipelineConfig p;
    p.id = item.first.Scalar();
    const std::string path = "service.pipelines." + p.id;
    auto signal = signal_from_name(type_of(p.id));
    if (!signal || !valid_id(p.id)) {
      diag.error(path, "pipeline id must be traces, metrics or logs, optionally followed by /name");
      continue;
    }
    p.signal = *signal;
    ConfigReader reader(item.second, path, &diag);
    reader.read("receivers", p.receivers);
    reader.read("processors", p.processors);
    reader.read("exporters", p.exporters);
    if (p.receivers.empty()) reader.error("receivers", "must list at least one receiver");
    if (p.exporters.empty()) reader.error("exporters", "must list at least one exporter");
    check_refs(reader, "receivers", ComponentKind::kReceiver, p.receivers, out, p.signal);
    check_refs(reader, "processors", ComponentKind::kProcessor, p.processors, out, p.signal);
    check_refs(reader, "exporters", ComponentKind::kExporter, p.exporters, out, p.signal);
    reader.report_unknown_keys();
    out.pipelines.push_back(std::move(p));
  }
  service.report_unknown_keys();
  check_connectors(out, diag);
  check_connector_cycles(out, diag);
}

std::string origin_of(const Origins& origins, const std::string& path,
                      const std::vector<std::string>& files) {
  // The file that set the longest prefix of the path.
  std::string probe = path;
  while (true) {
    auto it = origins.find(probe);
    if (it != origins.end()) return it->second;
    const size_t dot = probe.rfind('.');
    if (dot == std::string::npos) break;
    probe = probe.substr(0, dot);
  }
  return files.size() == 1 ? files.front() : files.back();
}

}  // namespace

namespace {

// Runs Factory::check for every receiver, processor, exporter and connector used in a
// pipeline, with the signals it is used for (a connector: those it ends), and for every
// extension the service runs.
void deep_check_components(const CollectorConfig& config, Diagnostics& diag) {
  for (ComponentKind kind : {ComponentKind::kReceiver, ComponentKind::kProcessor,
                             ComponentKind::kExporter, ComponentKind::kConnector}) {
    for (const auto& [id, entry] : config.section(kind)) {
      std::set<Signal> signals;
      for (const auto& p : config.pipelines) {
        const auto& ids = kind == ComponentKind::kProcessor  ? p.processors
                          : kind == ComponentKind::kReceiver ? p.receivers
                                                             : p.exporters;
        if (std::find(ids.begin(), ids.end(), id) != ids.end()) signals.insert(p.signal);
      }
      if (signals.empty()) continue;
      Status status = entry.factory->check(*entry.config, signals);
      if (!status.is_ok()) diag.error(std::string(kind_section(kind)) + "." + id, status.message());
    }
  }
  for (const auto& id : config.service_extensions) {
    const auto it = config.extensions.find(id);
    if (it == config.extensions.end()) continue;  // reported by the service section's check
    Status status = it->second.factory->check(*it->second.config, {});
    if (!status.is_ok()) diag.error("extensions." + id, status.message());
  }
}

}  // namespace

LoadedConfig load_config(const std::vector<std::string>& files, const Factories& factories,
                         bool deep_check) {
  LoadedConfig result;
  if (files.empty()) {
    result.errors.emplace_back("no configuration given: use --config FILE");
    return result;
  }
  YAML::Node root(YAML::NodeType::Map);
  Origins origins;
  for (const auto& file : files) {
    YAML::Node node;
    try {
      node = YAML::LoadFile(file);
    } catch (const YAML::BadFile&) {
      result.errors.push_back(file + ": cannot read the file");
      continue;
    } catch (const YAML::Exception& e) {
      result.errors.push_back(file + ": line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
      continue;
    }
    if (node.IsNull()) continue;
    if (!node.IsMap()) {
      result.errors.push_back(file + ": expected a map at the top level");
      continue;
    }
    if (std::string duplicate = duplicate_key(node); !duplicate.empty()) {
      result.errors.push_back(file + ": " + duplicate);
      continue;
    }
    node = resolve_merge_keys(node);
    for (const auto& item : node) record_origins(item.second, item.first.Scalar(), file, origins);
    root = merge(root, node);
  }
  if (!result.errors.empty()) return result;

  Diagnostics diag;
  expand_all(root, "", diag);
  static const std::set<std::string> kTopLevel = {"receivers",  "processors", "exporters",
                                                  "extensions", "connectors", "service"};
  for (const auto& item : root) {
    const std::string key = item.first.Scalar();
    if (kTopLevel.count(key) == 0) diag.error(key, "unknown top-level section \"" + key + "\"");
  }
  CollectorConfig config;
  for (ComponentKind kind :
       {ComponentKind::kReceiver, ComponentKind::kProcessor, ComponentKind::kExporter,
        ComponentKind::kExtension, ComponentKind::kConnector}) {
    load_section(root, kind, factories, config, diag, result.warnings);
  }
  load_service(root, files.empty() ? "" : files.front(), config, diag);
  // Plugins load their packages through the process's store (at start and in the deep check).
  if (diag.ok()) pkg::configure_packages(config.packages);
  // Tables load here, so a malformed file is refused at start and by `weft validate`.
  if (diag.ok()) {
    if (Status s = lookup::tables().configure(config.tables); !s.is_ok()) {
      diag.error("service.tables", s.message());
    }
  }
  if (deep_check && diag.ok()) deep_check_components(config, diag);

  for (const auto& [path, message] : diag.errors()) {
    result.errors.push_back(origin_of(origins, path, files) + ": " + path + ": " + message);
  }
  if (result.errors.empty()) result.config = std::move(config);
  return result;
}

}  // namespace weft
