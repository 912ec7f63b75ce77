#pragma once

#include <cstddef>
#include <string>

#include "weft/telemetry.h"

// Batches of each signal for tests (the Go collector's pdata/testdata).
namespace weft::testing {

// `items` spans, metric data points (one gauge each) or log records under one resource
// (service.name = "test") and one scope; item i is named or bodied "<prefix><i>".
pdata::Telemetry make_batch(Signal signal, size_t items, const std::string& prefix = "item");

}  // namespace weft::testing
