#include "wasm/plugin/directory.h"

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <mutex>

namespace weft::wasm {
namespace {

std::string cache_dir() {
  if (const char* dir = std::getenv("WEFT_MODULE_CACHE"); dir != nullptr && *dir != 0) return dir;
  if (const char* dir = std::getenv("WEFT_CACHE"); dir != nullptr && *dir != 0) {
    return std::string(dir) + "/modules";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != 0) {
    return std::string(home) + "/.cache/weft/modules";
  }
  return {};
}

}  // namespace

std::string bundled_plugin_path(const std::string& file) {
  if (const char* dir = std::getenv("WEFT_PLUGIN_DIR"); dir != nullptr && *dir != 0) {
    return (std::filesystem::path(dir) / file).string();
  }
  std::error_code error;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  return ((error ? std::filesystem::path(".") : self.parent_path()) / "plugins" / file).string();
}

Result<std::shared_ptr<Engine>> shared_engine() {
  static std::mutex mu;
  std::lock_guard lock(mu);
  static std::shared_ptr<Engine> engine;
  if (engine) return engine;
  EngineOptions options;
  options.cache_dir = cache_dir();
  auto created = Engine::create(options);
  if (!created.ok()) return created.status();
  engine = created.value();
  return engine;
}

Status RunningPlugin::start(const PluginSettings& settings, const ComponentContext& ctx,
                            const std::string& what) {
  static std::atomic<int> instances{0};
  auto engine = shared_engine();
  if (!engine.ok()) return engine.status();
  auto plugin = Plugin::load(engine.value(), settings, ctx);
  if (!plugin.ok()) return plugin.status();
  plugin_ = plugin.value();
  if (ctx.host != nullptr) {
    host_ = ctx.host;
    host_->add_reloadable(ctx.id + "@" + what + "#" + std::to_string(++instances), this);
  }
  plugin_->start_watching();
  return Status::ok();
}

void RunningPlugin::stop() {
  if (!plugin_) return;
  if (host_ != nullptr) host_->remove_reloadable(this);
  host_ = nullptr;
  plugin_->stop_watching();
}

}  // namespace weft::wasm
