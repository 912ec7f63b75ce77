#pragma once

#include <array>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "components/exporters/helper/request_queue.h"
#include "weft/result.h"
#include "weft/storage.h"

namespace weft::exporters {

// A sending queue in a directory, which outlives the process (and with Durability::kPower,
// the machine). docs/reliability.md describes the format and the promises; in short:
//
//   seg-<first sequence number>  records appended, each with a header and its own checksums
//   acks-<generation>            16-byte entries: a record was taken (sent) or is done
//   ledger                       replaced atomically (rename): the floor below which every
//                                record is done, and which acks file is current
//   lock                         held by file_storage: one process per directory
//
// A record is written (kPower: and fsync'ed, one fsync for every push waiting on it) before
// push() returns, so what the exporter acknowledged survives a kill -9. A segment is deleted
// as soon as every record in it is done. Opening the directory again recovers every record
// not done: a torn tail (the process died mid-write) is truncated, a damaged record in the
// middle is skipped up to the next good one, and both are reported; records that were taken
// but not done are sent again (at-least-once) and counted as redelivered.
struct PersistentQueueOptions {
  std::string directory;
  Durability durability = Durability::kProcess;
  QueueLimits limits;
  uint64_t segment_bytes = 8ULL << 20;
  // Requests pushed are also kept in memory up to this many bytes, so that a queue that keeps
  // up never reads its own disk.
  uint64_t memory_bytes = 32ULL << 20;
};

// What opening the directory found.
struct RecoveryReport {
  uint64_t requests = 0;                  // waiting again
  std::array<uint64_t, 3> items{};        // of those, by signal
  std::array<uint64_t, 3> redelivered{};  // taken before the restart, maybe delivered
  uint64_t truncated_bytes = 0;           // torn tails cut off
  uint64_t skipped_bytes = 0;             // damaged records passed over
  std::vector<std::string> notes;         // one line for each repair, for the log
};

class PersistentQueue final : public RequestQueue {
 public:
  static Result<std::unique_ptr<PersistentQueue>> open(const PersistentQueueOptions& options,
                                                       RecoveryReport& report);
  // Leaves a tidy directory: acks compacted, delivered segments deleted.
  ~PersistentQueue() override;
  PersistentQueue(const PersistentQueue&) = delete;
  PersistentQueue& operator=(const PersistentQueue&) = delete;

  Status push(pdata::Telemetry&& data, std::vector<Dropped>& dropped) override;
  std::optional<Entry> take() override;
  void done(uint64_t id) override;
  [[nodiscard]] size_t waiting() const override;
  // Bytes of segment files on disk.
  [[nodiscard]] uint64_t disk_bytes() const;
  // Requests found damaged after open (read back, they did not match), dropped by take().
  [[nodiscard]] uint64_t damaged_requests() const;

 private:
  struct File;
  struct Segment {
    std::string path;
    std::shared_ptr<File> file;
    uint64_t bytes = 0;
    uint64_t live = 0;  // records not done
  };
  struct Record {
    uint64_t seq = 0;
    uint64_t segment = 0;  // the segment's first sequence number
    uint64_t offset = 0;
    uint32_t length = 0;  // payload
    uint32_t crc = 0;     // payload
    uint32_t items = 0;
    Signal signal = Signal::kTraces;
    uint64_t size = 0;  // in sizer units
    std::optional<pdata::Telemetry> cached;
  };

  explicit PersistentQueue(const PersistentQueueOptions& options);
  Status recover(RecoveryReport& report);
  // Finds the records of one segment; those below `floor` or in `done` are done.
  void scan_segment(uint64_t first_seq, const std::string& path, bool last, uint64_t floor,
                    const std::set<uint64_t>& taken, const std::set<uint64_t>& done,
                    RecoveryReport& report);
  Status roll();
  void finish(uint64_t seq, uint64_t segment, uint64_t size);  // done, with mu_ held
  void reclaim(uint64_t segment);
  void mark(uint64_t seq, uint8_t kind);
  [[nodiscard]] uint64_t floor() const;
  Status compact();
  Status wait_synced(std::unique_lock<std::mutex>& lock, uint64_t ticket);

  PersistentQueueOptions options_;
  mutable std::mutex mu_;
  std::map<uint64_t, Segment> segments_;  // by first sequence number; the last one is written
  std::deque<Record> waiting_;
  struct Taken {
    uint64_t segment = 0;
    uint64_t size = 0;
  };
  std::map<uint64_t, Taken> taken_;  // by sequence number
  std::set<uint64_t> done_above_floor_;
  uint64_t next_seq_ = 1;
  uint64_t used_ = 0;
  uint64_t cached_bytes_ = 0;
  uint64_t damaged_requests_ = 0;
  bool roll_next_ = false;  // the last write failed: start a new segment
  std::shared_ptr<File> acks_;
  uint64_t acks_gen_ = 0;
  uint64_t acks_bytes_ = 0;
  // Group commit (kPower): pushes wait until an fsync covering their ticket has finished.
  std::condition_variable synced_;
  uint64_t written_ticket_ = 0;
  uint64_t synced_ticket_ = 0;
  bool syncing_ = false;
  uint64_t failed_from_ = 1;  // tickets [failed_from_, failed_to_] were not synced
  uint64_t failed_to_ = 0;
};

}  // namespace weft::exporters
