// Maintenance: the vault's one background thread. It wakes every `tick` and
// runs each task whose interval has passed since it last ran: the lastUsedAt
// flush (every tick), the key-state poll (SPEC 11: a new active master key is
// picked up within seconds) and the identity sweep (deleted identities, and
// KEKs rotated by another process).
//
// Thread safety: Stop may be called from any thread other than the
// background one, concurrently and more than once; the destructor stops. The
// tasks run on the background thread only, one at a time, in order.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace strongroom::vault::internal {

class Maintenance final {
 public:
  struct Task {
    std::chrono::milliseconds interval;  // at most every tick, whatever is asked
    std::function<void()> run;
  };

  Maintenance(std::chrono::milliseconds tick, std::vector<Task> tasks);
  ~Maintenance() { Stop(); }
  Maintenance(const Maintenance&) = delete;
  Maintenance& operator=(const Maintenance&) = delete;

  // Wakes the thread and joins it; a task in progress finishes first.
  void Stop();

 private:
  void Loop();

  const std::chrono::milliseconds tick_;
  const std::vector<Task> tasks_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::once_flag joined_;
  std::thread thread_;
};

}  // namespace strongroom::vault::internal
