#include "components/receivers/otlp/ingest.h"

#include <spdlog/spdlog.h>

namespace weft::receivers::otlp {

Ingest::Ingest(const ComponentContext& ctx, SignalConsumers next, const std::string& transport)
    : next_(next), ctx_(ctx), transport_(transport) {
  const telemetry::Labels labels = {{"receiver", ctx.id}, {"transport", transport}};
  for (Signal s : kAllSignals) {
    const std::string noun(item_noun(s));
    auto& c = counters_[static_cast<size_t>(s)];
    c.accepted = &ctx.metrics->counter("otelcol_receiver_accepted_" + noun,
                                       "Items successfully pushed into the pipeline.", labels);
    c.refused = &ctx.metrics->counter("otelcol_receiver_refused_" + noun,
                                      "Items that could not be pushed into the pipeline.", labels);
  }
}

void Ingest::count_failed_request(const std::string& reason) {
  ctx_.metrics
      ->counter("otelcol_receiver_requests_failed", "Requests refused before reaching a pipeline.",
                {{"receiver", ctx_.id}, {"transport", transport_}, {"reason", reason}})
      .add();
}

Status Ingest::accept(Signal signal, Result<pdata::Telemetry> request) {
  if (!request.ok()) {
    count_failed_request("malformed");
    return request.status();
  }
  Consumer* consumer = next_.for_signal(signal);
  auto& counters = counters_[static_cast<size_t>(signal)];
  const size_t items = request->item_count();
  Status status = consumer->consume(std::move(request).value());
  if (status.is_ok()) {
    counters.accepted->add(items);
  } else {
    counters.refused->add(items);
    count_failed_request(status.is_retryable() ? "refused_retryable" : "refused");
    ctx_.logger->debug("refused {} {}: {}", items, item_noun(signal), status.message());
  }
  return status;
}

}  // namespace weft::receivers::otlp
