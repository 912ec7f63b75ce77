#include <spdlog/spdlog.h>

#include "components/common/router.h"
#include "components/connectors/routing/condition.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "weft/config_reader.h"
#include "weft/factory.h"

// The Go collector's routing connector: a table of conditions, each naming pipelines; an item
// goes to the pipelines of the first row that matches it (match_once: false, every row that
// matches), else to default_pipelines, else nowhere (counted).
namespace weft::connectors::routing {
namespace {

namespace v1 = opentelemetry::proto;

struct Row {
  Condition condition;
  std::vector<std::string> pipelines;
};

struct Config : ComponentConfig {
  std::vector<Row> table;
  std::vector<std::string> default_pipelines;
  bool match_once = true;
  std::string error_mode = "propagate";
};

class RoutingConnector final : public Connector {
 public:
  RoutingConnector(const ComponentContext& ctx, const Config& config, Signal signal,
                   const ConnectorOutputs& outputs)
      : ctx_(ctx), config_(config), router_(ctx, signal, outputs) {
    for (const auto& row : config.table) {
      Targets t = 0;
      for (const auto& p : row.pipelines) t |= router_.bit(p);
      rows_.push_back(t);
      per_item_ |= row.condition.context() != Context::kResource &&
                   row.condition.context() != Context::kRequest;
      per_resource_ |= row.condition.context() == Context::kResource;
    }
    for (const auto& p : config.default_pipelines) default_ |= router_.bit(p);
  }
  ~RoutingConnector() override { shutdown(std::chrono::steady_clock::now()); }

  void shutdown(std::chrono::steady_clock::time_point) override { router_.stop(); }

  Status consume(pdata::Telemetry&& data) override {
    if (!per_item_ && !per_resource_) {  // request conditions only: one decision, no decoding
      Subject s;
      s.client = data.client().get();
      return router_.deliver(std::move(data), decide(s));
    }
    if (!data.decodes()) {
      // Items the receiver checked but that do not decode in full (invalid UTF-8 deep inside)
      // cannot be looked at: they go where nothing matched.
      ctx_.logger->warn("a batch that does not decode in full went to the default pipelines");
      return router_.deliver(std::move(data), default_);
    }
    std::vector<Targets> targets;
    targets.reserve(data.item_count());
    walk(data, targets);
    if (targets.size() != data.item_count()) return router_.deliver(std::move(data), default_);
    return router_.deliver(std::move(data), targets);
  }

 private:
  Targets decide(const Subject& s) const {
    Targets t = 0;
    for (size_t i = 0; i < rows_.size(); ++i) {
      if (!config_.table[i].condition.matches(s)) continue;
      t |= rows_[i];
      if (config_.match_once) return t;
    }
    return t != 0 ? t : default_;
  }

  void walk(const pdata::Telemetry& data, std::vector<Targets>& out) const {
    const auto* client = data.client().get();
    switch (data.signal()) {
      case Signal::kTraces: {
        const auto& req =
            static_cast<const v1::collector::trace::v1::ExportTraceServiceRequest&>(data.message());
        for (const auto& rs : req.resource_spans()) {
          Subject base;
          base.resource = &rs.resource().attributes();
          base.client = client;
          if (!per_item_) {
            size_t n = 0;
            for (const auto& ss : rs.scope_spans()) n += static_cast<size_t>(ss.spans_size());
            out.insert(out.end(), n, decide(base));
            continue;
          }
          for (const auto& ss : rs.scope_spans()) {
            for (const auto& span : ss.spans()) {
              Subject s = base;
              s.attributes = &span.attributes();
              s.name = span.name();
              out.push_back(decide(s));
            }
          }
        }
        break;
      }
      case Signal::kLogs: {
        const auto& req =
            static_cast<const v1::collector::logs::v1::ExportLogsServiceRequest&>(data.message());
        for (const auto& rl : req.resource_logs()) {
          Subject base;
          base.resource = &rl.resource().attributes();
          base.client = client;
          if (!per_item_) {
            size_t n = 0;
            for (const auto& sl : rl.scope_logs()) n += static_cast<size_t>(sl.log_records_size());
            out.insert(out.end(), n, decide(base));
            continue;
          }
          for (const auto& sl : rl.scope_logs()) {
            for (const auto& log : sl.log_records()) {
              Subject s = base;
              s.attributes = &log.attributes();
              s.severity_number = log.severity_number();
              s.severity_text = log.severity_text();
              out.push_back(decide(s));
            }
          }
        }
        break;
      }
      case Signal::kMetrics: {
        const auto& req =
            static_cast<const v1::collector::metrics::v1::ExportMetricsServiceRequest&>(
                data.message());
        for (const auto& rm : req.resource_metrics()) {
          Subject base;
          base.resource = &rm.resource().attributes();
          base.client = client;
          const Targets resource_targets = per_item_ ? 0 : decide(base);
          for (const auto& sm : rm.scope_metrics()) {
            for (const auto& m : sm.metrics()) {
              auto points = [&](const auto& list) {
                for (const auto& p : list) {
                  if (!per_item_) {
                    out.push_back(resource_targets);
                    continue;
                  }
                  Subject s = base;
                  s.attributes = &p.attributes();
                  s.name = m.name();
                  s.metric_name = m.name();
                  out.push_back(decide(s));
                }
              };
              if (m.has_gauge()) points(m.gauge().data_points());
              if (m.has_sum()) points(m.sum().data_points());
              if (m.has_histogram()) points(m.histogram().data_points());
              if (m.has_exponential_histogram()) points(m.exponential_histogram().data_points());
              if (m.has_summary()) points(m.summary().data_points());
            }
          }
        }
        break;
      }
    }
  }

  ComponentContext ctx_;
  const Config& config_;
  Router router_;
  std::vector<Targets> rows_;  // each row's pipelines
  Targets default_ = 0;
  bool per_item_ = false;      // a row in the span, log, metric or datapoint context
  bool per_resource_ = false;  // a row in the resource context
};

class Factory final : public FactoryFor<Config> {
 public:
  [[nodiscard]] ComponentKind kind() const override { return ComponentKind::kConnector; }
  [[nodiscard]] std::string_view type() const override { return "routing"; }
  [[nodiscard]] bool connects(Signal in, Signal out) const override { return in == out; }

  [[nodiscard]] Status check_outputs(const ComponentConfig& config, Signal out,
                                     const std::vector<std::string>& outputs) const override {
    const auto& c = cast(config);
    std::vector<std::string> named = c.default_pipelines;
    for (const auto& row : c.table)
      named.insert(named.end(), row.pipelines.begin(), row.pipelines.end());
    return check_named_outputs(named, out, outputs, "routes to pipeline");
  }

  std::unique_ptr<Connector> create_connector(const ComponentContext& ctx,
                                              const ComponentConfig& config, Signal in, Signal,
                                              const ConnectorOutputs& outputs) const override {
    return std::make_unique<RoutingConnector>(ctx, cast(config), in, outputs);
  }

 protected:
  void load(ConfigReader& reader, Config& config) const override {
    reader.read("default_pipelines", config.default_pipelines);
    reader.read("match_once", config.match_once);
    reader.read("error_mode", config.error_mode);
    if (config.error_mode != "propagate" && config.error_mode != "ignore" &&
        config.error_mode != "silent") {
      reader.error("error_mode", "must be propagate, ignore or silent");
    }
    if (!reader.has("table")) reader.error("table", "a routing connector needs a table");
    for (ConfigReader& item : reader.items("table")) {
      std::string context_name = "resource", statement, condition;
      item.read("context", context_name);
      item.read("statement", statement);
      item.read("condition", condition);
      Row row;
      item.read("pipelines", row.pipelines);
      if (row.pipelines.empty()) item.error("pipelines", "a row needs the pipelines it routes to");
      auto context = parse_context(context_name);
      if (!context) {
        item.error("context", "must be resource, request, span, log, metric or datapoint");
        continue;
      }
      if (statement.empty() == condition.empty()) {
        item.error(condition.empty() ? "statement" : "condition",
                   "a row has either a statement or a condition");
        continue;
      }
      if (*context == Context::kRequest && condition.empty()) {
        item.error("statement", "the request context takes a condition, not a statement");
        continue;
      }
      auto parsed =
          Condition::parse(statement.empty() ? condition : statement, *context, !statement.empty());
      if (!parsed.ok()) {
        item.error(statement.empty() ? "condition" : "statement", parsed.status().message());
        continue;
      }
      row.condition = std::move(*parsed);
      config.table.push_back(std::move(row));
    }
  }
};

}  // namespace
}  // namespace weft::connectors::routing

WEFT_DEFINE_FACTORY(routing_connector, weft::connectors::routing::Factory)
