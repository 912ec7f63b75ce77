#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/arena.h>
#include <google/protobuf/message.h>

#include "weft/client.h"
#include "weft/result.h"
#include "weft/signal.h"

namespace weft::pdata {

// A batch of telemetry of one signal: an OTLP Export*ServiceRequest.
//
// It is kept as wire bytes for as long as nobody looks inside, so data that
// no stage reads goes from receiver to exporter without being decoded and
// re-encoded. The decoded message is built on first access, in an arena, and
// the wire form is rebuilt only after a stage asked for mutable access.
// A Telemetry is owned by one thread at a time (it is moved, not shared).
class Telemetry {
 public:
  Telemetry(Telemetry&& other) noexcept { *this = std::move(other); }
  Telemetry& operator=(Telemetry&& other) noexcept {
    signal_ = other.signal_;
    wire_ = std::move(other.wire_);
    items_ = std::exchange(other.items_, 0);
    arena_ = std::move(other.arena_);
    message_ = std::exchange(other.message_, nullptr);
    wire_stale_ = std::exchange(other.wire_stale_, false);
    decode_failed_ = std::exchange(other.decode_failed_, false);
    client_ = std::move(other.client_);
    return *this;
  }
  Telemetry(const Telemetry&) = delete;
  Telemetry& operator=(const Telemetry&) = delete;
  ~Telemetry() = default;

  // Checks the request against the signal's schema (wire::count_items) and counts its items.
  static Result<Telemetry> from_wire(Signal signal, std::string wire);
  // For bytes weft's own wire code derived from a checked request (kept items, edited items
  // whose new strings it checked): counts the items without checking again.
  static Telemetry from_valid_wire(Signal signal, std::string wire);
  // An empty request of the signal.
  static Telemetry empty(Signal signal);

  [[nodiscard]] Signal signal() const { return signal_; }
  [[nodiscard]] size_t item_count() const;
  // The encoded request; rebuilt from the decoded message if it was mutated.
  [[nodiscard]] const std::string& wire() const;

  // Whether the request decodes in full. The receivers check structure down to each item;
  // this also catches what lies deeper (invalid UTF-8 in a string, a bad nested field).
  [[nodiscard]] bool decodes() const;
  // The decoded request (ExportTraceServiceRequest, ...), decoded on first use; after a
  // failed decode it holds what could be parsed.
  [[nodiscard]] const google::protobuf::Message& message() const;
  // Mutable access; the wire form is rebuilt on the next wire() call.
  google::protobuf::Message& mutable_message();

  // Appends the other request's resources (same signal): concatenation on the wire. The
  // result keeps this batch's client only if the other came from the same one.
  void append(Telemetry&& other);
  // Splits into requests of at most max_items items (see wire::split).
  [[nodiscard]] std::vector<Telemetry> split(size_t max_items) &&;
  [[nodiscard]] Telemetry clone() const;

  // Who sent the batch (null: nobody said); split and clone keep it.
  [[nodiscard]] const std::shared_ptr<const ClientInfo>& client() const { return client_; }
  void set_client(std::shared_ptr<const ClientInfo> client) { client_ = std::move(client); }

 private:
  Telemetry(Signal signal, std::string wire, size_t items)
      : signal_(signal), wire_(std::move(wire)), items_(items) {}
  void decode() const;
  void sync_wire() const;

  Signal signal_ = Signal::kTraces;
  mutable std::string wire_;
  mutable size_t items_ = 0;
  mutable std::unique_ptr<google::protobuf::Arena> arena_;
  mutable google::protobuf::Message* message_ = nullptr;  // owned by arena_
  mutable bool wire_stale_ = false;
  mutable bool decode_failed_ = false;
  std::shared_ptr<const ClientInfo> client_;
};

// A fresh, empty request message of the signal, owned by the arena.
google::protobuf::Message* new_request(Signal signal, google::protobuf::Arena* arena);

}  // namespace weft::pdata
