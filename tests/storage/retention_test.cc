// Retention: a simulated year and more with an injected clock and one-day shards.
#include "storage/retention/retention.h"

#include <gtest/gtest.h>

#include <map>

#include "storage/manifest/manifest.h"
#include "storage/retention/calendar.h"
#include "storage/shard/open_shard.h"
#include "storage/shard/shard_name.h"
#include "tests/storage/test_dir.h"

namespace conntrail::storage {
namespace {

constexpr TimestampNs kDay = 86400 * kNsPerSecond;

TimestampNs date(int y, unsigned m, unsigned d) { return timestamp_of(y, m, d); }

// Independent of calendar.cc: the first instant at which data ending at
// midnight `end` is 12 months old — same date a year later, or the 1st of
// the following month when that date does not exist (29 February).
TimestampNs expected_expiry(TimestampNs end, int months) {
  const CivilDate d = civil_date(end);
  int y = d.year + (static_cast<int>(d.month) - 1 + months) / 12;
  unsigned m = static_cast<unsigned>((static_cast<int>(d.month) - 1 + months) % 12) + 1;
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  const unsigned len = m == 2 && leap ? 29 : kDays[m - 1];
  if (d.day > len) {
    d.day > len ? (m == 12 ? (++y, m = 1) : ++m) : m;
    return date(y, m, 1);
  }
  return date(y, m, d.day);
}

TEST(CalendarTest, SubtractMonthsClampsToMonthEnd) {
  EXPECT_EQ(subtract_months(date(2025, 3, 31), 1), date(2025, 2, 28));
  EXPECT_EQ(subtract_months(date(2024, 3, 31), 1), date(2024, 2, 29));
  EXPECT_EQ(subtract_months(date(2025, 2, 28), 12), date(2024, 2, 28));
  EXPECT_EQ(subtract_months(date(2025, 3, 1), 12), date(2024, 3, 1));
  EXPECT_EQ(subtract_months(date(2025, 1, 15) + 5, 1), date(2024, 12, 15) + 5);
  EXPECT_EQ(subtract_months(date(2030, 5, 31), 120), date(2020, 5, 31));
}

class RetentionYearTest : public ::testing::Test {
 protected:
  void make_shards(TimestampNs from, TimestampNs to) {
    for (TimestampNs t = from; t < to; t += kDay) {
      const ShardPeriod p{t, 86400};
      auto s = OpenShard::open(shard_path(dir_.path(), p, ShardForm::kOpen), p);
      ASSERT_TRUE(s) << s.error().message;
      periods_.push_back(p);
    }
  }
  bool exists(const ShardPeriod& p) const {
    return std::filesystem::exists(shard_path(dir_.path(), p, ShardForm::kOpen));
  }

  testing::TestDir dir_;
  std::vector<ShardPeriod> periods_;
};

TEST_F(RetentionYearTest, WholeYearEveryBoundaryMonthLengthsLeapDayAndHolds) {
  // Shards for every day of 2024 (a leap year) and January 2025.
  make_shards(date(2024, 1, 1), date(2025, 2, 1));
  const int months = 12;
  // A hold over 10..12 June 2024 (touching 3 shards), placed in spring 2025.
  const TimestampNs hold_from = date(2024, 6, 10) + 3600 * kNsPerSecond;
  const TimestampNs hold_to = date(2024, 6, 12) + 1;
  bool hold_placed = false, hold_released = false;
  const TimestampNs release_at = date(2025, 9, 1);
  std::map<std::int64_t, TimestampNs> deleted_at;

  // Step through 2025 and early 2026: the instant before each midnight and the midnight.
  for (TimestampNs day = date(2025, 1, 1); day <= date(2026, 3, 1); day += kDay) {
    for (TimestampNs now : {day - 1, day}) {
      if (!hold_placed && now >= date(2025, 5, 1)) {
        ASSERT_TRUE(place_hold(dir_.path(), "case-17", hold_from, hold_to, "warrant W-9", now));
        hold_placed = true;
      }
      if (!hold_released && now >= release_at) {
        ASSERT_TRUE(release_hold(dir_.path(), "case-17", "case closed", now));
        hold_released = true;
      }
      auto r = sweep_expired(dir_.path(), months, now);
      ASSERT_TRUE(r) << r.error().message;
      for (const auto& p : periods_) {
        const TimestampNs due = expected_expiry(p.end(), months);
        const bool covered = hold_from < p.end() && hold_to > p.start;
        const bool kept_by_hold = covered && hold_placed && !hold_released;
        const bool should_exist = now < due || (kept_by_hold && deleted_at.count(p.start) == 0 &&
                                                due >= date(2025, 5, 1));
        ASSERT_EQ(exists(p), should_exist)
            << period_stem(p) << " at " << format_rfc3339(now, TimePrecision::kMicro);
        if (!exists(p) && deleted_at.count(p.start) == 0) deleted_at[p.start] = now;
      }
    }
  }
  // Spot checks of the calendar: the 28 and 29 February 2024 shards both go at 1 March 2025.
  EXPECT_EQ(deleted_at.at(date(2024, 2, 28)), date(2025, 3, 1));
  EXPECT_EQ(deleted_at.at(date(2024, 2, 29)), date(2025, 3, 1));
  EXPECT_EQ(deleted_at.at(date(2024, 1, 30)), date(2025, 1, 31));  // end 31 Jan 2024
  EXPECT_EQ(deleted_at.at(date(2024, 4, 30)), date(2025, 5, 1));
  EXPECT_EQ(deleted_at.at(date(2024, 12, 31)), date(2026, 1, 1));
  // The held shards (9..12 June 2024 overlap the hold) went only at the release.
  for (unsigned d : {10u, 11u, 12u}) EXPECT_EQ(deleted_at.at(date(2024, 6, d)), release_at) << d;
  EXPECT_EQ(deleted_at.at(date(2024, 6, 9)), date(2025, 6, 10));
  EXPECT_EQ(deleted_at.at(date(2024, 6, 13)), date(2025, 6, 14));

  // Every deletion is in the manifest, with its reason, and the chain holds.
  Manifest manifest(dir_.path());
  auto entries = manifest.read_all();
  ASSERT_TRUE(entries);
  std::size_t expires = 0, holds = 0, releases = 0;
  for (const auto& e : *entries) {
    if (e.kind == ManifestKind::kExpire) {
      ++expires;
      EXPECT_NE(e.reason.find("retention 12 months"), std::string::npos);
      EXPECT_EQ(e.time, deleted_at.at(e.period.start));
    }
    holds += e.kind == ManifestKind::kHold;
    releases += e.kind == ManifestKind::kRelease;
  }
  EXPECT_EQ(expires, periods_.size());
  EXPECT_EQ(holds, 1u);
  EXPECT_EQ(releases, 1u);
  auto problems = manifest.verify_chain();
  ASSERT_TRUE(problems);
  EXPECT_TRUE(problems->empty());
  // Empty day directories are gone too.
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "2024"));
}

TEST_F(RetentionYearTest, NothingIsDeletedEarlyWithAShortRetention) {
  make_shards(date(2025, 1, 29), date(2025, 2, 3));
  // One month: 29, 30, 31 January expire only once February has no such day... at 1 March.
  ASSERT_TRUE(sweep_expired(dir_.path(), 1, date(2025, 2, 28) + kDay - 1));
  for (const auto& p : periods_)
    EXPECT_EQ(exists(p), p.start >= date(2025, 1, 28)) << period_stem(p);
  ASSERT_TRUE(sweep_expired(dir_.path(), 1, date(2025, 3, 1)));
  for (const auto& p : periods_)
    EXPECT_EQ(exists(p), p.start >= date(2025, 2, 1)) << period_stem(p);
}

TEST(HoldTest, HoldsAreValidatedListedAndReleased) {
  testing::TestDir dir;
  EXPECT_FALSE(place_hold(dir.path(), "", 0, 10, "r", 1));
  EXPECT_FALSE(place_hold(dir.path(), "h", 10, 10, "r", 1));
  EXPECT_FALSE(place_hold(dir.path(), "h", 0, 10, "", 1));
  EXPECT_FALSE(place_hold(dir.path(), std::string(200, 'x'), 0, 10, "r", 1));
  ASSERT_TRUE(place_hold(dir.path(), "h1", 0, 10, "warrant", 1));
  ASSERT_TRUE(place_hold(dir.path(), "h2", 5, 20, "order", 2));
  EXPECT_FALSE(place_hold(dir.path(), "h1", 0, 10, "again", 3));
  auto holds = list_holds(dir.path());
  ASSERT_TRUE(holds);
  ASSERT_EQ(holds->size(), 2u);
  EXPECT_EQ((*holds)[0].id, "h1");
  EXPECT_EQ((*holds)[1].reason, "order");
  auto missing = release_hold(dir.path(), "nope", "x", 4);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(release_hold(dir.path(), "h1", "done", 5));
  holds = list_holds(dir.path());
  ASSERT_EQ(holds->size(), 1u);
  EXPECT_EQ((*holds)[0].id, "h2");
  EXPECT_FALSE(sweep_expired(dir.path(), 0, 1));
  EXPECT_FALSE(sweep_expired(dir.path(), 121, 1));
}

}  // namespace
}  // namespace conntrail::storage
