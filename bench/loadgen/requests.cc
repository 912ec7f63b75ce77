#include "requests.h"

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace weft::bench {
namespace {

namespace otlp = opentelemetry::proto;

constexpr int kResources = 4;

void set_attr(otlp::common::v1::KeyValue* kv, const std::string& key, const std::string& value) {
  kv->set_key(key);
  kv->mutable_value()->set_string_value(value);
}

template <class Item>
void add_attributes(Item* item, int i) {
  set_attr(item->add_attributes(), "http.method", i % 3 == 0 ? "POST" : "GET");
  set_attr(item->add_attributes(), "http.url",
           "https://shop.example.com/api/v1/orders/" + std::to_string(1000 + i) + "?page=2");
  auto* status = item->add_attributes();
  status->set_key("http.status_code");
  status->mutable_value()->set_int_value(i % 10 == 0 ? 500 : 200);
  set_attr(item->add_attributes(), "net.peer.ip",
           "10.1." + std::to_string(i % 200) + "." + std::to_string(1 + i % 250));
  set_attr(item->add_attributes(), "user.email", "user" + std::to_string(i) + "@example.com");
  set_attr(item->add_attributes(), "bench.drop", i % 2 == 1 ? "true" : "false");
  set_attr(item->add_attributes(), "component", "http");
  set_attr(item->add_attributes(), "thread.name", "worker-" + std::to_string(i % 8));
}

template <class ResourceItems>
void fill_resource(ResourceItems* r, int index) {
  auto* res = r->mutable_resource();
  set_attr(res->add_attributes(), "service.name", "checkout-" + std::to_string(index));
  set_attr(res->add_attributes(), "host.name", "node-" + std::to_string(index) + ".local");
  set_attr(res->add_attributes(), "deployment.environment", "staging");
}

}  // namespace

std::string trace_request(int items, std::mt19937_64& rng) {
  otlp::collector::trace::v1::ExportTraceServiceRequest req;
  for (int r = 0; r < kResources; ++r) {
    auto* rs = req.add_resource_spans();
    fill_resource(rs, r);
    auto* ss = rs->add_scope_spans();
    ss->mutable_scope()->set_name("weft.bench");
    for (int i = r; i < items; i += kResources) {
      auto* span = ss->add_spans();
      uint64_t ids[3] = {rng(), rng(), rng()};
      span->set_trace_id(std::string(reinterpret_cast<char*>(ids), 16));
      span->set_span_id(std::string(reinterpret_cast<char*>(&ids[2]), 8));
      span->set_name(i % 3 == 0 ? "POST /api/v1/orders" : "GET /api/v1/orders/{id}");
      span->set_kind(otlp::trace::v1::Span::SPAN_KIND_SERVER);
      span->set_start_time_unix_nano(kStampPlaceholder);
      span->set_end_time_unix_nano(1700000000000000000ull + static_cast<uint64_t>(i));
      add_attributes(span, i);
    }
  }
  return req.SerializeAsString();
}

std::string log_request(int items, std::mt19937_64& rng) {
  otlp::collector::logs::v1::ExportLogsServiceRequest req;
  for (int r = 0; r < kResources; ++r) {
    auto* rl = req.add_resource_logs();
    fill_resource(rl, r);
    auto* sl = rl->add_scope_logs();
    sl->mutable_scope()->set_name("weft.bench");
    for (int i = r; i < items; i += kResources) {
      auto* log = sl->add_log_records();
      log->set_time_unix_nano(1700000000000000000ull + static_cast<uint64_t>(i));
      log->set_observed_time_unix_nano(kStampPlaceholder);
      log->set_severity_number(otlp::logs::v1::SEVERITY_NUMBER_INFO);
      log->set_severity_text("INFO");
      log->mutable_body()->set_string_value("order " + std::to_string(1000 + i) +
                                            " paid by customer" + std::to_string(i) +
                                            "@example.com from 192.168." + std::to_string(i % 200) +
                                            ".7 with card 4111 1111 1111 1111");
      uint64_t ids[3] = {rng(), rng(), rng()};
      log->set_trace_id(std::string(reinterpret_cast<char*>(ids), 16));
      log->set_span_id(std::string(reinterpret_cast<char*>(&ids[2]), 8));
      add_attributes(log, i);
    }
  }
  return req.SerializeAsString();
}

std::string metric_request(int items) {
  otlp::collector::metrics::v1::ExportMetricsServiceRequest req;
  constexpr int kPointsPerMetric = 8;
  for (int r = 0; r < kResources; ++r) {
    auto* rm = req.add_resource_metrics();
    fill_resource(rm, r);
    auto* sm = rm->add_scope_metrics();
    sm->mutable_scope()->set_name("weft.bench");
    const int metrics = items / kResources / kPointsPerMetric;
    for (int m = 0; m < metrics; ++m) {
      auto* metric = sm->add_metrics();
      metric->set_name("http.server.requests." + std::to_string(m));
      metric->set_unit("1");
      auto* sum = metric->mutable_sum();
      sum->set_is_monotonic(true);
      sum->set_aggregation_temporality(otlp::metrics::v1::AGGREGATION_TEMPORALITY_CUMULATIVE);
      for (int p = 0; p < kPointsPerMetric; ++p) {
        auto* point = sum->add_data_points();
        point->set_start_time_unix_nano(kStampPlaceholder);
        point->set_time_unix_nano(1700000000000000000ull);
        point->set_as_int(m * 100 + p);
        set_attr(point->add_attributes(), "http.route", "/api/v1/route" + std::to_string(p));
        set_attr(point->add_attributes(), "http.method", p % 2 == 0 ? "GET" : "POST");
      }
    }
  }
  return req.SerializeAsString();
}

}  // namespace weft::bench
