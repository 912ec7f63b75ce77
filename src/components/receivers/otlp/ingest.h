#pragma once

#include <array>
#include <string>

#include "weft/component.h"
#include "weft/metrics.h"
#include "weft/result.h"

namespace weft::receivers::otlp {

// What both transports do with a decoded-or-not request: hand it to the
// pipelines of its signal and count the outcome.
class Ingest {
 public:
  Ingest(const ComponentContext& ctx, SignalConsumers next, const std::string& transport);

  [[nodiscard]] bool wired(Signal signal) const { return next_.for_signal(signal) != nullptr; }
  // Takes a parsed request (or the parse error) and returns what the sender is told.
  Status accept(Signal signal, Result<pdata::Telemetry> request);
  // An Export*ServiceResponse for a status: empty when everything was taken, else its
  // partial_success (the items a pipeline rejected for good while others were taken).
  static std::string response_proto(const Status& status);
  static std::string response_json(Signal signal, const Status& status);
  // Counts a request refused before it could be parsed (reason: "malformed", "too_large", ...).
  void count_failed_request(const std::string& reason);

 private:
  struct SignalCounters {
    telemetry::Counter* accepted = nullptr;
    telemetry::Counter* refused = nullptr;
  };
  SignalConsumers next_;
  std::array<SignalCounters, 3> counters_{};
  const ComponentContext& ctx_;
  std::string transport_;
};

}  // namespace weft::receivers::otlp
