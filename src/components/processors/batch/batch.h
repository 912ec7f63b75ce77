#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "weft/component.h"
#include "weft/factory.h"
#include "weft/metrics.h"

namespace weft::processors::batch {

struct Config : ComponentConfig {
  uint64_t send_batch_size = 8192;
  uint64_t send_batch_max_size = 0;  // 0: no upper bound
  std::chrono::nanoseconds timeout = std::chrono::milliseconds(200);
  // Batches apart per distinct values of these client metadata keys (the request's metadata,
  // with the receiver's include_metadata, else what its authenticator said: a tenant).
  std::vector<std::string> metadata_keys;
  uint64_t metadata_cardinality_limit = 1000;  // distinct value combinations batching at once
};

// Gathers requests into batches of send_batch_size items (split at
// send_batch_max_size), sending a partial batch after `timeout`. Batching is
// concatenation on the wire. When the next stage pushes back, the batch is
// kept and retried; once kPendingFactor batches are waiting, new data is
// refused with a retryable error, so memory stays bounded and nothing is lost.
// With metadata_keys, requests are batched apart per distinct key values (a shard each),
// and each batch goes on with a ClientInfo holding only those values.
class BatchProcessor final : public Processor {
 public:
  static constexpr uint64_t kPendingFactor = 4;

  BatchProcessor(const ComponentContext& ctx, const Config& config, Signal signal, Consumer* next);
  ~BatchProcessor() override;

  Status start() override;
  void shutdown(std::chrono::steady_clock::time_point deadline) override;
  Status consume(pdata::Telemetry&& data) override;

 private:
  struct Shard {
    std::optional<pdata::Telemetry> pending;
    std::chrono::steady_clock::time_point oldest{};
    std::shared_ptr<const ClientInfo> client;  // metadata_keys: the values batched on
  };
  using Shards = std::map<std::string, Shard>;

  // Flushes a shard; an emptied shard is removed (it comes back with its next request).
  void flush_locked(Shards::iterator shard);
  void flush_all_locked();
  void run_timer();

  ComponentContext ctx_;
  Config config_;
  Signal signal_;
  Consumer* next_;
  uint64_t cap_;
  telemetry::Counter* dropped_;
  telemetry::Counter* refused_;

  std::mutex mu_;
  std::condition_variable wake_;
  Shards shards_;
  uint64_t pending_items_ = 0;
  bool stopping_ = false;
  std::thread timer_;
};

}  // namespace weft::processors::batch
