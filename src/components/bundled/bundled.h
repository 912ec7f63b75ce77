#pragma once

#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "components/exporters/wasm/wasm_exporter.h"
#include "components/receivers/wasm/wasm_receiver.h"
#include "wasm/plugin/directory.h"
#include "weft/factory.h"

// Bundled plugin-backed components (docs/architecture.md): a `wasm` receiver or exporter
// running a plugin weft ships next to its binary, registered under the Go collector's
// component name and read with its settings. A component says its type, signals and plugin,
// and turns the Go collector's settings into the plugin's config and weft's.
namespace weft::bundled {

template <class Cfg, ComponentKind Kind>
class BundledFactory : public FactoryFor<Cfg> {
 public:
  BundledFactory(std::string_view type, std::set<Signal> signals, const char* plugin)
      : type_(type), signals_(std::move(signals)), plugin_(plugin) {}
  [[nodiscard]] ComponentKind kind() const override { return Kind; }
  [[nodiscard]] std::string_view type() const override { return type_; }
  [[nodiscard]] std::set<Signal> signals() const override { return signals_; }
  // The plugin and its version: a bundled plugin is built and released with weft.
  [[nodiscard]] std::string implementation() const override {
    return std::string("plugin ") + plugin_ + " " + WEFT_VERSION;
  }

 protected:
  // The Go collector's settings, after the plugin's path is set.
  virtual void load_settings(ConfigReader& reader, Cfg& config) const = 0;

  void load(ConfigReader& reader, Cfg& config) const final {
    config.plugin.path = weft::wasm::bundled_plugin_path(plugin_);
    config.plugin.watch_interval = std::chrono::milliseconds(0);
    load_settings(reader, config);
  }

 private:
  std::string_view type_;
  std::set<Signal> signals_;
  const char* plugin_;
};

class ReceiverFactory : public BundledFactory<receivers::wasm::Config, ComponentKind::kReceiver> {
 public:
  using BundledFactory::BundledFactory;
  std::unique_ptr<Receiver> create_receiver(const ComponentContext& ctx,
                                            const ComponentConfig& config,
                                            SignalConsumers next) const override {
    return receivers::wasm::make_wasm_receiver(ctx, cast(config), next);
  }
  [[nodiscard]] Status check(const ComponentConfig& config,
                             const std::set<Signal>& signals) const override {
    return receivers::wasm::check_wasm_receiver(cast(config), signals);
  }
};

class ExporterFactory : public BundledFactory<exporters::wasm::Config, ComponentKind::kExporter> {
 public:
  using BundledFactory::BundledFactory;

 protected:
  // `endpoint` as the Go collector's exporters have it, a full URL (required): its origin
  // becomes the wasm exporter's endpoint; the URL (path included) is returned.
  static http_client::Url read_endpoint_url(ConfigReader& reader, exporters::wasm::Config& config,
                                            const std::string& example) {
    std::string endpoint;
    reader.read("endpoint", endpoint);
    http_client::Url url;
    if (endpoint.empty()) {
      reader.error("endpoint", "must be set, for example \"" + example + "\"");
    } else if (!http_client::split_url(endpoint, url)) {
      reader.error("endpoint", "expected an http:// or https:// URL, got \"" + endpoint + "\"");
    }
    config.endpoint = url.origin;
    if (url.path.empty()) url.path = "/";
    return url;
  }

 public:
  std::unique_ptr<Exporter> create_exporter(const ComponentContext& ctx,
                                            const ComponentConfig& config) const override {
    return exporters::wasm::make_wasm_exporter(ctx, cast(config));
  }
  [[nodiscard]] Status check(const ComponentConfig& config,
                             const std::set<Signal>& signals) const override {
    return exporters::wasm::check_wasm_exporter(cast(config), signals);
  }
};

}  // namespace weft::bundled
