#include "vault/internal/maintenance.h"

#include <utility>

namespace strongroom::vault::internal {

Maintenance::Maintenance(std::chrono::milliseconds tick, std::vector<Task> tasks)
    : tick_(tick), tasks_(std::move(tasks)) {
  thread_ = std::thread([this] { Loop(); });
}

void Maintenance::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  std::call_once(joined_, [this] {
    if (thread_.joinable()) thread_.join();
  });
}

void Maintenance::Loop() {
  using Clock = std::chrono::steady_clock;
  std::vector<Clock::time_point> last_run(tasks_.size(), Clock::now());
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, tick_, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    for (std::size_t i = 0; i < tasks_.size(); ++i) {
      // A task due within half a tick runs now rather than a whole tick late.
      if (Clock::now() - last_run[i] + tick_ / 2 < tasks_[i].interval) continue;
      tasks_[i].run();
      last_run[i] = Clock::now();
    }
    lock.lock();
  }
}

}  // namespace strongroom::vault::internal
