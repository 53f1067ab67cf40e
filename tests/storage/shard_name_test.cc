#include "storage/shard/shard_name.h"

#include <gtest/gtest.h>

namespace conntrail::storage {
namespace {

TimestampNs at(int y, unsigned m, unsigned d, int h = 0, int mi = 0, int s = 0) {
  return timestamp_of(y, m, d) + (h * 3600 + mi * 60 + s) * kNsPerSecond;
}

TEST(ShardNameTest, PeriodValidation) {
  EXPECT_TRUE(validate_period_seconds(300));
  EXPECT_TRUE(validate_period_seconds(3600));
  EXPECT_TRUE(validate_period_seconds(86400));
  EXPECT_FALSE(validate_period_seconds(299));
  EXPECT_FALSE(validate_period_seconds(7000));  // does not divide a day
  EXPECT_FALSE(validate_period_seconds(172800));
}

TEST(ShardNameTest, PeriodOfFloorsAlsoBeforeEpoch) {
  const auto p = period_of(at(2026, 11, 29, 17, 59, 59) + 999, 3600);
  EXPECT_EQ(p.start, at(2026, 11, 29, 17));
  EXPECT_EQ(p.end(), at(2026, 11, 29, 18));
  EXPECT_EQ(period_of(-1, 3600).start, -3600 * kNsPerSecond);
}

TEST(ShardNameTest, NamesSayThePeriodAndParseBack) {
  const ShardPeriod p{at(2026, 11, 29, 17), 3600};
  EXPECT_EQ(relative_shard_path(p, ShardForm::kOpen), "2026/11/29/20261129T170000Z_PT1H.sqlite");
  EXPECT_EQ(relative_shard_path(p, ShardForm::kSealed),
            "2026/11/29/20261129T170000Z_PT1H.sealed.sqlite");
  for (std::int64_t len : {300, 900, 3600, 7200, 86400}) {
    const ShardPeriod q = period_of(at(2024, 2, 29, 23, 55), len);
    for (auto form : {ShardForm::kOpen, ShardForm::kSealed}) {
      const auto name = shard_path("/d", q, form).filename().string();
      auto parsed = parse_shard_file_name(name);
      ASSERT_TRUE(parsed) << name;
      EXPECT_EQ(parsed->period, q);
      EXPECT_EQ(parsed->form, form);
    }
  }
  EXPECT_EQ(period_stem(ShardPeriod{at(2026, 1, 1, 0, 5), 300}), "20260101T000500Z_PT5M");
}

TEST(ShardNameTest, ForeignNamesAreIgnored) {
  for (const char* bad :
       {"x.sqlite", "20261129T170000Z_PT1H.sqlite-wal", "20261129T170000Z_PT1H.sqlite.tmp",
        "20261129T173000Z_PT1H.sqlite" /* misaligned */, "20261329T170000Z_PT1H.sqlite",
        "20261129T170000Z_PT7H.sqlite", "20261129T170000Z_PT60M.sqlite" /* non-canonical */}) {
    EXPECT_FALSE(parse_shard_file_name(bad)) << bad;
  }
}

TEST(ShardNameTest, CivilDatesAcrossLeapYears) {
  EXPECT_EQ(civil_date(at(2024, 2, 29, 12)).day, 29u);
  const auto d = civil_date(at(2024, 2, 29) + 86400 * kNsPerSecond);
  EXPECT_EQ(d.month, 3u);
  EXPECT_EQ(d.day, 1u);
  EXPECT_EQ(civil_date(0).year, 1970);
}

}  // namespace
}  // namespace conntrail::storage
