#include "api/internal/rate_limit.h"

#include <algorithm>
#include <chrono>

namespace strongroom::api::internal {

RateLimiter::RateLimiter(std::int64_t limit, std::int64_t window_millis, NowMillis now)
    : limit_(limit),
      window_millis_(std::max<std::int64_t>(1, window_millis)),
      now_(std::move(now)) {
  if (!now_) {
    now_ = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::steady_clock::now().time_since_epoch())
          .count();
    };
  }
}

RateLimiter::Shard& RateLimiter::ShardOf(std::string_view key) {
  return shards_[std::hash<std::string_view>{}(key) % kShards];
}

int RateLimiter::SecondsLeft(std::int64_t now) const {
  const std::int64_t left_ms = window_millis_ - now % window_millis_;
  return static_cast<int>(std::max<std::int64_t>(1, (left_ms + 999) / 1000));
}

int RateLimiter::Hit(std::string_view key) {
  if (!enabled()) return 0;
  const std::int64_t now = now_();
  const std::int64_t window = now / window_millis_;
  Shard& shard = ShardOf(key);
  std::int64_t count = 0;
  {
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.entries.find(std::string(key));
    if (it == shard.entries.end()) {
      // Full: drop past windows' entries, at most once a window (a flood of
      // new keys must not rescan the shard each time); still full: untracked.
      if (shard.entries.size() >= kMaxEntriesPerShard && shard.swept != window) {
        std::erase_if(shard.entries, [window](const auto& e) { return e.second.window != window; });
        shard.swept = window;
      }
      if (shard.entries.size() >= kMaxEntriesPerShard) return 0;
      it = shard.entries.emplace(std::string(key), Entry{window, 0}).first;
    }
    if (it->second.window != window) it->second = Entry{window, 0};
    count = ++it->second.count;
  }
  return count > limit_ ? SecondsLeft(now) : 0;
}

int RateLimiter::RetryAfter(std::string_view key) {
  if (!enabled()) return 0;
  const std::int64_t now = now_();
  const std::int64_t window = now / window_millis_;
  Shard& shard = ShardOf(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.entries.find(std::string(key));
  if (it == shard.entries.end() || it->second.window != window || it->second.count < limit_) {
    return 0;
  }
  return SecondsLeft(now);
}

std::size_t RateLimiter::size() const {
  std::size_t total = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    total += shard.entries.size();
  }
  return total;
}

RequestLimits::RequestLimits(int auth_failures_per_minute_per_ip,
                             int requests_per_second_per_identity,
                             const RateLimiter::NowMillis& now)
    : auth_failures_(auth_failures_per_minute_per_ip, 60 * 1000, now),
      requests_(requests_per_second_per_identity, 1000, now) {}

int RequestLimits::Check(std::string_view ip, std::string_view key_id) {
  if (int wait = auth_failures_.RetryAfter(ip); wait > 0) return wait;
  if (!key_id.empty()) return requests_.RetryAfter(key_id);
  return 0;
}

void RequestLimits::Record(std::string_view ip, std::string_view key_id, int http_status) {
  if (http_status == 401) {
    auth_failures_.Hit(ip);
  } else if (!key_id.empty() && http_status != 429) {
    requests_.Hit(key_id);
  }
}

}  // namespace strongroom::api::internal
