#include "core/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "components/processors/batch/batch.h"
#include "components/receivers/otlp/config.h"
#include "exe/components.h"
#include "weft/config_reader.h"

namespace weft {
namespace {

using namespace std::chrono_literals;

constexpr char kValidConfig[] = R"(
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: localhost:4317
      http:
        endpoint: 127.0.0.1:4318

processors:
  batch:
    send_batch_size: 100
    timeout: 2s
  batch/big:
    send_batch_size: 5000
    send_batch_max_size: 6000

exporters:
  debug:
    verbosity: basic
  file:
    path: /tmp/weft-config-test.jsonl

service:
  telemetry:
    logs:
      level: warn
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [debug, file]
    logs/custom:
      receivers: [otlp]
      processors: [batch/big]
      exporters: [debug]
)";

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "weft-config-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& content) {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << content;
    return path;
  }

  LoadedConfig load(const std::vector<std::string>& files) {
    return load_config(files, factories_);
  }

  // Loads one file that must fail, and returns its errors.
  std::vector<std::string> errors_of(const std::string& content) {
    const std::string file = write("bad.yaml", content);
    LoadedConfig loaded = load({file});
    EXPECT_FALSE(loaded.config.has_value());
    EXPECT_FALSE(loaded.errors.empty());
    return loaded.errors;
  }

  // Whether one of the errors is "FILE: PATH: ..." (and mentions `words`).
  static bool has_error(const std::vector<std::string>& errors, const std::string& file,
                        const std::string& path, const std::string& words = "") {
    const std::string prefix = file + ": " + path + ": ";
    for (const auto& e : errors) {
      if (e.rfind(prefix, 0) == 0 && e.find(words, prefix.size()) != std::string::npos) {
        return true;
      }
    }
    return false;
  }

  static std::string dump(const std::vector<std::string>& errors) {
    std::string out;
    for (const auto& e : errors) out += e + "\n";
    return out;
  }

  static const receivers::otlp::Config& otlp(const CollectorConfig& config,
                                             const std::string& id = "otlp") {
    return dynamic_cast<const receivers::otlp::Config&>(*config.receivers.at(id).config);
  }

  static const processors::batch::Config& batch(const CollectorConfig& config,
                                                const std::string& id) {
    return dynamic_cast<const processors::batch::Config&>(*config.processors.at(id).config);
  }

  std::filesystem::path dir_;
  Factories factories_{builtin_factories()};
};

TEST_F(ConfigTest, ValidConfigLoads) {
  LoadedConfig loaded = load({write("config.yaml", kValidConfig)});
  ASSERT_TRUE(loaded.config.has_value()) << dump(loaded.errors);
  EXPECT_TRUE(loaded.errors.empty());
  const CollectorConfig& config = *loaded.config;

  ASSERT_EQ(config.receivers.size(), 1u);
  EXPECT_EQ(config.receivers.at("otlp").id, "otlp");
  EXPECT_EQ(config.receivers.at("otlp").factory->type(), "otlp");
  EXPECT_TRUE(otlp(config).grpc.enabled);
  EXPECT_EQ(otlp(config).grpc.endpoint, "localhost:4317");
  EXPECT_TRUE(otlp(config).http.enabled);
  EXPECT_EQ(otlp(config).http.endpoint, "127.0.0.1:4318");
  EXPECT_EQ(otlp(config).http.traces_url_path, "/v1/traces");  // default kept

  ASSERT_EQ(config.processors.size(), 2u);
  EXPECT_EQ(batch(config, "batch").send_batch_size, 100u);
  EXPECT_EQ(batch(config, "batch").timeout, 2s);
  EXPECT_EQ(batch(config, "batch/big").send_batch_size, 5000u);
  EXPECT_EQ(batch(config, "batch/big").send_batch_max_size, 6000u);
  EXPECT_EQ(batch(config, "batch/big").timeout, 200ms);  // default
  EXPECT_EQ(config.processors.at("batch/big").factory->type(), "batch");

  ASSERT_EQ(config.exporters.size(), 2u);
  EXPECT_TRUE(config.exporters.count("debug"));
  EXPECT_TRUE(config.exporters.count("file"));

  ASSERT_EQ(config.pipelines.size(), 2u);
  const PipelineConfig* traces = nullptr;
  const PipelineConfig* logs = nullptr;
  for (const auto& p : config.pipelines) {
    if (p.id == "traces") traces = &p;
    if (p.id == "logs/custom") logs = &p;
  }
  ASSERT_NE(traces, nullptr);
  ASSERT_NE(logs, nullptr);
  EXPECT_EQ(traces->signal, Signal::kTraces);
  EXPECT_EQ(traces->receivers, std::vector<std::string>{"otlp"});
  EXPECT_EQ(traces->processors, std::vector<std::string>{"batch"});
  EXPECT_EQ(traces->exporters, (std::vector<std::string>{"debug", "file"}));
  EXPECT_EQ(logs->signal, Signal::kLogs);
  EXPECT_EQ(logs->processors, std::vector<std::string>{"batch/big"});

  EXPECT_EQ(config.log_level, "warn");
  EXPECT_EQ(config.metrics_address, "localhost:8888");  // default
  EXPECT_EQ(config.shutdown_timeout, 20s);
}

// Found by fuzz_yaml_json: yaml-cpp keeps both entries of a repeated key, and a lookup sees
// only the first. The Go collector refuses the document; so does weft, with the line.
TEST_F(ConfigTest, ARepeatedKeyIsRefusedWithItsLine) {
  const auto errors = errors_of(
      "receivers:\n  otlp:\n    protocols: {grpc: {}}\n"
      "exporters:\n  debug: {}\n  debug: {verbosity: detailed}\n");
  ASSERT_EQ(errors.size(), 1U);
  EXPECT_NE(errors[0].find("line 6: key \"debug\" is already defined"), std::string::npos)
      << errors[0];
}

TEST_F(ConfigTest, FilesMergeInOrder) {
  const std::string base = write("base.yaml", kValidConfig);
  const std::string over = write("over.yaml", R"(
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 0.0.0.0:5317
processors:
  batch:
    timeout: 5s
service:
  pipelines:
    traces:
      exporters: [file]
)");
  LoadedConfig loaded = load({base, over});
  ASSERT_TRUE(loaded.config.has_value()) << dump(loaded.errors);
  const CollectorConfig& config = *loaded.config;
  // Overridden.
  EXPECT_EQ(otlp(config).grpc.endpoint, "0.0.0.0:5317");
  EXPECT_EQ(batch(config, "batch").timeout, 5s);
  // Kept from the first file, next to what was overridden.
  EXPECT_TRUE(otlp(config).http.enabled);
  EXPECT_EQ(otlp(config).http.endpoint, "127.0.0.1:4318");
  EXPECT_EQ(batch(config, "batch").send_batch_size, 100u);
  EXPECT_EQ(config.processors.size(), 2u);
  EXPECT_EQ(config.log_level, "warn");
  // Lists are values: the later one replaces the earlier one.
  for (const auto& p : config.pipelines) {
    if (p.id == "traces") {
      EXPECT_EQ(p.exporters, std::vector<std::string>{"file"});
      EXPECT_EQ(p.receivers, std::vector<std::string>{"otlp"});
    }
  }

  // The other order: the base wins.
  LoadedConfig reversed = load({over, base});
  ASSERT_TRUE(reversed.config.has_value()) << dump(reversed.errors);
  EXPECT_EQ(otlp(*reversed.config).grpc.endpoint, "localhost:4317");
  EXPECT_EQ(batch(*reversed.config, "batch").timeout, 2s);
}

TEST_F(ConfigTest, ExpandsEnvironmentReferences) {
  ::setenv("WEFT_CFG_TEST_HOST", "127.0.0.2", 1);
  ::setenv("WEFT_CFG_TEST_HTTP", "0.0.0.0:9318", 1);
  ::setenv("WEFT_CFG_TEST_SIZE", "321", 1);
  ::setenv("WEFT_CFG_TEST_SET", "from-env", 1);
  ::unsetenv("WEFT_CFG_TEST_UNSET");
  LoadedConfig loaded = load({write("env.yaml", R"(
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: ${env:WEFT_CFG_TEST_HOST}:4317
      http:
        endpoint: ${WEFT_CFG_TEST_HTTP}
        traces_url_path: ${env:WEFT_CFG_TEST_UNSET:-/fallback/traces}
        metrics_url_path: /v1/$$metrics
        logs_url_path: /$${env:WEFT_CFG_TEST_SET}/${env:WEFT_CFG_TEST_SET:-unused}
processors:
  batch:
    send_batch_size: ${env:WEFT_CFG_TEST_SIZE}
exporters:
  debug:
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [debug]
)")});
  ASSERT_TRUE(loaded.config.has_value()) << dump(loaded.errors);
  const auto& r = otlp(*loaded.config);
  EXPECT_EQ(r.grpc.endpoint, "127.0.0.2:4317");
  EXPECT_EQ(r.http.endpoint, "0.0.0.0:9318");
  EXPECT_EQ(r.http.traces_url_path, "/fallback/traces");
  EXPECT_EQ(r.http.metrics_url_path, "/v1/$metrics");
  EXPECT_EQ(r.http.logs_url_path, "/${env:WEFT_CFG_TEST_SET}/from-env");
  // Expanded before typed reading.
  EXPECT_EQ(batch(*loaded.config, "batch").send_batch_size, 321u);
}

TEST_F(ConfigTest, ExpandsFileReferences) {
  const std::string endpoint = write("endpoint.txt", "127.0.0.3:4317\n\n");
  LoadedConfig loaded = load({write("file.yaml", R"(
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: ${file:)" + endpoint + R"(}
      http:
        traces_url_path: /pre/${file:)" + endpoint + R"(}/post
exporters:
  debug:
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
)")});
  ASSERT_TRUE(loaded.config.has_value()) << dump(loaded.errors);
  EXPECT_EQ(otlp(*loaded.config).grpc.endpoint, "127.0.0.3:4317");
  EXPECT_EQ(otlp(*loaded.config).http.traces_url_path, "/pre/127.0.0.3:4317/post");

  LoadedConfig missing = load({write("missing.yaml", R"(
receivers:
  otlp: {protocols: {grpc: {endpoint: "${file:/nonexistent/weft/endpoint}"}}}
exporters: {debug: {}}
service: {pipelines: {traces: {receivers: [otlp], exporters: [debug]}}}
)")});
  ASSERT_FALSE(missing.config.has_value());
  EXPECT_NE(dump(missing.errors).find("cannot read the file of ${file:/nonexistent/weft/endpoint}"),
            std::string::npos)
      << dump(missing.errors);
}

TEST_F(ConfigTest, AnchorsAndMergeKeys) {
  LoadedConfig ok = load({write("anchors2.yaml", R"(
receivers:
  otlp: {protocols: {grpc: {endpoint: "127.0.0.1:4317"}}}
processors:
  batch: &batch_defaults
    send_batch_size: 77
    timeout: 3s
  batch/2:
    <<: [*batch_defaults, {send_batch_max_size: 500, timeout: 9s}]
    send_batch_size: 5
exporters: {debug: {}}
service:
  pipelines:
    traces: &pipeline {receivers: [otlp], processors: [batch, batch/2], exporters: [debug]}
    logs: *pipeline
)")});
  ASSERT_TRUE(ok.config.has_value()) << dump(ok.errors);
  EXPECT_EQ(batch(*ok.config, "batch").send_batch_size, 77U);
  EXPECT_EQ(batch(*ok.config, "batch/2").send_batch_size, 5U);  // its own key wins
  EXPECT_EQ(batch(*ok.config, "batch/2").timeout, 3s);          // the earlier map wins
  EXPECT_EQ(batch(*ok.config, "batch/2").send_batch_max_size, 500U);
  EXPECT_EQ(ok.config->pipelines.size(), 2U);
}

TEST_F(ConfigTest, TelemetryReadersAndLogEncoding) {
  const std::string pipelines = R"(
receivers: {otlp: {protocols: {grpc: {endpoint: "127.0.0.1:4317"}}}}
exporters: {debug: {}}
)";
  LoadedConfig loaded = load({write("readers.yaml", pipelines + R"(
service:
  telemetry:
    metrics:
      level: detailed
      readers:
        - pull: {exporter: {prometheus: {host: 0.0.0.0, port: 9777}}}
    logs: {level: warn, encoding: json}
  pipelines: {traces: {receivers: [otlp], exporters: [debug]}}
)")});
  ASSERT_TRUE(loaded.config.has_value()) << dump(loaded.errors);
  EXPECT_EQ(loaded.config->metrics_address, "0.0.0.0:9777");
  EXPECT_EQ(loaded.config->log_encoding, "json");

  LoadedConfig bad = load({write("bad-readers.yaml", pipelines + R"(
service:
  telemetry:
    metrics:
      level: verbose
      readers:
        - periodic: {exporter: {otlp: {endpoint: "http://x:4318"}}}
    logs: {encoding: logfmt}
  pipelines: {traces: {receivers: [otlp], exporters: [debug]}}
)")});
  ASSERT_FALSE(bad.config.has_value());
  const std::string errors = dump(bad.errors);
  EXPECT_NE(errors.find("readers.0.periodic: is not supported yet"), std::string::npos) << errors;
  EXPECT_NE(errors.find("must be none, basic, normal or detailed"), std::string::npos) << errors;
  EXPECT_NE(errors.find("must be console or json"), std::string::npos) << errors;
}

TEST_F(ConfigTest, LoggingIsADeprecatedNameOfDebugWithItsLoglevel) {
  LoadedConfig loaded = load({write("logging.yaml", R"(
receivers:
  otlp: {protocols: {grpc: {endpoint: "127.0.0.1:4317"}}}
exporters:
  logging:
    loglevel: debug
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [logging]}
)")});
  ASSERT_TRUE(loaded.config.has_value()) << dump(loaded.errors);
  EXPECT_EQ(loaded.config->exporters.at("logging").factory->type(), "debug");
  ASSERT_EQ(loaded.warnings.size(), 1U);
  EXPECT_NE(loaded.warnings[0].find("exporters.logging: \"logging\" is a deprecated name of the "
                                    "exporter \"debug\""),
            std::string::npos)
      << loaded.warnings[0];

  LoadedConfig both = load({write("both.yaml", R"(
receivers:
  otlp: {protocols: {grpc: {endpoint: "127.0.0.1:4317"}}}
exporters:
  logging: {loglevel: trace}
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [logging]}
)")});
  ASSERT_FALSE(both.config.has_value());
  EXPECT_NE(dump(both.errors).find("must be debug, info, warn or error"), std::string::npos);
}

TEST_F(ConfigTest, UnsetVariableWithoutDefaultIsEmpty) {
  ::unsetenv("WEFT_CFG_TEST_UNSET");
  // An empty endpoint from an unset variable is then caught by validation.
  const std::string file = write("unset.yaml", R"(
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: ${env:WEFT_CFG_TEST_UNSET}
exporters:
  debug:
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [debug]
)");
  LoadedConfig loaded = load({file});
  EXPECT_FALSE(loaded.config.has_value());
  EXPECT_TRUE(has_error(loaded.errors, file, "receivers.otlp.protocols.grpc.endpoint"))
      << dump(loaded.errors);
}

TEST_F(ConfigTest, BadEnvironmentReferenceNamesThePath) {
  const std::string file = write("badref.yaml", R"(
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: ${env:NOT-A-NAME}
exporters:
  debug:
    verbosity: ${env:UNTERMINATED
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [debug]
)");
  LoadedConfig loaded = load({file});
  EXPECT_FALSE(loaded.config.has_value());
  EXPECT_TRUE(has_error(loaded.errors, file, "receivers.otlp.protocols.grpc.endpoint"))
      << dump(loaded.errors);
  EXPECT_TRUE(has_error(loaded.errors, file, "exporters.debug.verbosity")) << dump(loaded.errors);
}

// A valid config with `replace` swapped for `with`.
std::string valid_with(const std::string& replace, const std::string& with) {
  std::string config = kValidConfig;
  const size_t at = config.find(replace);
  EXPECT_NE(at, std::string::npos) << replace;
  if (at != std::string::npos) config.replace(at, replace.size(), with);
  return config;
}

TEST_F(ConfigTest, UnknownComponentType) {
  auto errors = errors_of(valid_with("  debug:\n    verbosity: basic\n",
                                     "  debug:\n    verbosity: basic\n  nosuch:\n    x: 1\n"));
  const std::string file = (dir_ / "bad.yaml").string();
  EXPECT_TRUE(has_error(errors, file, "exporters.nosuch", "unknown exporter type \"nosuch\""))
      << dump(errors);
  // The message lists what is built in.
  EXPECT_TRUE(has_error(errors, file, "exporters.nosuch", "debug")) << dump(errors);
}

TEST_F(ConfigTest, PipelineReferencesAnUndefinedExporter) {
  auto errors = errors_of(valid_with("exporters: [debug, file]", "exporters: [debug, otlp/x]"));
  EXPECT_TRUE(has_error(errors, (dir_ / "bad.yaml").string(), "service.pipelines.traces.exporters",
                        "otlp/x"))
      << dump(errors);
}

TEST_F(ConfigTest, BadEndpoint) {
  for (const char* endpoint : {"localhost", "localhost:99999", "local host:4317", "::1:4317"}) {
    auto errors = errors_of(
        valid_with("endpoint: localhost:4317", std::string("endpoint: \"") + endpoint + "\""));
    EXPECT_TRUE(has_error(errors, (dir_ / "bad.yaml").string(),
                          "receivers.otlp.protocols.grpc.endpoint", endpoint))
        << endpoint << "\n"
        << dump(errors);
  }
}

TEST_F(ConfigTest, WrongValueType) {
  auto errors = errors_of(valid_with("send_batch_size: 100", "send_batch_size: lots"));
  EXPECT_TRUE(
      has_error(errors, (dir_ / "bad.yaml").string(), "processors.batch.send_batch_size", "lots"))
      << dump(errors);
  errors = errors_of(valid_with("send_batch_size: 100", "send_batch_size: [1, 2]"));
  EXPECT_TRUE(has_error(errors, (dir_ / "bad.yaml").string(), "processors.batch.send_batch_size"))
      << dump(errors);
}

TEST_F(ConfigTest, NegativeValueForAnUnsignedSetting) {
  auto errors = errors_of(valid_with("send_batch_size: 100", "send_batch_size: -1"));
  EXPECT_TRUE(has_error(errors, (dir_ / "bad.yaml").string(), "processors.batch.send_batch_size"))
      << dump(errors);
}

TEST_F(ConfigTest, UnknownKey) {
  auto errors = errors_of(valid_with("    path: /tmp/weft-config-test.jsonl\n",
                                     "    path: /tmp/weft-config-test.jsonl\n    bogus: 1\n"));
  EXPECT_TRUE(has_error(errors, (dir_ / "bad.yaml").string(), "exporters.file.bogus", "bogus"))
      << dump(errors);
  // Nested unknown keys are found as well.
  errors = errors_of(valid_with("        endpoint: localhost:4317\n",
                                "        endpoint: localhost:4317\n        bogus_nested: x\n"));
  EXPECT_TRUE(
      has_error(errors, (dir_ / "bad.yaml").string(), "receivers.otlp.protocols.grpc.bogus_nested"))
      << dump(errors);
}

TEST_F(ConfigTest, BadDuration) {
  auto errors = errors_of(valid_with("timeout: 2s", "timeout: 2 seconds"));
  EXPECT_TRUE(
      has_error(errors, (dir_ / "bad.yaml").string(), "processors.batch.timeout", "2 seconds"))
      << dump(errors);
}

TEST_F(ConfigTest, BadPipelineId) {
  auto errors = errors_of(valid_with("    traces:\n", "    spans:\n"));
  EXPECT_TRUE(has_error(errors, (dir_ / "bad.yaml").string(), "service.pipelines.spans"))
      << dump(errors);
}

TEST_F(ConfigTest, ErrorNamesTheFileThatSetTheValue) {
  const std::string base = write("base.yaml", kValidConfig);
  const std::string over = write("over.yaml", R"(
processors:
  batch:
    timeout: whenever
)");
  LoadedConfig loaded = load({base, over});
  ASSERT_FALSE(loaded.config.has_value());
  EXPECT_TRUE(has_error(loaded.errors, over, "processors.batch.timeout")) << dump(loaded.errors);
  EXPECT_FALSE(has_error(loaded.errors, base, "processors.batch.timeout")) << dump(loaded.errors);

  // A problem in the first file is reported against the first file.
  const std::string bad_base =
      write("bad_base.yaml", valid_with("verbosity: basic", "verbosity: loud"));
  const std::string fine_over = write("fine_over.yaml", "processors:\n  batch:\n    timeout: 1s\n");
  loaded = load({bad_base, fine_over});
  ASSERT_FALSE(loaded.config.has_value());
  EXPECT_TRUE(has_error(loaded.errors, bad_base, "exporters.debug.verbosity", "loud"))
      << dump(loaded.errors);
}

TEST_F(ConfigTest, EveryProblemIsReported) {
  auto errors =
      errors_of(valid_with("timeout: 2s", "timeout: nope").append("unknown_section:\n  x: 1\n"));
  const std::string file = (dir_ / "bad.yaml").string();
  EXPECT_TRUE(has_error(errors, file, "processors.batch.timeout")) << dump(errors);
  EXPECT_TRUE(has_error(errors, file, "unknown_section")) << dump(errors);
}

TEST_F(ConfigTest, ServiceTelemetrySettings) {
  LoadedConfig loaded = load({write("telemetry.yaml", valid_with("    logs:\n      level: warn\n",
                                                                 R"(    logs:
      level: debug
    metrics:
      address: 0.0.0.0:9999
  shutdown_timeout: 3s
)"))});
  ASSERT_TRUE(loaded.config.has_value()) << dump(loaded.errors);
  EXPECT_EQ(loaded.config->log_level, "debug");
  EXPECT_EQ(loaded.config->metrics_address, "0.0.0.0:9999");
  EXPECT_EQ(loaded.config->shutdown_timeout, 3s);

  loaded = load({write("none.yaml", valid_with("    logs:\n      level: warn\n",
                                               "    metrics:\n      level: none\n"))});
  ASSERT_TRUE(loaded.config.has_value()) << dump(loaded.errors);
  EXPECT_EQ(loaded.config->metrics_address, "");  // no self-metrics endpoint

  auto errors = errors_of(valid_with("level: warn", "level: chatty"));
  EXPECT_TRUE(has_error(errors, (dir_ / "bad.yaml").string(), "service.telemetry.logs.level"))
      << dump(errors);
  errors = errors_of(
      valid_with("    logs:\n      level: warn\n", "    metrics:\n      address: nowhere\n"));
  EXPECT_TRUE(has_error(errors, (dir_ / "bad.yaml").string(), "service.telemetry.metrics.address"))
      << dump(errors);
}

TEST_F(ConfigTest, UnreadableOrInvalidFiles) {
  const std::string missing = (dir_ / "missing.yaml").string();
  LoadedConfig loaded = load({missing});
  ASSERT_FALSE(loaded.config.has_value());
  ASSERT_FALSE(loaded.errors.empty());
  EXPECT_EQ(loaded.errors[0].rfind(missing + ": ", 0), 0u) << dump(loaded.errors);

  const std::string broken = write("broken.yaml", "receivers:\n  otlp: [unclosed\n");
  loaded = load({broken});
  ASSERT_FALSE(loaded.config.has_value());
  ASSERT_FALSE(loaded.errors.empty());
  EXPECT_EQ(loaded.errors[0].rfind(broken + ": line ", 0), 0u) << dump(loaded.errors);

  loaded = load({});
  EXPECT_FALSE(loaded.config.has_value());
  EXPECT_FALSE(loaded.errors.empty());

  auto errors = errors_of("- a\n- b\n");
  EXPECT_NE(errors[0].find("top level"), std::string::npos) << dump(errors);
}

TEST_F(ConfigTest, MissingServiceOrPipelines) {
  auto errors = errors_of("exporters:\n  debug:\n");
  EXPECT_TRUE(has_error(errors, (dir_ / "bad.yaml").string(), "service")) << dump(errors);
  errors = errors_of("exporters:\n  debug:\nservice:\n  pipelines: {}\n");
  EXPECT_TRUE(has_error(errors, (dir_ / "bad.yaml").string(), "service.pipelines")) << dump(errors);
  // A scalar or a list where the service's map belongs (found by fuzz_config: it threw).
  for (const char* service : {"service: pipelines\n", "service: [a, b]\n"}) {
    errors = errors_of(std::string("exporters:\n  debug:\n") + service);
    EXPECT_TRUE(has_error(errors, (dir_ / "bad.yaml").string(), "service")) << dump(errors);
  }
}

TEST(ParseDurationTest, GoDurations) {
  std::chrono::nanoseconds d{};
  ASSERT_TRUE(parse_duration("200ms", d));
  EXPECT_EQ(d, 200ms);
  ASSERT_TRUE(parse_duration("5s", d));
  EXPECT_EQ(d, 5s);
  ASSERT_TRUE(parse_duration("1m30s", d));
  EXPECT_EQ(d, 90s);
  ASSERT_TRUE(parse_duration("1.5h", d));
  EXPECT_EQ(d, 90min);
  ASSERT_TRUE(parse_duration("2h45m", d));
  EXPECT_EQ(d, 2h + 45min);
  ASSERT_TRUE(parse_duration("1h2m3s4ms5us6ns", d));
  EXPECT_EQ(d, 1h + 2min + 3s + 4ms + 5us + 6ns);
  ASSERT_TRUE(parse_duration("0.5s", d));
  EXPECT_EQ(d, 500ms);
  ASSERT_TRUE(parse_duration("0s", d));
  EXPECT_EQ(d, 0ns);
  // A bare integer is nanoseconds.
  ASSERT_TRUE(parse_duration("1500", d));
  EXPECT_EQ(d, 1500ns);
  ASSERT_TRUE(parse_duration("0", d));
  EXPECT_EQ(d, 0ns);
}

TEST(ParseDurationTest, RejectsWhatIsNotADuration) {
  for (const char* text : {"", "s", "ms", "5x", "5 s", " 5s", "5s ", "abc", "5sec", "1.5", "h1",
                           "5s5", ".s", "1e3s"}) {
    std::chrono::nanoseconds d = 42ns;
    EXPECT_FALSE(parse_duration(text, d)) << "\"" << text << "\"";
  }
}

TEST(ParseDurationTest, MicrosecondSign) {
  std::chrono::nanoseconds d{};
  ASSERT_TRUE(parse_duration("3µs", d));
  EXPECT_EQ(d, 3us);
}

TEST(ParseDurationTest, RejectsMoreThanOneDecimalPoint) {
  std::chrono::nanoseconds d{};
  EXPECT_FALSE(parse_duration("1.2.3s", d));
  EXPECT_FALSE(parse_duration("1..5s", d));
}

TEST(ParseDurationTest, OverflowIsNotANegativeDuration) {
  std::chrono::nanoseconds d{};
  const bool ok = parse_duration("3000000h", d);
  EXPECT_TRUE(!ok || d.count() > 0) << d.count();
}

TEST(SplitEndpointTest, AcceptsHostPort) {
  struct Case {
    const char* endpoint;
    const char* host;
    int port;
  };
  for (const Case& c : {Case{"localhost:4317", "localhost", 4317}, Case{":4318", "", 4318},
                        Case{"0.0.0.0:0", "0.0.0.0", 0}, Case{"[::1]:4317", "::1", 4317},
                        Case{"[::]:65535", "::", 65535},
                        Case{"my-host.example.com:80", "my-host.example.com", 80}}) {
    std::string host = "unchanged";
    int port = -1;
    ASSERT_TRUE(split_endpoint(c.endpoint, host, port)) << c.endpoint;
    EXPECT_EQ(host, c.host) << c.endpoint;
    EXPECT_EQ(port, c.port) << c.endpoint;
  }
}

TEST(SplitEndpointTest, RejectsWhatIsNotHostPort) {
  for (const char* endpoint : {"", "localhost", "localhost:", "localhost:65536", "localhost:-1",
                               "localhost:http", "localhost:80x", "::1:4317", "host name:80",
                               "http://localhost:4317", "[::1]", "local/host:80"}) {
    std::string host;
    int port = 0;
    EXPECT_FALSE(split_endpoint(endpoint, host, port)) << "\"" << endpoint << "\"";
  }
}

}  // namespace
}  // namespace weft

namespace weft {
namespace {

class ConnectorConfigTest : public ::testing::Test {
 protected:
  std::vector<std::string> errors_of(const std::string& pipelines) {
    // ctest runs tests in parallel processes: every test writes files of its own.
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    const auto dir = std::filesystem::temp_directory_path();
    const auto plugin = dir / ("weft-connector-test-" + name + ".wat");
    std::ofstream(plugin) << "(module)";
    const auto path = dir / ("weft-connector-test-" + name + ".yaml");
    std::ofstream(path) << "receivers:\n  otlp:\n    protocols:\n      grpc:\n"
                        << "connectors:\n  wasm/c:\n    plugin: " << plugin.string() << "\n"
                        << "exporters:\n  debug:\n"
                        << "service:\n  pipelines:\n"
                        << pipelines;
    Factories factories(builtin_factories());
    return load_config({path.string()}, factories).errors;
  }
};

TEST_F(ConnectorConfigTest, AConnectorJoinsTwoPipelines) {
  auto errors = errors_of(
      "    traces:\n      receivers: [otlp]\n      exporters: [wasm/c]\n"
      "    metrics:\n      receivers: [wasm/c]\n      exporters: [debug]\n");
  EXPECT_TRUE(errors.empty()) << (errors.empty() ? "" : errors.front());
}

TEST_F(ConnectorConfigTest, AConnectorUsedOnOneSideOnlyIsAnError) {
  auto errors =
      errors_of("    traces:\n      receivers: [otlp]\n      exporters: [wasm/c, debug]\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("connectors.wasm/c: is used as an exporter but not as a receiver"),
            std::string::npos)
      << errors[0];
}

TEST_F(ConnectorConfigTest, ACycleThroughConnectorsIsAnError) {
  auto errors =
      errors_of("    traces:\n      receivers: [otlp, wasm/c]\n      exporters: [wasm/c]\n");
  ASSERT_FALSE(errors.empty());
  EXPECT_NE(errors[0].find("service.pipelines.traces: is part of a cycle through connectors"),
            std::string::npos)
      << errors[0];
}

}  // namespace
}  // namespace weft
