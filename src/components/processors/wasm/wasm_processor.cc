#include <spdlog/spdlog.h>

#include "wasm/plugin/directory.h"
#include "wasm/plugin/plugin.h"
#include "wasm/plugin/settings.h"
#include "weft/config_reader.h"
#include "weft/factory.h"
#include "weft/metrics.h"

namespace weft::processors::wasm {
namespace {

using weft::wasm::OnError;
using weft::wasm::Outcome;
using weft::wasm::PluginSettings;

using Config = weft::wasm::PluginConfig;

// Runs a WebAssembly plugin on every batch (docs/abi.md). A failing plugin
// gets its on_error policy; it never takes the pipeline down.
class WasmProcessor final : public Processor {
 public:
  WasmProcessor(const ComponentContext& ctx, const Config& config, Signal signal, Consumer* next)
      : ctx_(ctx),
        settings_(config.plugin),
        signal_(signal),
        next_(next),
        what_(std::string(signal_name(signal))) {
    settings_.signals = {signal};
    dropped_ = &ctx.metrics->counter("otelcol_processor_dropped_" + std::string(item_noun(signal)),
                                     "Items dropped by the processor.", {{"processor", ctx.id}});
  }
  ~WasmProcessor() override { shutdown(std::chrono::steady_clock::now()); }

  Status start() override { return plugin_.start(settings_, ctx_, what_); }

  void shutdown(std::chrono::steady_clock::time_point) override { plugin_.stop(); }

  Status consume(pdata::Telemetry&& data) override {
    if (plugin_.get() == nullptr)
      return Status::retryable("wasm processor " + ctx_.id + " is not running");
    const size_t items = data.item_count();
    Outcome outcome = plugin_.get()->process(data);
    switch (outcome.kind) {
      case Outcome::kDropped:
        return Status::ok();
      case Outcome::kKept: {
        pdata::Telemetry& out = outcome.output ? *outcome.output : data;
        if (out.item_count() == 0) return Status::ok();  // everything filtered out
        return next_->consume(std::move(out));
      }
      case Outcome::kFailed:
        break;
    }
    switch (settings_.on_error) {
      case OnError::kPass:
        ctx_.logger->warn("plugin failed, passing the batch on unchanged: {}", outcome.error);
        return next_->consume(std::move(data));
      case OnError::kDrop:
        dropped_->add(items);
        ctx_.logger->error("plugin failed, dropped {} {}: {}", items, item_noun(signal_),
                           outcome.error);
        return Status::ok();
      case OnError::kReject:
        return Status::retryable("plugin " + ctx_.id + " failed: " + outcome.error,
                                 std::chrono::seconds(1));
    }
    return Status::ok();
  }

 private:
  ComponentContext ctx_;
  PluginSettings settings_;
  Signal signal_;
  Consumer* next_;
  std::string what_;  // the signals, for the reload key
  telemetry::Counter* dropped_;
  weft::wasm::RunningPlugin plugin_;
};

class Factory final : public weft::wasm::PluginFactory {
 public:
  [[nodiscard]] ComponentKind kind() const override { return ComponentKind::kProcessor; }
  [[nodiscard]] std::string_view type() const override { return "wasm"; }

  std::unique_ptr<Processor> create_processor(const ComponentContext& ctx,
                                              const ComponentConfig& config, Signal signal,
                                              Consumer* next) const override {
    return std::make_unique<WasmProcessor>(ctx, cast(config), signal, next);
  }
};

}  // namespace
}  // namespace weft::processors::wasm

WEFT_DEFINE_FACTORY(wasm_processor, weft::processors::wasm::Factory)
