#include <spdlog/spdlog.h>

#include <atomic>
#include <mutex>

#include "util/yaml_json.h"
#include "wasm/plugin/directory.h"
#include "wasm/plugin/plugin.h"
#include "wasm/plugin/settings.h"
#include "wasm/plugin/shadow.h"
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
class WasmProcessor final : public Processor, public Shadowed {
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

  Status start() override {
    if (Status s = plugin_.start(settings_, ctx_, what_); !s.is_ok()) return s;
    if (settings_.shadow_path.empty()) return Status::ok();
    return start_shadow();
  }

  void shutdown(std::chrono::steady_clock::time_point) override {
    stop_shadow();
    plugin_.stop();
  }

  std::pair<int, std::string> shadow_report() override {
    auto shadow = shadow_.load();
    if (!shadow) return {404, R"j({"error":"no shadow run (none configured, or promoted)"})j"};
    return {200, shadow->report(plugin_.get()->path() + " generation " +
                                std::to_string(plugin_.get()->generation()))};
  }

  std::pair<int, std::string> promote() override {
    std::lock_guard lock(promote_mu_);
    auto shadow = shadow_.load();
    if (!shadow) return {404, R"({"error":"no shadow run to promote"})"};
    const Status s = plugin_.get()->switch_to(shadow->candidate_path(), "shadow candidate");
    if (!s.is_ok()) {
      return {500, "{\"ok\":false,\"message\":" + json_quote(s.message()) + "}"};
    }
    // The shadow ends (its report answers 404 from now on); it stays registered until shutdown,
    // since the service calls this with its registry locked.
    shadow_.store(nullptr);
    ctx_.logger->info("promoted the shadow candidate {}: generation {}", shadow->candidate_path(),
                      plugin_.get()->generation());
    return {200, "{\"ok\":true,\"generation\":" + std::to_string(plugin_.get()->generation()) +
                     ",\"plugin\":" + json_quote(shadow->candidate_path()) + "}"};
  }

  Status consume(pdata::Telemetry&& data) override {
    if (plugin_.get() == nullptr)
      return Status::retryable("wasm processor " + ctx_.id + " is not running");
    const size_t items = data.item_count();
    Outcome outcome = plugin_.get()->process(data);
    if (auto shadow = shadow_.load()) offer(*shadow, data, outcome);
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
  Status start_shadow() {
    auto engine = weft::wasm::shared_engine();
    if (!engine.ok()) return engine.status();
    PluginSettings candidate = settings_;
    candidate.path = settings_.shadow_path;
    if (settings_.shadow_config_json) candidate.config_json = *settings_.shadow_config_json;
    candidate.watch_interval = std::chrono::milliseconds(0);
    candidate.anomaly = {};
    ComponentContext shadow_ctx = ctx_;
    shadow_ctx.id = ctx_.id + "#shadow";
    auto plugin = weft::wasm::Plugin::load(engine.value(), candidate, shadow_ctx);
    if (!plugin.ok()) return Status::permanent("shadow: " + plugin.status().message());
    shadow_.store(
        std::make_shared<weft::wasm::ShadowRun>(plugin.value(), settings_.shadow_path, ctx_));
    if (ctx_.host != nullptr) {
      ctx_.host->add_shadowed(ctx_.id + "@" + ctx_.pipeline, this);
      registered_ = true;
    }
    ctx_.logger->info("shadow run of {} beside the live version", settings_.shadow_path);
    return Status::ok();
  }

  void stop_shadow() {
    if (registered_ && ctx_.host != nullptr) ctx_.host->remove_shadowed(this);
    registered_ = false;
    shadow_.store(nullptr);
  }

  // A copy of the batch and of what the live version made of it, for the shadow's thread.
  static void offer(weft::wasm::ShadowRun& shadow, const pdata::Telemetry& data,
                    const Outcome& outcome) {
    Outcome live;
    live.kind = outcome.kind;
    live.keep_mask = outcome.keep_mask;
    live.replaced = outcome.replaced;
    live.edited = outcome.edited;
    // A keep-mask alone needs no copy of the output: the mask says which items went on.
    if (outcome.output && (outcome.edited || outcome.replaced || !outcome.keep_mask)) {
      live.output = outcome.output->clone();
    }
    if (outcome.kind == Outcome::kFailed) return;  // nothing to compare with
    shadow.offer(data.clone(), std::move(live));
  }

  ComponentContext ctx_;
  PluginSettings settings_;
  Signal signal_;
  Consumer* next_;
  std::string what_;  // the signals, for the reload key
  telemetry::Counter* dropped_;
  weft::wasm::RunningPlugin plugin_;
  std::atomic<std::shared_ptr<weft::wasm::ShadowRun>> shadow_;
  std::mutex promote_mu_;
  bool registered_ = false;
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
