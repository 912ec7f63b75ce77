#include "pdata/otlp_json.h"

#include <array>
#include <memory>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/reflection.h>
#include <google/protobuf/util/json_util.h>

namespace weft::pdata {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// Protobuf's JSON mapping writes bytes as base64, OTLP/JSON wants ids in hex.
// Hex digits are all base64 characters, so an id is carried through the
// protobuf JSON codec by swapping its bytes for the bytes whose base64 form is
// its hex form (and back). Ids of 16 and 8 bytes give hex of 32 and 16
// characters, which map onto whole base64 quads and round-trip exactly.
constexpr std::string_view kBase64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kHex = "0123456789abcdef";

bool is_id_field(const FieldDescriptor* field) {
  if (field->type() != FieldDescriptor::TYPE_BYTES || field->is_repeated()) return false;
  const std::string& name = field->name();
  return name == "trace_id" || name == "span_id" || name == "parent_span_id";
}

std::string to_hex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

bool from_hex(std::string_view hex, std::string& out) {
  if (hex.size() % 2 != 0) return false;
  out.clear();
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]);
    const int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>((hi << 4) | lo));
  }
  return true;
}

std::string to_base64(std::string_view bytes) {
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v =
        (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out.push_back(kBase64[(v >> shift) & 63]);
  }
  if (i < bytes.size()) {
    uint32_t v = uint8_t(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= uint8_t(bytes[i + 1]) << 8;
    out.push_back(kBase64[(v >> 18) & 63]);
    out.push_back(kBase64[(v >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? kBase64[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

// Only used on hex text, whose length is a multiple of 4.
std::string from_base64_quads(std::string_view text) {
  std::string out;
  for (size_t i = 0; i + 3 < text.size(); i += 4) {
    uint32_t v = 0;
    for (size_t k = 0; k < 4; ++k) v = (v << 6) | static_cast<uint32_t>(kBase64.find(text[i + k]));
    out.push_back(static_cast<char>(v >> 16));
    out.push_back(static_cast<char>((v >> 8) & 0xff));
    out.push_back(static_cast<char>(v & 0xff));
  }
  return out;
}

// Applies fn(message, field) to every set id field, recursively.
template <class F>
bool for_each_id(Message& message, F&& fn) {
  const auto* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    if (is_id_field(field)) {
      if (!fn(message, field)) return false;
      continue;
    }
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (field->is_repeated()) {
      const int n = reflection->FieldSize(message, field);
      for (int i = 0; i < n; ++i) {
        if (!for_each_id(*reflection->MutableRepeatedMessage(&message, field, i), fn)) return false;
      }
    } else if (!for_each_id(*reflection->MutableMessage(&message, field), fn)) {
      return false;
    }
  }
  return true;
}

}  // namespace

Status message_from_json(std::string_view json, Message& message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &message, options);
  if (!status.ok()) {
    return Status::invalid_argument("malformed OTLP/JSON: " + std::string(status.message()));
  }
  std::string bad_field;
  const bool ids_ok = for_each_id(message, [&](Message& m, const FieldDescriptor* field) {
    const auto* reflection = m.GetReflection();
    const std::string text = to_base64(reflection->GetString(m, field));
    std::string bytes;
    const size_t id_size = field->name() == "trace_id" ? 16 : 8;
    if (!from_hex(text, bytes) || (!bytes.empty() && bytes.size() != id_size)) {
      bad_field = field->json_name();
      return false;
    }
    reflection->SetString(&m, field, std::move(bytes));
    return true;
  });
  if (!ids_ok) {
    return Status::invalid_argument("malformed OTLP/JSON: " + bad_field +
                                    " must be a hex-encoded id of 16 (trace) or 8 (span) bytes");
  }
  return Status::ok();
}

Result<std::string> message_to_json(const Message& message, bool pretty) {
  std::unique_ptr<Message> copy(message.New());
  copy->CopyFrom(message);
  for_each_id(*copy, [](Message& m, const FieldDescriptor* field) {
    const auto* reflection = m.GetReflection();
    const std::string hex = to_hex(reflection->GetString(m, field));
    if (hex.size() % 4 == 0) reflection->SetString(&m, field, from_base64_quads(hex));
    return true;
  });
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_enums_as_ints = true;
  options.add_whitespace = pretty;
  std::string out;
  auto status = google::protobuf::util::MessageToJsonString(*copy, &out, options);
  if (!status.ok())
    return Status::permanent("cannot encode OTLP/JSON: " + std::string(status.message()));
  return out;
}

Result<Telemetry> telemetry_from_json(Signal signal, std::string_view json) {
  google::protobuf::Arena arena;
  Message* request = new_request(signal, &arena);
  auto status = message_from_json(json, *request);
  if (!status.is_ok()) return status;
  return Telemetry::from_wire(signal, request->SerializeAsString());
}

Result<std::string> telemetry_to_json(const Telemetry& telemetry, bool pretty) {
  if (!telemetry.decodes()) {
    return Status::permanent("cannot encode OTLP/JSON: the batch does not decode in full");
  }
  return message_to_json(telemetry.message(), pretty);
}

}  // namespace weft::pdata
