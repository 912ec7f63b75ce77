#include <spdlog/spdlog.h>

#include "components/common/router.h"
#include "wasm/plugin/directory.h"
#include "wasm/plugin/plugin.h"
#include "wasm/plugin/settings.h"
#include "weft/config_reader.h"
#include "weft/factory.h"
#include "weft/metrics.h"

namespace weft::connectors::wasm {
namespace {

using weft::wasm::OnError;
using weft::wasm::Outcome;
using weft::wasm::PluginSettings;

struct Config : weft::wasm::PluginConfig {
  // A routing plugin's routes (ABI 1.4): route k is routes[k-1]; route 0 default_pipelines.
  std::vector<std::string> routes;
  std::vector<std::string> default_pipelines;
};

// A plugin that consumes one pipeline's signal and either emits another's through
// weft.emit (spans in, metrics out) to the pipelines that list the connector as a
// receiver, or routes the batch's items among them (weft.result_route).
class WasmConnector final : public Connector {
 public:
  WasmConnector(const ComponentContext& ctx, const Config& config, Signal in, Signal out,
                const ConnectorOutputs& outputs)
      : ctx_(ctx),
        settings_(config.plugin),
        next_(outputs.all),
        what_(std::string(signal_name(in)) + ">" + std::string(signal_name(out))),
        routes_(in == out),
        router_(ctx, out, outputs) {
    Targets fallback = 0;
    for (const auto& p : config.default_pipelines) fallback |= router_.bit(p);
    route_targets_.push_back(fallback);
    for (const auto& p : config.routes) route_targets_.push_back(router_.bit(p));
    settings_.signals = {in};
    settings_.emits = out;
    failed_ =
        &ctx.metrics->counter("otelcol_connector_failed_" + std::string(item_noun(in)),
                              "Items a connector's plugin failed on.", {{"connector", ctx.id}});
  }
  ~WasmConnector() override { shutdown(std::chrono::steady_clock::now()); }

  Status start() override { return plugin_.start(settings_, ctx_, what_); }

  void shutdown(std::chrono::steady_clock::time_point) override {
    router_.stop();
    plugin_.stop();
  }

  Status consume(pdata::Telemetry&& data) override {
    if (plugin_.get() == nullptr)
      return Status::retryable("wasm connector " + ctx_.id + " is not running");
    const size_t items = data.item_count();
    Outcome outcome = plugin_.get()->process(data);
    if (outcome.kind == Outcome::kFailed) {
      failed_->add(items);
      if (settings_.on_error == OnError::kReject) {
        return Status::retryable("plugin " + ctx_.id + " failed: " + outcome.error,
                                 std::chrono::seconds(1));
      }
      ctx_.logger->error("plugin failed on {} {}: {}", items, item_noun(data.signal()),
                         outcome.error);
      return Status::ok();  // pass and drop agree here: the input ends in a connector
    }
    if (outcome.routes) return route(outcome.output ? *outcome.output : data, *outcome.routes);
    Status result;
    for (auto& emitted : outcome.emitted) {
      Status s = next_->consume(std::move(emitted));
      if (!s.is_ok() && result.is_ok()) result = s;
    }
    return result;
  }

 private:
  // Hands each item to the pipelines of its route; a route the connector lacks fails the call.
  Status route(pdata::Telemetry& data, const std::string& routes) {
    if (!routes_) {
      failed_->add(data.item_count());
      return Status::permanent("plugin " + ctx_.id +
                               " routed items, but the connector's input and output signals "
                               "differ (routing hands on the batch's own items)");
    }
    std::vector<Targets> targets(routes.size());
    for (size_t i = 0; i < routes.size(); ++i) {
      const auto r = static_cast<uint8_t>(routes[i]);
      if (r == 255) continue;  // no route: dropped, counted by the router
      if (r >= route_targets_.size()) {
        failed_->add(data.item_count());
        ctx_.logger->error("plugin routed an item to route {}, the connector has {} (routes:)", r,
                           route_targets_.size() - 1);
        return Status::permanent("plugin " + ctx_.id + " named route " + std::to_string(r) +
                                 ", which the connector does not have");
      }
      targets[i] = route_targets_[r];
    }
    return router_.deliver(std::move(data), targets);
  }

  ComponentContext ctx_;
  PluginSettings settings_;
  Consumer* next_;
  std::string what_;  // the signals, for the reload key
  bool routes_;       // input and output are one signal: the plugin may route
  Router router_;
  std::vector<Targets> route_targets_;  // [0] the default pipelines, [k] routes[k-1]
  telemetry::Counter* failed_;
  weft::wasm::RunningPlugin plugin_;
};

class Factory final : public weft::wasm::PluginFactory {
 public:
  [[nodiscard]] std::unique_ptr<ComponentConfig> create_default_config() const override {
    return std::make_unique<Config>();
  }
  [[nodiscard]] ComponentKind kind() const override { return ComponentKind::kConnector; }
  [[nodiscard]] std::string_view type() const override { return "wasm"; }
  [[nodiscard]] bool connects(Signal, Signal) const override { return true; }

  std::unique_ptr<Connector> create_connector(const ComponentContext& ctx,
                                              const ComponentConfig& config, Signal in, Signal out,
                                              const ConnectorOutputs& outputs) const override {
    return std::make_unique<WasmConnector>(ctx, static_cast<const Config&>(config), in, out,
                                           outputs);
  }

  [[nodiscard]] Status check_outputs(const ComponentConfig& config, Signal out,
                                     const std::vector<std::string>& outputs) const override {
    const auto& c = static_cast<const Config&>(config);
    if (c.routes.empty() && c.default_pipelines.empty()) return Status::ok();  // emits only
    if (c.routes.size() > 254) return Status::invalid_argument("at most 254 routes");
    std::vector<std::string> named = c.routes;
    named.insert(named.end(), c.default_pipelines.begin(), c.default_pipelines.end());
    return check_named_outputs(named, out, outputs, "routes to pipeline");
  }

 protected:
  void load(ConfigReader& reader, weft::wasm::PluginConfig& config) const override {
    auto& c = static_cast<Config&>(config);
    reader.read("routes", c.routes);
    reader.read("default_pipelines", c.default_pipelines);
    PluginFactory::load(reader, config);
  }
};

}  // namespace
}  // namespace weft::connectors::wasm

WEFT_DEFINE_FACTORY(wasm_connector, weft::connectors::wasm::Factory)
