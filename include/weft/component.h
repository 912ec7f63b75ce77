#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "weft/consumer.h"
#include "weft/status.h"

namespace spdlog {
class logger;
}

namespace weft {

namespace telemetry {
class Registry;
class AuditLog;
}  // namespace telemetry

// Something the collector reloads on SIGHUP and POST /plugins/reload (a plugin).
class Reloadable {
 public:
  virtual ~Reloadable() = default;
  // Loads its source again; on failure the running version stays and the error is returned.
  [[nodiscard]] virtual Status reload() = 0;
  // What is running now, for the reload report ("generation 3").
  [[nodiscard]] virtual std::string describe() const = 0;
};

class Extension;

// A plugin-backed component with a candidate version running beside it (a shadow run): GET
// /plugins/<id>/shadow reports, POST /plugins/<id>/promote makes the candidate live.
class Shadowed {
 public:
  virtual ~Shadowed() = default;
  // HTTP status and JSON body.
  [[nodiscard]] virtual std::pair<int, std::string> shadow_report() = 0;
  [[nodiscard]] virtual std::pair<int, std::string> promote() = 0;
};

// What components reach of the collector that runs them (the Go collector's component.Host).
class Host {
 public:
  virtual ~Host() = default;
  // From start() until remove_reloadable; `id` names it in reload reports.
  virtual void add_reloadable(const std::string& id, Reloadable* reloadable) = 0;
  // After this returns, no reload of it runs or will run.
  virtual void remove_reloadable(Reloadable* reloadable) = 0;
  // Shadow runs, under the component's id (a processor in several pipelines: "<id>@<pipeline>").
  virtual void add_shadowed(const std::string& id, Shadowed* shadowed) {
    (void)id;
    (void)shadowed;
  }
  virtual void remove_shadowed(Shadowed* shadowed) { (void)shadowed; }
  // The extension `id` if the service runs it (extensions start before everything else).
  [[nodiscard]] virtual Extension* extension(const std::string& id) const = 0;
};

// What a component gets from the collector when it is created.
struct ComponentContext {
  std::string id;  // "otlp", "otlp/2", ...
  telemetry::Registry* metrics = nullptr;
  std::shared_ptr<spdlog::logger> logger;
  telemetry::AuditLog* audit = nullptr;  // null: audit events go to the log only
  // A processor's pipeline ("traces/in"); empty for components shared between pipelines.
  std::string pipeline = {};
  Host* host = nullptr;  // null outside a running collector (weft validate, weft plugin test)
};

// Lifecycle shared by every component. shutdown() is safe without start()
// and safe twice, and drains what the component holds until the deadline.
class Component {
 public:
  virtual ~Component() = default;
  [[nodiscard]] virtual Status start() { return Status::ok(); }
  virtual void shutdown(std::chrono::steady_clock::time_point deadline) { (void)deadline; }
};

// One receiver instance serves every signal it is wired for.
struct SignalConsumers {
  Consumer* traces = nullptr;
  Consumer* metrics = nullptr;
  Consumer* logs = nullptr;

  [[nodiscard]] Consumer* for_signal(Signal signal) const {
    switch (signal) {
      case Signal::kTraces:
        return traces;
      case Signal::kMetrics:
        return metrics;
      case Signal::kLogs:
        return logs;
    }
    return nullptr;
  }
};

class Receiver : public Component {};
class Processor : public Component, public Consumer {};
// What an exporter knows of its destination, for a failover connector: a queued exporter
// takes data while its destination is down, so its consume() alone does not tell.
struct ExporterHealth {
  bool known = false;                 // false: the exporter does not say (taken as healthy)
  uint64_t consecutive_failures = 0;  // send attempts failed since the last success
  uint64_t reached = 0;               // send attempts that reached the destination, ever
};

class Exporter : public Component, public Consumer {
 public:
  [[nodiscard]] virtual ExporterHealth health() const { return {}; }
};
// Joins pipelines: the exporter end of one, the receiver end of another.
class Connector : public Component, public Consumer {};

class Extension : public Component {
 public:
  // Told once every pipeline has started, and again before shutdown begins.
  virtual void set_ready(bool ready) { (void)ready; }
};

}  // namespace weft
