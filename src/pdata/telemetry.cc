#include "weft/telemetry.h"

#include <utility>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "pdata/wire.h"

namespace weft::pdata {

google::protobuf::Message* new_request(Signal signal, google::protobuf::Arena* arena) {
  using google::protobuf::Arena;
  switch (signal) {
    case Signal::kTraces:
      return Arena::CreateMessage<
          opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest>(arena);
    case Signal::kMetrics:
      return Arena::CreateMessage<
          opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest>(arena);
    case Signal::kLogs:
      return Arena::CreateMessage<
          opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest>(arena);
  }
  return nullptr;
}

Result<Telemetry> Telemetry::from_wire(Signal signal, std::string wire) {
  auto items = wire::count_items(signal, wire);
  if (!items.ok()) return items.status();
  return Telemetry(signal, std::move(wire), items.value());
}

Telemetry Telemetry::from_valid_wire(Signal signal, std::string wire) {
  const size_t items = wire::count_valid_items(signal, wire);
  return Telemetry(signal, std::move(wire), items);
}

Telemetry Telemetry::empty(Signal signal) {
  return Telemetry(signal, std::string(), 0);
}

size_t Telemetry::item_count() const {
  sync_wire();
  return items_;
}

const std::string& Telemetry::wire() const {
  sync_wire();
  return wire_;
}

void Telemetry::sync_wire() const {
  if (!wire_stale_) return;
  wire_.clear();
  message_->SerializeToString(&wire_);
  items_ = wire::count_valid_items(signal_, wire_);
  wire_stale_ = false;
}

void Telemetry::decode() const {
  if (message_ != nullptr) return;
  arena_ = std::make_unique<google::protobuf::Arena>();
  message_ = new_request(signal_, arena_.get());
  decode_failed_ = !message_->ParsePartialFromString(wire_);
}

bool Telemetry::decodes() const {
  decode();
  return !decode_failed_;
}

const google::protobuf::Message& Telemetry::message() const {
  decode();
  return *message_;
}

google::protobuf::Message& Telemetry::mutable_message() {
  decode();
  wire_stale_ = true;
  return *message_;
}

void Telemetry::append(Telemetry&& other) {
  sync_wire();
  wire_.append(other.wire());
  items_ += other.item_count();
  if (client_ != other.client_) client_.reset();
  // The decoded form, if any, no longer matches the wire.
  message_ = nullptr;
  arena_.reset();
}

std::vector<Telemetry> Telemetry::split(size_t max_items) && {
  sync_wire();
  std::vector<Telemetry> out;
  if (max_items == 0 || items_ <= max_items) {
    out.push_back(std::move(*this));
    return out;
  }
  for (auto& chunk : wire::split(signal_, wire_, max_items)) {
    const size_t items = wire::count_valid_items(signal_, chunk);
    out.push_back(Telemetry(signal_, std::move(chunk), items));
    out.back().client_ = client_;
  }
  return out;
}

Telemetry Telemetry::clone() const {
  sync_wire();
  Telemetry copy(signal_, wire_, items_);
  copy.client_ = client_;
  return copy;
}

}  // namespace weft::pdata
