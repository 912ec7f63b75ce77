// The benchmark requests: prebuilt OTLP export requests (serialized) shared by the load
// generator and the micro-benchmarks.
//
// Requests carry 4 resources with 1 scope each. Every item has 8 attributes, among them
// e-mail and IP addresses for redaction, 4 keys for renames, and bench.drop = "true" on
// every second item for filtering. Log bodies hold an e-mail, an IP and a card number.
// The send-time stamp of each item (span start time, log observed time, point start
// time) holds kStampPlaceholder until the sender overwrites it.
#pragma once

#include <cstdint>
#include <random>
#include <string>

namespace weft::bench {

constexpr uint64_t kStampPlaceholder = 0x5eed5eed5eed5eedull;

std::string trace_request(int items, std::mt19937_64& rng);
std::string log_request(int items, std::mt19937_64& rng);
std::string metric_request(int items);

}  // namespace weft::bench
