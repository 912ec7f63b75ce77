#include <spdlog/spdlog.h>

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

using Config = weft::wasm::PluginConfig;

// A plugin that consumes one pipeline's signal and emits another's through
// weft.emit (spans in, metrics out). The input batch ends here; what the plugin
// emits goes to the pipelines that list the connector as a receiver.
class WasmConnector final : public Connector {
 public:
  WasmConnector(const ComponentContext& ctx, const Config& config, Signal in, Signal out,
                Consumer* next)
      : ctx_(ctx),
        settings_(config.plugin),
        next_(next),
        what_(std::string(signal_name(in)) + ">" + std::string(signal_name(out))) {
    settings_.signals = {in};
    settings_.emits = out;
    failed_ =
        &ctx.metrics->counter("otelcol_connector_failed_" + std::string(item_noun(in)),
                              "Items a connector's plugin failed on.", {{"connector", ctx.id}});
  }
  ~WasmConnector() override { shutdown(std::chrono::steady_clock::now()); }

  Status start() override { return plugin_.start(settings_, ctx_, what_); }

  void shutdown(std::chrono::steady_clock::time_point) override { plugin_.stop(); }

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
    Status result;
    for (auto& emitted : outcome.emitted) {
      Status s = next_->consume(std::move(emitted));
      if (!s.is_ok() && result.is_ok()) result = s;
    }
    return result;
  }

 private:
  ComponentContext ctx_;
  PluginSettings settings_;
  Consumer* next_;
  std::string what_;  // the signals, for the reload key
  telemetry::Counter* failed_;
  weft::wasm::RunningPlugin plugin_;
};

class Factory final : public weft::wasm::PluginFactory {
 public:
  [[nodiscard]] ComponentKind kind() const override { return ComponentKind::kConnector; }
  [[nodiscard]] std::string_view type() const override { return "wasm"; }
  [[nodiscard]] bool connects(Signal, Signal) const override { return true; }

  std::unique_ptr<Connector> create_connector(const ComponentContext& ctx,
                                              const ComponentConfig& config, Signal in, Signal out,
                                              const ConnectorOutputs& outputs) const override {
    return std::make_unique<WasmConnector>(ctx, cast(config), in, out, outputs.all);
  }
};

}  // namespace
}  // namespace weft::connectors::wasm

WEFT_DEFINE_FACTORY(wasm_connector, weft::connectors::wasm::Factory)
