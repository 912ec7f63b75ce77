#include "wasm/host/results.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace weft::wasm {
namespace {

namespace v1 = opentelemetry::proto;
using Attributes = google::protobuf::RepeatedPtrField<v1::common::v1::KeyValue>;
using v1::collector::logs::v1::ExportLogsServiceRequest;
using v1::collector::trace::v1::ExportTraceServiceRequest;

// One edit in the ABI's binary form (docs/abi.md, "Edits") and what it does to a message.
struct TestEdit {
  uint8_t op;
  uint8_t target;  // 0 item, 1 resource
  uint32_t index;
  std::string key;
  std::string text;
  int64_t i = 0;
  double d = 0;
  bool b = false;
};

void put_u32(std::string& out, uint32_t v) {
  for (int k = 0; k < 4; ++k) out.push_back(static_cast<char>((v >> (8 * k)) & 0xff));
}

std::string encode(const std::vector<TestEdit>& edits) {
  std::string out;
  for (const auto& e : edits) {
    out.push_back(static_cast<char>(e.op));
    out.push_back(static_cast<char>(e.target));
    put_u32(out, e.index);
    put_u32(out, static_cast<uint32_t>(e.key.size()));
    out += e.key;
    uint64_t bits = 0;
    switch (e.op) {
      case 1:
      case 6:
      case 7:
      case 8:
        put_u32(out, static_cast<uint32_t>(e.text.size()));
        out += e.text;
        break;
      case 2:
        bits = static_cast<uint64_t>(e.i);
        put_u32(out, static_cast<uint32_t>(bits));
        put_u32(out, static_cast<uint32_t>(bits >> 32));
        break;
      case 3:
        std::memcpy(&bits, &e.d, 8);
        put_u32(out, static_cast<uint32_t>(bits));
        put_u32(out, static_cast<uint32_t>(bits >> 32));
        break;
      case 4:
        out.push_back(e.b ? 1 : 0);
        break;
      default:
        break;
    }
  }
  return out;
}

// The reference: the edit applied to decoded attributes, as docs/abi.md describes it.
void reference(const TestEdit& e, Attributes& attrs) {
  auto find = [&](const std::string& key) -> v1::common::v1::KeyValue* {
    for (auto& kv : attrs) {
      if (kv.key() == key) return &kv;
    }
    return nullptr;
  };
  auto value = [&]() {
    auto* kv = find(e.key);
    if (kv == nullptr) {
      kv = attrs.Add();
      kv->set_key(e.key);
    }
    return kv->mutable_value();
  };
  switch (e.op) {
    case 1:
      value()->set_string_value(e.text);
      break;
    case 2:
      value()->set_int_value(e.i);
      break;
    case 3:
      value()->set_double_value(e.d);
      break;
    case 4:
      value()->set_bool_value(e.b);
      break;
    case 5:
      for (int k = attrs.size() - 1; k >= 0; --k) {
        if (attrs[k].key() == e.key) attrs.DeleteSubrange(k, 1);
      }
      break;
    case 6:
      if (auto* kv = find(e.key); kv != nullptr && find(e.text) == nullptr) kv->set_key(e.text);
      break;
    default:
      break;
  }
}

ExportTraceServiceRequest make_traces() {
  ExportTraceServiceRequest req;
  for (int r = 0; r < 3; ++r) {
    auto* rs = req.add_resource_spans();
    if (r != 1) {  // the second resource entry has no Resource message at all
      auto* kv = rs->mutable_resource()->add_attributes();
      kv->set_key("service.name");
      kv->mutable_value()->set_string_value("svc-" + std::to_string(r));
    }
    rs->set_schema_url("https://example.com/schema");
    for (int s = 0; s < 2; ++s) {
      auto* ss = rs->add_scope_spans();
      ss->mutable_scope()->set_name("scope");
      for (int i = 0; i < 4; ++i) {
        auto* span = ss->add_spans();
        span->set_name("op-" + std::to_string(i));
        span->set_trace_id(std::string(16, static_cast<char>(i + 1)));
        span->set_start_time_unix_nano(1000 + i);
        for (const char* key : {"a", "b", "c"}) {
          auto* kv = span->add_attributes();
          kv->set_key(key);
          kv->mutable_value()->set_int_value(i);
        }
        span->add_attributes()->set_key("no.value");  // a KeyValue without a value
      }
    }
  }
  return req;
}

std::vector<TestEdit> random_edits(std::mt19937& rng, size_t items, size_t resources, bool logs) {
  const std::vector<std::string> keys = {"a", "b", "c", "d", "no.value", "service.name"};
  auto pick = [&](size_t n) { return static_cast<uint32_t>(rng() % n); };
  std::vector<TestEdit> edits;
  const size_t n = 1 + pick(12);
  for (size_t k = 0; k < n; ++k) {
    TestEdit e{};
    e.target = pick(4) == 0 ? 1 : 0;
    e.index = e.target == 1 ? pick(resources) : pick(items);
    e.op = static_cast<uint8_t>(1 + pick(e.target == 0 ? 7 : 6));
    if (e.op == 7 && logs) e.op = 8;
    e.key = keys[pick(keys.size())];
    e.text = e.op == 6 ? keys[pick(keys.size())] : "text-" + std::to_string(pick(100));
    e.i = -static_cast<int64_t>(pick(1000));
    e.d = 0.5 * pick(100);
    e.b = pick(2) == 1;
    edits.push_back(e);
  }
  return edits;
}

TEST(ApplyEditsTest, SpanEditsOnTheWireMatchTheReference) {
  std::mt19937 rng(7);
  const ExportTraceServiceRequest original = make_traces();
  for (int round = 0; round < 300; ++round) {
    const auto edits = random_edits(rng, 24, 3, false);
    ExportTraceServiceRequest expected = original;
    std::vector<v1::trace::v1::Span*> spans;
    for (auto& rs : *expected.mutable_resource_spans()) {
      for (auto& ss : *rs.mutable_scope_spans()) {
        for (auto& span : *ss.mutable_spans()) spans.push_back(&span);
      }
    }
    for (const auto& e : edits) {
      if (e.target == 1) {
        reference(e, *expected.mutable_resource_spans(static_cast<int>(e.index))
                          ->mutable_resource()
                          ->mutable_attributes());
      } else if (e.op == 7) {
        spans[e.index]->set_name(e.text);
      } else {
        reference(e, *spans[e.index]->mutable_attributes());
      }
    }
    auto data = pdata::Telemetry::from_wire(Signal::kTraces, original.SerializeAsString());
    ASSERT_TRUE(data.ok());
    ASSERT_TRUE(apply_edits(data.value(), encode(edits)).is_ok()) << round;
    ExportTraceServiceRequest got;
    ASSERT_TRUE(got.ParseFromString(data.value().wire()));
    std::string diff;
    google::protobuf::util::MessageDifferencer differ;
    differ.ReportDifferencesToString(&diff);
    EXPECT_TRUE(differ.Compare(expected, got)) << "round " << round << ": " << diff;
  }
}

TEST(ApplyEditsTest, LogBodyAndAttributesOnTheWire) {
  ExportLogsServiceRequest req;
  auto* log = req.add_resource_logs()->add_scope_logs()->add_log_records();
  log->mutable_body()->set_string_value("user alice@example.com");
  log->set_severity_number(v1::logs::v1::SEVERITY_NUMBER_INFO);
  auto* kv = log->add_attributes();
  kv->set_key("http.url");
  kv->mutable_value()->set_string_value("https://example.com");
  auto data = pdata::Telemetry::from_wire(Signal::kLogs, req.SerializeAsString());
  ASSERT_TRUE(data.ok());
  const std::vector<TestEdit> edits = {{8, 0, 0, "", "user ****"},
                                       {6, 0, 0, "http.url", "url.full"},
                                       {1, 0, 0, "env", "prod"},
                                       {1, 1, 0, "host.name", "node-1"}};
  ASSERT_TRUE(apply_edits(data.value(), encode(edits)).is_ok());
  ExportLogsServiceRequest got;
  ASSERT_TRUE(got.ParseFromString(data.value().wire()));
  const auto& out = got.resource_logs(0).scope_logs(0).log_records(0);
  EXPECT_EQ(out.body().string_value(), "user ****");
  EXPECT_EQ(out.severity_number(), v1::logs::v1::SEVERITY_NUMBER_INFO);
  ASSERT_EQ(out.attributes_size(), 2);
  EXPECT_EQ(out.attributes(0).key(), "url.full");
  EXPECT_EQ(out.attributes(0).value().string_value(), "https://example.com");
  EXPECT_EQ(out.attributes(1).key(), "env");
  const auto& resource = got.resource_logs(0).resource();
  ASSERT_EQ(resource.attributes_size(), 1);
  EXPECT_EQ(resource.attributes(0).value().string_value(), "node-1");
}

TEST(ApplyEditsTest, BadEditListsChangeNothing) {
  const ExportTraceServiceRequest original = make_traces();
  auto data = pdata::Telemetry::from_wire(Signal::kTraces, original.SerializeAsString());
  ASSERT_TRUE(data.ok());
  const std::string before = data.value().wire();
  EXPECT_FALSE(apply_edits(data.value(), encode({{1, 0, 24, "a", "x"}})).is_ok());  // no item 24
  EXPECT_FALSE(apply_edits(data.value(), encode({{1, 1, 3, "a", "x"}})).is_ok());   // no resource 3
  EXPECT_FALSE(apply_edits(data.value(), encode({{8, 0, 0, "", "body"}})).is_ok());  // logs only
  EXPECT_FALSE(apply_edits(data.value(), "\x01").is_ok());                           // cut short
  const Status target =
      apply_edits(data.value(), encode({{1, 0, 0, "a", "x"}, {1, 7, 0, "a", "x"}}));
  EXPECT_EQ(target.message(), "edit 1 has target 7; targets are 0 (an item) and 1 (a resource)");
  EXPECT_EQ(apply_edits(data.value(), encode({{1, 0, 0, "a", "\xff"}})).message(),
            "edit 0 has a key or value that is not valid UTF-8");
  EXPECT_EQ(data.value().wire(), before);
}

TEST(ApplyKeepMaskTest, KeepsSpansOnTheWire) {
  const ExportTraceServiceRequest original = make_traces();
  auto data = pdata::Telemetry::from_wire(Signal::kTraces, original.SerializeAsString());
  ASSERT_TRUE(data.ok());
  std::string mask(24, '\0');
  mask[5] = 1;
  mask[23] = 1;
  ASSERT_TRUE(apply_keep_mask(data.value(), mask).is_ok());
  EXPECT_EQ(data.value().item_count(), 2u);
  EXPECT_FALSE(apply_keep_mask(data.value(), std::string(3, '\1')).is_ok());  // wrong length
}

}  // namespace
}  // namespace weft::wasm
