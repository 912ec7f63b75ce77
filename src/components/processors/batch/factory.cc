#include "weft/factory.h"
#include "components/processors/batch/batch.h"
#include "weft/config_reader.h"

namespace weft::processors::batch {
namespace {

class Factory final : public FactoryFor<Config> {
 public:
  [[nodiscard]] ComponentKind kind() const override { return ComponentKind::kProcessor; }
  [[nodiscard]] std::string_view type() const override { return "batch"; }

  std::unique_ptr<Processor> create_processor(const ComponentContext& ctx,
                                              const ComponentConfig& config, Signal signal,
                                              Consumer* next) const override {
    return std::make_unique<BatchProcessor>(ctx, cast(config), signal, next);
  }

 protected:
  void load(ConfigReader& reader, Config& config) const override {
    reader.read("send_batch_size", config.send_batch_size);
    reader.read("send_batch_max_size", config.send_batch_max_size);
    reader.read_duration("timeout", config.timeout);
    reader.read("metadata_keys", config.metadata_keys);
    reader.read("metadata_cardinality_limit", config.metadata_cardinality_limit);
    if (config.metadata_cardinality_limit == 0) {
      reader.error("metadata_cardinality_limit", "must be at least 1");
    }
    if (config.send_batch_max_size != 0 && config.send_batch_max_size < config.send_batch_size) {
      reader.error("send_batch_max_size", "must be 0 or at least send_batch_size");
    }
    if (config.timeout.count() <= 0) reader.error("timeout", "must be greater than 0");
  }
};

}  // namespace
}  // namespace weft::processors::batch

WEFT_DEFINE_FACTORY(batch_processor, weft::processors::batch::Factory)
