#include "testing/telemetry.h"

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace weft::testing {
namespace {

namespace v1 = opentelemetry::proto;

template <class Resource>
void set_service(Resource* resource) {
  auto* attr = resource->add_attributes();
  attr->set_key("service.name");
  attr->mutable_value()->set_string_value("test");
}

}  // namespace

pdata::Telemetry make_batch(Signal signal, size_t items, const std::string& prefix) {
  std::string wire;
  switch (signal) {
    case Signal::kTraces: {
      v1::collector::trace::v1::ExportTraceServiceRequest req;
      auto* rs = req.add_resource_spans();
      set_service(rs->mutable_resource());
      auto* ss = rs->add_scope_spans();
      for (size_t i = 0; i < items; ++i) {
        auto* span = ss->add_spans();
        span->set_trace_id(std::string(16, static_cast<char>(1 + i % 250)));
        span->set_span_id(std::string(8, static_cast<char>(1 + i % 250)));
        span->set_name(prefix + std::to_string(i));
      }
      wire = req.SerializeAsString();
      break;
    }
    case Signal::kMetrics: {
      v1::collector::metrics::v1::ExportMetricsServiceRequest req;
      auto* rm = req.add_resource_metrics();
      set_service(rm->mutable_resource());
      auto* sm = rm->add_scope_metrics();
      for (size_t i = 0; i < items; ++i) {
        auto* metric = sm->add_metrics();
        metric->set_name(prefix + std::to_string(i));
        metric->mutable_gauge()->add_data_points()->set_as_int(static_cast<int64_t>(i));
      }
      wire = req.SerializeAsString();
      break;
    }
    case Signal::kLogs: {
      v1::collector::logs::v1::ExportLogsServiceRequest req;
      auto* rl = req.add_resource_logs();
      set_service(rl->mutable_resource());
      auto* sl = rl->add_scope_logs();
      for (size_t i = 0; i < items; ++i) {
        sl->add_log_records()->mutable_body()->set_string_value(prefix + std::to_string(i));
      }
      wire = req.SerializeAsString();
      break;
    }
  }
  return std::move(pdata::Telemetry::from_wire(signal, std::move(wire))).value();
}

}  // namespace weft::testing
