#include "components/exporters/helper/persistent_queue.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

namespace weft::exporters {
namespace {

namespace fs = std::filesystem;

// A record: a 32-byte header, then the request's protobuf bytes.
//   0 magic "WEFT"   4 crc32 of bytes 8..31   8 sequence number   16 payload length
//   20 crc32 of the payload   24 items   28 signal   29 format version (1)   30 zero
constexpr size_t kHeader = 32;
constexpr char kMagic[4] = {'W', 'E', 'F', 'T'};
constexpr uint8_t kVersion = 1;
// An acks entry: 8 sequence number, 1 kind, 3 zero, 4 crc32 of bytes 0..11.
constexpr size_t kAck = 16;
constexpr uint8_t kTaken = 1;
constexpr uint8_t kDone = 2;
// The acks file is rewritten (only what is still needed) when it grows past this.
constexpr uint64_t kCompactAcksBytes = 1ULL << 20;
constexpr std::string_view kLedgerHead = "weft persistent queue 1";

void put32(unsigned char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
void put64(unsigned char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
uint32_t get32(const unsigned char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
uint64_t get64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
uint32_t crc(const void* data, size_t size) {
  return static_cast<uint32_t>(
      ::crc32(0, static_cast<const Bytef*>(data), static_cast<uInt>(size)));
}

// One acks entry (see kAck).
std::array<unsigned char, kAck> ack_entry(uint64_t seq, uint8_t kind) {
  std::array<unsigned char, kAck> entry{};
  put64(entry.data(), seq);
  entry[8] = kind;
  put32(entry.data() + 12, crc(entry.data(), 12));
  return entry;
}

std::string os_error(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

// Writes everything at `offset` (or appends, for a file opened with O_APPEND).
bool write_all(int fd, iovec* iov, int count, off_t offset) {
  while (count > 0) {
    const ssize_t n = ::pwritev(fd, iov, count, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    offset += n;
    auto left = static_cast<size_t>(n);
    while (count > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      ++iov;
      --count;
    }
    if (count > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
  return true;
}

bool read_all(int fd, char* out, size_t size, off_t offset) {
  while (size > 0) {
    const ssize_t n = ::pread(fd, out, size, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    out += n;
    size -= static_cast<size_t>(n);
    offset += n;
  }
  return true;
}

std::optional<std::string> read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  std::optional<std::string> out;
  if (::fstat(fd, &st) == 0) {
    std::string data(static_cast<size_t>(st.st_size), '\0');
    if (read_all(fd, data.data(), data.size(), 0)) out = std::move(data);
  }
  ::close(fd);
  return out;
}

void sync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

struct Header {
  uint64_t seq = 0;
  uint32_t length = 0;
  uint32_t crc = 0;
  uint32_t items = 0;
  Signal signal = Signal::kTraces;
};

// The record at `offset` of a segment's bytes, if it is whole and its checksums match.
std::optional<Header> parse_record(const std::string& data, size_t offset) {
  if (data.size() - offset < kHeader) return std::nullopt;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data() + offset);
  if (std::memcmp(p, kMagic, 4) != 0 || get32(p + 4) != crc(p + 8, kHeader - 8)) {
    return std::nullopt;
  }
  Header h{get64(p + 8), get32(p + 16), get32(p + 20), get32(p + 24), static_cast<Signal>(p[28])};
  if (p[28] > 2 || p[29] != kVersion || data.size() - offset - kHeader < h.length ||
      crc(p + kHeader, h.length) != h.crc) {
    return std::nullopt;
  }
  return h;
}

std::string segment_name(uint64_t first_seq) {
  char name[32];
  std::snprintf(name, sizeof(name), "seg-%020llu", static_cast<unsigned long long>(first_seq));
  return name;
}

// The number after `prefix` in a file name ("seg-00000000000000000042" -> 42).
std::optional<uint64_t> numbered(const std::string& name, std::string_view prefix) {
  if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) {
    return std::nullopt;
  }
  uint64_t n = 0;
  for (size_t i = prefix.size(); i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  return n;
}

}  // namespace

struct PersistentQueue::File {
  explicit File(int f) : fd(f) {}
  ~File() {
    if (fd >= 0) ::close(fd);
  }
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  int fd;
};

PersistentQueue::PersistentQueue(const PersistentQueueOptions& options) : options_(options) {}

Result<std::unique_ptr<PersistentQueue>> PersistentQueue::open(
    const PersistentQueueOptions& options, RecoveryReport& report) {
  std::unique_ptr<PersistentQueue> queue(new PersistentQueue(options));
  std::lock_guard lock(queue->mu_);
  if (Status s = queue->recover(report); !s.is_ok()) return s;
  return queue;
}

PersistentQueue::~PersistentQueue() {
  std::lock_guard lock(mu_);
  if (!acks_) return;  // never opened
  (void)compact();
  for (auto it = segments_.begin(); it != segments_.end();) {
    if (it->second.live == 0) {
      ::unlink(it->second.path.c_str());
      it = segments_.erase(it);
    } else {
      ++it;
    }
  }
}

Status PersistentQueue::recover(RecoveryReport& report) {
  const std::string& dir = options_.directory;
  std::vector<std::pair<uint64_t, std::string>> segments;
  std::vector<uint64_t> generations;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (auto n = numbered(name, "seg-")) {
      segments.emplace_back(*n, entry.path().string());
    } else if (auto g = numbered(name, "acks-")) {
      generations.push_back(*g);
    } else if (name == "ledger.tmp") {
      fs::remove(entry.path(), ec);
    }
  }
  if (ec) return Status::permanent("cannot list " + dir + ": " + ec.message());
  std::sort(segments.begin(), segments.end());

  uint64_t floor = 0;
  bool ledger_ok = false;
  if (auto text = read_file(dir + "/ledger")) {
    std::istringstream in(*text);
    std::string head;
    std::string floor_key;
    std::string acks_key;
    std::getline(in, head);
    ledger_ok = head == kLedgerHead && (in >> floor_key >> floor >> acks_key >> acks_gen_) &&
                floor_key == "floor" && acks_key == "acks";
    if (!ledger_ok) {
      floor = 0;
      acks_gen_ = 0;
      report.notes.push_back("the ledger " + dir +
                             "/ledger is damaged: every record found is sent again");
    }
  } else if (!segments.empty()) {
    report.notes.push_back("no ledger in " + dir + ": every record found is sent again");
  }

  std::set<uint64_t> taken;
  std::set<uint64_t> done;
  for (uint64_t gen : generations) {
    if (ledger_ok && gen != acks_gen_) continue;  // left over from an interrupted compaction
    const auto data = read_file(dir + "/acks-" + std::to_string(gen));
    if (!data) continue;
    const auto* p = reinterpret_cast<const unsigned char*>(data->data());
    // Entries after a bad one are not trusted (a torn tail); at worst they are sent again.
    for (size_t off = 0; off + kAck <= data->size(); off += kAck) {
      if (get32(p + off + 12) != crc(p + off, 12)) break;
      (p[off + 8] == kDone ? done : taken).insert(get64(p + off));
    }
  }

  next_seq_ = std::max<uint64_t>(floor, 1);
  for (size_t i = 0; i < segments.size(); ++i) {
    scan_segment(segments[i].first, segments[i].second, i + 1 == segments.size(), floor, taken,
                 done, report);
  }
  // A segment is named after the first sequence number it was made for, so even an empty one
  // says how far numbering went. Numbers are never used twice: a record must not inherit the
  // "done" of an earlier one.
  if (!segments.empty()) next_seq_ = std::max(next_seq_, segments.back().first);
  for (uint64_t seq : done) {
    if (seq >= floor && seq < next_seq_) done_above_floor_.insert(seq);
  }
  report.requests = waiting_.size();
  roll_next_ = true;  // recovered segments are read, never written again
  // A fresh acks file and a ledger whose floor is where numbering goes on; only then are
  // delivered segments and the old acks files deleted (a crash in between leaves a ledger
  // that still knows the numbers used).
  acks_gen_ =
      std::max(acks_gen_,
               generations.empty() ? 0 : *std::max_element(generations.begin(), generations.end()));
  if (Status s = compact(); !s.is_ok()) return s;
  for (auto it = segments_.begin(); it != segments_.end();) {
    if (it->second.live == 0) {
      ::unlink(it->second.path.c_str());
      it = segments_.erase(it);
    } else {
      ++it;
    }
  }
  for (uint64_t gen : generations) {
    if (gen != acks_gen_) ::unlink((dir + "/acks-" + std::to_string(gen)).c_str());
  }
  return Status::ok();
}

void PersistentQueue::scan_segment(uint64_t first_seq, const std::string& path, bool last,
                                   uint64_t floor, const std::set<uint64_t>& taken,
                                   const std::set<uint64_t>& done, RecoveryReport& report) {
  const std::string name = fs::path(path).filename().string();
  auto data = read_file(path);
  if (!data) {
    report.notes.push_back("cannot read " + path + ": " + std::strerror(errno));
    return;
  }
  Segment segment{path, nullptr, data->size(), 0};
  size_t offset = 0;
  while (offset < data->size()) {
    auto header = parse_record(*data, offset);
    if (!header) {
      // Damaged from here: look for the next record that is whole.
      size_t next = offset + 1;
      std::optional<Header> found;
      while (next + kHeader <= data->size()) {
        const char* hit = static_cast<const char*>(
            ::memmem(data->data() + next, data->size() - next, kMagic, sizeof(kMagic)));
        if (hit == nullptr) break;
        next = static_cast<size_t>(hit - data->data());
        if ((found = parse_record(*data, next))) break;
        ++next;
      }
      if (!found) {
        const uint64_t lost = data->size() - offset;
        if (last && ::truncate(path.c_str(), static_cast<off_t>(offset)) == 0) {
          report.truncated_bytes += lost;
          report.notes.push_back("torn tail: " + std::to_string(lost) +
                                 " bytes cut off the end of " + name +
                                 " (a write the process did not finish)");
          segment.bytes = offset;
        } else {
          report.skipped_bytes += lost;
          report.notes.push_back("damaged: the last " + std::to_string(lost) + " bytes of " + name +
                                 " hold no whole record and were skipped");
        }
        break;
      }
      report.skipped_bytes += next - offset;
      report.notes.push_back("damaged: " + std::to_string(next - offset) + " bytes at offset " +
                             std::to_string(offset) + " of " + name +
                             " were skipped (records there are lost)");
      offset = next;
      header = found;
    }
    const Header& h = *header;
    next_seq_ = std::max(next_seq_, h.seq + 1);
    if (h.seq >= floor && done.count(h.seq) == 0) {
      Record record{h.seq, first_seq, offset, h.length, h.crc, h.items, h.signal, 1, std::nullopt};
      if (options_.limits.sizer == Sizer::kItems) record.size = h.items;
      if (options_.limits.sizer == Sizer::kBytes) record.size = h.length;
      used_ += record.size;
      ++segment.live;
      const auto s = static_cast<size_t>(h.signal);
      report.items[s] += h.items;
      if (taken.count(h.seq) != 0) report.redelivered[s] += h.items;
      waiting_.push_back(std::move(record));
    }
    offset += kHeader + h.length;
  }
  if (segment.live > 0) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      report.notes.push_back("cannot open " + path + ": " + std::strerror(errno));
      return;
    }
    segment.file = std::make_shared<File>(fd);
  }
  segments_[first_seq] = std::move(segment);
}

Status PersistentQueue::push(pdata::Telemetry&& data, std::vector<Dropped>& dropped) {
  const std::string& wire = data.wire();
  const auto& limits = options_.limits;
  const uint64_t size = size_of(data, limits.sizer);
  if (size > limits.capacity || wire.size() > UINT32_MAX) {
    return Status::permanent("a request of " + std::to_string(size) +
                             " is larger than the whole sending queue (" +
                             std::to_string(limits.capacity) + ")");
  }
  unsigned char header[kHeader] = {};
  std::memcpy(header, kMagic, 4);
  put32(header + 16, static_cast<uint32_t>(wire.size()));
  const uint32_t payload_crc = crc(wire.data(), wire.size());
  put32(header + 20, payload_crc);
  put32(header + 24, static_cast<uint32_t>(data.item_count()));
  header[28] = static_cast<unsigned char>(data.signal());
  header[29] = kVersion;

  std::unique_lock lock(mu_);
  while (used_ + size > limits.capacity) {
    if (!limits.drop_oldest || waiting_.empty()) {
      return Status::retryable("sending queue is full", std::chrono::seconds(1));
    }
    const Record& oldest = waiting_.front();
    dropped.push_back({oldest.signal, oldest.items});
    if (oldest.cached) cached_bytes_ -= oldest.length;
    const uint64_t seq = oldest.seq;
    const uint64_t segment = oldest.segment;
    const uint64_t oldest_size = oldest.size;
    waiting_.pop_front();
    finish(seq, segment, oldest_size);
  }
  bool need_segment = segments_.empty();
  if (!need_segment) {
    const Segment& active = segments_.rbegin()->second;
    need_segment =
        active.bytes > 0 && (roll_next_ || active.live == 0 ||
                             active.bytes + kHeader + wire.size() > options_.segment_bytes);
  }
  if (need_segment) {
    if (Status s = roll(); !s.is_ok()) return s;
  }
  auto& [first_seq, active] = *segments_.rbegin();
  const uint64_t seq = next_seq_;
  put64(header + 8, seq);
  put32(header + 4, crc(header + 8, kHeader - 8));
  iovec iov[2] = {{header, kHeader}, {const_cast<char*>(wire.data()), wire.size()}};
  if (!write_all(active.file->fd, iov, 2, static_cast<off_t>(active.bytes))) {
    const int error_number = errno;
    const std::string error =
        os_error("cannot write the persistent queue in " + options_.directory);
    (void)::ftruncate(active.file->fd, static_cast<off_t>(active.bytes));  // no torn record left
    // A full disk is not helped by another file; anything else might be.
    roll_next_ = error_number != ENOSPC && error_number != EFBIG && error_number != EDQUOT;
    return Status::retryable(error, std::chrono::seconds(1));
  }
  ++next_seq_;
  Record record{seq,           first_seq,
                active.bytes,  static_cast<uint32_t>(wire.size()),
                payload_crc,   static_cast<uint32_t>(data.item_count()),
                data.signal(), size,
                std::nullopt};
  active.bytes += kHeader + wire.size();
  ++active.live;
  used_ += size;
  if (cached_bytes_ + wire.size() <= options_.memory_bytes) {
    cached_bytes_ += wire.size();
    record.cached = std::move(data);
  }
  waiting_.push_back(std::move(record));
  if (options_.durability != Durability::kPower) return Status::ok();
  return wait_synced(lock, ++written_ticket_);
}

Status PersistentQueue::wait_synced(std::unique_lock<std::mutex>& lock, uint64_t ticket) {
  while (synced_ticket_ < ticket) {
    if (syncing_) {
      synced_.wait(lock);
      continue;
    }
    // This push leads: one fsync for every write so far.
    syncing_ = true;
    const uint64_t target = written_ticket_;
    const auto file = segments_.rbegin()->second.file;
    lock.unlock();
    const int rc = ::fdatasync(file->fd);
    lock.lock();
    if (rc != 0) {
      failed_from_ = synced_ticket_ + 1;
      failed_to_ = target;
    }
    synced_ticket_ = std::max(synced_ticket_, target);
    syncing_ = false;
    synced_.notify_all();
  }
  if (ticket >= failed_from_ && ticket <= failed_to_) {
    return Status::retryable("fsync of the persistent queue in " + options_.directory +
                             " failed; the request may be sent twice");
  }
  return Status::ok();
}

Status PersistentQueue::roll() {
  const bool power = options_.durability == Durability::kPower;
  if (!segments_.empty()) {
    auto& last = std::prev(segments_.end())->second;
    if (power && last.file) {
      // Everything written so far is on the disk once the old segment is.
      ::fdatasync(last.file->fd);
      synced_ticket_ = written_ticket_;
    }
  }
  // The new segment exists before the old one may go: there is always a file whose name
  // says how far numbering went (recover() relies on it).
  const std::string path = options_.directory + "/" + segment_name(next_seq_);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    return Status::retryable(os_error("cannot create " + path), std::chrono::seconds(1));
  }
  if (power) sync_directory(options_.directory);
  if (!segments_.empty()) {
    auto it = std::prev(segments_.end());
    if (it->second.live == 0) {
      ::unlink(it->second.path.c_str());
      segments_.erase(it);
    }
  }
  segments_[next_seq_] = Segment{path, std::make_shared<File>(fd), 0, 0};
  roll_next_ = false;
  return Status::ok();
}

std::optional<RequestQueue::Entry> PersistentQueue::take() {
  std::unique_lock lock(mu_);
  while (!waiting_.empty()) {
    Record record = std::move(waiting_.front());
    waiting_.pop_front();
    mark(record.seq, kTaken);
    std::optional<pdata::Telemetry> data = std::move(record.cached);
    record.cached.reset();
    if (data) cached_bytes_ -= record.length;
    const auto file = segments_.at(record.segment).file;
    taken_.emplace(record.seq, Taken{record.segment, record.size});
    if (data) return Entry{record.seq, std::move(*data)};
    // Read back from the disk, outside the lock.
    lock.unlock();
    std::string payload(record.length, '\0');
    const bool ok = read_all(file->fd, payload.data(), payload.size(),
                             static_cast<off_t>(record.offset + kHeader)) &&
                    crc(payload.data(), payload.size()) == record.crc;
    if (ok) {
      // Checked again: the CRC guards against damage, not against a hand that rewrote the
      // file, and nothing unchecked goes down the pipeline.
      auto data = pdata::Telemetry::from_wire(record.signal, std::move(payload));
      if (data.ok()) return Entry{record.seq, std::move(data).value()};
    }
    lock.lock();
    ++damaged_requests_;
    taken_.erase(record.seq);
    finish(record.seq, record.segment, record.size);
  }
  return std::nullopt;
}

void PersistentQueue::done(uint64_t id) {
  std::lock_guard lock(mu_);
  const auto it = taken_.find(id);
  if (it == taken_.end()) return;
  const Taken taken = it->second;
  taken_.erase(it);
  finish(id, taken.segment, taken.size);
  if (acks_bytes_ > kCompactAcksBytes) (void)compact();
}

void PersistentQueue::finish(uint64_t seq, uint64_t segment, uint64_t size) {
  mark(seq, kDone);
  done_above_floor_.insert(seq);
  used_ -= size;
  auto it = segments_.find(segment);
  if (it == segments_.end()) return;
  if (--it->second.live == 0 && std::next(it) != segments_.end()) {
    ::unlink(it->second.path.c_str());  // every record in it is done
    segments_.erase(it);
  }
}

void PersistentQueue::mark(uint64_t seq, uint8_t kind) {
  if (!acks_) return;
  std::array<unsigned char, kAck> entry = ack_entry(seq, kind);
  iovec iov{entry.data(), kAck};
  // O_APPEND: the offset is ignored. A failed write costs a duplicate after a crash at worst.
  if (write_all(acks_->fd, &iov, 1, 0)) acks_bytes_ += kAck;
}

uint64_t PersistentQueue::floor() const {
  uint64_t f = next_seq_;
  if (!waiting_.empty()) f = std::min(f, waiting_.front().seq);
  if (!taken_.empty()) f = std::min(f, taken_.begin()->first);
  return f;
}

Status PersistentQueue::compact() {
  const std::string& dir = options_.directory;
  const bool power = options_.durability == Durability::kPower;
  const uint64_t f = floor();
  done_above_floor_.erase(done_above_floor_.begin(), done_above_floor_.lower_bound(f));
  std::string entries;
  const auto add = [&entries](uint64_t seq, uint8_t kind) {
    const auto entry = ack_entry(seq, kind);
    entries.append(reinterpret_cast<const char*>(entry.data()), kAck);
  };
  for (const auto& [seq, record] : taken_) add(seq, kTaken);
  for (uint64_t seq : done_above_floor_) add(seq, kDone);

  const uint64_t gen = acks_gen_ + 1;
  const std::string acks_path = dir + "/acks-" + std::to_string(gen);
  const int fd =
      ::open(acks_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) return Status::permanent(os_error("cannot create " + acks_path));
  auto acks = std::make_shared<File>(fd);
  iovec iov{entries.data(), entries.size()};
  if ((!entries.empty() && !write_all(fd, &iov, 1, 0)) || (power && ::fdatasync(fd) != 0)) {
    Status error = Status::permanent(os_error("cannot write " + acks_path));
    ::unlink(acks_path.c_str());
    return error;
  }
  const std::string ledger = std::string(kLedgerHead) + "\nfloor " + std::to_string(f) + "\nacks " +
                             std::to_string(gen) + "\n";
  const std::string tmp = dir + "/ledger.tmp";
  const int lfd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  bool ok = lfd >= 0;
  if (ok) {
    iovec liov{const_cast<char*>(ledger.data()), ledger.size()};
    ok = write_all(lfd, &liov, 1, 0) && (!power || ::fdatasync(lfd) == 0);
    ::close(lfd);
  }
  if (!ok || ::rename(tmp.c_str(), (dir + "/ledger").c_str()) != 0) {
    Status error = Status::permanent(os_error("cannot replace " + dir + "/ledger"));
    ::unlink(tmp.c_str());
    ::unlink(acks_path.c_str());
    return error;
  }
  if (power) sync_directory(dir);
  if (acks_) ::unlink((dir + "/acks-" + std::to_string(acks_gen_)).c_str());
  acks_ = std::move(acks);
  acks_gen_ = gen;
  acks_bytes_ = entries.size();
  return Status::ok();
}

size_t PersistentQueue::waiting() const {
  std::lock_guard lock(mu_);
  return waiting_.size();
}

uint64_t PersistentQueue::disk_bytes() const {
  std::lock_guard lock(mu_);
  uint64_t total = 0;
  for (const auto& [seq, segment] : segments_) total += segment.bytes;
  return total;
}

uint64_t PersistentQueue::damaged_requests() const {
  std::lock_guard lock(mu_);
  return damaged_requests_;
}

}  // namespace weft::exporters
