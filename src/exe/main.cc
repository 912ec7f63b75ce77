#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <google/protobuf/stubs/logging.h>
#include <malloc.h>

#include <algorithm>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <mutex>
#include <thread>

#include "core/config.h"
#include "core/service.h"
#include "exe/components.h"
#include "tools/package_tool.h"
#include "tools/plugin_tool.h"
#include "util/yaml_json.h"

namespace {

// glibc's allocator, tuned for batches of 100 KB to a few MB allocated on one thread and
// freed on another: with the defaults each one is mmapped and unmapped (a page fault per
// page, every time) and every gRPC thread gets its own arena. A MALLOC_* environment
// variable set by the user wins. Measured in docs/performance.md.
void tune_allocator() {
  constexpr int kKeepBytes = 32 << 20;
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) {
    mallopt(M_ARENA_MAX, static_cast<int>(std::max(2U, std::thread::hardware_concurrency())));
  }
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr) mallopt(M_MMAP_THRESHOLD, kKeepBytes);
  if (std::getenv("MALLOC_TRIM_THRESHOLD_") == nullptr) mallopt(M_TRIM_THRESHOLD, kKeepBytes);
}

// service.telemetry.logs.encoding: json: one object per line, {"ts", "level", "logger",
// "msg"}, as log shippers read them.
class JsonLogFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto since = msg.time.time_since_epoch();
    const std::time_t seconds = std::chrono::duration_cast<std::chrono::seconds>(since).count();
    const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since).count() % 1000;
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char ts[40];
    const size_t n = std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(ts + n, sizeof ts - n, ".%03dZ", static_cast<int>(millis));
    std::string line = std::string("{\"ts\":\"") + ts + "\",\"level\":\"";
    const auto level = spdlog::level::to_string_view(msg.level);
    line.append(level.data(), level.size());
    line += "\",\"logger\":" +
            weft::json_quote(std::string_view(msg.logger_name.data(), msg.logger_name.size()));
    line +=
        ",\"msg\":" + weft::json_quote(std::string_view(msg.payload.data(), msg.payload.size()));
    line += "}\n";
    dest.append(line.data(), line.data() + line.size());
  }
  [[nodiscard]] std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonLogFormatter>();
  }
};

// Loads and checks the configuration; prints every problem. nullopt on failure. Warnings are
// printed too, or kept in `warnings` (for the collector's log, in its encoding).
std::optional<weft::CollectorConfig> load(const std::vector<std::string>& files,
                                          const weft::Factories& factories, bool deep = false,
                                          std::vector<std::string>* warnings = nullptr) {
  auto loaded = weft::load_config(files, factories, deep);
  for (const auto& error : loaded.errors) std::cerr << "error: " << error << "\n";
  if (warnings != nullptr) {
    *warnings = loaded.warnings;
  } else {
    for (const auto& warning : loaded.warnings) std::cerr << "warning: " << warning << "\n";
  }
  return std::move(loaded.config);
}

// libprotobuf's own messages in weft's log format instead of its own lines on stderr.
std::shared_ptr<spdlog::logger>& protobuf_logger() {
  static auto* logger = new std::shared_ptr<spdlog::logger>();
  return *logger;
}

void log_protobuf(google::protobuf::LogLevel level, const char* file, int line,
                  const std::string& message) {
  auto& logger = protobuf_logger();
  if (!logger) return;
  const auto lvl = level == google::protobuf::LOGLEVEL_INFO      ? spdlog::level::info
                   : level == google::protobuf::LOGLEVEL_WARNING ? spdlog::level::warn
                                                                 : spdlog::level::err;
  logger->log(lvl, "{} ({}:{})", message, file, line);
}

// What the signal thread asks of main(), which does the work.
struct Requests {
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  int stop_signal = 0;
  int reloads = 0;
};

// Waits for signals from the start, so a SIGTERM while weft is still starting is seen too.
// After SIGTERM or SIGINT, weft exits within the shutdown timeout (plus a second) whatever
// is still running: every plugin call has a deadline, but a compile or a peer may not.
void watch_signals(sigset_t signals, const std::shared_ptr<Requests>& requests,
                   std::chrono::nanoseconds shutdown_timeout,
                   const std::shared_ptr<spdlog::logger>& log) {
  std::thread([signals, requests, shutdown_timeout, log] {
    int received = 0;
    while (sigwait(&signals, &received) == 0) {
      std::unique_lock lock(requests->mu);
      if (received == SIGHUP) {
        ++requests->reloads;
        requests->cv.notify_all();
        continue;
      }
      if (requests->stop) continue;
      requests->stop = true;
      requests->stop_signal = received;
      requests->cv.notify_all();
      lock.unlock();
      std::this_thread::sleep_for(shutdown_timeout + std::chrono::seconds(1));
      log->error("shutdown did not finish within service.shutdown_timeout; exiting now");
      log->flush();
      std::_Exit(1);
    }
  }).detach();
}

int run(const std::vector<std::string>& files, const weft::Factories& factories) {
  // Termination signals go to one thread; every thread made later inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  // A write past the file-size limit fails (EFBIG) like one to a full disk, instead of
  // killing the process: the persistent queue refuses upstream and keeps what it holds.
  std::signal(SIGXFSZ, SIG_IGN);

  std::vector<std::string> warnings;
  auto config = load(files, factories, false, &warnings);
  if (!config) return 1;
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  if (config->log_encoding == "json") {
    sink->set_formatter(std::make_unique<JsonLogFormatter>());
  } else {
    sink->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v");
  }
  protobuf_logger() = std::make_shared<spdlog::logger>("protobuf", sink);
  google::protobuf::SetLogHandler(&log_protobuf);
  auto log = std::make_shared<spdlog::logger>("weft", sink);
  auto requests = std::make_shared<Requests>();
  watch_signals(signals, requests, config->shutdown_timeout, log);
  weft::Service service(std::move(*config), sink);
  log->info("weft {} starting", WEFT_VERSION);
  for (const auto& warning : warnings) log->warn("{}", warning);
  if (weft::Status s = service.start(); !s.is_ok()) {
    log->error("cannot start: {}", s.message());
    service.shutdown();
    return 1;
  }
  std::unique_lock lock(requests->mu);
  while (true) {
    requests->cv.wait(lock, [&] { return requests->stop || requests->reloads > 0; });
    if (requests->stop) break;
    requests->reloads = 0;
    lock.unlock();
    log->info("received SIGHUP, reloading plugins");
    (void)service.reload_plugins();
    lock.lock();
  }
  const int received = requests->stop_signal;
  lock.unlock();
  log->info("received {}, shutting down", received == SIGTERM ? "SIGTERM" : "SIGINT");
  service.shutdown();
  return 0;
}

}  // namespace

#ifdef WEFT_NATIVE_BASELINE
std::unique_ptr<weft::Factory> make_native_processor_factory();  // bench/native
#endif

int main(int argc, char** argv) {
  tune_allocator();
  auto builtin = weft::builtin_factories();
#ifdef WEFT_NATIVE_BASELINE
  builtin.push_back(make_native_processor_factory());
#endif
  weft::Factories factories(std::move(builtin));
  CLI::App app{"weft: an OpenTelemetry collector extended by WebAssembly plugins"};
  app.set_version_flag("--version", std::string("weft ") + WEFT_VERSION);
  std::vector<std::string> configs;
  app.add_option("--config", configs, "configuration file; several are merged in order")
      ->check(CLI::ExistingFile);

  auto* validate = app.add_subcommand("validate", "check the configuration and exit");
  validate->fallthrough();
  auto* components = app.add_subcommand("components", "list the built-in component types");
  bool components_markdown = false;
  components->add_flag("--markdown", components_markdown, "as the table in docs/configuration.md");
  auto* plugin = app.add_subcommand("plugin", "tools for plugin authors (docs/plugin-tool.md)");
  plugin->require_subcommand(1);
  plugin->fallthrough();
  weft::tools::PluginNewOptions new_options;
  auto* plugin_new = plugin->add_subcommand("new", "make a plugin project that builds and tests");
  plugin_new->add_option("name", new_options.name, "the plugin's name")->required();
  plugin_new->add_option("--lang", new_options.lang, "c, cpp, go, rust or as")->required();
  plugin_new->add_option("--dir", new_options.dir, "where to make it (default: ./NAME)");
  std::string build_dir;
  auto* plugin_build =
      plugin->add_subcommand("build", "build the project with its language's toolchain");
  plugin_build->add_option("dir", build_dir, "the project (default: .)");
  weft::tools::PluginTestOptions test_options;
  std::string test_signal;
  auto* plugin_test = plugin->add_subcommand(
      "test", "run a plugin on an OTLP/JSON batch; in a project without options: its testdata/");
  plugin_test->add_option("--plugin", test_options.plugin, "the plugin (.wasm)");
  plugin_test->add_option("--input", test_options.input, "an OTLP/JSON request");
  plugin_test->add_option("--config", test_options.config, "the plugin's config (a JSON file)");
  plugin_test->add_option("--expect", test_options.expect,
                          "the OTLP/JSON output expected; prints the difference");
  plugin_test->add_option("--signal", test_signal, "traces, metrics or logs")
      ->check(CLI::IsMember({"traces", "metrics", "logs"}));
  std::string inspect_path;
  bool inspect_json = false;
  auto* plugin_inspect =
      plugin->add_subcommand("inspect", "ABI version, exports, imports, capabilities, size");
  plugin_inspect->add_option("plugin", inspect_path, "the plugin (.wasm)")->required();
  plugin_inspect->add_flag("--json", inspect_json, "as JSON");
  // Packages (docs/packages.md).
  weft::tools::RegistryOptions registry_options;
  auto registry_flags = [&registry_options](CLI::App* cmd) {
    cmd->add_option("--ca-file", registry_options.ca_file, "the registry's CA (a private CA)");
    cmd->add_flag("--plain-http", registry_options.plain_http,
                  "plain HTTP to the registry (the default only for loopback hosts)");
  };
  std::string keygen_prefix;
  auto* plugin_keygen = plugin->add_subcommand("keygen", "make an Ed25519 signing key pair");
  plugin_keygen->add_option("name", keygen_prefix, "writes NAME.key and NAME.pub")->required();
  weft::tools::PackageOptions package_options;
  auto* plugin_package =
      plugin->add_subcommand("package", "make an OCI artifact (an OCI layout directory)");
  plugin_package->add_option("dir", package_options.dir, "the project (default: .)");
  plugin_package->add_option("--wasm", package_options.wasm, "the module (default: DIR/NAME.wasm)");
  plugin_package->add_option("--name", package_options.name, "over weft-plugin.json");
  plugin_package->add_option("--version", package_options.version, "a semantic version");
  plugin_package->add_option("--description", package_options.description);
  plugin_package->add_option("--license", package_options.license, "an SPDX expression");
  plugin_package->add_option("--source", package_options.source, "the source's URL");
  plugin_package->add_option("--changelog", package_options.changelog, "a file");
  plugin_package->add_option("--out", package_options.out, "default: NAME-VERSION.oci");
  std::string target, key_file, detached, signature_file;
  std::vector<std::string> verify_keys;
  auto* plugin_sign = plugin->add_subcommand("sign", "sign a package (a layout or oci://)");
  plugin_sign->add_option("target", target, "an OCI layout directory or oci:// reference")
      ->required();
  plugin_sign->add_option("--key", key_file, "the secret key (weft plugin keygen)")->required();
  plugin_sign->add_option("--out", detached, "also write the signature to this file");
  registry_flags(plugin_sign);
  auto* plugin_verify = plugin->add_subcommand("verify", "check a package's signature, offline");
  plugin_verify->add_option("target", target, "an OCI layout directory or oci:// reference")
      ->required();
  plugin_verify->add_option("--key", verify_keys, "a trusted public key (repeatable)")->required();
  plugin_verify->add_option("--signature", signature_file, "a detached signature file");
  std::string layout_dir, reference;
  auto* plugin_push = plugin->add_subcommand("push", "copy a package to a registry");
  plugin_push->add_option("layout", layout_dir, "the OCI layout directory")->required();
  plugin_push->add_option("reference", reference, "oci://HOST/REPOSITORY:TAG")->required();
  registry_flags(plugin_push);
  auto* plugin_pull = plugin->add_subcommand("pull", "copy a package into the package cache");
  plugin_pull->add_option("reference", reference, "oci://HOST/REPOSITORY:TAG")->required();
  plugin_pull->add_option("--out", layout_dir, "also write it as an OCI layout directory");
  registry_flags(plugin_pull);
  weft::tools::LockOptions lock_options;
  auto* plugin_lock = plugin->add_subcommand(
      "lock", "pin the config's oci:// plugins to digests and signers in weft.lock");
  plugin_lock->add_option("--lock", lock_options.lock_path, "default: service.plugins.lock");
  auto* plugin_update = plugin->add_subcommand(
      "update", "move the lock to the newest versions the references allow (or --to)");
  plugin_update->add_option("reference", lock_options.only, "just this reference");
  plugin_update->add_option("--to", lock_options.to, "this version (older: a rollback)")
      ->needs(plugin_update->get_option("reference"));
  plugin_update->add_option("--lock", lock_options.lock_path, "default: service.plugins.lock");
  auto* plugin_outdated =
      plugin->add_subcommand("outdated", "compare the lock with the registries' versions");
  plugin_outdated->add_option("--lock", lock_options.lock_path, "default: service.plugins.lock");
  weft::tools::CertifyOptions certify_options;
  auto* plugin_certify = plugin->add_subcommand(
      "certify", "run tests, hostile batches and a cost measurement; attach the signed result");
  plugin_certify->add_option("target", certify_options.target, "a layout or oci:// reference")
      ->required();
  plugin_certify->add_option("--key", certify_options.key, "the certifier's secret key")
      ->required();
  plugin_certify->add_option("--tests", certify_options.tests,
                             "the plugin's test cases: DIR/<case>/{input,config,expected}.json");
  plugin_certify->add_option("--plugin-config", certify_options.config,
                             "the plugin's config as JSON (default {})");
  plugin_certify->add_option("--ca-file", certify_options.registry.ca_file, "the registry's CA");
  plugin_certify->add_flag("--plain-http", certify_options.registry.plain_http, "plain HTTP");
  weft::tools::IndexOptions index_options;
  auto* plugin_index = plugin->add_subcommand(
      "index", "write a static HTML page of a registry's plugins (or --listen for its events)");
  plugin_index->add_option("--registry", index_options.registry_host, "HOST[:PORT]");
  plugin_index->add_option("--out", index_options.out, "the HTML file");
  plugin_index->add_option("--events", index_options.events, "pull events (JSON lines)");
  plugin_index->add_option("--listen", index_options.listen,
                           "HOST:PORT: receive the registry's notifications into --events");
  plugin_index->add_option("--key", index_options.keys, "verify with this public key");
  plugin_index->add_option("--ca-file", index_options.registry.ca_file, "the registry's CA");
  plugin_index->add_flag("--plain-http", index_options.registry.plain_http, "plain HTTP");
  std::string search_registry, search_term;
  auto* plugin_search = plugin->add_subcommand("search", "list a registry's plugins");
  plugin_search->add_option("term", search_term, "a word in the name or description");
  plugin_search->add_option("--registry", search_registry, "HOST[:PORT]")->required();
  registry_flags(plugin_search);
  for (auto* cmd : plugin->get_subcommands({})) cmd->fallthrough();
  app.require_subcommand(0, 1);

  CLI11_PARSE(app, argc, argv);

  if (plugin->parsed()) {
    // The package verbs read service.plugins (registries, cache, lock, trust) from --config.
    std::optional<weft::CollectorConfig> loaded;
    if (!configs.empty() && !(loaded = load(configs, factories))) return 2;
    if (plugin_keygen->parsed())
      return weft::tools::plugin_keygen(keygen_prefix, std::cout, std::cerr);
    if (plugin_package->parsed())
      return weft::tools::plugin_package(package_options, std::cout, std::cerr);
    if (plugin_sign->parsed()) {
      return weft::tools::plugin_sign(target, key_file, detached, registry_options, std::cout,
                                      std::cerr);
    }
    if (plugin_verify->parsed())
      return weft::tools::plugin_verify(target, verify_keys, signature_file, std::cout, std::cerr);
    if (plugin_push->parsed()) {
      return weft::tools::plugin_push(layout_dir, reference, registry_options, std::cout,
                                      std::cerr);
    }
    if (plugin_pull->parsed()) {
      return weft::tools::plugin_pull(reference, layout_dir, registry_options, std::cout,
                                      std::cerr);
    }
    if (plugin_index->parsed())
      return weft::tools::plugin_index(index_options, std::cout, std::cerr);
    if (plugin_certify->parsed())
      return weft::tools::plugin_certify(certify_options, std::cout, std::cerr);
    if (plugin_search->parsed()) {
      return weft::tools::plugin_search(search_registry, search_term, registry_options, std::cout,
                                        std::cerr);
    }
    if (plugin_lock->parsed() || plugin_update->parsed() || plugin_outdated->parsed()) {
      if (!loaded) {
        std::cerr << "error: this needs the configuration: --config FILE\n";
        return 2;
      }
      if (lock_options.lock_path.empty())
        lock_options.lock_path = loaded->packages.lock_path.string();
      lock_options.references = weft::tools::package_references(configs);
      if (plugin_outdated->parsed()) {
        return weft::tools::plugin_outdated(lock_options.references, lock_options.lock_path,
                                            std::cout, std::cerr);
      }
      return weft::tools::plugin_lock(lock_options, std::cout, std::cerr);
    }
    const std::string sdk = weft::tools::default_sdk_dir();
    if (plugin_new->parsed()) {
      new_options.sdk_dir = sdk;
      return weft::tools::plugin_new(new_options, std::cout, std::cerr);
    }
    if (plugin_build->parsed())
      return weft::tools::plugin_build(build_dir, sdk, std::cout, std::cerr);
    if (plugin_test->parsed()) {
      if (!test_signal.empty()) test_options.signal = weft::signal_from_name(test_signal);
      return weft::tools::plugin_test(test_options, std::cout, std::cerr);
    }
    return weft::tools::plugin_inspect(inspect_path, inspect_json, std::cout, std::cerr);
  }

  if (components->parsed()) {
    if (components_markdown) {
      std::cout << "| kind | type | signals | implementation |\n| --- | --- | --- | --- |\n";
    }
    for (auto kind : {weft::ComponentKind::kReceiver, weft::ComponentKind::kProcessor,
                      weft::ComponentKind::kExporter, weft::ComponentKind::kConnector,
                      weft::ComponentKind::kExtension}) {
      for (const auto* f : factories.of_kind(kind)) {
        if (!components_markdown) {
          std::cout << weft::kind_name(kind) << " " << f->type() << " (" << f->implementation()
                    << ")";
          for (std::string_view alias : f->aliases()) std::cout << " also: " << alias;
          for (std::string_view alias : f->deprecated_aliases())
            std::cout << " also (deprecated): " << alias;
          std::cout << "\n";
          continue;
        }
        std::string signals;
        for (weft::Signal s : f->signals()) {
          signals += (signals.empty() ? "" : ", ") + std::string(weft::signal_name(s));
        }
        if (kind == weft::ComponentKind::kExtension) signals = "-";
        std::string names = "`" + std::string(f->type()) + "`";
        for (std::string_view alias : f->aliases()) names += ", `" + std::string(alias) + "`";
        for (std::string_view alias : f->deprecated_aliases())
          names += ", `" + std::string(alias) + "` (deprecated)";
        std::cout << "| " << weft::kind_name(kind) << " | " << names << " | " << signals << " | "
                  << f->implementation() << " |\n";
      }
    }
    return 0;
  }
  if (configs.empty()) {
    std::cerr << "error: no configuration given: use --config FILE\n";
    return 2;
  }
  if (validate->parsed()) {
    if (!load(configs, factories, true)) return 1;
    std::cout << "configuration is valid\n";
    return 0;
  }
  return run(configs, factories);
}
