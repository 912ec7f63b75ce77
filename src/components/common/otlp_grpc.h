#pragma once

#include <string>

#include "weft/signal.h"

namespace weft::otlp_grpc {

// The OTLP/gRPC Export method of a signal ("/opentelemetry.proto.collector.trace.v1.
// TraceService/Export"): what the exporter calls and the receiver serves.
inline std::string export_method(Signal signal) {
  switch (signal) {
    case Signal::kTraces:
      return "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    case Signal::kMetrics:
      return "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
    case Signal::kLogs:
      break;
  }
  return "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
}

}  // namespace weft::otlp_grpc
