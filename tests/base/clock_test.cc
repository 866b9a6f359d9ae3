#include "base/clock.h"

#include <cstdio>
#include <ctime>
#include <random>
#include <string>

#include <gtest/gtest.h>

namespace strongroom {
namespace {

TEST(ClockTest, FormatsRfc3339WithMillis) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00.000Z");
  // date -u -d @1795874841 +%FT%T  ->  2026-11-28T14:07:21
  EXPECT_EQ(FormatRfc3339(1795874841123), "2026-11-28T14:07:21.123Z");
}

// FormatRfc3339 computes the civil date itself; gmtime_r + snprintf is the reference.
TEST(ClockTest, FormatMatchesGmtime) {
  auto reference = [](UnixMillis t) {
    std::time_t secs = static_cast<std::time_t>(t >= 0 ? t / 1000 : (t - 999) / 1000);
    int millis = static_cast<int>(t - static_cast<UnixMillis>(secs) * 1000);
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
    return std::string(buf);
  };
  const UnixMillis kMin = -62'167'219'200'000;  // 0000-01-01T00:00:00Z
  const UnixMillis kMax = 253'402'300'799'999;  // 9999-12-31T23:59:59.999Z
  for (UnixMillis t : {UnixMillis{0}, UnixMillis{-1}, UnixMillis{-999}, UnixMillis{-1000},
                       UnixMillis{-1001}, UnixMillis{951'782'400'000} /* 2000-02-29 */,
                       UnixMillis{4'107'456'000'000} /* 2100-02-28 */, kMin, kMin - 1, kMax,
                       kMax + 1, UnixMillis{-86'400'000}, UnixMillis{86'399'999}}) {
    EXPECT_EQ(FormatRfc3339(t), reference(t)) << t;
  }
  std::mt19937_64 rng(20261128);
  std::uniform_int_distribution<UnixMillis> any(kMin - 100'000'000'000, kMax + 100'000'000'000);
  for (int i = 0; i < 200'000; ++i) {
    UnixMillis t = any(rng);
    ASSERT_EQ(FormatRfc3339(t), reference(t)) << t;
  }
}

TEST(ClockTest, ParsesOffsetsAndFractions) {
  EXPECT_EQ(ParseRfc3339("2026-11-28T14:07:21Z"), 1795874841000);
  EXPECT_EQ(ParseRfc3339("2026-11-28T14:07:21.5Z"), 1795874841500);
  EXPECT_EQ(ParseRfc3339("2026-11-28T15:07:21+01:00"), 1795874841000);
  EXPECT_EQ(ParseRfc3339("2026-11-28T13:37:21-00:30"), 1795874841000);
  EXPECT_EQ(ParseRfc3339("2024-02-29T00:00:00Z"), 1709164800000);
}

TEST(ClockTest, RejectsMalformedTimes) {
  for (const char* bad :
       {"", "2026-11-28", "2026-11-28T14:07:21", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z",
        "2026-11-28T24:00:00Z", "2026-11-28 14:07:21Z", "2026-11-28T14:07:21.Z",
        "2026-11-28T14:07:21+0100", "tomorrow", "2026-11-28T14:07:21Zjunk"}) {
    EXPECT_FALSE(ParseRfc3339(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace strongroom
