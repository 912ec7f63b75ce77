#include "components/exporters/helper/otlp_response.h"

#include "pdata/wire.h"

namespace weft::exporters {

PartialSuccess parse_partial_success(std::string_view response) {
  PartialSuccess out;
  pdata::wire::Reader reader(response);
  pdata::wire::Field field;
  while (reader.next(field)) {
    if (field.number != 1 || field.type != pdata::wire::WireType::kLen) continue;
    pdata::wire::Reader inner(field.bytes);
    pdata::wire::Field f;
    while (inner.next(f)) {
      if (f.number == 1 && f.type == pdata::wire::WireType::kVarint) {
        out.rejected = static_cast<int64_t>(f.varint);
      } else if (f.number == 2 && f.type == pdata::wire::WireType::kLen) {
        out.error_message = std::string(f.bytes);
      }
    }
  }
  return out;
}

bool grpc_code_is_retryable(int code) {
  // CANCELLED 1, DEADLINE_EXCEEDED 4, RESOURCE_EXHAUSTED 8, ABORTED 10, OUT_OF_RANGE 11,
  // UNAVAILABLE 14, DATA_LOSS 15.
  switch (code) {
    case 1:
    case 4:
    case 8:
    case 10:
    case 11:
    case 14:
    case 15:
      return true;
    default:
      return false;
  }
}

}  // namespace weft::exporters
