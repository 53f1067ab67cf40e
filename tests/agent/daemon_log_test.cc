// Tests of agent/log: the rate limiter that keeps repeated events out of the journal.
#include <gtest/gtest.h>

#include "agent/log/log.h"

namespace conntrail::agent::log {
namespace {

using namespace std::chrono_literals;

TEST(RateLimitTest, LetsABurstThroughThenCountsTheRest) {
  RateLimit limit(3, 10s);
  const auto t0 = RateLimit::Clock::time_point{} + 100s;
  std::uint64_t suppressed = 99;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(limit.allow(t0 + 1s * i, &suppressed));
    EXPECT_EQ(suppressed, 0u);
  }
  EXPECT_FALSE(limit.allow(t0 + 4s, &suppressed));
  EXPECT_FALSE(limit.allow(t0 + 9s, &suppressed));
  // A new window: allowed again, and told how many were dropped.
  EXPECT_TRUE(limit.allow(t0 + 10s, &suppressed));
  EXPECT_EQ(suppressed, 2u);
  EXPECT_TRUE(limit.allow(t0 + 11s, &suppressed));
  EXPECT_EQ(suppressed, 0u);
}

TEST(LogLevelTest, FiltersBelowTheLevel) {
  set_level(LogLevel::kWarning);
  EXPECT_TRUE(enabled(LogLevel::kError));
  EXPECT_TRUE(enabled(LogLevel::kWarning));
  EXPECT_FALSE(enabled(LogLevel::kInfo));
  set_level(LogLevel::kInfo);
}

}  // namespace
}  // namespace conntrail::agent::log
