#pragma once

#include <array>
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

// What the walker does with a field, by the field's rule and the wire type it came with.
enum class FieldAction : uint8_t {
  kVarint,        // skip a varint
  kFixed64,       // skip 8 bytes
  kFixed32,       // skip 4 bytes
  kBytes,         // skip a length-delimited payload
  kString,        // check the payload is UTF-8
  kId,            // check the payload is empty or id_bytes long
  kMessage,       // walk the payload as the message `message`
  kItem,          // kMessage, and the message is an item (counted)
  kKeyValue,      // kMessage, and the message is a KeyValue (which has a fast path)
  kPackedVarint,  // check the payload is varints
  kPackedFixed64,
  kPackedFixed32,
  kWrongType,  // a wire type the schema does not allow for the field
  kBadWire,    // a group or a wire type that does not exist
};

struct FieldRule {
  FieldKind kind = FieldKind::kUnknown;
  bool packable = false;                 // a repeated number: one field each, or packed into one
  uint8_t id_bytes = 0;                  // trace and span ids: empty or exactly this long
  uint16_t message = 0;                  // kMessage: its index in Schema::messages
  std::array<FieldAction, 8> actions{};  // by wire type, from the above (see actions_for)
  std::string name;
};
// Fills rule.actions from its kind, packable and id_bytes.
void set_actions(FieldRule& rule);

struct MessageRule {
  std::string name;               // "opentelemetry.proto.trace.v1.Span"
  std::vector<FieldRule> fields;  // by field number
  bool item = false;              // a span, log record or data point: what batches count
  bool key_value = false;         // common.v1.KeyValue: the walker has a fast path for it
};

// The walker's dispatch entry for a field: its action in the low four bits, the operand above
// (the message index for kMessage, kItem and kKeyValue; the length for kId).
using Entry = uint16_t;
constexpr FieldAction action_of(Entry entry) {
  return static_cast<FieldAction>(entry & 0xf);
}
constexpr uint16_t operand_of(Entry entry) {
  return static_cast<uint16_t>(entry >> 4);
}

struct Schema {
  std::vector<MessageRule> messages;  // messages[0] is the request
  // Entries by message and one-byte tag (field numbers 1 to 15 with their wire type: the
  // fields OTLP sends most), messages[m]'s at tags[m * 128 + tag]; longer tags use entry().
  std::vector<Entry> tags;

  [[nodiscard]] Entry entry(uint16_t message, uint64_t number, uint32_t wire) const;
  [[nodiscard]] const Entry* tags_of(uint16_t message) const { return &tags[message * 128U]; }
  // The rule of a field number in a message (one with kind kUnknown if it has none).
  [[nodiscard]] const FieldRule& rule(uint16_t message, uint64_t number) const;
  static const Schema& of(Signal signal);
};

}  // namespace weft::pdata::wire
