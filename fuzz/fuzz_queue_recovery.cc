// The persistent queue's recovery: whatever is in its directory (a ledger, an acks file, a
// segment file), opening it must not crash, must hand out exactly the requests it says it
// recovered, and once they are done, opening it again must find nothing.
// Input: a flags byte (bit 0: a ledger exists; the other bits: its floor), two bytes (little
// endian) for the length of the acks file that follows, then the segment file.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "components/exporters/helper/persistent_queue.h"
#include "fuzz_check.h"

namespace fs = std::filesystem;
using weft::exporters::PersistentQueue;
using weft::exporters::PersistentQueueOptions;
using weft::exporters::RecoveryReport;

namespace {

void write(const fs::path& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
}

const fs::path& directory() {
  static const fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("weft-fuzz-queue-" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const fs::path& dir = directory();
  for (const auto& entry : fs::directory_iterator(dir)) fs::remove(entry.path());
  const uint8_t flags = data[0];
  const size_t acks = std::min<size_t>(data[1] | (data[2] << 8), size - 3);
  if ((flags & 1) != 0) {
    const std::string ledger =
        "weft persistent queue 1\nfloor " + std::to_string(flags >> 1) + "\nacks 1\n";
    write(dir / "ledger", reinterpret_cast<const uint8_t*>(ledger.data()), ledger.size());
  }
  write(dir / "acks-1", data + 3, acks);
  write(dir / "seg-00000000000000000001", data + 3 + acks, size - 3 - acks);

  PersistentQueueOptions options;
  options.directory = dir.string();
  options.limits.capacity = 1 << 20;
  RecoveryReport report;
  {
    auto queue = PersistentQueue::open(options, report);
    check(queue.ok(), "a directory of plain files always opens");
    uint64_t taken = 0;
    while (auto entry = (*queue)->take()) {
      ++taken;
      (*queue)->done(entry->id);
    }
    // A record that fails its schema check on the way out is dropped as damaged.
    check(taken + (*queue)->damaged_requests() == report.requests,
          "every recovered request is handed out or reported damaged");
  }
  RecoveryReport again;
  auto queue = PersistentQueue::open(options, again);
  check(queue.ok(), "the queue opens again");
  check(again.requests == 0, "what was done stays done");
  check(!(*queue)->take().has_value(), "nothing left");
  return 0;
}
