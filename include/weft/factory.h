#pragma once

#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "weft/component.h"

namespace weft {

class ConfigReader;

enum class ComponentKind { kReceiver, kProcessor, kExporter, kExtension, kConnector };

std::string_view kind_name(ComponentKind kind);     // "receiver"
std::string_view kind_section(ComponentKind kind);  // "receivers"

// Where a connector's output goes: the pipelines that list it as a receiver, for one signal.
// A connector that emits to all of them uses `all`; one that routes (routing, failover, a
// routing plugin) hands each part to the pipelines it picks.
struct ConnectorOutputs {
  struct Pipeline {
    std::string id;                          // "traces/acme"
    Consumer* consumer = nullptr;            // its first processor, else its exporters
    std::vector<const Exporter*> exporters;  // its exporters, for their health (failover)
  };
  Consumer* all = nullptr;  // every pipeline, as a fan-out
  std::vector<Pipeline> pipelines;

  [[nodiscard]] const Pipeline* find(std::string_view id) const {
    for (const auto& p : pipelines) {
      if (p.id == id) return &p;
    }
    return nullptr;
  }
};

// A component's settings. Each factory has its own subclass.
struct ComponentConfig {
  virtual ~ComponentConfig() = default;
};

// Builds one type of component. create_default_config() has no side effects;
// load_config() reads the user's YAML over the defaults and reports every
// problem with its YAML path through the reader.
class Factory {
 public:
  virtual ~Factory() = default;
  [[nodiscard]] virtual ComponentKind kind() const = 0;
  [[nodiscard]] virtual std::string_view type() const = 0;
  // Other names a configuration may give this type: the Go collector's newer names for the
  // same component (its v0.161 `otlp_grpc` for `otlp`), so its configurations load as written.
  [[nodiscard]] virtual std::vector<std::string_view> aliases() const { return {}; }
  // Names the Go collector has retired for this type (`logging` for `debug`): still loaded,
  // with a warning that says which name to use.
  [[nodiscard]] virtual std::vector<std::string_view> deprecated_aliases() const { return {}; }
  [[nodiscard]] virtual std::set<Signal> signals() const {
    return {Signal::kTraces, Signal::kMetrics, Signal::kLogs};
  }
  [[nodiscard]] virtual std::unique_ptr<ComponentConfig> create_default_config() const = 0;
  // What the component is made of, for `weft components`: "native", or the plugin weft
  // ships behind a bundled plugin-backed component, with its version
  // ("plugin zipkin_receiver.wasm 0.1.0").
  [[nodiscard]] virtual std::string implementation() const { return "native"; }
  // A deeper check than load_config for `weft validate`, given the signals the component
  // is used for (a plugin is loaded and configured, for example). Has no lasting effects.
  [[nodiscard]] virtual Status check(const ComponentConfig& /*config*/,
                                     const std::set<Signal>& /*signals*/) const {
    return Status::ok();
  }
  virtual void load_config(ConfigReader& reader, ComponentConfig& config) const = 0;

  // Only the one matching kind() is called.
  virtual std::unique_ptr<Receiver> create_receiver(const ComponentContext& /*ctx*/,
                                                    const ComponentConfig& /*config*/,
                                                    SignalConsumers /*next*/) const {
    return nullptr;
  }
  virtual std::unique_ptr<Processor> create_processor(const ComponentContext& /*ctx*/,
                                                      const ComponentConfig& /*config*/,
                                                      Signal /*signal*/, Consumer* /*next*/) const {
    return nullptr;
  }
  virtual std::unique_ptr<Exporter> create_exporter(const ComponentContext& /*ctx*/,
                                                    const ComponentConfig& /*config*/) const {
    return nullptr;
  }
  // A connector consumes `in` (as an exporter of one pipeline) and emits `out`
  // into its outputs (as a receiver of others).
  [[nodiscard]] virtual bool connects(Signal /*in*/, Signal /*out*/) const { return false; }
  // Checks the pipelines a connector's settings name (a routing table's, failover's levels)
  // against `outputs`, the pipelines of signal `out` that list it as a receiver.
  [[nodiscard]] virtual Status check_outputs(const ComponentConfig& /*config*/, Signal /*out*/,
                                             const std::vector<std::string>& /*outputs*/) const {
    return Status::ok();
  }
  virtual std::unique_ptr<Connector> create_connector(const ComponentContext& /*ctx*/,
                                                      const ComponentConfig& /*config*/,
                                                      Signal /*in*/, Signal /*out*/,
                                                      const ConnectorOutputs& /*outputs*/) const {
    return nullptr;
  }
  virtual std::unique_ptr<Extension> create_extension(const ComponentContext& /*ctx*/,
                                                      const ComponentConfig& /*config*/) const {
    return nullptr;
  }
};

// Typed helper: a factory whose config is Cfg.
template <class Cfg>
class FactoryFor : public Factory {
 public:
  [[nodiscard]] std::unique_ptr<ComponentConfig> create_default_config() const override {
    return std::make_unique<Cfg>();
  }
  void load_config(ConfigReader& reader, ComponentConfig& config) const override {
    load(reader, static_cast<Cfg&>(config));
  }

 protected:
  virtual void load(ConfigReader& reader, Cfg& config) const = 0;
  static const Cfg& cast(const ComponentConfig& config) { return static_cast<const Cfg&>(config); }
};

}  // namespace weft

// The last line of a component's factory file: defines make_<name>_factory(), which the
// binary's component list (src/exe/components.inc) names to build the component in.
#define WEFT_DEFINE_FACTORY(name, FactoryClass)                    \
  namespace weft {                                                 \
  std::unique_ptr<Factory> make_##name##_factory();                \
  }                                                                \
  std::unique_ptr<::weft::Factory> weft::make_##name##_factory() { \
    return std::make_unique<FactoryClass>();                       \
  }
