#include "core/timestamp.h"

#include <gtest/gtest.h>

namespace conntrail {
namespace {

TEST(TimestampTest, FormatsEpochWithSixOrNineDecimals) {
  const TimestampNs t = 1362692526'869344123;
  EXPECT_EQ(format_epoch(t, TimePrecision::kMicro), "1362692526.869344");
  EXPECT_EQ(format_epoch(t, TimePrecision::kNano), "1362692526.869344123");
  EXPECT_EQ(format_epoch(0, TimePrecision::kMicro), "0.000000");
}

TEST(TimestampTest, FormatsRfc3339InUtc) {
  EXPECT_EQ(format_rfc3339(1362692526'869344000, TimePrecision::kMicro),
            "2013-03-07T21:42:06.869344Z");
}

TEST(TimestampTest, ParsesEpochAndRfc3339) {
  EXPECT_EQ(*parse_time("1700000000"), 1700000000 * kNsPerSecond);
  EXPECT_EQ(*parse_time("1700000000.5"), 1700000000 * kNsPerSecond + 500'000'000);
  EXPECT_EQ(*parse_time("2026-11-01T00:00:00Z"), 1793491200 * kNsPerSecond);
  EXPECT_EQ(*parse_time("2026-11-01T02:00:00+02:00"), 1793491200 * kNsPerSecond);
  EXPECT_EQ(*parse_time("2013-03-07T21:42:06.869344Z"), 1362692526'869344000);
}

TEST(TimestampTest, RejectsBadTimesNamingTheInput) {
  for (const char* bad : {"", "yesterday", "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z",
                          "2026-11-01T00:00:00", "2026-11-01T25:00:00Z", "17e8", "-5"}) {
    auto t = parse_time(bad);
    ASSERT_FALSE(t) << bad;
    EXPECT_NE(t.error().message.find("not a time"), std::string::npos);
  }
}

TEST(TimestampTest, LeapDayExists) { EXPECT_TRUE(parse_time("2028-02-29T12:00:00Z")); }

}  // namespace
}  // namespace conntrail

namespace conntrail {
namespace {

// Found by the attribution fuzzer: a year past 2262 overflowed the nanosecond
// product (undefined behaviour). Years outside 1970..2255 are refused instead.
TEST(TimestampTest, RejectsYearsOutsideTheRepresentableRange) {
  EXPECT_FALSE(parse_time("4046-11-14T22:13:20Z"));
  EXPECT_FALSE(parse_time("1969-12-31T23:59:59Z"));
  EXPECT_TRUE(parse_time("2255-12-31T23:59:59Z"));
}

}  // namespace
}  // namespace conntrail
