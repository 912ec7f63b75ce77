#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <malloc.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "core/builtin.h"
#include "core/config.h"
#include "core/service.h"

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

// Loads and checks the configuration; prints every problem. nullopt on failure.
std::optional<weft::CollectorConfig> load(const std::vector<std::string>& files,
                                          const weft::Factories& factories, bool deep = false) {
  auto loaded = weft::load_config(files, factories, deep);
  for (const auto& error : loaded.errors) std::cerr << "error: " << error << "\n";
  return std::move(loaded.config);
}

int run(const std::vector<std::string>& files, const weft::Factories& factories) {
  // Handle termination signals synchronously in main(); every thread made later inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto config = load(files, factories);
  if (!config) return 1;
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  sink->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v");
  weft::Service service(std::move(*config), sink);
  auto log = std::make_shared<spdlog::logger>("weft", sink);
  log->info("weft {} starting", WEFT_VERSION);
  if (weft::Status s = service.start(); !s.is_ok()) {
    log->error("cannot start: {}", s.message());
    service.shutdown();
    return 1;
  }
  int received = 0;
  while (sigwait(&signals, &received) == 0 && received == SIGHUP) {
    log->info("received SIGHUP, reloading plugins");
    (void)service.reload_plugins();
  }
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
  app.require_subcommand(0, 1);

  CLI11_PARSE(app, argc, argv);

  if (components->parsed()) {
    for (auto kind : {weft::ComponentKind::kReceiver, weft::ComponentKind::kProcessor,
                      weft::ComponentKind::kExporter, weft::ComponentKind::kConnector,
                      weft::ComponentKind::kExtension}) {
      for (const auto* f : factories.of_kind(kind)) {
        std::cout << weft::kind_name(kind) << " " << f->type() << "\n";
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
