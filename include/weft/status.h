#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

namespace weft {

// Outcome of handing data to a consumer or sending it to a destination.
// Retryable failures carry an optional hint of when to try again; the
// receivers map them to gRPC UNAVAILABLE and HTTP 503 with Retry-After.
enum class StatusCode {
  kOk,
  kInvalidArgument,  // the data itself is bad; never retry
  kRetryable,        // temporary refusal (full queue, memory pressure, destination down)
  kPermanent,        // the destination rejected the data for good
};

class [[nodiscard]] Status {
 public:
  Status() = default;

  static Status ok() { return {}; }
  static Status invalid_argument(std::string message) {
    return {StatusCode::kInvalidArgument, std::move(message)};
  }
  static Status retryable(std::string message,
                          std::chrono::milliseconds retry_after = std::chrono::milliseconds{0}) {
    Status s{StatusCode::kRetryable, std::move(message)};
    s.retry_after_ = retry_after;
    return s;
  }
  static Status permanent(std::string message) {
    return {StatusCode::kPermanent, std::move(message)};
  }
  // Sent, but the destination refused `rejected` of the items (for good): an exporter's
  // partial success. It is ok (nothing is retried); the message says why.
  static Status partial(uint64_t rejected, std::string message) {
    Status s{StatusCode::kOk, std::move(message)};
    s.rejected_ = rejected;
    return s;
  }

  [[nodiscard]] bool is_ok() const { return code_ == StatusCode::kOk; }
  [[nodiscard]] bool is_retryable() const { return code_ == StatusCode::kRetryable; }
  [[nodiscard]] StatusCode code() const { return code_; }
  [[nodiscard]] const std::string& message() const { return message_; }
  [[nodiscard]] std::chrono::milliseconds retry_after() const { return retry_after_; }
  [[nodiscard]] uint64_t rejected() const { return rejected_; }
  // A reason a layer gives in its own terms (an enum of its, such as wasm::LoadFailure), for
  // metrics, policies and tests to switch on instead of the message; 0 when none was given.
  [[nodiscard]] uint16_t reason() const { return reason_; }
  template <class Enum>
  [[nodiscard]] Status with_reason(Enum reason) && {
    reason_ = static_cast<uint16_t>(reason);
    return std::move(*this);
  }

  // Discards a status on purpose, where the caller has already accounted for it.
  void ignore() const {}

 private:
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::chrono::milliseconds retry_after_{0};
  uint16_t reason_ = 0;
  uint64_t rejected_ = 0;
};

}  // namespace weft
