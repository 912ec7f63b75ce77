#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "weft/result.h"
#include "weft/signal.h"

// Just enough of the protobuf wire format to walk OTLP requests without
// decoding them: count items, check structure, split a request into smaller
// ones. All three signals share one shape: request.1 = resource entries,
// resource.2 = scope entries, scope.2 = items.
namespace weft::pdata::wire {

enum class WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLen = 2, kFixed32 = 5 };

struct Field {
  uint32_t number = 0;
  WireType type = WireType::kVarint;
  uint64_t varint = 0;     // value of a varint field
  std::string_view bytes;  // payload of a length-delimited field
  std::string_view raw;    // the whole field, tag included
};

// Iterates over the fields of one message; stops with failed() on malformed input.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}

  // Returns false at the end of the message or on malformed input.
  bool next(Field& field);
  [[nodiscard]] bool failed() const { return failed_; }

 private:
  bool read_varint(uint64_t& value);

  std::string_view data_;
  size_t pos_ = 0;
  bool failed_ = false;
};

void append_varint(std::string& out, uint64_t value);
void append_len_field(std::string& out, uint32_t number, std::string_view payload);

// Validates an Export*ServiceRequest against the signal's OTLP schema and returns the number
// of items (spans, metric data points, log records). Every field of the schema must have its
// wire type (numbers, strings, bytes, nested messages, packed repeated numbers), strings must
// be UTF-8 and trace and span ids 16 and 8 bytes or empty; fields the schema does not have
// are skipped, as protobuf does. The error names the path of the first bad field.
Result<size_t> count_items(Signal signal, std::string_view request);
// The items of a request that count_items accepted (or that weft encoded), without checking.
size_t count_valid_items(Signal signal, std::string_view request);

bool valid_utf8(std::string_view text);

// Splits a request into requests of at most max_items items each, keeping
// resource and scope of every item. A metric is never split across requests,
// so a single metric with more points than max_items makes a larger request.
std::vector<std::string> split(Signal signal, std::string_view request, size_t max_items);

// Keeps the spans or log records whose mask byte is nonzero (mask[i] for item i, in order),
// dropping scopes and resources left empty; everything kept is copied byte for byte.
// Traces and logs only (a metric's items are its data points). `mask` must have one byte
// per item of a well-formed request (count_items).
std::string keep_items(std::string_view request, std::string_view mask);

// Writes a replacement for a message into `out` and returns true, or returns false to keep
// the message as it is. `index` numbers the items (or the resources) of the request.
using Rewriter = std::function<bool(size_t index, std::string_view message, std::string& out)>;

// Rebuilds a request (traces or logs), offering every item (span, log record) and every
// resource entry's Resource message to a rewriter; whatever is not rewritten is copied
// byte for byte. A resource entry without a Resource message is offered an empty one.
std::string rewrite_items(std::string_view request, const Rewriter& item, const Rewriter& resource);

}  // namespace weft::pdata::wire
