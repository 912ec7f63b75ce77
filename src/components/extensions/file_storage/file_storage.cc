#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>

#include "weft/config_reader.h"
#include "weft/factory.h"
#include "weft/storage.h"

namespace weft::extensions::file_storage {
namespace {

namespace fs = std::filesystem;

struct Config : ComponentConfig {
  std::string directory = "/var/lib/otelcol/file_storage";
  std::chrono::nanoseconds timeout = std::chrono::seconds(1);
  Durability durability = Durability::kProcess;
  bool create_directory = false;
  fs::perms directory_permissions = static_cast<fs::perms>(0750);
  bool recreate = false;
  bool compaction_asked = false;  // on_start or on_rebound
};

// A client directory's name: the Go collector's "<kind>_<type>_<name>" with anything but
// letters, digits, '.', '-' and '_' written as %XX, so that no id reaches outside.
std::string client_name(std::string_view kind, const std::string& id, std::string_view name) {
  std::string out(kind);
  out += '_';
  const auto slash = id.find('/');
  const std::string flat =
      slash == std::string::npos ? id + "_" : id.substr(0, slash) + "_" + id.substr(slash + 1);
  for (char c : flat + (name.empty() ? "" : "_" + std::string(name))) {
    if (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' || c == '_') {
      out += c;
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      out += '%';
      out += kHex[static_cast<unsigned char>(c) >> 4];
      out += kHex[static_cast<unsigned char>(c) & 15];
    }
  }
  return out;
}

// The Go collector's file_storage: a directory on a local disk where components keep what
// must outlive the process. Each client gets a directory of its own, locked (flock) so that
// a second collector on the same directory is refused instead of corrupting it.
class FileStorage final : public Extension, public StorageExtension {
 public:
  FileStorage(ComponentContext ctx, const Config& config) : ctx_(std::move(ctx)), config_(config) {}
  ~FileStorage() override { shutdown(std::chrono::steady_clock::now()); }

  Status start() override {
    std::error_code ec;
    if (!fs::is_directory(config_.directory, ec)) {
      if (!config_.create_directory) {
        return Status::permanent("file_storage: directory must exist: " + config_.directory +
                                 " (or set create_directory: true)");
      }
      fs::create_directories(config_.directory, ec);
      if (ec) {
        return Status::permanent("file_storage: cannot create " + config_.directory + ": " +
                                 ec.message());
      }
      fs::permissions(config_.directory, config_.directory_permissions, ec);
    }
    if (config_.compaction_asked) {
      ctx_.logger->info(
          "compaction has nothing to do here: a queue gives its disk space back as soon as "
          "what it held is delivered");
    }
    return Status::ok();
  }

  void shutdown(std::chrono::steady_clock::time_point /*deadline*/) override {
    std::lock_guard lock(mu_);
    for (int fd : locks_) ::close(fd);  // the clients have shut down before the extensions
    locks_.clear();
  }

  Result<StorageClient> client(std::string_view kind, const std::string& id,
                               std::string_view name) override {
    const fs::path dir = fs::path(config_.directory) / client_name(kind, id, name);
    std::error_code ec;
    if (config_.recreate && fs::exists(dir, ec)) {
      const auto stamp = std::chrono::system_clock::now().time_since_epoch().count();
      const fs::path backup = dir.string() + ".backup-" + std::to_string(stamp);
      fs::rename(dir, backup, ec);
      if (ec) return Status::permanent("file_storage: cannot move " + dir.string() + " aside");
      ctx_.logger->warn("recreate: the previous contents of {} were moved to {}", dir.string(),
                        backup.string());
    }
    fs::create_directories(dir, ec);
    if (ec) {
      return Status::permanent("file_storage: cannot create " + dir.string() + ": " + ec.message());
    }
    const std::string lock_path = (dir / "lock").string();
    const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
      return Status::permanent("file_storage: cannot open " + lock_path + ": " +
                               std::strerror(errno));
    }
    // The Go collector's timeout: how long to wait for another process to let go.
    const auto give_up = std::chrono::steady_clock::now() + config_.timeout;
    while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      if (std::chrono::steady_clock::now() >= give_up) {
        ::close(fd);
        return Status::permanent("file_storage: " + dir.string() +
                                 " is in use by another process (lock held on " + lock_path + ")");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::lock_guard lock(mu_);
    locks_.push_back(fd);
    return StorageClient{dir.string(), config_.durability};
  }

 private:
  ComponentContext ctx_;
  Config config_;
  std::mutex mu_;
  std::vector<int> locks_;
};

class Factory final : public FactoryFor<Config> {
 public:
  [[nodiscard]] ComponentKind kind() const override { return ComponentKind::kExtension; }
  [[nodiscard]] std::string_view type() const override { return "file_storage"; }

  std::unique_ptr<Extension> create_extension(const ComponentContext& ctx,
                                              const ComponentConfig& config) const override {
    return std::make_unique<FileStorage>(ctx, cast(config));
  }

  [[nodiscard]] Status check(const ComponentConfig& config,
                             const std::set<Signal>& /*signals*/) const override {
    const auto& c = cast(config);
    std::error_code ec;
    if (!c.create_directory && !fs::is_directory(c.directory, ec)) {
      return Status::permanent("directory must exist: " + c.directory +
                               " (or set create_directory: true)");
    }
    return Status::ok();
  }

 protected:
  void load(ConfigReader& reader, Config& config) const override {
    reader.read("directory", config.directory);
    reader.read_duration("timeout", config.timeout);
    bool fsync = false;
    reader.read("fsync", fsync);
    std::string durability = fsync ? "power" : "process";
    reader.read("durability", durability);
    if (durability == "process") {
      if (fsync) reader.error("durability", "fsync: true asks for durability: power");
      config.durability = Durability::kProcess;
    } else if (durability == "power") {
      config.durability = Durability::kPower;
    } else {
      reader.error("durability", "must be process or power, not " + durability);
    }
    reader.read("create_directory", config.create_directory);
    std::string perms = "0750";
    reader.read("directory_permissions", perms);
    char* end = nullptr;
    const unsigned long mode = std::strtoul(perms.c_str(), &end, 8);
    if (perms.empty() || *end != '\0' || mode > 07777) {
      reader.error("directory_permissions", "must be an octal mode such as 0750");
    } else {
      config.directory_permissions = static_cast<fs::perms>(mode);
    }
    reader.read("recreate", config.recreate);
    if (config.directory.empty()) reader.error("directory", "must not be empty");
    if (config.timeout.count() < 0) reader.error("timeout", "must not be negative");
    if (reader.has("compaction")) {
      // bbolt's compaction: weft's segment files are deleted once delivered, so these are
      // read (and checked) but have nothing to do.
      ConfigReader compaction = reader.child("compaction");
      bool on_start = false;
      bool on_rebound = false;
      bool cleanup = false;
      std::string directory;
      uint64_t size = 0;
      std::chrono::nanoseconds interval{};
      compaction.read("on_start", on_start);
      compaction.read("on_rebound", on_rebound);
      compaction.read("directory", directory);
      compaction.read("max_transaction_size", size);
      compaction.read("rebound_needed_threshold_mib", size);
      compaction.read("rebound_trigger_threshold_mib", size);
      compaction.read_duration("check_interval", interval);
      compaction.read("cleanup_on_start", cleanup);
      config.compaction_asked = on_start || on_rebound;
    }
  }
};

}  // namespace
}  // namespace weft::extensions::file_storage

WEFT_DEFINE_FACTORY(file_storage_extension, weft::extensions::file_storage::Factory)
