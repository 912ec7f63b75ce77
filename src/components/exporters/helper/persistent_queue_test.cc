#include "components/exporters/helper/persistent_queue.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "testing/temp.h"

namespace weft::exporters {
namespace {

namespace fs = std::filesystem;
using opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;

pdata::Telemetry spans(const std::string& name, int count = 1) {
  ExportTraceServiceRequest request;
  auto* ss = request.add_resource_spans()->add_scope_spans();
  for (int i = 0; i < count; ++i) ss->add_spans()->set_name(name);
  auto t = pdata::Telemetry::from_wire(Signal::kTraces, request.SerializeAsString());
  EXPECT_TRUE(t.ok());
  return std::move(t).value();
}

std::string name_of(const pdata::Telemetry& t) {
  ExportTraceServiceRequest request;
  EXPECT_TRUE(request.ParseFromString(t.wire()));
  return request.resource_spans(0).scope_spans(0).spans(0).name();
}

std::vector<fs::path> segments(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().rfind("seg-", 0) == 0) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

class PersistentQueueTest : public ::testing::Test {
 protected:
  std::unique_ptr<PersistentQueue> open(RecoveryReport* report = nullptr) {
    RecoveryReport local;
    auto queue = PersistentQueue::open(options_, report != nullptr ? *report : local);
    EXPECT_TRUE(queue.ok()) << queue.status().message();
    return queue.ok() ? std::move(queue).value() : nullptr;
  }
  void push(PersistentQueue& queue, const std::string& name, int count = 1) {
    std::vector<RequestQueue::Dropped> dropped;
    Status s = queue.push(spans(name, count), dropped);
    ASSERT_TRUE(s.is_ok()) << s.message();
  }
  // What the queue hands out, in order, each marked done.
  static std::vector<std::string> drain(PersistentQueue& queue) {
    std::vector<std::string> out;
    while (auto entry = queue.take()) {
      out.push_back(name_of(entry->data));
      queue.done(entry->id);
    }
    return out;
  }
  // The process dies: nothing is closed or tidied.
  static void crash(std::unique_ptr<PersistentQueue>& queue) { (void)queue.release(); }

  testing::TempDir dir_;
  PersistentQueueOptions options_ = [this] {
    PersistentQueueOptions o;
    o.directory = dir_.path().string();
    o.limits.capacity = 1000;
    return o;
  }();
};

TEST_F(PersistentQueueTest, DeliveredRequestsAreGoneAfterARestart) {
  auto queue = open();
  for (int i = 0; i < 5; ++i) push(*queue, "a" + std::to_string(i));
  EXPECT_EQ(drain(*queue), (std::vector<std::string>{"a0", "a1", "a2", "a3", "a4"}));
  queue.reset();
  EXPECT_TRUE(segments(dir_.path()).empty());
  RecoveryReport report;
  queue = open(&report);
  EXPECT_EQ(report.requests, 0U);
  EXPECT_FALSE(queue->take().has_value());
}

TEST_F(PersistentQueueTest, WaitingRequestsSurviveACrashInOrder) {
  options_.memory_bytes = 0;  // read back from the disk, too
  auto queue = open();
  for (int i = 0; i < 4; ++i) push(*queue, "b" + std::to_string(i), i + 1);
  auto first = queue->take();
  ASSERT_TRUE(first);
  queue->done(first->id);
  crash(queue);
  RecoveryReport report;
  queue = open(&report);
  EXPECT_EQ(report.requests, 3U);
  EXPECT_EQ(report.items[0], 2U + 3U + 4U);
  EXPECT_EQ(report.redelivered[0], 0U);
  EXPECT_TRUE(report.notes.empty());
  EXPECT_EQ(drain(*queue), (std::vector<std::string>{"b1", "b2", "b3"}));
}

TEST_F(PersistentQueueTest, TakenButNotDoneIsSentAgainAndCounted) {
  auto queue = open();
  push(*queue, "c0", 3);
  push(*queue, "c1", 2);
  auto first = queue->take();  // sent when the process died: maybe delivered
  ASSERT_TRUE(first);
  crash(queue);
  RecoveryReport report;
  queue = open(&report);
  EXPECT_EQ(report.requests, 2U);
  EXPECT_EQ(report.redelivered[0], 3U);
  EXPECT_EQ(drain(*queue), (std::vector<std::string>{"c0", "c1"}));
}

TEST_F(PersistentQueueTest, RestartsOneAfterAnotherKeepWhatIsNotDone) {
  auto queue = open();
  push(*queue, "d0");
  push(*queue, "d1");
  crash(queue);
  queue = open();
  push(*queue, "d2");
  auto entry = queue->take();
  ASSERT_TRUE(entry);
  EXPECT_EQ(name_of(entry->data), "d0");
  queue->done(entry->id);
  crash(queue);
  queue = open();
  EXPECT_EQ(drain(*queue), (std::vector<std::string>{"d1", "d2"}));
}

// A crash can leave no segment with a record in it (all delivered, the last one deleted as a
// new one was made): numbering must still go on from where it was, or the new records
// would be taken for the delivered ones that had their numbers.
TEST_F(PersistentQueueTest, NumbersAreNotReusedWhenEveryRecordIsGone) {
  auto queue = open();
  push(*queue, "m0");
  push(*queue, "m1");
  EXPECT_EQ(drain(*queue).size(), 2U);
  crash(queue);
  for (const auto& seg : segments(dir_.path())) fs::remove(seg);
  queue = open();
  push(*queue, "m2");
  crash(queue);
  RecoveryReport report;
  queue = open(&report);
  EXPECT_EQ(report.requests, 1U);
  EXPECT_EQ(drain(*queue), (std::vector<std::string>{"m2"}));
}

TEST_F(PersistentQueueTest, ATornTailIsCutOffAndReported) {
  auto queue = open();
  push(*queue, "e0");
  push(*queue, "e1");
  crash(queue);
  const auto segs = segments(dir_.path());
  ASSERT_EQ(segs.size(), 1U);
  const auto whole = fs::file_size(segs[0]);
  {
    // Half of a third record: the header and part of its payload.
    std::string bytes;
    std::ifstream in(segs[0], std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
    std::ofstream out(segs[0], std::ios::binary | std::ios::app);
    out << bytes.substr(0, 40);
  }
  RecoveryReport report;
  queue = open(&report);
  EXPECT_EQ(report.requests, 2U);
  EXPECT_EQ(report.truncated_bytes, 40U);
  ASSERT_EQ(report.notes.size(), 1U);
  EXPECT_NE(report.notes[0].find("torn tail"), std::string::npos);
  EXPECT_EQ(fs::file_size(segs[0]), whole);
  EXPECT_EQ(drain(*queue), (std::vector<std::string>{"e0", "e1"}));
}

TEST_F(PersistentQueueTest, ADamagedRecordInTheMiddleIsSkippedAndTheRestDelivered) {
  auto queue = open();
  for (int i = 0; i < 5; ++i) push(*queue, "f" + std::to_string(i));
  crash(queue);
  const auto segs = segments(dir_.path());
  ASSERT_EQ(segs.size(), 1U);
  const auto size = fs::file_size(segs[0]);
  const auto record = size / 5;
  {
    std::fstream f(segs[0], std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(static_cast<std::streamoff>(2 * record + record / 2));  // in f2's payload
    f.put('\x7f');
  }
  RecoveryReport report;
  queue = open(&report);
  EXPECT_EQ(report.requests, 4U);
  EXPECT_EQ(report.skipped_bytes, record);
  EXPECT_EQ(report.truncated_bytes, 0U);
  ASSERT_EQ(report.notes.size(), 1U);
  EXPECT_NE(report.notes[0].find("skipped"), std::string::npos);
  EXPECT_EQ(drain(*queue), (std::vector<std::string>{"f0", "f1", "f3", "f4"}));
}

TEST_F(PersistentQueueTest, AFullQueueRefusesOrDropsItsOldest) {
  options_.limits.capacity = 3;
  auto queue = open();
  for (int i = 0; i < 3; ++i) push(*queue, "g" + std::to_string(i));
  std::vector<RequestQueue::Dropped> dropped;
  Status s = queue->push(spans("g3"), dropped);
  EXPECT_TRUE(s.is_retryable());
  EXPECT_TRUE(dropped.empty());
  queue.reset();

  options_.limits.drop_oldest = true;
  queue = open();
  s = queue->push(spans("g3", 7), dropped);
  EXPECT_TRUE(s.is_ok());
  ASSERT_EQ(dropped.size(), 1U);
  EXPECT_EQ(dropped[0].items, 1U);
  crash(queue);
  queue = open();
  EXPECT_EQ(drain(*queue), (std::vector<std::string>{"g1", "g2", "g3"}));
}

TEST_F(PersistentQueueTest, BytesSizerCountsTheRequestsBytes) {
  options_.limits.sizer = Sizer::kBytes;
  options_.limits.capacity = spans("h", 10).wire().size() * 2;
  auto queue = open();
  push(*queue, "h", 10);
  push(*queue, "h", 10);
  std::vector<RequestQueue::Dropped> dropped;
  EXPECT_TRUE(queue->push(spans("h", 1), dropped).is_retryable());
  // Larger than the whole queue: never fits, so it is refused for good.
  EXPECT_FALSE(queue->push(spans("h", 30), dropped).is_retryable());
  drain(*queue);
  EXPECT_TRUE(queue->push(spans("h", 1), dropped).is_ok());
}

TEST_F(PersistentQueueTest, SegmentsAreDeletedOnceEverythingInThemIsDone) {
  options_.segment_bytes = 300;
  auto queue = open();
  for (int i = 0; i < 30; ++i) push(*queue, "i" + std::to_string(i), 2);
  EXPECT_GE(segments(dir_.path()).size(), 4U);
  EXPECT_GT(queue->disk_bytes(), 3 * options_.segment_bytes);
  EXPECT_EQ(drain(*queue).size(), 30U);
  EXPECT_LE(segments(dir_.path()).size(), 1U);  // the one being written
  EXPECT_LE(queue->disk_bytes(), options_.segment_bytes);
  queue.reset();
  EXPECT_TRUE(segments(dir_.path()).empty());
}

TEST_F(PersistentQueueTest, PowerDurabilityCommitsConcurrentPushes) {
  options_.durability = Durability::kPower;
  auto queue = open();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) push(*queue, "p" + std::to_string(t));
    });
  }
  for (auto& th : threads) th.join();
  crash(queue);
  RecoveryReport report;
  queue = open(&report);
  EXPECT_EQ(report.requests, 100U);
}

TEST_F(PersistentQueueTest, AWriteThatFailsRefusesAndLeavesNoTornRecord) {
  std::signal(SIGXFSZ, SIG_IGN);  // a write past the limit fails with EFBIG instead
  auto queue = open();
  push(*queue, "j0", 50);  // creates the segment and the acks file
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  rlimit small = old;
  small.rlim_cur = 8192;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  int ok = 1;
  Status failed;
  for (int i = 0; i < 50; ++i) {
    std::vector<RequestQueue::Dropped> dropped;
    Status s = queue->push(spans("j" + std::to_string(i + 1), 50), dropped);
    if (!s.is_ok()) {
      failed = s;
      break;
    }
    ++ok;
  }
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old), 0);
  EXPECT_TRUE(failed.is_retryable());
  EXPECT_NE(failed.message().find("cannot write"), std::string::npos) << failed.message();
  push(*queue, "k");  // room again: a new segment
  crash(queue);
  RecoveryReport report;
  queue = open(&report);
  EXPECT_TRUE(report.notes.empty()) << report.notes[0];
  EXPECT_EQ(report.requests, static_cast<uint64_t>(ok + 1));
  auto names = drain(*queue);
  EXPECT_EQ(names.back(), "k");
}

}  // namespace
}  // namespace weft::exporters
