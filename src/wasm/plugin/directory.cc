#include "wasm/plugin/directory.h"

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>

namespace weft::wasm {
namespace {

std::mutex mu;
std::map<std::string, std::weak_ptr<Plugin>>& plugins() {
  static auto* map = new std::map<std::string, std::weak_ptr<Plugin>>();
  return *map;
}

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

Result<std::shared_ptr<Engine>> shared_engine() {
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

void register_plugin(const std::string& id, const std::shared_ptr<Plugin>& plugin) {
  std::lock_guard lock(mu);
  plugins()[id] = plugin;
}

void unregister_plugin(const std::string& id) {
  std::lock_guard lock(mu);
  plugins().erase(id);
}

Status RunningPlugin::start(const PluginSettings& settings, const ComponentContext& ctx,
                            const std::string& what) {
  static std::atomic<int> instances{0};
  auto engine = shared_engine();
  if (!engine.ok()) return engine.status();
  auto plugin = Plugin::load(engine.value(), settings, ctx);
  if (!plugin.ok()) return plugin.status();
  plugin_ = plugin.value();
  key_ = ctx.id + "@" + what + "#" + std::to_string(++instances);
  register_plugin(key_, plugin_);
  plugin_->start_watching();
  return Status::ok();
}

void RunningPlugin::stop() {
  if (!plugin_) return;
  unregister_plugin(key_);
  plugin_->stop_watching();
}

std::vector<ReloadReport> reload_all_plugins() {
  std::vector<std::pair<std::string, std::shared_ptr<Plugin>>> live;
  {
    std::lock_guard lock(mu);
    for (auto& [id, weak] : plugins()) {
      if (auto p = weak.lock()) live.emplace_back(id, std::move(p));
    }
  }
  std::vector<ReloadReport> reports;
  for (auto& [id, plugin] : live) {
    Status status = plugin->reload();
    reports.push_back(
        {id, status.is_ok(),
         status.is_ok() ? "generation " + std::to_string(plugin->generation()) : status.message()});
  }
  return reports;
}

}  // namespace weft::wasm
