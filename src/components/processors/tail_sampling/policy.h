#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "weft/component.h"
#include "weft/config_reader.h"
#include "weft/result.h"

namespace weft::wasm {
class Plugin;
}

// The tail_sampling processor's policies (the Go collector's names and settings) and what
// they decide on: one whole trace.
namespace weft::processors::tail_sampling {

// A trace as the policies see it: its spans, each with its resource's attributes.
struct TraceView {
  std::string trace_id;  // 16 bytes
  struct Span {
    const opentelemetry::proto::trace::v1::Span* span = nullptr;
    const opentelemetry::proto::resource::v1::Resource* resource = nullptr;
  };
  std::vector<Span> spans;
  // The encoded ExportTraceServiceRequest of the trace, for a wasm policy.
  std::string request;
};

enum class Decision { kNotSampled, kSampled, kInvertNotSampled, kInvertSampled };

class Policy {
 public:
  virtual ~Policy() = default;
  [[nodiscard]] const std::string& name() const { return name_; }
  // Called under the processor's decision lock: one decision at a time.
  virtual Decision evaluate(const TraceView& trace) = 0;
  // Starts what the policy runs (a plugin); stop() ends it.
  virtual Status start(const ComponentContext& /*ctx*/) { return Status::ok(); }
  virtual void stop() {}

 protected:
  std::string name_;
  friend Result<std::unique_ptr<Policy>> parse_policy(ConfigReader& reader, bool top_level);
};

// Reads one entry of `policies` (or of and_sub_policy / composite_sub_policy); the reader
// reports what is wrong.
Result<std::unique_ptr<Policy>> parse_policy(ConfigReader& reader, bool top_level);

// A deterministic 0..9999 from the trace id and salt, for `probabilistic`: stable_hash of
// salt then id, modulo 10000.
uint32_t trace_bucket(const std::string& trace_id, const std::string& salt);

}  // namespace weft::processors::tail_sampling
