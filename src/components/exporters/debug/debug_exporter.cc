#include <spdlog/spdlog.h>

#include "components/exporters/helper/queued_exporter.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "pdata/otlp_json.h"
#include "weft/config_reader.h"
#include "weft/factory.h"

namespace weft::exporters::debug {
namespace {

namespace collector = opentelemetry::proto::collector;

struct Config : ComponentConfig {
  std::string verbosity = "basic";
  ExporterSettings exporter;
  Config() {
    exporter.queue.enabled = false;
    exporter.retry.enabled = false;
  }
};

// One line per item: span names, metric names, log bodies.
void log_items(spdlog::logger& log, const pdata::Telemetry& data) {
  switch (data.signal()) {
    case Signal::kTraces: {
      const auto& req =
          static_cast<const collector::trace::v1::ExportTraceServiceRequest&>(data.message());
      for (const auto& rs : req.resource_spans())
        for (const auto& ss : rs.scope_spans())
          for (const auto& span : ss.spans())
            log.info("  span {} ({})", span.name(), ss.scope().name());
      break;
    }
    case Signal::kMetrics: {
      const auto& req =
          static_cast<const collector::metrics::v1::ExportMetricsServiceRequest&>(data.message());
      for (const auto& rm : req.resource_metrics())
        for (const auto& sm : rm.scope_metrics())
          for (const auto& metric : sm.metrics())
            log.info("  metric {} ({})", metric.name(), sm.scope().name());
      break;
    }
    case Signal::kLogs: {
      const auto& req =
          static_cast<const collector::logs::v1::ExportLogsServiceRequest&>(data.message());
      for (const auto& rl : req.resource_logs())
        for (const auto& sl : rl.scope_logs())
          for (const auto& record : sl.log_records())
            log.info("  log {} {}", record.severity_text(), record.body().string_value());
      break;
    }
  }
}

class DebugSender final : public Sender {
 public:
  DebugSender(const ComponentContext& ctx, const Config& config)
      : log_(ctx.logger), verbosity_(config.verbosity) {}

  Status send(const pdata::Telemetry& data, std::chrono::nanoseconds /*timeout*/) override {
    log_->info("{}: {} {}", signal_name(data.signal()), data.item_count(),
               item_noun(data.signal()));
    if (verbosity_ == "normal") log_items(*log_, data);
    if (verbosity_ == "detailed") {
      auto json = pdata::telemetry_to_json(data);
      if (json.ok()) log_->info("{}", json.value());
    }
    return Status::ok();
  }

 private:
  std::shared_ptr<spdlog::logger> log_;
  std::string verbosity_;
};

class Factory final : public FactoryFor<Config> {
 public:
  [[nodiscard]] ComponentKind kind() const override { return ComponentKind::kExporter; }
  [[nodiscard]] std::string_view type() const override { return "debug"; }
  // The Go collector's `logging` exporter, removed in its v0.111.0 for `debug`.
  [[nodiscard]] std::vector<std::string_view> deprecated_aliases() const override {
    return {"logging"};
  }

  std::unique_ptr<Exporter> create_exporter(const ComponentContext& ctx,
                                            const ComponentConfig& config) const override {
    const Config& c = cast(config);
    return std::make_unique<QueuedExporter>(ctx, c.exporter, std::make_unique<DebugSender>(ctx, c));
  }

 protected:
  void load(ConfigReader& reader, Config& config) const override {
    // `logging`'s loglevel, as that exporter read it: debug printed every item.
    if (reader.has("loglevel")) {
      if (reader.has("verbosity")) {
        reader.error("loglevel", "give verbosity or loglevel (the logging exporter's), not both");
      }
      std::string level;
      reader.read("loglevel", level);
      if (level == "debug") {
        config.verbosity = "detailed";
      } else if (level == "info") {
        config.verbosity = "normal";
      } else if (level == "warn" || level == "error") {
        config.verbosity = "basic";
      } else {
        reader.error("loglevel", "must be debug, info, warn or error, got \"" + level + "\"");
      }
    }
    reader.read("verbosity", config.verbosity);
    config.exporter.load(reader);
    if (config.verbosity != "basic" && config.verbosity != "normal" &&
        config.verbosity != "detailed") {
      reader.error("verbosity",
                   "must be basic, normal or detailed, got \"" + config.verbosity + "\"");
    }
  }
};

}  // namespace
}  // namespace weft::exporters::debug

WEFT_DEFINE_FACTORY(debug_exporter, weft::exporters::debug::Factory)
