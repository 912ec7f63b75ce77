#include "components/exporters/helper/request_queue.h"

namespace weft::exporters {

uint64_t size_of(const pdata::Telemetry& data, Sizer sizer) {
  switch (sizer) {
    case Sizer::kRequests:
      return 1;
    case Sizer::kItems:
      return data.item_count();
    case Sizer::kBytes:
      return data.wire().size();
  }
  return 1;
}

Status MemoryQueue::push(pdata::Telemetry&& data, std::vector<Dropped>& dropped) {
  const uint64_t size = size_of(data, limits_.sizer);
  if (size > limits_.capacity) {
    return Status::permanent("a request of " + std::to_string(size) +
                             " is larger than the whole sending queue (" +
                             std::to_string(limits_.capacity) + ")");
  }
  std::lock_guard lock(mu_);
  while (used_ + size > limits_.capacity) {
    if (!limits_.drop_oldest || queue_.empty())
      return Status::retryable("sending queue is full", std::chrono::seconds(1));
    used_ -= size_of(queue_.front(), limits_.sizer);
    dropped.push_back({queue_.front().signal(), queue_.front().item_count()});
    queue_.pop_front();
  }
  used_ += size;
  queue_.push_back(std::move(data));
  return Status::ok();
}

std::optional<RequestQueue::Entry> MemoryQueue::take() {
  std::lock_guard lock(mu_);
  if (queue_.empty()) return std::nullopt;
  Entry entry{0, std::move(queue_.front())};
  queue_.pop_front();
  used_ -= size_of(entry.data, limits_.sizer);
  return entry;
}

size_t MemoryQueue::waiting() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

}  // namespace weft::exporters
