#include "testing/consumers.h"

#include <thread>

namespace weft::testing {

Status SinkConsumer::consume(pdata::Telemetry&& data) {
  std::chrono::milliseconds delay{0};
  Mode mode = Mode::kAccept;
  {
    std::lock_guard lock(mu_);
    ++calls_;
    mode = mode_;
    if (!script_.empty()) {
      mode = script_.front();
      script_.pop_front();
    }
    delay = delay_;
  }
  if (delay.count() > 0) std::this_thread::sleep_for(delay);
  if (mode == Mode::kRefuse) return Status::retryable("the sink refuses for now");
  if (mode == Mode::kReject) return Status::permanent("the sink rejects");
  std::lock_guard lock(mu_);
  items_ += data.item_count();
  taken_.push_back(std::move(data));
  cv_.notify_all();
  return Status::ok();
}

void SinkConsumer::set_mode(Mode mode) {
  std::lock_guard lock(mu_);
  mode_ = mode;
}

void SinkConsumer::set_script(std::vector<Mode> script) {
  std::lock_guard lock(mu_);
  script_.assign(script.begin(), script.end());
}

void SinkConsumer::set_delay(std::chrono::milliseconds delay) {
  std::lock_guard lock(mu_);
  delay_ = delay;
}

size_t SinkConsumer::items() const {
  std::lock_guard lock(mu_);
  return items_;
}

size_t SinkConsumer::calls() const {
  std::lock_guard lock(mu_);
  return calls_;
}

std::vector<pdata::Telemetry> SinkConsumer::take() {
  std::lock_guard lock(mu_);
  return std::exchange(taken_, {});
}

bool SinkConsumer::wait_for_items(size_t items, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return items_ >= items; });
}

}  // namespace weft::testing
