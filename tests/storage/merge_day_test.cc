// tests/storage/merge_day_test.cc — a finished day's sealed shards merged into one day shard.
#include "storage/seal/merge_day.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <set>

#include "storage/query/query_engine.h"
#include "storage/retention/calendar.h"
#include "storage/retention/retention.h"
#include "storage/seal/sealer.h"
#include "storage/sqlite/sqlite.h"
#include "storage/store/flow_writer.h"
#include "storage/verify/verify.h"
#include "tests/storage/store_fixture.h"

namespace conntrail::storage {
namespace {

using testing::keys_of;
using testing::kHour;
constexpr TimestampNs kDay = 86400 * kNsPerSecond;

TimestampNs day_of(TimestampNs t) { return period_of(t, 86400).start; }

// 34 hours from 14:00: the first day has 10 hourly shards, the second 24.
class MergeDayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fx_.write(34.0, 0.2);
    first_day_ = day_of(fx_.start());
    now_ = first_day_ + 3 * kDay;  // both days long finished
    fx_.clock = now_;
    auto hourly = fx_.options();
    hourly.merge_sealed_days = false;
    auto sealed = seal_due_shards(hourly, now_);
    ASSERT_TRUE(sealed) << sealed.error().message;
    ASSERT_EQ(sealed->size(), 34u);
  }

  std::vector<FlowRecord> query(const Query& q, QuerySummary* summary = nullptr) {
    std::vector<FlowRecord> got;
    auto s = QueryEngine(fx_.options()).run(q, [&](const FlowRecord& f) {
      got.push_back(f);
      return true;
    });
    EXPECT_TRUE(s) << s.error().message;
    if (s && summary != nullptr) *summary = *s;
    return got;
  }

  std::vector<Query> queries() {
    const TimestampNs from = first_day_, to = first_day_ + 2 * kDay;
    const auto& some = fx_.flows[fx_.flows.size() / 3];
    return {Query{.from = from, .to = to}, Query{.ip = some.src_ip, .from = from, .to = to},
            Query{.ip = some.dst_ip, .from = from + 20 * kHour, .to = from + 30 * kHour},
            Query{.prefix = IpPrefix::parse("10.0.0.0/16").value(), .from = from, .to = to}};
  }

  std::vector<ShardFile> files() { return list_shard_files(fx_.dir.path()).value(); }

  std::vector<ManifestEntry> entries() { return Manifest(fx_.dir.path()).read_all().value(); }

  testing::StoreFixture fx_;
  TimestampNs first_day_ = 0;
  TimestampNs now_ = 0;
};

TEST_F(MergeDayTest, MergesEachFinishedDayKeepingEveryRowAndRecordingEachStep) {
  std::vector<std::vector<std::string>> before;
  for (const auto& q : queries()) before.push_back(keys_of(query(q)));
  ASSERT_FALSE(before[0].empty());

  Manifest manifest(fx_.dir.path());
  auto merged = merge_due_days(fx_.options(), manifest, now_);
  ASSERT_TRUE(merged) << merged.error().message;
  ASSERT_EQ(merged->size(), 2u);
  EXPECT_EQ((*merged)[0].sources.size(), 10u);
  EXPECT_EQ((*merged)[1].sources.size(), 24u);

  // One sealed day shard per day, nothing else.
  const auto after_files = files();
  ASSERT_EQ(after_files.size(), 2u);
  for (const auto& f : after_files) {
    EXPECT_EQ(f.form, ShardForm::kSealed);
    EXPECT_EQ(f.period.seconds, 86400);
  }
  // Same answers, from 2 files instead of 34.
  const auto qs = queries();
  for (std::size_t i = 0; i < qs.size(); ++i) {
    QuerySummary s;
    EXPECT_EQ(keys_of(query(qs[i], &s)), before[i]) << "query " << i;
    EXPECT_LE(s.shards_sealed + s.shards_skipped, 2u);
  }
  // The chain says where every sealed row went: one merge entry per hour,
  // and the day shard's seal entry names its sources and sums their rows.
  std::map<std::string, std::uint64_t> hourly_rows;
  std::uint64_t day_rows = 0, merged_rows = 0;
  std::size_t merge_entries = 0;
  for (const auto& e : entries()) {
    if (e.kind == ManifestKind::kSeal && e.period.seconds == 3600) hourly_rows[e.file] = e.rows;
    if (e.kind == ManifestKind::kSeal && e.period.seconds == 86400) {
      day_rows += e.rows;
      EXPECT_NE(e.reason.find("merged from"), std::string::npos);
    }
    if (e.kind == ManifestKind::kMerge) {
      ++merge_entries;
      merged_rows += e.rows;
      EXPECT_EQ(e.rows, hourly_rows.at(e.file));
      EXPECT_NE(e.reason.find("merged into"), std::string::npos);
    }
  }
  EXPECT_EQ(merge_entries, 34u);
  EXPECT_EQ(day_rows, fx_.flows.size());
  EXPECT_EQ(merged_rows, fx_.flows.size());
  auto report = verify_store(fx_.dir.path());
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok()) << report->problems.front().subject << ": "
                            << report->problems.front().what;
  EXPECT_EQ(report->sealed_checked, 2u);
  // Nothing left to merge.
  merged = merge_due_days(fx_.options(), manifest, now_);
  ASSERT_TRUE(merged);
  EXPECT_TRUE(merged->empty());
}

TEST_F(MergeDayTest, ADayIsNotMergedBeforeItIsOverOrWhileAShardIsOpen) {
  Manifest manifest(fx_.dir.path());
  // Just after the second day ended: its last shard may still get records.
  const TimestampNs second_day = first_day_ + kDay;
  auto early = merge_due_days(fx_.options(), manifest, second_day + kDay + kHour / 60);
  ASSERT_TRUE(early);
  ASSERT_EQ(early->size(), 1u);
  EXPECT_EQ(early->front().day.period.start, first_day_);
  // A file of the day still in open form (as a writer leaves it): refused.
  const ShardPeriod first_hour{second_day, 3600};
  std::filesystem::copy_file(shard_path(fx_.dir.path(), first_hour, ShardForm::kSealed),
                             shard_path(fx_.dir.path(), first_hour, ShardForm::kOpen));
  auto refused = merge_sealed_day(fx_.dir.path(), second_day, seal_options_from(fx_.options()),
                                  manifest, now_);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(MergeDayTest, ADayAboveTheRowLimitKeepsItsShards) {
  SealOptions small = seal_options_from(fx_.options());
  small.merge_max_rows = fx_.flows.size() / 4;  // below either day's count
  Manifest manifest(fx_.dir.path());
  auto r = merge_sealed_day(fx_.dir.path(), first_day_ + kDay, small, manifest, now_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_NE(r.error().message.find("more than"), std::string::npos) << r.error().message;
  EXPECT_EQ(files().size(), 34u);
}

TEST_F(MergeDayTest, AModifiedSourceIsRefusedNotLaunderedIntoAFreshHash) {
  const TimestampNs second_day = first_day_ + kDay;
  const auto victim =
      shard_path(fx_.dir.path(), ShardPeriod{second_day + 5 * kHour, 3600}, ShardForm::kSealed);
  ::chmod(victim.c_str(), 0644);
  {
    std::fstream f(victim, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-200, std::ios::end);
    f.put('\x5a');
  }
  Manifest manifest(fx_.dir.path());
  auto r = merge_sealed_day(fx_.dir.path(), second_day, seal_options_from(fx_.options()), manifest,
                            now_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kCorrupt);
  EXPECT_NE(r.error().message.find("SHA-256"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(
      shard_path(fx_.dir.path(), ShardPeriod{second_day, 86400}, ShardForm::kSealed)));
  EXPECT_TRUE(std::filesystem::exists(victim));  // left for verify to report
  // The other day is not affected.
  auto other = merge_sealed_day(fx_.dir.path(), first_day_, seal_options_from(fx_.options()),
                                manifest, now_);
  EXPECT_TRUE(other) << other.error().message;
}

TEST_F(MergeDayTest, ADiskFullMergeLeavesTheDayAsItWasAndSucceedsLater) {
  const auto before = keys_of(query(queries()[0]));
  const auto hourly = files();
  const auto entries_before = entries().size();
  Manifest manifest(fx_.dir.path());
  sql::inject_write_fault(ErrorCode::kNoSpace);
  auto r = merge_sealed_day(fx_.dir.path(), first_day_ + kDay, seal_options_from(fx_.options()),
                            manifest, now_);
  sql::clear_write_fault();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNoSpace) << r.error().message;
  // Nothing changed: every hourly shard, no day shard, no temporary, no entry.
  EXPECT_EQ(files().size(), hourly.size());
  for (const auto& e : std::filesystem::recursive_directory_iterator(fx_.dir.path())) {
    EXPECT_FALSE(e.path().string().ends_with(".tmp")) << e.path();
  }
  EXPECT_EQ(entries().size(), entries_before);
  EXPECT_EQ(keys_of(query(queries()[0])), before);
  // Space is back: the same merge succeeds.
  r = merge_sealed_day(fx_.dir.path(), first_day_ + kDay, seal_options_from(fx_.options()),
                       manifest, now_);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->sources.size(), 24u);
  EXPECT_EQ(keys_of(query(queries()[0])), before);
}

TEST_F(MergeDayTest, AnInterruptedMergeIsHiddenFromQueriesAndFinishedOnRecovery) {
  const auto q = queries();
  const auto before = keys_of(query(q[0]));
  // Keep copies of the first day's sources, merge, then put them back and cut
  // the merge entries off the manifest: a crash right after the day shard's
  // seal entry.
  const auto dir = fx_.dir.path() / "saved";
  std::filesystem::create_directories(dir);
  std::vector<std::filesystem::path> sources;
  for (const auto& f : files()) {
    if (f.period.start < first_day_ + kDay) {
      sources.push_back(f.path);
      std::filesystem::copy_file(f.path, dir / f.path.filename());
    }
  }
  ASSERT_EQ(sources.size(), 10u);
  Manifest manifest(fx_.dir.path());
  ASSERT_TRUE(merge_sealed_day(fx_.dir.path(), first_day_, seal_options_from(fx_.options()),
                               manifest, now_));
  for (const auto& p : sources) std::filesystem::copy_file(dir / p.filename(), p);
  std::filesystem::remove_all(dir);
  {
    std::ifstream in(manifest.path());
    std::string kept, line;
    while (std::getline(in, line)) {
      if (line.find("\"kind\":\"merge\"") == std::string::npos) kept += line + "\n";
    }
    in.close();
    std::ofstream(manifest.path(), std::ios::trunc) << kept;
  }
  // Queries see each row once: the day shard hides the sources it names.
  EXPECT_EQ(keys_of(query(q[0])), before);

  auto repairs = recover_interrupted_merges(fx_.dir.path(), manifest, now_);
  ASSERT_TRUE(repairs) << repairs.error().message;
  EXPECT_EQ(*repairs, 10u);
  for (const auto& p : sources) EXPECT_FALSE(std::filesystem::exists(p)) << p;
  std::size_t merge_entries = 0;
  for (const auto& e : entries()) merge_entries += e.kind == ManifestKind::kMerge;
  EXPECT_EQ(merge_entries, 10u);
  auto report = verify_store(fx_.dir.path());
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok());
  EXPECT_EQ(keys_of(query(q[0])), before);
  // Idempotent.
  repairs = recover_interrupted_merges(fx_.dir.path(), manifest, now_);
  ASSERT_TRUE(repairs);
  EXPECT_EQ(*repairs, 0u);
}

TEST_F(MergeDayTest, TheWriterRefusesLateRecordsForAMergedDay) {
  Manifest manifest(fx_.dir.path());
  ASSERT_TRUE(merge_due_days(fx_.options(), manifest, now_));
  auto w = FlowWriter::start(fx_.options());
  ASSERT_TRUE(w);
  FlowRecord late = fx_.flows.front();
  late.first_ts = first_day_ + kDay + 22 * kHour + 5;  // an hour with no hourly file any more
  late.last_ts = late.first_ts;
  ASSERT_TRUE((*w)->try_push(std::move(late)));
  (*w)->stop();
  EXPECT_EQ((*w)->stats().rows_late, 1u);
  EXPECT_EQ(files().size(), 2u);
}

TEST_F(MergeDayTest, RetentionDeletesADayShardOnlyOnceItsWholeDayExpired) {
  Manifest manifest(fx_.dir.path());
  ASSERT_TRUE(merge_due_days(fx_.options(), manifest, now_));
  const TimestampNs second_day = first_day_ + kDay;
  // One month after the second day's first hour ended: its hourly shard would
  // be gone, the day shard holds later hours and stays.
  TimestampNs t = second_day + kHour;
  while (retention_cutoff(t, 1) < second_day + kHour) t += kHour;
  auto swept = sweep_expired(fx_.dir.path(), 1, t);
  ASSERT_TRUE(swept);
  ASSERT_EQ(swept->expired.size(), 1u);  // the first day only
  EXPECT_EQ(swept->expired.front().start, first_day_);
  EXPECT_TRUE(std::filesystem::exists(
      shard_path(fx_.dir.path(), ShardPeriod{second_day, 86400}, ShardForm::kSealed)));
  while (retention_cutoff(t, 1) < second_day + kDay) t += kHour;
  swept = sweep_expired(fx_.dir.path(), 1, t);
  ASSERT_TRUE(swept);
  ASSERT_EQ(swept->expired.size(), 1u);
  EXPECT_TRUE(files().empty());
  auto report = verify_store(fx_.dir.path());
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok());
}

}  // namespace
}  // namespace conntrail::storage
