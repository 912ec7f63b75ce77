#include "components/receivers/otlp/ingest.h"

#include <spdlog/spdlog.h>

#include "pdata/wire.h"
#include "util/yaml_json.h"

namespace weft::receivers::otlp {

// Export{Trace,Metrics,Logs}ServiceResponse: partial_success (1) = {rejected_<items> (1),
// error_message (2)}, the same layout for every signal.
std::string Ingest::response_proto(const Status& status) {
  if (status.rejected() == 0) return {};
  std::string partial;
  partial.push_back(0x08);  // field 1, varint
  pdata::wire::append_varint(partial, status.rejected());
  pdata::wire::append_len_field(partial, 2, status.message());
  std::string out;
  pdata::wire::append_len_field(out, 1, partial);
  return out;
}

std::string Ingest::response_json(Signal signal, const Status& status) {
  if (status.rejected() == 0) return "{}";
  static constexpr const char* kNames[] = {"rejectedSpans", "rejectedDataPoints",
                                           "rejectedLogRecords"};
  return std::string("{\"partialSuccess\":{\"") + kNames[static_cast<size_t>(signal)] + "\":\"" +
         std::to_string(status.rejected()) + "\",\"errorMessage\":" + json_quote(status.message()) +
         "}}";
}

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
    // A partial success: the pipelines rejected some items for good and took the rest.
    const uint64_t rejected = std::min<uint64_t>(status.rejected(), items);
    counters.accepted->add(items - rejected);
    if (rejected > 0) counters.refused->add(rejected);
  } else {
    counters.refused->add(items);
    count_failed_request(status.is_retryable() ? "refused_retryable" : "refused");
    ctx_.logger->debug("refused {} {}: {}", items, item_noun(signal), status.message());
  }
  return status;
}

}  // namespace weft::receivers::otlp
