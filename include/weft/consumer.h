#pragma once

#include "weft/status.h"
#include "weft/telemetry.h"

namespace weft {

// Takes ownership of a batch of telemetry. Returns a retryable Status to push
// back (the data was not taken and nothing of it was kept), a permanent one to
// reject it. Consumers are called from several threads at once.
class Consumer {
 public:
  virtual ~Consumer() = default;
  virtual Status consume(pdata::Telemetry&& data) = 0;
};

}  // namespace weft
