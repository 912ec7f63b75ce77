// The OTLP wire walker and what builds on it: the schema check (count_items), the splitter,
// keep_items and rewrite_items. Input: a selector byte (the signal, the split size, the keep
// pattern), then the request. Checked invariants: whatever count_items accepts, every derived
// request is accepted too and holds the items it should.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz_check.h"
#include "pdata/wire.h"

using weft::Signal;
namespace wire = weft::pdata::wire;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t selector = data[0];
  const Signal signal = static_cast<Signal>(selector % 3);
  const std::string_view request(reinterpret_cast<const char*>(data + 1), size - 1);
  auto counted = wire::count_items(signal, request);
  if (!counted.ok()) return 0;
  const size_t items = *counted;
  check(wire::count_valid_items(signal, request) == items, "count_valid_items == count_items");

  const size_t max_items = 1 + (selector >> 2) % 7;
  size_t split_items = 0;
  for (const std::string& part : wire::split(signal, request, max_items)) {
    auto n = wire::count_items(signal, part);
    check(n.ok(), "a split part passes the schema check");
    split_items += *n;
  }
  check(split_items == items, "split keeps every item");

  if (signal == Signal::kMetrics) return 0;
  std::string mask(items, '\0');
  size_t kept = 0;
  for (size_t i = 0; i < items; ++i) {
    mask[i] = static_cast<char>(((i * 7 + selector) % 3) != 0);
    kept += mask[i] != 0 ? 1 : 0;
  }
  const std::string filtered = wire::keep_items(request, mask);
  auto n = wire::count_items(signal, filtered);
  check(n.ok() && *n == kept, "keep_items keeps exactly the masked items");

  const auto keep = [](size_t, std::string_view, std::string&) { return false; };
  const std::string same = wire::rewrite_items(request, keep, keep);
  n = wire::count_items(signal, same);
  check(n.ok() && *n == items, "an identity rewrite keeps every item");
  return 0;
}
