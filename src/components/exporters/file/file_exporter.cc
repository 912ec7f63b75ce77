#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "components/exporters/helper/queued_exporter.h"
#include "pdata/otlp_json.h"
#include "weft/config_reader.h"
#include "weft/factory.h"

namespace weft::exporters::file {
namespace {

struct Config : ComponentConfig {
  std::string path;
  ExporterSettings exporter;
  Config() {
    exporter.queue.enabled = false;  // a local write: nothing to queue for, by default
    exporter.retry.enabled = false;
  }
};

// Appends each request as one line of OTLP/JSON, as the Go collector's file exporter does.
class FileSender final : public Sender {
 public:
  explicit FileSender(const Config& config) : path_(config.path) {}
  ~FileSender() override {
    if (file_ != nullptr) std::fclose(file_);
  }

  Status start() override {
    std::lock_guard lock(mu_);
    if (file_ != nullptr) return Status::ok();
    file_ = std::fopen(path_.c_str(), "a");
    if (file_ == nullptr) {
      return Status::permanent("cannot open " + path_ + ": " + std::strerror(errno));
    }
    return Status::ok();
  }

  Status send(const pdata::Telemetry& data, std::chrono::nanoseconds /*timeout*/) override {
    auto json = pdata::telemetry_to_json(data);
    if (!json.ok()) return json.status();
    std::string line = std::move(json).value();
    line.push_back('\n');
    std::lock_guard lock(mu_);
    if (file_ == nullptr) return Status::permanent("file exporter is not started");
    if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0) {
      return Status::retryable("cannot write " + path_ + ": " + std::strerror(errno));
    }
    return Status::ok();
  }

 private:
  std::string path_;
  std::mutex mu_;
  std::FILE* file_ = nullptr;
};

class Factory final : public FactoryFor<Config> {
 public:
  [[nodiscard]] ComponentKind kind() const override { return ComponentKind::kExporter; }
  [[nodiscard]] std::string_view type() const override { return "file"; }

  std::unique_ptr<Exporter> create_exporter(const ComponentContext& ctx,
                                            const ComponentConfig& config) const override {
    const Config& c = cast(config);
    return std::make_unique<QueuedExporter>(ctx, c.exporter, std::make_unique<FileSender>(c));
  }

 protected:
  void load(ConfigReader& reader, Config& config) const override {
    reader.read("path", config.path);
    config.exporter.load(reader);
    if (config.path.empty()) reader.error("path", "must be set to the file to write");
  }
};

}  // namespace
}  // namespace weft::exporters::file

WEFT_DEFINE_FACTORY(file_exporter, weft::exporters::file::Factory)
