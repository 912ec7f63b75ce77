#pragma once

#include <string>
#include <string_view>

#include "weft/component.h"
#include "weft/result.h"

// Storage extensions: what components name in `storage: ID` (the exporters' sending_queue),
// as in the Go collector. weft's file_storage hands each client a directory of its own and
// says which promise its writes must keep.
namespace weft {

// What a write must survive before the data it holds is acknowledged.
enum class Durability {
  kProcess,  // the process dying (kill -9): written to the kernel before the acknowledgement
  kPower,    // the machine losing power: on the disk (fsync) before the acknowledgement
};

struct StorageClient {
  std::string directory;  // the client's own, created; nothing else writes in it
  Durability durability = Durability::kProcess;
};

class StorageExtension {
 public:
  virtual ~StorageExtension() = default;
  // The directory of one client: component `kind` ("exporter") `id` ("otlp/backup"), and
  // `name` for a component with more than one ("queue"). The same arguments give the same
  // directory in the next run of the collector.
  [[nodiscard]] virtual Result<StorageClient> client(std::string_view kind, const std::string& id,
                                                     std::string_view name) = 0;
};

// The storage extension `id` of a running collector, or an error that says what is wrong.
Result<StorageExtension*> storage_extension(const ComponentContext& ctx, const std::string& id);

}  // namespace weft
