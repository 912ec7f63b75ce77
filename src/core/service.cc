#include "core/service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "util/yaml_json.h"

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
  ComponentContext ctx{id, &registry_, std::move(logger), audit_.get()};
  ctx.host = this;
  return ctx;
}

Extension* Service::extension(const std::string& id) const {
  const auto& ids = config_.service_extensions;
  for (size_t i = 0; i < ids.size() && i < extensions_.size(); ++i) {
    if (ids[i] == id) return extensions_[i].get();
  }
  return nullptr;
}

Status Service::build() {
  if (!config_.audit_path.empty()) {
    audit_ = std::make_unique<telemetry::AuditLog>(config_.audit_path);
    if (Status s = audit_->open(); !s.is_ok()) return s;
  }
  for (const auto& id : config_.service_extensions) {
    const auto& entry = config_.extensions.at(id);
    extensions_.push_back(
        entry.factory->create_extension(context(ComponentKind::kExtension, id), *entry.config));
  }
  // Exporters: one instance per id, shared by every pipeline that lists it.
  for (const auto& p : config_.pipelines) {
    for (const auto& id : p.exporters) {
      if (exporters_.count(id) != 0 || config_.exporters.count(id) == 0) continue;
      const auto& entry = config_.exporters.at(id);
      exporters_[id] =
          entry.factory->create_exporter(context(ComponentKind::kExporter, id), *entry.config);
    }
  }
  // Pipelines, built back to front: processors are per pipeline. Their exporter fan-out is
  // filled in once the connectors exist.
  for (const auto& p : config_.pipelines) {
    Pipeline pipeline;
    pipeline.config = p;
    pipeline.to_exporters = std::make_unique<FanOut>();
    Consumer* next = pipeline.to_exporters.get();
    for (auto it = p.processors.rbegin(); it != p.processors.rend(); ++it) {
      const auto& entry = config_.processors.at(*it);
      ComponentContext ctx = context(ComponentKind::kProcessor, *it);
      ctx.pipeline = p.id;
      auto processor = entry.factory->create_processor(ctx, *entry.config, p.signal, next);
      next = processor.get();
      pipeline.processors.insert(pipeline.processors.begin(), std::move(processor));
    }
    pipeline.head = next;
    pipelines_.push_back(std::move(pipeline));
  }
  // Where each receiver (or connector) id feeds, per signal.
  std::map<std::string, std::map<Signal, std::vector<Consumer*>>> heads;
  for (const auto& pipeline : pipelines_) {
    for (const auto& id : pipeline.config.receivers) {
      heads[id][pipeline.config.signal].push_back(pipeline.head);
    }
  }
  // A connector's outputs by pipeline, for the connectors that route.
  auto outputs_of = [&](const std::string& id, Signal out) {
    ConnectorOutputs outputs;
    for (const auto& pipeline : pipelines_) {
      const auto& r = pipeline.config.receivers;
      if (pipeline.config.signal != out || std::find(r.begin(), r.end(), id) == r.end()) continue;
      ConnectorOutputs::Pipeline p{pipeline.config.id, pipeline.head, {}};
      for (const auto& e : pipeline.config.exporters) {
        if (auto it = exporters_.find(e); it != exporters_.end())
          p.exporters.push_back(it->second.get());
      }
      outputs.pipelines.push_back(std::move(p));
    }
    return outputs;
  };
  // Connectors: one instance per (id, input signal, output signal).
  for (const auto& [id, entry] : config_.connectors) {
    std::set<Signal> in;
    for (const auto& p : config_.pipelines) {
      for (const auto& e : p.exporters) {
        if (e == id) in.insert(p.signal);
      }
    }
    for (Signal i : in) {
      for (auto& [out, consumers] : heads[id]) {
        ConnectorInstance c{id, i, out, std::make_unique<FanOut>(consumers), nullptr};
        ConnectorOutputs outputs = outputs_of(id, out);
        outputs.all = c.next.get();
        c.connector = entry.factory->create_connector(context(ComponentKind::kConnector, id),
                                                      *entry.config, i, out, outputs);
        connectors_.push_back(std::move(c));
      }
    }
  }
  for (auto& pipeline : pipelines_) {
    for (const auto& id : pipeline.config.exporters) {
      if (auto it = exporters_.find(id); it != exporters_.end()) {
        pipeline.to_exporters->add(it->second.get());
        continue;
      }
      for (auto& c : connectors_) {
        if (c.id == id && c.in == pipeline.config.signal)
          pipeline.to_exporters->add(c.connector.get());
      }
    }
  }
  // Receivers: one instance per id, fanning out to every pipeline that lists it.
  for (auto& [id, by_signal] : heads) {
    if (config_.receivers.count(id) == 0) continue;  // a connector
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
  // The tables (loaded with the config) are watched from here on, and their lookups counted.
  lookup::tables().start(&registry_, logger_);
  for (auto& ext : extensions_) {
    if (Status s = ext->start(); !s.is_ok()) return fail("extension failed to start", s);
  }
  if (!config_.metrics_address.empty()) {
    metrics_server_ = std::make_unique<telemetry::MetricsServer>(config_.metrics_address, registry_,
                                                                 config_.metrics_tls);
    metrics_server_->add_action("/plugins/reload", [this] { return reload_plugins(); });
    metrics_server_->set_plugin_handler(
        [this](const std::string& method, const std::string& id, const std::string& what) {
          return plugin_action(method, id, what);
        });
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
  for (auto& c : connectors_) {
    if (Status s = c.connector->start(); !s.is_ok()) return fail("connector " + c.id, s);
  }
  for (auto& [id, receiver] : receivers_) {
    if (Status s = receiver->start(); !s.is_ok()) return fail("receiver " + id, s);
  }
  for (auto& ext : extensions_) ext->set_ready(true);
  logger_->info("everything is ready: {} pipelines", pipelines_.size());
  return Status::ok();
}

void Service::add_reloadable(const std::string& id, Reloadable* reloadable) {
  std::lock_guard lock(reload_mu_);
  reloadables_[id] = reloadable;
}

void Service::remove_reloadable(Reloadable* reloadable) {
  std::lock_guard lock(reload_mu_);
  std::erase_if(reloadables_,
                [reloadable](const auto& entry) { return entry.second == reloadable; });
}

void Service::add_shadowed(const std::string& id, Shadowed* shadowed) {
  std::lock_guard lock(reload_mu_);
  shadowed_[id] = shadowed;
}

void Service::remove_shadowed(Shadowed* shadowed) {
  std::lock_guard lock(reload_mu_);
  std::erase_if(shadowed_, [shadowed](const auto& entry) { return entry.second == shadowed; });
}

std::pair<int, std::string> Service::plugin_action(const std::string& method, const std::string& id,
                                                   const std::string& what) {
  std::lock_guard lock(reload_mu_);
  Shadowed* found = nullptr;
  auto it = shadowed_.find(id);
  if (it != shadowed_.end()) {
    found = it->second;
  } else {  // the processor's id alone, if only one pipeline runs it
    for (const auto& [key, shadowed] : shadowed_) {
      if (key.rfind(id + "@", 0) == 0) {
        if (found != nullptr) {
          return {409, R"({"error":"the processor is in several pipelines: name one, )" +
                           std::string(R"(<id>@<pipeline>"})")};
        }
        found = shadowed;
      }
    }
  }
  if (found == nullptr) {
    return {404, "{\"error\":" + json_quote("no shadow run for " + id) + "}"};
  }
  if (what == "promote") {
    if (method != "POST") return {405, R"({"error":"promote is a POST"})"};
    return found->promote();
  }
  if (method != "GET") return {405, R"({"error":"the report is a GET"})"};
  return found->shadow_report();
}

std::pair<int, std::string> Service::reload_plugins() {
  std::lock_guard lock(reload_mu_);
  bool all_ok = true;
  std::string body = "{\"plugins\":[";
  bool first = true;
  for (const auto& [id, reloadable] : reloadables_) {
    const Status status = reloadable->reload();
    const std::string message = status.is_ok() ? reloadable->describe() : status.message();
    all_ok = all_ok && status.is_ok();
    logger_->log(status.is_ok() ? spdlog::level::info : spdlog::level::err, "reload {}: {}", id,
                 message);
    body += (first ? "" : ",") + std::string("{\"id\":") + json_quote(id) +
            ",\"ok\":" + (status.is_ok() ? "true" : "false") +
            ",\"message\":" + json_quote(message) + "}";
    first = false;
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
  // Pipelines drain in data-flow order: a pipeline fed by a connector goes after
  // the pipelines that feed that connector.
  std::vector<bool> pipeline_done(pipelines_.size(), false);
  std::vector<bool> connector_done(connectors_.size(), false);
  for (bool progress = true; progress;) {
    progress = false;
    for (size_t i = 0; i < pipelines_.size(); ++i) {
      if (pipeline_done[i]) continue;
      bool ready = true;
      for (size_t k = 0; k < connectors_.size(); ++k) {
        const auto& receivers = pipelines_[i].config.receivers;
        const bool feeds =
            std::find(receivers.begin(), receivers.end(), connectors_[k].id) != receivers.end();
        if (feeds && !connector_done[k]) ready = false;
      }
      if (!ready) continue;
      for (auto& processor : pipelines_[i].processors) processor->shutdown(deadline);
      pipeline_done[i] = progress = true;
    }
    for (size_t k = 0; k < connectors_.size(); ++k) {
      if (connector_done[k]) continue;
      bool inputs_done = true;
      for (size_t i = 0; i < pipelines_.size(); ++i) {
        const auto& exporters = pipelines_[i].config.exporters;
        if (!pipeline_done[i] &&
            std::find(exporters.begin(), exporters.end(), connectors_[k].id) != exporters.end()) {
          inputs_done = false;
        }
      }
      if (!inputs_done) continue;
      connectors_[k].connector->shutdown(deadline);
      connector_done[k] = progress = true;
    }
  }
  for (size_t i = 0; i < pipelines_.size(); ++i) {  // a cycle, which validation should forbid
    if (!pipeline_done[i]) {
      for (auto& processor : pipelines_[i].processors) processor->shutdown(deadline);
    }
  }
  for (size_t k = 0; k < connectors_.size(); ++k) {
    if (!connector_done[k]) connectors_[k].connector->shutdown(deadline);
  }
  for (auto& [id, exporter] : exporters_) exporter->shutdown(deadline);
  if (metrics_server_) metrics_server_->stop();
  for (auto& ext : extensions_) ext->shutdown(deadline);
  lookup::tables().stop();
  logger_->info("shutdown complete");
}

}  // namespace weft
