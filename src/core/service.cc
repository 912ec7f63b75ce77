#include "core/service.h"

#include <spdlog/spdlog.h>

#include "core/yaml_json.h"
#include "wasm/plugin/directory.h"

namespace weft {

Service::Service(CollectorConfig config, std::shared_ptr<spdlog::sinks::sink> sink)
    : config_(std::move(config)), sink_(std::move(sink)) {
  logger_ = std::make_shared<spdlog::logger>("service", sink_);
  logger_->set_level(spdlog::level::from_str(config_.log_level));
}

Service::~Service() {
  shutdown();
}

ComponentContext Service::context(ComponentKind kind, const std::string& id) {
  auto logger = std::make_shared<spdlog::logger>(std::string(kind_name(kind)) + "/" + id, sink_);
  logger->set_level(logger_->level());
  return ComponentContext{id, &registry_, std::move(logger)};
}

Status Service::build() {
  for (const auto& id : config_.service_extensions) {
    const auto& entry = config_.extensions.at(id);
    extensions_.push_back(
        entry.factory->create_extension(context(ComponentKind::kExtension, id), *entry.config));
  }
  // Exporters: one instance per id, shared by every pipeline that lists it.
  for (const auto& p : config_.pipelines) {
    for (const auto& id : p.exporters) {
      if (exporters_.count(id) != 0) continue;
      const auto& entry = config_.exporters.at(id);
      exporters_[id] =
          entry.factory->create_exporter(context(ComponentKind::kExporter, id), *entry.config);
    }
  }
  // Pipelines, built back to front: processors are per pipeline.
  for (const auto& p : config_.pipelines) {
    Pipeline pipeline;
    pipeline.config = p;
    std::vector<Consumer*> exporters;
    for (const auto& id : p.exporters) exporters.push_back(exporters_.at(id).get());
    pipeline.to_exporters = std::make_unique<FanOut>(std::move(exporters));
    Consumer* next = pipeline.to_exporters.get();
    for (auto it = p.processors.rbegin(); it != p.processors.rend(); ++it) {
      const auto& entry = config_.processors.at(*it);
      auto processor = entry.factory->create_processor(context(ComponentKind::kProcessor, *it),
                                                       *entry.config, p.signal, next);
      next = processor.get();
      pipeline.processors.insert(pipeline.processors.begin(), std::move(processor));
    }
    pipeline.head = next;
    pipelines_.push_back(std::move(pipeline));
  }
  // Receivers: one instance per id, fanning out to every pipeline that lists it.
  std::map<std::string, std::map<Signal, std::vector<Consumer*>>> heads;
  for (const auto& pipeline : pipelines_) {
    for (const auto& id : pipeline.config.receivers) {
      heads[id][pipeline.config.signal].push_back(pipeline.head);
    }
  }
  for (auto& [id, by_signal] : heads) {
    SignalConsumers next;
    for (auto& [signal, consumers] : by_signal) {
      receiver_fanouts_.push_back(std::make_unique<FanOut>(consumers));
      Consumer* c = receiver_fanouts_.back().get();
      if (signal == Signal::kTraces) next.traces = c;
      if (signal == Signal::kMetrics) next.metrics = c;
      if (signal == Signal::kLogs) next.logs = c;
    }
    const auto& entry = config_.receivers.at(id);
    receivers_[id] =
        entry.factory->create_receiver(context(ComponentKind::kReceiver, id), *entry.config, next);
  }
  return Status::ok();
}

Status Service::start() {
  Status status = build();
  if (!status.is_ok()) return status;
  auto fail = [this](const std::string& what, const Status& s) {
    return Status::permanent(what + ": " + s.message());
  };
  for (auto& ext : extensions_) {
    if (Status s = ext->start(); !s.is_ok()) return fail("extension failed to start", s);
  }
  if (!config_.metrics_address.empty()) {
    metrics_server_ =
        std::make_unique<telemetry::MetricsServer>(config_.metrics_address, registry_);
    metrics_server_->add_action("/plugins/reload", [this] { return reload_plugins(); });
    if (Status s = metrics_server_->start(); !s.is_ok()) return fail("self-telemetry", s);
  }
  for (auto& [id, exporter] : exporters_) {
    if (Status s = exporter->start(); !s.is_ok()) return fail("exporter " + id, s);
  }
  for (auto& pipeline : pipelines_) {
    for (auto& processor : pipeline.processors) {
      if (Status s = processor->start(); !s.is_ok()) {
        return fail("processor in pipeline " + pipeline.config.id, s);
      }
    }
  }
  for (auto& [id, receiver] : receivers_) {
    if (Status s = receiver->start(); !s.is_ok()) return fail("receiver " + id, s);
  }
  for (auto& ext : extensions_) ext->set_ready(true);
  logger_->info("everything is ready: {} pipelines", pipelines_.size());
  return Status::ok();
}

std::pair<int, std::string> Service::reload_plugins() {
  auto reports = wasm::reload_all_plugins();
  bool all_ok = true;
  std::string body = "{\"plugins\":[";
  for (size_t i = 0; i < reports.size(); ++i) {
    const auto& r = reports[i];
    all_ok = all_ok && r.ok;
    logger_->log(r.ok ? spdlog::level::info : spdlog::level::err, "reload {}: {}", r.id, r.message);
    body += (i > 0 ? "," : "") + std::string("{\"id\":") + json_quote(r.id) +
            ",\"ok\":" + (r.ok ? "true" : "false") + ",\"message\":" + json_quote(r.message) + "}";
  }
  body += "]}";
  return {all_ok ? 200 : 500, body};
}

void Service::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  const auto deadline =
      std::chrono::steady_clock::now() +
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(config_.shutdown_timeout);
  for (auto& ext : extensions_) ext->set_ready(false);
  for (auto& [id, receiver] : receivers_) receiver->shutdown(deadline);
  for (auto& pipeline : pipelines_) {
    for (auto& processor : pipeline.processors) processor->shutdown(deadline);
  }
  for (auto& [id, exporter] : exporters_) exporter->shutdown(deadline);
  if (metrics_server_) metrics_server_->stop();
  for (auto& ext : extensions_) ext->shutdown(deadline);
  logger_->info("shutdown complete");
}

}  // namespace weft
