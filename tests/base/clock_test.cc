#include "base/clock.h"

#include <gtest/gtest.h>

namespace strongroom {
namespace {

TEST(ClockTest, FormatsRfc3339WithMillis) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00.000Z");
  // date -u -d @1795874841 +%FT%T  ->  2026-11-28T14:07:21
  EXPECT_EQ(FormatRfc3339(1795874841123), "2026-11-28T14:07:21.123Z");
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
