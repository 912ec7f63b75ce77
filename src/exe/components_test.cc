// One lifecycle test for every component built into weft (src/exe/components.inc): created
// from its defaults (plus the few settings it cannot do without), started, fed a batch of
// each signal it takes, shut down twice, fed again after shutdown; and a config with an
// unknown setting refused with the setting's YAML path.
#include "exe/components.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <map>

#include "testing/consumers.h"
#include "testing/telemetry.h"
#include "testing/temp.h"
#include "weft/config_reader.h"
#include "weft/metrics.h"

namespace weft {
namespace {

// A plugin that takes every signal through `entry` ("process": changes nothing, and as a
// connector emits nothing; "export": sends nothing anywhere; "receive": emits nothing).
std::string plugin_module(const std::string& entry) {
  std::string module = R"((module (memory (export "memory") 1)
  (func (export "weft_abi_version") (result i32) i32.const 1)
  (func (export "weft_alloc") (param i32) (result i32) i32.const 1024)
  (func (export "weft_configure") (param i32 i32) (result i32) i32.const 0))";
  for (const char* signal : {"traces", "metrics", "logs"}) {
    const bool single = entry == "receive" || entry == "authenticate";
    const std::string name = single ? "weft_" + entry : "weft_" + entry + "_" + signal;
    module += "\n  (func (export \"" + name + "\") (param i32 i32) (result i32) i32.const 0)";
    if (single) break;
  }
  return module + ")";
}

// The settings a component cannot start without, by kind and type; every other component
// starts from its defaults. A new component that needs settings adds a line here.
std::string required_settings(ComponentKind kind, std::string_view type,
                              const testing::TempDir& dir) {
  const std::string plugin = dir.write("plugin.wat", plugin_module("process"));
  const std::string export_plugin = dir.write("export.wat", plugin_module("export"));
  const std::string receive_plugin = dir.write("receive.wat", plugin_module("receive"));
  const std::string auth_plugin = dir.write("auth.wat", plugin_module("authenticate"));
  const std::string unused = "127.0.0.1:" + std::to_string(testing::free_port());
  const std::map<std::pair<ComponentKind, std::string_view>, std::string> settings = {
      {{ComponentKind::kReceiver, "otlp"},
       "protocols: {grpc: {endpoint: '127.0.0.1:0'}, http: {endpoint: '127.0.0.1:0'}}"},
      {{ComponentKind::kReceiver, "wasm"},
       "plugin: " + receive_plugin + "\nendpoint: '127.0.0.1:0'\npaths: [/in]"},
      {{ComponentKind::kReceiver, "zipkin"}, "endpoint: '127.0.0.1:0'"},
      {{ComponentKind::kReceiver, "prometheus"},
       "config: {scrape_configs: [{job_name: j, static_configs: [{targets: ['" + unused +
           "']}]}]}"},
      {{ComponentKind::kExporter, "zipkin"}, "endpoint: http://" + unused + "/api/v2/spans"},
      {{ComponentKind::kExporter, "prometheusremotewrite"},
       "endpoint: http://" + unused + "/api/v1/write"},
      {{ComponentKind::kExporter, "elasticsearch"}, "endpoint: http://" + unused},
      {{ComponentKind::kProcessor, "memory_limiter"}, "check_interval: 1s\nlimit_mib: 4096"},
      {{ComponentKind::kProcessor, "wasm"}, "plugin: " + plugin},
      {{ComponentKind::kProcessor, "tail_sampling"},
       "decision_wait: 50ms\npolicies: [{name: all, type: always_sample}]"},
      {{ComponentKind::kConnector, "wasm"}, "plugin: " + plugin},
      {{ComponentKind::kConnector, "failover"}, "priority_levels: [[traces/a], [traces/b]]"},
      {{ComponentKind::kConnector, "routing"},
       "table: [{condition: 'attributes[\"tenant\"] == \"a\"', pipelines: [traces/a]}]"},
      {{ComponentKind::kExporter, "otlp"}, "endpoint: " + unused + "\ntls: {insecure: true}"},
      {{ComponentKind::kExporter, "otlphttp"}, "endpoint: http://" + unused},
      {{ComponentKind::kExporter, "loadbalancing"},
       "protocol: {otlp: {tls: {insecure: true}}}\nresolver: {static: {hostnames: ['" + unused +
           "']}}"},
      {{ComponentKind::kExporter, "file"}, "path: " + (dir.path() / "out.jsonl").string()},
      {{ComponentKind::kExporter, "wasm"},
       "plugin: " + export_plugin + "\nendpoint: http://" + unused},
      {{ComponentKind::kExtension, "health_check"}, "endpoint: '127.0.0.1:0'"},
      {{ComponentKind::kExtension, "bearertokenauth"}, "token: t"},
      {{ComponentKind::kExtension, "basicauth"}, "client_auth: {username: u, password: p}"},
      {{ComponentKind::kExtension, "headers_setter"}, "headers: [{key: X-Tenant, value: acme}]"},
      {{ComponentKind::kExtension, "file_storage"}, "directory: " + dir.path().string()},
      {{ComponentKind::kExtension, "wasm"}, "plugin: " + auth_plugin},
  };
  auto it = settings.find({kind, type});
  return it == settings.end() ? "{}" : it->second;
}

class ComponentLifecycleTest : public ::testing::TestWithParam<size_t> {
 protected:
  void SetUp() override {
    factories_ = builtin_factories();
    ctx_.metrics = &registry_;
    ctx_.logger =
        std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
  }

  std::vector<std::unique_ptr<Factory>> factories_;
  telemetry::Registry registry_;
  ComponentContext ctx_;
  testing::TempDir dir_;
};

std::string name_of(const ::testing::TestParamInfo<size_t>& info) {
  const auto factories = builtin_factories();
  const Factory& f = *factories.at(info.param);
  std::string name = std::string(kind_name(f.kind())) + "_" + std::string(f.type());
  for (char& c : name) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0) c = '_';
  }
  return name;
}

TEST_P(ComponentLifecycleTest, StartConsumeShutdownTwiceAndRefuseBadConfig) {
  const Factory& factory = *factories_.at(GetParam());
  const std::string id = std::string(factory.type());
  ctx_.id = id;
  const std::string where = std::string(kind_section(factory.kind())) + "." + id;

  // An unknown setting is refused with its path.
  {
    Diagnostics diag;
    auto config = factory.create_default_config();
    ConfigReader reader(YAML::Load("no_such_setting: 1"), where, &diag);
    factory.load_config(reader, *config);
    reader.report_unknown_keys();
    bool named = false;
    for (const auto& [path, message] : diag.errors()) named |= path == where + ".no_such_setting";
    EXPECT_TRUE(named) << where << ": an unknown setting was not refused with its path";
  }

  Diagnostics diag;
  auto config = factory.create_default_config();
  ConfigReader reader(YAML::Load(required_settings(factory.kind(), factory.type(), dir_)), where,
                      &diag);
  factory.load_config(reader, *config);
  reader.report_unknown_keys();
  ASSERT_TRUE(diag.ok()) << where << ": " << diag.errors().front().first << ": "
                         << diag.errors().front().second;

  testing::SinkConsumer sink;
  const auto deadline = [] {
    return std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  };
  // Runs the lifecycle on one component; `consumer` is its input, if it takes data.
  auto lifecycle = [&](Component& component, Consumer* consumer, Signal signal) {
    ASSERT_TRUE(component.start().is_ok()) << where;
    if (consumer != nullptr) {
      const Status taken = consumer->consume(testing::make_batch(signal, 3));
      EXPECT_TRUE(taken.is_ok() || taken.is_retryable()) << where << ": " << taken.message();
    }
    component.shutdown(deadline());
    component.shutdown(deadline());  // safe twice
    if (consumer != nullptr) {
      (void)consumer->consume(testing::make_batch(signal, 1))
          .is_ok();  // refused or taken; no crash
    }
  };
  std::unique_ptr<Component> never_started;
  for (Signal signal : factory.signals()) {
    switch (factory.kind()) {
      case ComponentKind::kReceiver: {
        SignalConsumers next;
        next.traces = next.metrics = next.logs = &sink;
        auto receiver = factory.create_receiver(ctx_, *config, next);
        ASSERT_NE(receiver, nullptr);
        lifecycle(*receiver, nullptr, signal);
        never_started = factory.create_receiver(ctx_, *config, next);
        break;
      }
      case ComponentKind::kProcessor: {
        auto processor = factory.create_processor(ctx_, *config, signal, &sink);
        ASSERT_NE(processor, nullptr);
        lifecycle(*processor, processor.get(), signal);
        never_started = factory.create_processor(ctx_, *config, signal, &sink);
        break;
      }
      case ComponentKind::kExporter: {
        auto exporter = factory.create_exporter(ctx_, *config);
        ASSERT_NE(exporter, nullptr);
        lifecycle(*exporter, exporter.get(), signal);
        never_started = factory.create_exporter(ctx_, *config);
        break;
      }
      case ComponentKind::kConnector:
        for (Signal out : {Signal::kTraces, Signal::kMetrics, Signal::kLogs}) {
          if (!factory.connects(signal, out)) continue;
          // Two output pipelines, as the required settings name them ("traces/a", "traces/b").
          ConnectorOutputs outputs;
          outputs.all = &sink;
          for (const char* name : {"/a", "/b"}) {
            outputs.pipelines.push_back({std::string(signal_name(out)) + name, &sink, {}});
          }
          auto connector = factory.create_connector(ctx_, *config, signal, out, outputs);
          ASSERT_NE(connector, nullptr);
          lifecycle(*connector, connector.get(), signal);
          never_started = factory.create_connector(ctx_, *config, signal, out, outputs);
        }
        break;
      case ComponentKind::kExtension: {
        auto extension = factory.create_extension(ctx_, *config);
        ASSERT_NE(extension, nullptr);
        lifecycle(*extension, nullptr, signal);
        never_started = factory.create_extension(ctx_, *config);
        break;
      }
    }
    if (never_started) {
      never_started->shutdown(deadline());  // safe without start
      never_started->shutdown(deadline());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(EveryBuiltInComponent, ComponentLifecycleTest,
                         ::testing::Range<size_t>(0, builtin_factories().size()), name_of);

}  // namespace
}  // namespace weft
