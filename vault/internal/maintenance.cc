#include "vault/internal/maintenance.h"

#include <utility>

namespace strongroom::vault::internal {

Maintenance::Maintenance(std::chrono::milliseconds tick, std::chrono::milliseconds sweep_interval,
                         std::function<void()> on_tick, std::function<void()> on_sweep)
    : tick_(tick),
      sweep_interval_(sweep_interval),
      on_tick_(std::move(on_tick)),
      on_sweep_(std::move(on_sweep)) {
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
  std::unique_lock<std::mutex> lock(mu_);
  auto last_sweep = std::chrono::steady_clock::now();
  while (!stopping_) {
    cv_.wait_for(lock, tick_, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    on_tick_();
    if (std::chrono::steady_clock::now() - last_sweep >= sweep_interval_) {
      on_sweep_();
      last_sweep = std::chrono::steady_clock::now();
    }
    lock.lock();
  }
}

}  // namespace strongroom::vault::internal
