// tests/storage/shard_summary_test.cc — day summaries: written at seal, skip shards, verified.
#include "storage/summary/shard_summary.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "storage/codec/block_filter.h"
#include "storage/query/query_engine.h"
#include "storage/retention/retention.h"
#include "storage/seal/sealer.h"
#include "storage/verify/verify.h"
#include "tests/storage/store_fixture.h"

namespace conntrail::storage {
namespace {

using testing::keys_of;
using testing::kHour;

ShardSummary entry(TimestampNs start, std::uint64_t rows) {
  ShardSummary s;
  s.period = {start, 3600};
  s.rows = rows;
  s.counters.packets = rows * 6;
  s.counters.kernel_drops = 3;
  codec::KeyFilterBuilder filter(2);
  filter.add_address(IpAddress::parse("100.64.0.7").value().bytes());
  filter.add_subscriber("alice@isp");
  s.filter = filter.take();
  return s;
}

std::vector<std::filesystem::path> summary_files(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.path().filename() == "summary.bin") out.push_back(e.path());
  }
  return out;
}

TEST(ShardSummaryTest, EntriesRoundTripAndAreReplacedByPeriod) {
  testing::TestDir dir;
  const auto shard = dir.path() / "2026" / "09" / "21" / "x.sealed.sqlite";
  std::filesystem::create_directories(shard.parent_path());
  const TimestampNs t0 = 1'790'000'000LL / 3600 * 3600 * kNsPerSecond;
  ASSERT_TRUE(record_shard_summary(shard, entry(t0 + kHour, 5)));
  ASSERT_TRUE(record_shard_summary(shard, entry(t0, 7)));
  ASSERT_TRUE(record_shard_summary(shard, entry(t0 + kHour, 9)));  // replaces the first
  auto read = read_summary_file(summary_path_for(shard));
  ASSERT_TRUE(read) << read.error().message;
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ((*read)[0], entry(t0, 7));
  EXPECT_EQ((*read)[1], entry(t0 + kHour, 9));
  const auto& s = (*read)[0];
  EXPECT_TRUE(s.may_hold(IpAddress::parse("100.64.0.7").value(), std::nullopt));
  EXPECT_TRUE(s.may_hold(std::nullopt, std::string("alice@isp")));
  EXPECT_FALSE(s.may_hold(IpAddress::parse("192.0.2.99").value(), std::nullopt));
  EXPECT_FALSE(s.may_hold(std::nullopt, std::string("mallory@isp")));
  ShardSummary no_filter = s;
  no_filter.filter.clear();
  EXPECT_TRUE(no_filter.may_hold(IpAddress::parse("192.0.2.99").value(), std::nullopt));
}

TEST(ShardSummaryTest, ADamagedFileIsReportedCorruptNeverACrash) {
  testing::TestDir dir;
  const auto shard = dir.path() / "x.sealed.sqlite";
  ASSERT_TRUE(record_shard_summary(shard, entry(0, 1)));
  const auto path = summary_path_for(shard);
  const auto size = std::filesystem::file_size(path);
  for (std::uintmax_t cut : {std::uintmax_t{0}, std::uintmax_t{3}, size / 2, size - 1}) {
    std::filesystem::resize_file(path, cut);
    auto read = read_summary_file(path);
    if (cut == 0) {
      ASSERT_TRUE(read);  // an empty file describes nothing
      EXPECT_TRUE(read->empty());
    } else {
      ASSERT_FALSE(read);
      EXPECT_EQ(read.error().code, ErrorCode::kCorrupt);
    }
    ASSERT_TRUE(record_shard_summary(shard, entry(0, 1)));  // rewritten whole
  }
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(10);
    f.put('\x7f');
  }
  auto read = read_summary_file(path);
  ASSERT_FALSE(read);
  EXPECT_NE(read.error().message.find("checksum"), std::string::npos);
}

class ShardSummaryStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fx_.write(6.0, 0.5);  // six hours, ~1,800 flows an hour over 2,000 subscribers
    const TimestampNs now = fx_.start() + 8 * kHour;
    auto sealed = seal_due_shards(fx_.options(), now);
    ASSERT_TRUE(sealed) << sealed.error().message;
    ASSERT_EQ(sealed->size(), 6u);
    for (const auto& s : *sealed) ASSERT_FALSE(s.summary_error) << s.summary_error->message;
    fx_.clock = now;
  }

  // An address seen in some hours but not all.
  IpAddress sparse_address() const {
    for (const auto& f : fx_.flows) {
      std::set<TimestampNs> hours;
      for (const auto& g : fx_.flows) {
        if (g.src_ip == f.src_ip || g.dst_ip == f.src_ip) hours.insert(g.first_ts / kHour);
      }
      if (hours.size() >= 1 && hours.size() <= 3) return f.src_ip;
    }
    ADD_FAILURE() << "no sparse address in the fixture";
    return {};
  }

  std::vector<FlowRecord> query(const Query& q, QuerySummary& summary) {
    QueryEngine engine(fx_.options());
    std::vector<FlowRecord> out;
    auto s = engine.run(q, [&](const FlowRecord& f) {
      out.push_back(f);
      return true;
    });
    EXPECT_TRUE(s) << s.error().message;
    if (s) summary = *s;
    return out;
  }

  std::vector<FlowRecord> brute(const Query& q) const {
    std::vector<FlowRecord> out;
    for (const auto& f : fx_.flows) {
      if (q.matches(f)) out.push_back(f);
    }
    return out;
  }

  testing::StoreFixture fx_;
};

TEST_F(ShardSummaryStoreTest, QueriesSkipShardsTheSummaryProvesEmptyWithTheSameAnswer) {
  ASSERT_EQ(summary_files(fx_.dir.path()).size(), 1u);  // one day directory
  const Query q{.ip = sparse_address(), .from = fx_.start(), .to = fx_.start() + 6 * kHour};
  const auto expected = brute(q);
  ASSERT_FALSE(expected.empty());

  QuerySummary with;
  const auto got = query(q, with);
  EXPECT_EQ(keys_of(got), keys_of(expected));
  EXPECT_GE(with.shards_skipped, 3u);
  EXPECT_EQ(with.shards_sealed, 6u);  // skipped shards still count as searched

  // Without summaries (or with a damaged one) every shard is opened: same rows, same counters.
  for (const auto& p : summary_files(fx_.dir.path())) std::filesystem::resize_file(p, 20);
  QuerySummary without;
  EXPECT_EQ(keys_of(query(q, without)), keys_of(expected));
  EXPECT_EQ(without.shards_skipped, 0u);
  EXPECT_EQ(without.counters, with.counters);
}

TEST_F(ShardSummaryStoreTest, AnAbsentAddressAndASubscriberAreAnsweredFromTheSummaries) {
  QuerySummary s;
  const Query absent{.ip = IpAddress::parse("192.0.2.1").value(),
                     .from = fx_.start(),
                     .to = fx_.start() + 6 * kHour};
  EXPECT_TRUE(query(absent, s).empty());
  EXPECT_EQ(s.shards_skipped, 6u);
  const auto& some = fx_.flows[fx_.flows.size() / 2];
  ASSERT_FALSE(some.subscriber.empty());
  const Query by_subscriber{
      .subscriber = some.subscriber, .from = fx_.start(), .to = fx_.start() + 6 * kHour};
  EXPECT_EQ(keys_of(query(by_subscriber, s)), keys_of(brute(by_subscriber)));
}

TEST(ShardSummaryManyShardsTest, ADayOfSkippedShardsFlowsThroughTheReaderPool) {
  // More skipped shards than query_threads in a row: the pool's window must
  // keep moving (a day of them once hung the query).
  testing::StoreFixture fx;
  fx.write(24.0, 0.05);
  const TimestampNs now = fx.start() + 26 * kHour;
  auto hourly = fx.options();
  hourly.merge_sealed_days = false;  // 24 shards to skip, not a merged day
  auto sealed = seal_due_shards(hourly, now);
  ASSERT_TRUE(sealed);
  ASSERT_EQ(sealed->size(), 24u);
  fx.clock = now;
  for (const int threads : {1, 4}) {
    auto o = fx.options();
    o.query_threads = threads;
    QueryEngine engine(o);
    const Query absent{.ip = IpAddress::parse("192.0.2.1").value(),
                       .from = fx.start(),
                       .to = fx.start() + 24 * kHour};
    auto s = engine.run(absent, [](const FlowRecord&) { return true; });
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->rows, 0u);
    EXPECT_EQ(s->shards_skipped, 24u);
    const Query some{.ip = fx.flows[fx.flows.size() / 2].src_ip,
                     .from = fx.start(),
                     .to = fx.start() + 24 * kHour};
    std::vector<FlowRecord> got;
    s = engine.run(some, [&](const FlowRecord& f) {
      got.push_back(f);
      return true;
    });
    ASSERT_TRUE(s);
    std::vector<FlowRecord> expected;
    for (const auto& f : fx.flows) {
      if (some.matches(f)) expected.push_back(f);
    }
    EXPECT_EQ(keys_of(got), keys_of(expected));
    EXPECT_GT(s->shards_skipped, 0u);
  }
}

TEST_F(ShardSummaryStoreTest, BackfillWritesTheEntriesSealingWrote) {
  const auto file = summary_files(fx_.dir.path()).front();
  auto sealed_entries = read_summary_file(file);
  ASSERT_TRUE(sealed_entries);
  ASSERT_EQ(sealed_entries->size(), 6u);
  // As after an upgrade from a version without summaries.
  std::filesystem::remove(file);
  auto added = backfill_summaries(fx_.dir.path());
  ASSERT_TRUE(added) << added.error().message;
  EXPECT_EQ(*added, 6u);
  auto backfilled = read_summary_file(file);
  ASSERT_TRUE(backfilled);
  EXPECT_EQ(*backfilled, *sealed_entries);  // same rows, counters and filter bits
  added = backfill_summaries(fx_.dir.path());
  ASSERT_TRUE(added);
  EXPECT_EQ(*added, 0u);  // nothing left to do
}

TEST_F(ShardSummaryStoreTest, VerifyFindsAFilterThatWouldHideRecords) {
  auto clean = verify_store(fx_.dir.path());
  ASSERT_TRUE(clean);
  for (const auto& p : clean->problems) ADD_FAILURE() << p.subject << ": " << p.what;

  // Zero one entry's filter: queries would now skip that shard for every address.
  const auto file = summary_files(fx_.dir.path()).front();
  auto entries = read_summary_file(file);
  ASSERT_TRUE(entries);
  ShardSummary tampered = entries->at(2);
  std::fill(tampered.filter.begin(), tampered.filter.end(), 0);
  const auto shard = shard_path(fx_.dir.path(), tampered.period, ShardForm::kSealed);
  ASSERT_TRUE(record_shard_summary(shard, tampered));
  auto report = verify_store(fx_.dir.path());
  ASSERT_TRUE(report);
  ASSERT_EQ(report->problems.size(), 1u);
  EXPECT_NE(report->problems[0].what.find("filter misses"), std::string::npos)
      << report->problems[0].what;

  // A damaged file is reported too.
  std::filesystem::resize_file(file, 30);
  report = verify_store(fx_.dir.path());
  ASSERT_TRUE(report);
  ASSERT_EQ(report->problems.size(), 1u);
  EXPECT_NE(report->problems[0].subject.find("summary.bin"), std::string::npos);
}

TEST_F(ShardSummaryStoreTest, RetentionDeletesEachEntryWithItsShardAndTheFileWithTheLast) {
  const auto file = summary_files(fx_.dir.path()).front();
  // Three of the six hours expire (a hold keeps the other three).
  const TimestampNs now = fx_.start() + 400LL * 24 * kHour;
  ASSERT_TRUE(place_hold(fx_.dir.path(), "H-1", fx_.start() + 3 * kHour, fx_.start() + 6 * kHour,
                         "case C-17", now));
  auto swept = sweep_expired(fx_.dir.path(), 12, now);
  ASSERT_TRUE(swept) << swept.error().message;
  ASSERT_EQ(swept->expired.size(), 3u);
  auto entries = read_summary_file(file);
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries->size(), 3u);
  for (const auto& e : *entries) EXPECT_GE(e.period.start, fx_.start() + 3 * kHour);
  auto report = verify_store(fx_.dir.path());
  ASSERT_TRUE(report);
  for (const auto& p : report->problems) ADD_FAILURE() << p.subject << ": " << p.what;

  ASSERT_TRUE(release_hold(fx_.dir.path(), "H-1", "case closed", now));
  swept = sweep_expired(fx_.dir.path(), 12, now);
  ASSERT_TRUE(swept);
  EXPECT_EQ(swept->expired.size(), 3u);
  EXPECT_FALSE(std::filesystem::exists(file));
  EXPECT_FALSE(std::filesystem::exists(file.parent_path()));  // the day directory is pruned
}

}  // namespace
}  // namespace conntrail::storage
