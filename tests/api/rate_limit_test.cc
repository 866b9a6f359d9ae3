// The [limits] building blocks (SPEC 14) on an injected clock: no sleeping.
#include "api/internal/rate_limit.h"

#include <string>

#include <gtest/gtest.h>

namespace strongroom::api::internal {
namespace {

TEST(RateLimiterTest, AllowsUpToTheLimitThenSaysWhenTheWindowEnds) {
  std::int64_t now = 60'000 + 10'500;  // 10.5 s into a one-minute window
  RateLimiter limiter(3, 60'000, [&now] { return now; });
  EXPECT_EQ(limiter.Hit("10.0.0.1"), 0);
  EXPECT_EQ(limiter.Hit("10.0.0.1"), 0);
  EXPECT_EQ(limiter.RetryAfter("10.0.0.1"), 0);
  EXPECT_EQ(limiter.Hit("10.0.0.1"), 0);
  // At the threshold: blocked, for the 49.5 s left in the window (rounded up).
  EXPECT_EQ(limiter.RetryAfter("10.0.0.1"), 50);
  EXPECT_EQ(limiter.Hit("10.0.0.1"), 50);
  // Other keys are independent.
  EXPECT_EQ(limiter.RetryAfter("10.0.0.2"), 0);
  // The next window frees it.
  now = 120'000;
  EXPECT_EQ(limiter.RetryAfter("10.0.0.1"), 0);
  EXPECT_EQ(limiter.Hit("10.0.0.1"), 0);
}

TEST(RateLimiterTest, RetryAfterIsAtLeastOneSecond) {
  std::int64_t now = 999;
  RateLimiter limiter(1, 1000, [&now] { return now; });
  EXPECT_EQ(limiter.Hit("k"), 0);
  EXPECT_EQ(limiter.Hit("k"), 1);
  EXPECT_EQ(limiter.RetryAfter("k"), 1);
}

TEST(RateLimiterTest, ZeroIsOff) {
  RateLimiter limiter(0, 1000);
  EXPECT_FALSE(limiter.enabled());
  for (int i = 0; i < 100; ++i) EXPECT_EQ(limiter.Hit("k"), 0);
  EXPECT_EQ(limiter.size(), 0u);
}

TEST(RateLimiterTest, MemoryIsBoundedAndStaleEntriesAreDropped) {
  std::int64_t now = 0;
  RateLimiter limiter(5, 1000, [&now] { return now; });
  const std::size_t most = RateLimiter::kShards * RateLimiter::kMaxEntriesPerShard;
  for (std::size_t i = 0; i < most + 1000; ++i) limiter.Hit("ip-" + std::to_string(i));
  EXPECT_LE(limiter.size(), most);
  // A later window evicts the old entries as new keys arrive.
  now = 5000;
  for (std::size_t i = 0; i < most; ++i) limiter.Hit("new-" + std::to_string(i));
  EXPECT_LE(limiter.size(), most);
  EXPECT_EQ(limiter.Hit("new-0"), 0);
}

TEST(RequestLimitsTest, AuthFailuresBlockTheIpAndOthersCountPerKey) {
  std::int64_t now = 0;
  RequestLimits limits(2, 3, [&now] { return now; });
  // Two 401s from one IP: the next request from it is refused before authentication.
  EXPECT_EQ(limits.Check("1.2.3.4", ""), 0);
  limits.Record("1.2.3.4", "", 401);
  limits.Record("1.2.3.4", "", 401);
  EXPECT_EQ(limits.Check("1.2.3.4", "abcd"), 60);
  EXPECT_EQ(limits.Check("5.6.7.8", "abcd"), 0);
  // Three authenticated requests per second per key.
  for (int i = 0; i < 3; ++i) limits.Record("5.6.7.8", "abcd", 200);
  EXPECT_EQ(limits.Check("5.6.7.8", "abcd"), 1);
  EXPECT_EQ(limits.Check("5.6.7.8", "other"), 0);
  now = 1000;
  EXPECT_EQ(limits.Check("5.6.7.8", "abcd"), 0);
  now = 60'000;
  EXPECT_EQ(limits.Check("1.2.3.4", ""), 0);
}

}  // namespace
}  // namespace strongroom::api::internal
