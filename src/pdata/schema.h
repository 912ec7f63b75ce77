#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "weft/signal.h"

// The OTLP schema as the wire walker needs it: for every message of a signal's request, what
// each field number must carry. Built once from the generated descriptors, so it is the
// schema in proto/ and nothing else.
namespace weft::pdata::wire {

enum class FieldKind : uint8_t {
  kUnknown,  // not in the schema: skipped, as protobuf does
  kVarint,   // ints, bools, enums
  kFixed64,  // double, fixed64, sfixed64
  kFixed32,  // fixed32, float
  kString,   // UTF-8
  kBytes,
  kMessage,
};

struct FieldRule {
  FieldKind kind = FieldKind::kUnknown;
  bool packable = false;  // a repeated number: one field each, or packed into one
  uint8_t id_bytes = 0;   // trace and span ids: empty or exactly this long
  uint16_t message = 0;   // kMessage: its index in Schema::messages
  std::string name;
};

struct MessageRule {
  std::string name;               // "opentelemetry.proto.trace.v1.Span"
  std::vector<FieldRule> fields;  // by field number
  bool item = false;              // a span, log record or data point: what batches count
};

struct Schema {
  std::vector<MessageRule> messages;  // messages[0] is the request
  static const Schema& of(Signal signal);
};

}  // namespace weft::pdata::wire
