// Fixed-window rate limits (SPEC 14 [limits]): at most `limit` events per key
// (a client IP, an API key id) in each window of `window` milliseconds.
//
// Cheap on the hot path: keys hash to one of 64 shards, each a small map with
// its own mutex (no global lock). Memory is bounded: a full shard (at
// kMaxEntriesPerShard) drops entries of past windows, at most once a window;
// if it is still full a new key is not tracked (it is admitted).
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace strongroom::api::internal {

class RateLimiter {
 public:
  // Monotonic milliseconds (tests inject their own).
  using NowMillis = std::function<std::int64_t()>;
  static constexpr std::size_t kShards = 64;
  static constexpr std::size_t kMaxEntriesPerShard = 4096;

  // `limit` 0 disables the limiter (every call answers 0).
  RateLimiter(std::int64_t limit, std::int64_t window_millis, NowMillis now = {});

  bool enabled() const { return limit_ > 0; }

  // Counts one event for `key`. Returns 0 if it is within the limit, else the
  // seconds (at least 1) until the current window ends.
  int Hit(std::string_view key);
  // Without counting: 0 if `key` has fewer than `limit` events in the current
  // window, else the seconds (at least 1) until it ends.
  int RetryAfter(std::string_view key);

  // Keys tracked (tests).
  std::size_t size() const;

 private:
  struct Entry {
    std::int64_t window = 0;  // index of the window the count belongs to
    std::int64_t count = 0;
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Entry> entries;  // guarded by mu
    std::int64_t swept = -1;                         // guarded by mu; window of the last sweep
  };

  Shard& ShardOf(std::string_view key);
  int SecondsLeft(std::int64_t now) const;

  const std::int64_t limit_;
  const std::int64_t window_millis_;
  NowMillis now_;
  std::array<Shard, kShards> shards_;
};

// The two limits of SPEC 14 together: auth failures (401s) per client IP per
// minute, and requests per second per API key (the identity's credential; an
// identity with several keys has a budget per key). A limit of 0 is off.
class RequestLimits {
 public:
  RequestLimits(int auth_failures_per_minute_per_ip, int requests_per_second_per_identity,
                const RateLimiter::NowMillis& now = {});

  // Before a request that needs authentication: 0 to go ahead, else the
  // seconds to send in Retry-After with 429 rate_limited. `key_id` is the
  // parsed key id of the presented API key ("" if none).
  int Check(std::string_view ip, std::string_view key_id);
  // After it: a 401 counts against `ip`, anything else against `key_id`.
  void Record(std::string_view ip, std::string_view key_id, int http_status);

 private:
  RateLimiter auth_failures_;
  RateLimiter requests_;
};

}  // namespace strongroom::api::internal
