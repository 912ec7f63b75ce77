#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "weft/component.h"
#include "weft/factory.h"
#include "weft/metrics.h"

// Hands the parts of a batch to the output pipelines each item is routed to: the routing
// connector, a wasm connector whose plugin routes, the failover connector.
namespace weft::connectors {

// The output pipelines of an item, one bit per pipeline (at most 64; bit i is
// outputs.pipelines[i]); 0 drops the item.
using Targets = uint64_t;
inline constexpr size_t kMaxOutputs = 64;

// How long a connector keeps offering a refused part to its pipeline when another part of the
// same batch was taken: handing the sender a retryable error would have it send the taken
// parts again.
inline constexpr std::chrono::seconds kPartialRetryFor{5};

// For Factory::check_outputs: at most kMaxOutputs outputs, and every pipeline of signal `out`
// in `named` among them (names of another signal's pipelines are for that signal's instance).
// `what` begins the message: "routes to pipeline", "priority_levels names pipeline".
Status check_named_outputs(const std::vector<std::string>& named, Signal out,
                           const std::vector<std::string>& outputs, const std::string& what);

class Router {
 public:
  // Counts in otelcol-style series under the connector's id: items routed per pipeline, items
  // no route took, parts refused while others were taken.
  Router(const ComponentContext& ctx, Signal signal, const ConnectorOutputs& outputs);

  [[nodiscard]] size_t outputs() const { return pipelines_.size(); }
  // The bit of an output pipeline, or 0 if the connector does not feed it.
  [[nodiscard]] Targets bit(const std::string& pipeline) const;

  // Every item to the same pipelines (nothing is split): one call each, the batch itself to
  // the last one.
  Status deliver(pdata::Telemetry&& data, Targets targets);
  // targets[i] for item i. Each pipeline gets exactly its items; a pipeline's refusal never
  // makes the sender send again what another pipeline took:
  //  - nothing taken: the refusal goes back as it came (retryable: the sender retries all);
  //  - some parts taken, some refused for good: ok, with the refused items counted as rejected
  //    (Status::partial);
  //  - some taken, some refused retryably: the refused parts are offered again, with backoff,
  //    for up to kPartialRetryFor; what is still refused then goes back as a retryable error,
  //    with `data` narrowed to the refused items (in-process senders retry only those; an OTLP
  //    client, which cannot be told, sends the request again) and counted in
  //    weft_connector_partial_refusals.
  Status deliver(pdata::Telemetry&& data, const std::vector<Targets>& targets);

  // Ends the partial retries under way (shutdown).
  void stop();

 private:
  struct Output {
    std::string id;
    Consumer* consumer = nullptr;
    telemetry::Counter* routed = nullptr;
  };
  // Offers `part` to output i again until it is taken or the time is up; the last status.
  Status retry(size_t i, pdata::Telemetry& part, Status status);

  ComponentContext ctx_;
  std::vector<Output> pipelines_;
  telemetry::Counter* unrouted_ = nullptr;
  telemetry::Counter* partial_refusals_ = nullptr;
  std::mutex mu_;
  std::condition_variable stopped_;
  bool stopping_ = false;
};

}  // namespace weft::connectors
