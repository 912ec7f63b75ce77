#pragma once

#include <string>
#include <string_view>

#include <google/protobuf/message.h>

#include "weft/result.h"
#include "weft/telemetry.h"

// OTLP/JSON as the OTLP specification defines it: the protobuf JSON mapping with
// lowerCamelCase keys and integer enums, except that trace and span ids are
// hex strings instead of base64. 64-bit integers are written as decimal strings
// and accepted as strings or numbers; unknown keys are ignored.
namespace weft::pdata {

Result<Telemetry> telemetry_from_json(Signal signal, std::string_view json);
// pretty: indented, one field per line (for people and diffs).
Result<std::string> telemetry_to_json(const Telemetry& telemetry, bool pretty = false);

// Any OTLP message to and from OTLP/JSON (used for responses and tests).
Status message_from_json(std::string_view json, google::protobuf::Message& message);
Result<std::string> message_to_json(const google::protobuf::Message& message, bool pretty = false);

}  // namespace weft::pdata
