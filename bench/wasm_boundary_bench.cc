// Micro-benchmarks of the Wasm boundary: a batch handed to an empty plugin and
// back, instantiation from a compiled module, and the cost of epoch deadlines.
// Compare within one run: BM_CopyBatch is the floor (one copy of the batch).
// BM_PluginBatch/PLUGIN/SIGNAL/RUNTIME: one benchmark request (512 items) through an
// example plugin's processor, built as Wasm and natively (the baseline for the ratio).
#include <benchmark/benchmark.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include <httplib.h>

#include <thread>

#include "exe/components.h"
#include "loadgen/requests.h"
#include "lookup/tables.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "pdata/wire.h"
#include "pkg/store.h"
#include "wasm/engine/engine.h"
#include "wasm/plugin/plugin.h"
#include "wasm/plugin/settings.h"
#include "weft/auth.h"
#include "weft/config_reader.h"
#include "weft/metrics.h"

std::unique_ptr<weft::Factory> make_native_processor_factory();  // bench/native

namespace {

using namespace weft;

pdata::Telemetry spans(int n) {
  opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest req;
  auto* rs = req.add_resource_spans();
  auto* attr = rs->mutable_resource()->add_attributes();
  attr->set_key("service.name");
  attr->mutable_value()->set_string_value("bench");
  auto* ss = rs->add_scope_spans();
  for (int i = 0; i < n; ++i) {
    auto* s = ss->add_spans();
    s->set_trace_id(std::string(16, static_cast<char>(i)));
    s->set_span_id(std::string(8, static_cast<char>(i)));
    s->set_name("GET /api/items");
    s->set_start_time_unix_nano(1700000000000000000ull + i);
    s->set_end_time_unix_nano(1700000000000500000ull + i);
    for (const char* k : {"http.method", "http.route", "http.status_code", "net.peer.name"}) {
      auto* a = s->add_attributes();
      a->set_key(k);
      a->mutable_value()->set_string_value("value-" + std::to_string(i));
    }
  }
  return std::move(pdata::Telemetry::from_wire(Signal::kTraces, req.SerializeAsString())).value();
}

constexpr const char* kEmptyPlugin = R"((module (memory (export "memory") 2)
  (global $top (mut i32) (i32.const 65536))
  (func (export "weft_abi_version") (result i32) i32.const 1)
  (func (export "weft_alloc") (param i32) (result i32)
    (if (i32.gt_u (local.get 0) (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 65536)))
      (then (drop (memory.grow (i32.add (i32.shr_u (local.get 0) (i32.const 16)) (i32.const 1))))))
    i32.const 65536)
  (func (export "weft_configure") (param i32 i32) (result i32) i32.const 0)
  (func (export "weft_process_traces") (param i32 i32) (result i32) i32.const 0)))";

std::shared_ptr<wasm::Plugin> empty_plugin(telemetry::Registry& registry) {
  const auto path = std::filesystem::temp_directory_path() / "weft-bench-empty.wat";
  std::ofstream(path) << kEmptyPlugin;
  wasm::PluginSettings settings;
  settings.path = path.string();
  settings.signals = {Signal::kTraces};
  settings.watch_interval = std::chrono::milliseconds(0);
  ComponentContext ctx{
      "bench", &registry,
      std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::null_sink_mt>()),
      nullptr};
  auto engine = wasm::Engine::create({});
  return std::move(wasm::Plugin::load(engine.value(), settings, ctx)).value();
}

void BM_CopyBatch(benchmark::State& state) {
  auto batch = spans(static_cast<int>(state.range(0)));
  std::string dest(batch.wire().size(), '\0');
  for (auto _ : state) {
    std::memcpy(dest.data(), batch.wire().data(), dest.size());
    benchmark::DoNotOptimize(dest.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * dest.size()));
}
BENCHMARK(BM_CopyBatch)->Arg(512);

// What receivers and plugin results pay to check a request against the OTLP schema (wire
// types, UTF-8, id lengths) and count its items, next to what decoding it would cost.
void BM_SchemaCheck(benchmark::State& state) {
  auto batch = spans(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto items = pdata::wire::count_items(Signal::kTraces, batch.wire());
    benchmark::DoNotOptimize(items);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * batch.wire().size()));
}
BENCHMARK(BM_SchemaCheck)->Arg(512);

// The same on the load generator's requests (512 items, 8 attributes each), by signal.
void BM_SchemaCheckLoadgen(benchmark::State& state) {
  std::mt19937_64 rng(42);
  const auto signal = static_cast<Signal>(state.range(0));
  const std::string request = signal == Signal::kTraces ? bench::trace_request(512, rng)
                              : signal == Signal::kLogs ? bench::log_request(512, rng)
                                                        : bench::metric_request(512);
  for (auto _ : state) {
    auto items = pdata::wire::count_items(signal, request);
    benchmark::DoNotOptimize(items);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * request.size()));
}
BENCHMARK(BM_SchemaCheckLoadgen)
    ->Arg(static_cast<int>(Signal::kTraces))
    ->Arg(static_cast<int>(Signal::kLogs))
    ->Arg(static_cast<int>(Signal::kMetrics));

void BM_ProtobufDecode(benchmark::State& state) {
  auto batch = spans(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    google::protobuf::Arena arena;
    auto* message = pdata::new_request(Signal::kTraces, &arena);
    benchmark::DoNotOptimize(message->ParseFromString(batch.wire()));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * batch.wire().size()));
}
BENCHMARK(BM_ProtobufDecode)->Arg(512);

void BM_EmptyPluginBatch(benchmark::State& state) {
  telemetry::Registry registry;
  auto plugin = empty_plugin(registry);
  auto batch = spans(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto outcome = plugin->process(batch);
    benchmark::DoNotOptimize(outcome.kind);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_EmptyPluginBatch)->Arg(512);

void BM_InstantiateCompiledModule(benchmark::State& state) {
  auto engine = wasm::Engine::create({}).value();
  auto module = engine->compile(kEmptyPlugin).value();
  for (auto _ : state) {
    auto instance = wasm::Instance::create(module, {});
    benchmark::DoNotOptimize(instance.ok());
  }
}
BENCHMARK(BM_InstantiateCompiledModule);

constexpr const char* kBusyLoop = R"((module
  (func (export "spin") (param i32) (result i32) (local i32)
    (loop (local.set 1 (i32.add (local.get 1) (i32.mul (local.get 0) (local.get 1))))
          (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
          (br_if 0 (local.get 0)))
    local.get 1)))";

void busy_loop(benchmark::State& state, bool epoch) {
  wasm::EngineOptions options;
  options.epoch_interruption = epoch;
  auto engine = wasm::Engine::create(options).value();
  auto module = engine->compile(kBusyLoop).value();
  wasm::InstanceLimits limits;
  limits.timeout = std::chrono::milliseconds(10000);
  auto instance = std::move(wasm::Instance::create(module, limits)).value();
  for (auto _ : state) {
    auto r = instance->call("spin", {1000000}, nullptr);
    benchmark::DoNotOptimize(r.value);
  }
}
void BM_LoopWithEpochDeadline(benchmark::State& state) {
  busy_loop(state, true);
}
void BM_LoopWithoutEpoch(benchmark::State& state) {
  busy_loop(state, false);
}
BENCHMARK(BM_LoopWithEpochDeadline)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LoopWithoutEpoch)->Unit(benchmark::kMicrosecond);

// Counts what a processor passes on.
struct CountingConsumer final : Consumer {
  Status consume(pdata::Telemetry&& data) override {
    items += data.item_count();
    return Status::ok();
  }
  uint64_t items = 0;
};

// The example plugins' configuration, as in bench/run.py.
const std::map<std::string, std::string> kPluginConfig = {
    {"filter", R"({"drop":[{"attribute":"bench.drop","equals":"true"}]})"},
    {"transform",
     R"({"actions":[{"action":"rename","key":"http.method","to":"http.request.method"},)"
     R"({"action":"rename","key":"http.url","to":"url.full"},)"
     R"({"action":"rename","key":"http.status_code","to":"http.response.status_code"},)"
     R"({"action":"rename","key":"net.peer.ip","to":"client.address"},)"
     R"({"action":"set","key":"env","value":"prod"}]})"},
    {"redact",
     R"({"mode":"mask","mask":"****","kinds":["email","card","ipv4","ipv6"],"bodies":true})"},
    {"enrich",
     R"({"table":"teams","key":"service.name","fields":["team","owner","cost_center","tier"],)"
     R"("default":{"team":"unassigned"}})"},
    {"geoip", R"({"table":"geo","source":"client.address"})"},
};

// The enrichment plugins' tables: teams by the benchmark requests' service.name, and a MaxMind
// DB (the ip-location-db country database the tests fetch, else the sample beside geoip).
void configure_bench_tables() {
  static const bool done = [] {
    const auto dir = std::filesystem::temp_directory_path() / "weft-bench-tables";
    std::filesystem::create_directories(dir);
    std::ofstream csv(dir / "teams.csv");
    csv << "service.name,team,owner,cost_center,tier\n";
    for (int i = 0; i < 64; ++i) {
      csv << "checkout-" << i << ",team-" << i % 7 << ",owner" << i << "@example.com,cc-" << 100 + i
          << "," << 1 + i % 3 << "\n";
    }
    csv.close();
    const char* cache = std::getenv("WEFT_CACHE");
    const std::string home = std::getenv("HOME") != nullptr ? std::getenv("HOME") : "/root";
    std::filesystem::path geo =
        std::filesystem::path(cache != nullptr ? cache : home + "/.cache/weft") /
        "data/geo-whois-asn-country-2.3.2026061719/geo-whois-asn-country.mmdb";
    if (!std::filesystem::exists(geo))
      geo = std::filesystem::path(WEFT_SOURCE_DIR) / "plugins/geoip/sample.mmdb";
    lookup::TableSpec teams{"teams", (dir / "teams.csv").string(), lookup::Format::kCsv,
                            "service.name", std::chrono::milliseconds(0)};
    lookup::TableSpec geo_spec{"geo", geo.string(), lookup::Format::kMmdb, "",
                               std::chrono::milliseconds(0)};
    lookup::TableSpec keys{"apikeys", (dir / "apikeys.csv").string(), lookup::Format::kCsv, "key",
                           std::chrono::milliseconds(0)};
    std::ofstream(dir / "apikeys.csv") << "key,tenant\nk-acme,acme\nk-globex,globex\n";
    return lookup::tables().configure({teams, geo_spec, keys}).is_ok();
  }();
  (void)done;
}

// A request of 512 spans whose client.address is a public IPv4 address (a few hundred clients,
// as behind an edge), in the benchmark requests' shape otherwise.
std::string geo_request(std::mt19937_64& rng) {
  opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest req;
  for (int r = 0; r < 4; ++r) {
    auto* rs = req.add_resource_spans();
    auto* service = rs->mutable_resource()->add_attributes();
    service->set_key("service.name");
    service->mutable_value()->set_string_value("checkout-" + std::to_string(r));
    auto* ss = rs->add_scope_spans();
    for (int i = 0; i < 128; ++i) {
      auto* span = ss->add_spans();
      uint64_t ids[3] = {rng(), rng(), rng()};
      span->set_trace_id(std::string(reinterpret_cast<char*>(ids), 16));
      span->set_span_id(std::string(reinterpret_cast<char*>(&ids[2]), 8));
      span->set_name("GET /api/v1/orders/{id}");
      const uint64_t client = rng() % 300;  // the same few hundred clients again and again
      const std::string address = std::to_string(1 + client % 200) + "." +
                                  std::to_string((client * 7) % 256) + "." +
                                  std::to_string((client * 13) % 256) + ".7";
      for (const auto& [k, v] : {std::pair<std::string, std::string>{"client.address", address},
                                 {"http.method", "GET"},
                                 {"http.route", "/api/v1/orders/{id}"}}) {
        auto* a = span->add_attributes();
        a->set_key(k);
        a->mutable_value()->set_string_value(v);
      }
    }
  }
  return req.SerializeAsString();
}

// path: the module (.wasm) or, native, the shared library.
// shadow: the same module also runs as a shadow candidate (the live path's added cost).
void plugin_batch(benchmark::State& state, const std::string& plugin, Signal signal,
                  const std::string& path, bool native, bool shadow = false) {
  telemetry::Registry registry;
  ComponentContext ctx{
      "bench", &registry,
      std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::null_sink_mt>()),
      nullptr};
  auto factory = native ? make_native_processor_factory() : make_wasm_processor_factory();
  auto config = factory->create_default_config();
  auto& settings = dynamic_cast<wasm::PluginConfig&>(*config).plugin;
  settings.path = path;
  settings.config_json = kPluginConfig.at(plugin);
  settings.signals = {signal};
  settings.watch_interval = std::chrono::milliseconds(0);
  if (shadow) settings.shadow_path = path;
  if (plugin == "enrich" || plugin == "geoip") {
    configure_bench_tables();
    settings.tables_allowed = {"teams", "geo"};
  }
  CountingConsumer sink;
  auto processor = factory->create_processor(ctx, *config, signal, &sink);
  if (auto started = processor->start(); !started.is_ok()) {
    state.SkipWithError(started.message().c_str());
    return;
  }
  std::mt19937_64 rng(42);
  constexpr int kItems = 512;
  const std::string request = plugin == "geoip"           ? geo_request(rng)
                              : signal == Signal::kTraces ? bench::trace_request(kItems, rng)
                                                          : bench::log_request(kItems, rng);
  auto batch = std::move(pdata::Telemetry::from_wire(signal, request)).value();
  for (auto _ : state) {
    pdata::Telemetry copy = batch.clone();
    if (!processor->consume(std::move(copy)).is_ok()) state.SkipWithError("consume failed");
  }
  state.SetItemsProcessed(state.iterations() * kItems);
  state.counters["items_out_per_batch"] =
      static_cast<double>(sink.items) / static_cast<double>(state.iterations());
  state.counters["module_bytes"] = static_cast<double>(std::filesystem::file_size(path));
  processor->shutdown(std::chrono::steady_clock::now());
}

const bool kPluginBenchmarks = [] {
  const std::string dir = WEFT_BENCH_PLUGIN_DIR;
  auto add = [](const std::string& name, const std::string& plugin, Signal signal,
                const std::string& path, bool native) {
    benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& state) {
      plugin_batch(state, plugin, signal, path, native);
    })->Unit(benchmark::kMicrosecond);
  };
  for (const std::string plugin : {"filter", "transform", "redact"}) {
    for (const Signal signal : {Signal::kTraces, Signal::kLogs}) {
      const std::string name = "BM_PluginBatch/" + plugin + "/" + std::string(signal_name(signal));
      add(name + "/wasm", plugin, signal, dir + "/" + plugin + ".wasm", false);
      add(name + "/native", plugin, signal, dir + "/native/lib" + plugin + ".so", true);
    }
  }
  // The live path's cost with a shadow candidate beside it (its copy of each batch and the
  // hand-off; the candidate runs on its own thread), against BM_PluginBatch/filter/traces/wasm.
  benchmark::RegisterBenchmark("BM_PluginBatch/filter/traces/wasm+shadow", [dir](benchmark::State&
                                                                                     state) {
    plugin_batch(state, "filter", Signal::kTraces, dir + "/filter.wasm", false, true);
  })->Unit(benchmark::kMicrosecond);
  for (const std::string plugin : {"enrich", "geoip"}) {
    const std::string name = "BM_PluginBatch/" + plugin + "/traces";
    add(name + "/wasm", plugin, Signal::kTraces, dir + "/" + plugin + ".wasm", false);
    add(name + "/native", plugin, Signal::kTraces, dir + "/native/lib" + plugin + ".so", true);
  }
  // The filter example built with each SDK (make sdk-examples), against the C build above.
  for (const char* lang : {"cpp", "go", "rust", "as"}) {
    const std::string path = dir + "/" + lang + "/filter.wasm";
    if (std::filesystem::exists(path)) {
      add(std::string("BM_PluginBatch/filter/traces/") + lang, "filter", Signal::kTraces, path,
          false);
    }
  }
  return true;
}();

// An exporter plugin that makes one http_request per batch: POST /sink with a body of the
// first `body` bytes of its memory, sent if the answer is 200.
std::string http_plugin(int64_t body) {
  return R"((module
  (import "weft" "http_request" (func $req (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 40)
  (data (i32.const 0) "POST/sink")
  (func (export "weft_abi_version") (result i32) i32.const 1)
  (func (export "weft_alloc") (param i32) (result i32) i32.const 2097152)
  (func (export "weft_configure") (param i32 i32) (result i32) i32.const 0)
  (func (export "weft_export_traces") (param i32 i32) (result i32)
    (if (result i32)
      (i32.eq (call $req (i32.const 0) (i32.const 4) (i32.const 4) (i32.const 5)
                         (i32.const 0) (i32.const 0) (i32.const 0) (i32.const )" +
         std::to_string(body) + R"())
              (i32.const 200))
      (then (i32.const 0)) (else (i32.const 2)))))
)";
}

// The http_request host call through the wasm exporter: one batch, one request to a
// loopback server and its answer (empty: the round trip; 1 MiB: plus copying the body out
// of the plugin and onto the connection).
void BM_HttpRequest(benchmark::State& state) {
  httplib::Server server;
  server.Post("/sink", [](const httplib::Request&, httplib::Response& res) { res.status = 200; });
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const auto dir = std::filesystem::temp_directory_path() / ("weft-bench-" + std::to_string(port));
  std::filesystem::create_directories(dir);
  const auto module = dir / "http.wat";
  std::ofstream(module) << http_plugin(state.range(0));
  telemetry::Registry registry;
  ComponentContext ctx{
      "bench", &registry,
      std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::null_sink_mt>()),
      nullptr};
  auto factory = make_wasm_exporter_factory();
  auto config = factory->create_default_config();
  Diagnostics diag;
  ConfigReader reader(YAML::Load("plugin: " + module.string() +
                                 "\nendpoint: http://127.0.0.1:" + std::to_string(port) +
                                 "\nsending_queue: {enabled: false}\n"
                                 "retry_on_failure: {enabled: false}"),
                      "exporters.wasm", &diag);
  factory->load_config(reader, *config);
  auto exporter = diag.ok() ? factory->create_exporter(ctx, *config) : nullptr;
  if (exporter == nullptr || !exporter->start().is_ok()) {
    state.SkipWithError("the exporter did not start");
  } else {
    auto batch = spans(1);
    for (auto _ : state) {
      if (!exporter->consume(batch.clone()).is_ok()) state.SkipWithError("the request failed");
    }
    state.SetBytesProcessed(state.iterations() * state.range(0));
    exporter->shutdown(std::chrono::steady_clock::now());
  }
  server.stop();
  serving.join();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_HttpRequest)->Arg(0)->Arg(1 << 20)->UseRealTime()->Unit(benchmark::kMicrosecond);

// What loading a package from the cache adds to loading its module from a file: reading the
// manifest, weft's manifest and the module from the cache with each blob's digest checked,
// and the trust policy's signature check (the redact plugin, ~300 KiB).
void BM_VerifyPackage(benchmark::State& state) {
  const auto dir = std::filesystem::temp_directory_path() / "weft-bench-package";
  std::filesystem::remove_all(dir);
  std::ifstream in(std::string(WEFT_BENCH_PLUGIN_DIR) + "/redact.wasm", std::ios::binary);
  const std::string module((std::istreambuf_iterator<char>(in)), {});
  auto key = pkg::generate_key(dir / "k");
  auto layout = pkg::Layout::open(dir / "cache", true);
  pkg::PluginMeta meta;
  meta.name = "redact";
  meta.version = "1.0.0";
  meta.abi = pkg::kPluginAbiMajor;
  meta.module_size = module.size();
  meta.module_digest = pkg::sha256_digest(module);
  auto d = layout.ok() ? pkg::write_package(*layout, meta, module, "1.0.0")
                       : Result<pkg::Descriptor>(layout.status());
  if (!key.ok() || !d.ok() || module.empty()) {
    state.SkipWithError("cannot write the package");
    return;
  }
  pkg::SignedClaims claims;
  claims.digest = d->digest;
  claims.name = meta.name;
  claims.version = meta.version;
  auto doc = pkg::sign_claims(dir / "k.key", claims);
  (void)pkg::attach_companion(*layout, "", d->digest, "sig", *doc);
  pkg::TrustRule rule;
  rule.ns = "*";
  rule.keys = {*key};
  pkg::PackageSettings settings;
  settings.cache_dir = dir / "cache";
  settings.trust = {rule};
  pkg::PackageStore store(settings);
  for (auto _ : state) {
    auto r = store.check(*layout, "", d->digest, "bench/redact", nullptr, nullptr);
    if (!r.ok() || r->signer.empty()) state.SkipWithError("the package did not verify");
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(module.size()));
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_VerifyPackage)->Unit(benchmark::kMicrosecond);

// A receiver's authentication of one request by the apikey plugin (a wasm extension): with the
// decision cached for the credential (arg 1; what a client sending the same key costs), and
// without a cache (arg 0: the plugin's call, its table lookup and the attributes each time).
void BM_Authenticate(benchmark::State& state) {
  configure_bench_tables();
  telemetry::Registry registry;
  ComponentContext ctx{
      "wasm/apikey", &registry,
      std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::null_sink_mt>()),
      nullptr};
  auto factory = make_wasm_extension_factory();
  auto config = factory->create_default_config();
  const std::string yaml =
      "plugin: " + std::string(WEFT_BENCH_PLUGIN_DIR) +
      "/apikey.wasm\nconfig: {table: apikeys}\npermissions: {tables: [apikeys]}\n" +
      (state.range(0) != 0 ? "cache: {ttl: 1h, headers: [x-api-key]}\n" : "");
  Diagnostics diag;
  ConfigReader reader(YAML::Load(yaml), "bench", &diag);
  factory->load_config(reader, *config);
  auto extension = factory->create_extension(ctx, *config);
  if (!diag.ok() || !extension->start().is_ok()) {
    state.SkipWithError("the apikey extension did not start");
    return;
  }
  auto* auth = dynamic_cast<ServerAuthenticator*>(extension.get());
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"x-api-key", "k-acme"}, {"content-type", "application/x-protobuf"}, {"user-agent", "sdk"}};
  AuthRequest request{"grpc", [&](std::string_view name) -> std::optional<std::string> {
                        for (const auto& [k, v] : headers) {
                          if (k == name) return v;
                        }
                        return std::nullopt;
                      }};
  request.peer = "127.0.0.1:5000";
  request.path = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
  request.headers = [&] { return headers; };
  for (auto _ : state) {
    AuthOutcome outcome = auth->authenticate(request);
    if (!outcome.ok) state.SkipWithError("refused");
    benchmark::DoNotOptimize(outcome);
  }
  extension->shutdown(std::chrono::steady_clock::now());
}
BENCHMARK(BM_Authenticate)->Arg(1)->Arg(0)->Unit(benchmark::kNanosecond);

}  // namespace

BENCHMARK_MAIN();
