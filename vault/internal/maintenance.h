// Maintenance: the vault's one background thread. Every `tick` it runs
// `on_tick` (the lastUsedAt flush) and, every `sweep_interval`, `on_sweep`
// (the deleted-identity sweep).
//
// Thread safety: Stop may be called from any thread other than the
// background one, concurrently and more than once; the destructor stops. The callbacks run on the
// background thread only.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace strongroom::vault::internal {

class Maintenance final {
 public:
  Maintenance(std::chrono::milliseconds tick, std::chrono::milliseconds sweep_interval,
              std::function<void()> on_tick, std::function<void()> on_sweep);
  ~Maintenance() { Stop(); }
  Maintenance(const Maintenance&) = delete;
  Maintenance& operator=(const Maintenance&) = delete;

  // Wakes the thread and joins it; a callback in progress finishes first.
  void Stop();

 private:
  void Loop();

  const std::chrono::milliseconds tick_;
  const std::chrono::milliseconds sweep_interval_;
  const std::function<void()> on_tick_;
  const std::function<void()> on_sweep_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::once_flag joined_;
  std::thread thread_;
};

}  // namespace strongroom::vault::internal
