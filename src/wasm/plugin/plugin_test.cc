#include "wasm/plugin/plugin.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <spdlog/sinks/ostream_sink.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace weft::wasm {
namespace {

namespace fs = std::filesystem;

// A plugin in WAT around one body for weft_process_traces. weft_alloc always
// hands out offset 1024 (tests send small batches).
std::string plugin_wat(const std::string& body, const std::string& extra = "", int abi_version = 1,
                       bool with_marker = true) {
  return R"((module
    (import "weft" "log" (func $log (param i32 i32 i32)))
    (import "weft" "set_error" (func $set_error (param i32 i32)))
    (import "weft" "env_get" (func $env_get (param i32 i32 i32 i32) (result i32)))
    (import "weft" "result_drop_all" (func $drop (result i32)))
    (import "weft" "result_keep" (func $keep (param i32 i32) (result i32)))
    (import "weft" "result_replace" (func $replace (param i32 i32) (result i32)))
    (import "weft" "result_edits" (func $edits (param i32 i32) (result i32)))
    (import "weft" "metric" (func $metric (param i32 i32 i32 f64 i32 i32) (result i32)))
    (memory (export "memory") 4)
    (data (i32.const 16) "HOME\01\00\01")
    (data (i32.const 300) "latencyk=v")
    )" +
         std::string(with_marker ? "(func (export \"weft_abi_version\") (result i32) i32.const " +
                                       std::to_string(abi_version) + ")"
                                 : "") +
         R"(
    (func (export "weft_alloc") (param i32) (result i32) i32.const 1024)
    (func (export "weft_configure") (param i32 i32) (result i32) i32.const 0)
    (func $recurse (param i32) (result i32) local.get 0 i32.const 1 i32.add call $recurse)
    )" + extra +
         "(func (export \"weft_process_traces\") (param i32 i32) (result i32) " + body + "))";
}

pdata::Telemetry three_spans() {
  opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest req;
  auto* spans = req.add_resource_spans()->add_scope_spans();
  for (const char* name : {"a", "b", "c"}) spans->add_spans()->set_name(name);
  auto t = pdata::Telemetry::from_wire(Signal::kTraces, req.SerializeAsString());
  EXPECT_TRUE(t.ok());
  return std::move(t).value();
}

class PluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("weft-plugin-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    auto engine = Engine::create({});
    ASSERT_TRUE(engine.ok());
    engine_ = engine.value();
    ctx_.id = "wasm/test";
    ctx_.metrics = &registry_;
    ctx_.logger =
        std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    const auto path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }

  Result<std::shared_ptr<Plugin>> load(const std::string& wat, PluginSettings settings = {}) {
    settings.path = write("plugin.wat", wat);
    settings.signals = {Signal::kTraces};
    settings.limits.timeout = std::chrono::milliseconds(50);
    settings.limits.memory_bytes = 1 << 20;
    settings.watch_interval = std::chrono::milliseconds(0);
    return Plugin::load(engine_, settings, ctx_);
  }

  uint64_t metric(const std::string& series) {
    const std::string text = registry_.render();
    const auto pos = text.find(series + " ");
    if (pos == std::string::npos) return 0;
    return std::stoull(text.substr(pos + series.size() + 1));
  }

  fs::path dir_;
  std::shared_ptr<Engine> engine_;
  telemetry::Registry registry_;
  ComponentContext ctx_;
};

TEST_F(PluginTest, UnchangedBatchPassesThrough) {
  auto plugin = load(plugin_wat("i32.const 0"));
  ASSERT_TRUE(plugin.ok()) << plugin.status().message();
  auto data = three_spans();
  const std::string before = data.wire();
  EXPECT_EQ(plugin.value()->process(data).kind, Outcome::kKept);
  EXPECT_EQ(data.wire(), before);
  EXPECT_EQ(metric(R"(weft_plugin_calls{plugin="wasm/test"})"), 1u);
}

TEST_F(PluginTest, KeepMaskAndDropAll) {
  auto keep = load(plugin_wat(
      "(i32.store8 (i32.const 100) (i32.const 1)) (i32.store8 (i32.const 101) (i32.const 0)) "
      "(i32.store8 (i32.const 102) (i32.const 1)) (call $keep (i32.const 100) (i32.const 3))"));
  ASSERT_TRUE(keep.ok()) << keep.status().message();
  auto input = three_spans();
  auto outcome = keep.value()->process(input);
  ASSERT_EQ(outcome.kind, Outcome::kKept);
  EXPECT_EQ(input.item_count(), 3u) << "the batch handed in stays as it was";
  ASSERT_TRUE(outcome.output.has_value());
  auto& data = *outcome.output;
  const auto& req =
      static_cast<const opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest&>(
          data.message());
  ASSERT_EQ(data.item_count(), 2u);
  EXPECT_EQ(req.resource_spans(0).scope_spans(0).spans(1).name(), "c");

  auto drop = load(plugin_wat("call $drop"));
  ASSERT_TRUE(drop.ok());
  auto more = three_spans();
  EXPECT_EQ(drop.value()->process(more).kind, Outcome::kDropped);
}

TEST_F(PluginTest, InfiniteLoopTimesOutAndTheInstanceIsReplaced) {
  auto plugin = load(plugin_wat("(loop br 0) i32.const 0"));
  ASSERT_TRUE(plugin.ok());
  auto data = three_spans();
  const std::string before = data.wire();
  auto outcome = plugin.value()->process(data);
  EXPECT_EQ(outcome.kind, Outcome::kFailed);
  EXPECT_EQ(data.wire(), before) << "a failed call leaves the batch untouched";
  EXPECT_EQ(metric(R"(weft_plugin_timeouts{plugin="wasm/test"})"), 1u);
  EXPECT_EQ(plugin.value()->process(data).kind, Outcome::kFailed);  // a fresh instance, same fate
  EXPECT_EQ(metric(R"(weft_plugin_timeouts{plugin="wasm/test"})"), 2u);
}

TEST_F(PluginTest, MemoryGrowthPastTheCapIsCaught) {
  auto plugin =
      load(plugin_wat("(block (loop (br_if 1 (i32.eq (memory.grow (i32.const 4)) (i32.const -1))) "
                      "(br 0))) unreachable"));
  ASSERT_TRUE(plugin.ok());
  auto data = three_spans();
  EXPECT_EQ(plugin.value()->process(data).kind, Outcome::kFailed);
  EXPECT_EQ(metric(R"(weft_plugin_memory_limit_hits{plugin="wasm/test"})"), 1u);
  EXPECT_LE(metric(R"(weft_plugin_memory_bytes{plugin="wasm/test"})"), 1u << 20);
}

TEST_F(PluginTest, DeepRecursionTraps) {
  auto plugin = load(plugin_wat("i32.const 0 call $recurse"));
  ASSERT_TRUE(plugin.ok());
  auto data = three_spans();
  auto outcome = plugin.value()->process(data);
  EXPECT_EQ(outcome.kind, Outcome::kFailed);
  EXPECT_EQ(metric(R"(weft_plugin_traps{kind="stack_overflow",plugin="wasm/test"})"), 1u);
}

TEST_F(PluginTest, OutOfBoundsPointerToTheHostTraps) {
  auto plugin = load(
      plugin_wat("(call $log (i32.const 1) (i32.const 0x7ffffff0) (i32.const 64)) i32.const 0"));
  ASSERT_TRUE(plugin.ok());
  auto data = three_spans();
  auto outcome = plugin.value()->process(data);
  EXPECT_EQ(outcome.kind, Outcome::kFailed);
  EXPECT_NE(outcome.error.find("out of bounds"), std::string::npos) << outcome.error;
}

TEST_F(PluginTest, EnormousOrWrongResultsAreRejected) {
  auto huge = load(plugin_wat("(call $replace (i32.const 0) (i32.const 0x7fffffff))"));
  ASSERT_TRUE(huge.ok());
  auto data = three_spans();
  EXPECT_EQ(huge.value()->process(data).kind, Outcome::kFailed);
  auto bad_mask = load(plugin_wat("(call $keep (i32.const 100) (i32.const 5000))"));
  ASSERT_TRUE(bad_mask.ok());
  auto outcome = bad_mask.value()->process(data);
  EXPECT_EQ(outcome.kind, Outcome::kFailed);
  EXPECT_NE(outcome.error.find("keep-mask"), std::string::npos) << outcome.error;
  EXPECT_EQ(data.item_count(), 3u);
}

TEST_F(PluginTest, HostCallWithoutPermissionIsDenied) {
  // Returns 0 only if env_get answered -3 (denied).
  auto plugin =
      load(plugin_wat("(i32.ne (call $env_get (i32.const 16) (i32.const 4) (i32.const 200) "
                      "(i32.const 64)) (i32.const -3))"));
  ASSERT_TRUE(plugin.ok());
  auto data = three_spans();
  EXPECT_EQ(plugin.value()->process(data).kind, Outcome::kKept);
  EXPECT_EQ(metric(R"(weft_plugin_denied_calls{plugin="wasm/test"})"), 1u);

  PluginSettings granted;
  granted.env_allowed = {"HOME"};
  auto allowed = load(plugin_wat("(i32.lt_s (call $env_get (i32.const 16) (i32.const 4) (i32.const "
                                 "200) (i32.const 64)) (i32.const 0))"),
                      granted);
  ASSERT_TRUE(allowed.ok());
  EXPECT_EQ(allowed.value()->process(data).kind, Outcome::kKept);
}

TEST_F(PluginTest, PluginMetricsAreExportedWithTheirAttributes) {
  auto plugin =
      load(plugin_wat("(drop (call $metric (i32.const 0) (i32.const 300) (i32.const 7) (f64.const "
                      "2) (i32.const 307) "
                      "(i32.const 3))) "
                      "(drop (call $metric (i32.const 2) (i32.const 300) (i32.const 7) (f64.const "
                      "0.3) (i32.const 307) "
                      "(i32.const 3))) "
                      "(call $metric (i32.const 9) (i32.const 300) (i32.const 7) (f64.const 1) "
                      "(i32.const 0) (i32.const 0))"));
  ASSERT_TRUE(plugin.ok()) << plugin.status().message();
  auto data = three_spans();
  // The last call's kind is unknown: it returns -2, which the body returns as the status.
  EXPECT_EQ(plugin.value()->process(data).kind, Outcome::kFailed);
  const std::string text = registry_.render();
  EXPECT_NE(text.find(R"(weft_plugin_latency{k="v",plugin="wasm/test"} 2)"), std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(weft_plugin_latency_bucket{k="v",le="0.5",plugin="wasm/test"} 1)"),
            std::string::npos);
  EXPECT_EQ(text.find(R"(weft_plugin_latency_bucket{k="v",le="0.25",plugin="wasm/test"})"),
            std::string::npos);
  EXPECT_NE(text.find(R"(weft_plugin_latency_count{k="v",plugin="wasm/test"} 1)"),
            std::string::npos);
}

TEST_F(PluginTest, ModulesWithoutTheAbiAreRefusedAtLoad) {
  auto no_marker = load(plugin_wat("i32.const 0", "", 1, false));
  ASSERT_FALSE(no_marker.ok());
  EXPECT_NE(no_marker.status().message().find("weft_abi_version"), std::string::npos)
      << no_marker.status().message();
  auto wrong = load(plugin_wat("i32.const 0", "", 2));
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("ABI version 2"), std::string::npos);
  auto garbage = load("this is not wasm");
  EXPECT_FALSE(garbage.ok());
  auto wrong_signature = load(R"((module (memory (export "memory") 1)
    (func (export "weft_abi_version") (result i32) i32.const 1)
    (func (export "weft_alloc") (param i32) (result i32) i32.const 8)
    (func (export "weft_configure") (param i32 i32) (result i32) i32.const 0)
    (func (export "weft_process_traces") (param i32) (result i32) i32.const 0)))");
  ASSERT_FALSE(wrong_signature.ok());
  EXPECT_NE(wrong_signature.status().message().find(
                "weft_process_traces has the signature (i32)->(i32), the ABI wants "
                "(i32,i32)->(i32)"),
            std::string::npos)
      << wrong_signature.status().message();
}

TEST_F(PluginTest, GuestErrorsAreReportedAndRepeatedFailuresBackOff) {
  auto plugin = load(plugin_wat("(call $set_error (i32.const 16) (i32.const 4)) i32.const 7"));
  ASSERT_TRUE(plugin.ok());
  auto data = three_spans();
  auto first = plugin.value()->process(data);
  EXPECT_EQ(first.kind, Outcome::kFailed);
  EXPECT_NE(first.error.find("status 7: HOME"), std::string::npos) << first.error;
  for (int i = 0; i < 6; ++i) (void)plugin.value()->process(data);
  EXPECT_GE(metric(R"(weft_plugin_backed_off_batches{plugin="wasm/test"})"), 1u);
}

TEST_F(PluginTest, ReloadSwapsVersionsAndKeepsTheOldOneOnABadFile) {
  auto plugin = load(plugin_wat("i32.const 0"));
  ASSERT_TRUE(plugin.ok());
  const std::string path = (dir_ / "plugin.wat").string();
  write("plugin.wat", plugin_wat("call $drop"));
  ASSERT_TRUE(plugin.value()->reload().is_ok());
  EXPECT_EQ(plugin.value()->generation(), 2u);
  auto data = three_spans();
  EXPECT_EQ(plugin.value()->process(data).kind, Outcome::kDropped);
  write("plugin.wat", "(module broken");
  EXPECT_FALSE(plugin.value()->reload().is_ok());
  EXPECT_EQ(plugin.value()->generation(), 2u);
  auto again = three_spans();
  EXPECT_EQ(plugin.value()->process(again).kind, Outcome::kDropped)
      << "the old version keeps running";
  EXPECT_EQ(metric(R"(weft_plugin_reloads{plugin="wasm/test",result="failed"})"), 1u);
}

// Edits address the items as they came; the mask then drops some. One call, both results.
TEST_F(PluginTest, KeepAndEditsInOneCall) {
  // Two edits (set "k" = "v" on items 0 and 1), mask 1,0,1; a second keep or a drop is refused.
  const std::string edit_list =
      R"((data (i32.const 400) "\01\00\00\00\00\00\01\00\00\00k\01\00\00\00v)"
      R"(\01\00\01\00\00\00\01\00\00\00k\01\00\00\00v"))";
  auto plugin = load(plugin_wat(
      "(i32.store8 (i32.const 100) (i32.const 1)) (i32.store8 (i32.const 101) (i32.const 0)) "
      "(i32.store8 (i32.const 102) (i32.const 1)) "
      "(drop (call $edits (i32.const 400) (i32.const 32))) "
      "(drop (call $keep (i32.const 100) (i32.const 3))) "
      "(i32.add (i32.add (i32.const 4) (call $keep (i32.const 100) (i32.const 3))) "
      "(call $drop))",  // 4 - 2 - 2 = 0: both refused
      edit_list));
  ASSERT_TRUE(plugin.ok()) << plugin.status().message();
  auto input = three_spans();
  auto outcome = plugin.value()->process(input);
  ASSERT_EQ(outcome.kind, Outcome::kKept) << outcome.error;
  ASSERT_TRUE(outcome.output.has_value());
  const auto& req =
      static_cast<const opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest&>(
          outcome.output->message());
  const auto& spans = req.resource_spans(0).scope_spans(0).spans();
  ASSERT_EQ(spans.size(), 2);
  EXPECT_EQ(spans[0].name(), "a");
  ASSERT_EQ(spans[0].attributes_size(), 1);
  EXPECT_EQ(spans[0].attributes(0).value().string_value(), "v");
  EXPECT_EQ(spans[1].name(), "c");
  EXPECT_EQ(spans[1].attributes_size(), 0);
}

// weft_alloc's answer is checked: 0 below the memory cap, or a buffer past the end of
// memory, is the plugin's error (not a memory-limit hit), and says what it returned.
TEST_F(PluginTest, ABadWeftAllocResultIsAPluginError) {
  const std::string normal =
      R"((func (export "weft_alloc") (param i32) (result i32) i32.const 1024))";
  auto with_alloc = [&](const std::string& body) {
    std::string wat = plugin_wat("i32.const 0");
    wat.replace(wat.find(normal), normal.size(),
                "(func (export \"weft_alloc\") (param i32) (result i32) " + body + ")");
    return wat;
  };
  // The config is 2 bytes ("{}"); batches are larger.
  auto zero =
      load(with_alloc("(select (i32.const 1024) (i32.const 0) (i32.lt_u (local.get 0) "
                      "(i32.const 10)))"));
  ASSERT_TRUE(zero.ok()) << zero.status().message();
  auto data = three_spans();
  auto outcome = zero.value()->process(data);
  EXPECT_EQ(outcome.kind, Outcome::kFailed);
  EXPECT_NE(outcome.error.find(") returned 0 with memory at 262144 of 1048576 bytes"),
            std::string::npos)
      << outcome.error;
  EXPECT_EQ(metric(R"(weft_plugin_errors{plugin="wasm/test"})"), 1u);
  EXPECT_EQ(metric(R"(weft_plugin_memory_limit_hits{plugin="wasm/test"})"), 0u);

  auto past =
      load(with_alloc("(select (i32.const 1024) (i32.const 262140) (i32.lt_u (local.get "
                      "0) (i32.const 10)))"));
  ASSERT_TRUE(past.ok());
  outcome = past.value()->process(data);
  EXPECT_NE(outcome.error.find("returned 262140, which with"), std::string::npos) << outcome.error;
  EXPECT_NE(outcome.error.find("runs past the end of memory (262144 bytes)"), std::string::npos);

  auto never = load(with_alloc("i32.const 0"));
  ASSERT_FALSE(never.ok());
  EXPECT_NE(never.status().message().find("placing the config: weft_alloc(2) returned 0"),
            std::string::npos)
      << never.status().message();
}

TEST_F(PluginTest, PluginLogsAreBoundedByABudget) {
  std::ostringstream out;
  ctx_.logger = std::make_shared<spdlog::logger>(
      "test", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  PluginSettings settings;
  settings.log_rate = 1;
  settings.log_burst = 20;
  auto plugin =
      load(plugin_wat("(local $i i32) (block (loop "
                      "(call $log (i32.const 1) (i32.const 16) (i32.const 4)) "
                      "(local.set $i (i32.add (local.get $i) (i32.const 1))) "
                      "(br_if 0 (i32.lt_u (local.get $i) (i32.const 5000))))) i32.const 0"),
           settings);
  ASSERT_TRUE(plugin.ok()) << plugin.status().message();
  auto data = three_spans();
  EXPECT_EQ(plugin.value()->process(data).kind, Outcome::kKept);
  const std::string text = out.str();
  size_t lines = 0;
  for (size_t at = text.find("plugin: HOME"); at != std::string::npos;
       at = text.find("plugin: HOME", at + 1)) {
    ++lines;
  }
  EXPECT_GE(lines, 20u);
  EXPECT_LE(lines, 22u);  // the burst, and what a second of refill adds at most
  const uint64_t suppressed = metric(R"(weft_plugin_log_suppressed{plugin="wasm/test"})");
  EXPECT_EQ(suppressed + lines, 5000u);
  EXPECT_NE(text.find("log lines suppressed over its budget"), std::string::npos) << text;
}

TEST_F(PluginTest, PluginMetricSeriesAreCapped) {
  PluginSettings settings;
  settings.metric_series = 5;
  // Twenty series (k=a ... k=t); returns how many calls were refused with -4.
  auto plugin = load(
      plugin_wat(
          "(local $i i32) (local $refused i32) (block (loop "
          "(i32.store8 (i32.const 309) (i32.add (i32.const 97) (local.get $i))) "
          "(if (i32.eq (call $metric (i32.const 1) (i32.const 300) (i32.const 7) (f64.const 1) "
          "(i32.const 307) (i32.const 3)) (i32.const -4)) "
          "(then (local.set $refused (i32.add (local.get $refused) (i32.const 1))))) "
          "(local.set $i (i32.add (local.get $i) (i32.const 1))) "
          "(br_if 0 (i32.lt_u (local.get $i) (i32.const 20))))) "
          "(i32.sub (local.get $refused) (i32.const 15))"),
      settings);
  ASSERT_TRUE(plugin.ok()) << plugin.status().message();
  auto data = three_spans();
  auto outcome = plugin.value()->process(data);
  EXPECT_EQ(outcome.kind, Outcome::kKept) << outcome.error;  // exactly 15 refused
  EXPECT_EQ(metric(R"(weft_plugin_metric_refused{plugin="wasm/test"})"), 15u);
  EXPECT_NE(registry_.render().find(R"(weft_plugin_latency{k="e",plugin="wasm/test"} 1)"),
            std::string::npos);
  EXPECT_EQ(registry_.render().find(R"(weft_plugin_latency{k="f",plugin="wasm/test"})"),
            std::string::npos);
  // An existing series can still be updated.
  auto again = plugin.value()->process(data);
  EXPECT_EQ(metric(R"(weft_plugin_metric_refused{plugin="wasm/test"})"), 30u);
}

// A processor in two pipelines is two plugins, each with its own state and metrics.
TEST_F(PluginTest, MetricsCarryThePipeline) {
  ctx_.pipeline = "traces/a";
  auto plugin = load(plugin_wat("i32.const 0"));
  ASSERT_TRUE(plugin.ok());
  auto data = three_spans();
  (void)plugin.value()->process(data);
  EXPECT_EQ(metric(R"(weft_plugin_calls{pipeline="traces/a",plugin="wasm/test"})"), 1u);
}

}  // namespace
}  // namespace weft::wasm

namespace weft::wasm {
namespace {

// Imports are checked against the host functions weft declares (docs/abi.md).
TEST_F(PluginTest, ImportsWeftDoesNotProvideAreRefusedAtLoad) {
  const std::string body = "i32.const 0";
  auto refused = [&](const std::string& import) {
    std::string wat = plugin_wat(body);
    wat.replace(wat.find("(module") + 7, 0, "\n    " + import);
    auto plugin = load(wat);
    EXPECT_FALSE(plugin.ok()) << import;
    return plugin.ok() ? std::string() : plugin.status().message();
  };
  EXPECT_NE(refused(R"((import "weft" "nope" (func)))")
                .find("imports weft.nope, which this weft does not provide"),
            std::string::npos);
  EXPECT_NE(refused(R"((import "weft" "log" (func $l2 (param i32))))").find("with the signature"),
            std::string::npos);
  EXPECT_NE(refused(R"((import "env" "x" (func)))")
                .find("a plugin may import only module weft and wasi_snapshot_preview1"),
            std::string::npos);
}

}  // namespace
}  // namespace weft::wasm

namespace weft::wasm {
namespace {

// Why a module was refused is a kind carried with the status, not a message to match.
TEST_F(PluginTest, LoadFailuresCarryTheirKind) {
  auto kind_of = [&](const std::string& wat, PluginSettings settings = {}) {
    auto plugin = load(wat, settings);
    EXPECT_FALSE(plugin.ok());
    return plugin.ok() ? LoadFailure::kNone : load_failure_of(plugin.status());
  };
  std::string spin = plugin_wat("i32.const 0");
  spin.insert(spin.rfind(')'), " (func $spin (loop br 0)) (start $spin)");
  PluginSettings quick;
  quick.limits.start_timeout = std::chrono::milliseconds(20);
  EXPECT_EQ(kind_of(spin, quick), LoadFailure::kStartTimeout);
  EXPECT_EQ(kind_of(plugin_wat("i32.const 0", "", 7)), LoadFailure::kAbiVersion);
  EXPECT_EQ(kind_of(plugin_wat("i32.const 0", "", 1, false)), LoadFailure::kInterface);
  EXPECT_EQ(kind_of("(module"), LoadFailure::kMalformed);
  PluginSettings tiny;
  tiny.module_bytes = 16;
  EXPECT_EQ(kind_of(plugin_wat("i32.const 0"), tiny), LoadFailure::kLimit);
  std::string refusing = plugin_wat("i32.const 0");
  const std::string configure =
      R"((func (export "weft_configure") (param i32 i32) (result i32) i32.const 0))";
  refusing.replace(refusing.find(configure), configure.size(),
                   R"((func (export "weft_configure") (param i32 i32) (result i32) i32.const 1))");
  EXPECT_EQ(kind_of(refusing), LoadFailure::kConfigure);
}

}  // namespace
}  // namespace weft::wasm
