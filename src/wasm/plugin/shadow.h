#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "wasm/plugin/plugin.h"
#include "weft/metrics.h"

// Shadow runs (docs/abi.md, "Shadow runs"): a candidate version of a processor's plugin runs on
// a copy of the live traffic, off the live path, and what it makes of each item is compared with
// what the live version made of it.
namespace weft::wasm {

// One item as the comparison sees it: its resource's and its own attributes, and the rest of
// the item (name, body, times, ...) as bytes.
struct ItemView {
  std::map<std::string, std::string> resource;
  std::map<std::string, std::string> attributes;
  std::string rest;
};

// Every item of a batch, in the ABI's item order.
std::vector<ItemView> items_of(const pdata::Telemetry& batch);

// What became of each item handed in (nullopt: dropped); false if the outcome cannot be lined
// up with the items handed in (a replacement with another number of items).
bool fates_of(const pdata::Telemetry& input, Outcome& outcome,
              std::vector<std::optional<ItemView>>& fates);

class ShadowRun {
 public:
  static constexpr size_t kMaxQueued = 16;  // batches waiting; more are skipped (counted)
  static constexpr size_t kMaxSamples = 20;

  ShadowRun(std::shared_ptr<Plugin> candidate, std::string candidate_path,
            const ComponentContext& ctx);
  ~ShadowRun();
  ShadowRun(const ShadowRun&) = delete;
  ShadowRun& operator=(const ShadowRun&) = delete;

  // A batch the live version processed (input: a copy of what it was handed; live: its outcome,
  // with a copy of its output). Never blocks: a full queue skips the batch.
  void offer(pdata::Telemetry input, Outcome live);
  // The comparison so far, as JSON.
  [[nodiscard]] std::string report(const std::string& live_description) const;
  [[nodiscard]] const std::string& candidate_path() const { return path_; }
  // Waits until every offered batch was compared (tests, promote).
  void drain();

 private:
  struct Job {
    pdata::Telemetry input;
    Outcome live;
  };
  void run();
  void compare(Job& job);

  std::shared_ptr<Plugin> candidate_;
  std::string path_;
  std::string id_;
  telemetry::Counter* same_;
  telemetry::Counter* changed_;
  telemetry::Counter* dropped_;
  telemetry::Counter* kept_;
  telemetry::Counter* skipped_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_;
  std::deque<Job> queue_;
  bool busy_ = false;
  bool stop_ = false;
  // The report.
  uint64_t batches_ = 0, skipped_batches_ = 0, failed_ = 0, incomparable_ = 0;
  uint64_t items_ = 0, same_items_ = 0, changed_items_ = 0, dropped_items_ = 0, kept_items_ = 0;
  std::vector<std::string> samples_;  // JSON objects
  std::thread worker_;
};

}  // namespace weft::wasm
