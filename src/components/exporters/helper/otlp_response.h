#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace weft::exporters {

// The partial_success of an Export*ServiceResponse (same layout for every signal).
struct PartialSuccess {
  int64_t rejected = 0;
  std::string error_message;
};

// Reads partial_success from an encoded response; empty for a full success or bad bytes.
PartialSuccess parse_partial_success(std::string_view response);

// Whether a gRPC status code is worth retrying, as the OTLP specification lists them.
bool grpc_code_is_retryable(int code);

}  // namespace weft::exporters
