#include "storage/store/flow_writer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "storage/query/query_engine.h"
#include "storage/seal/sealer.h"
#include "storage/shard/shard_counts.h"
#include "storage/shard/shard_name.h"
#include "storage/sqlite/sqlite.h"
#include "storage/store/store_status.h"
#include "tests/storage/synthetic_flows.h"
#include "tests/storage/test_dir.h"

namespace conntrail::storage {
namespace {

constexpr TimestampNs kHour = 3600 * kNsPerSecond;

StoreOptions options_for(const std::filesystem::path& dir, std::atomic<TimestampNs>* clock) {
  StoreOptions o;
  o.data_dir = dir;
  o.seal_in_background = false;
  o.batch_max_delay = std::chrono::milliseconds(50);
  o.clock = [clock] { return clock->load(); };
  return o;
}

TEST(FlowWriterTest, RejectsInvalidOptions) {
  StoreOptions o;
  EXPECT_FALSE(FlowWriter::start(o));  // no data_dir
  o.data_dir = "/tmp/x";
  o.shard_period = std::chrono::seconds(7000);
  auto w = FlowWriter::start(o);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, ErrorCode::kInvalidArgument);
  o.shard_period = std::chrono::seconds(3600);
  o.retention_months = 0;
  EXPECT_FALSE(FlowWriter::start(o));
}

TEST(FlowWriterTest, WritesFlowsSessionsAndCountersIntoHourlyShards) {
  testing::TestDir dir;
  testing::SyntheticFlows gen({.seed = 1, .flows_per_second = 10.0});
  const TimestampNs t0 = period_of(gen.now(), 3600).start;
  std::atomic<TimestampNs> clock{t0};
  auto w = FlowWriter::start(options_for(dir.path(), &clock));
  ASSERT_TRUE(w) << w.error().message;
  std::uint64_t pushed = 0;
  while (gen.now() < t0 + 2 * kHour - 60 * kNsPerSecond) {
    auto f = gen.next();
    ASSERT_TRUE((*w)->try_push(std::move(f)));
    ++pushed;
  }
  SessionRecord s;
  s.address = IpPrefix::parse("100.64.0.7/32").value();
  s.subscriber = "alice@isp";
  s.start_ts = t0 + 10 * kNsPerSecond;
  ASSERT_TRUE((*w)->try_push(std::move(s)));
  CaptureCounters c;
  c.packets = 1000;
  c.kernel_drops = 3;
  (*w)->add_counters(t0 + 5, c);
  (*w)->add_counters(t0 + 6, c);
  ASSERT_TRUE((*w)->flush());
  const auto st = (*w)->stats();
  EXPECT_EQ(st.rows_written, pushed);
  EXPECT_EQ(st.sessions_written, 1u);
  EXPECT_EQ(st.rows_failed, 0u);
  EXPECT_FALSE(st.disk_alarm);

  const ShardPeriod h0{t0, 3600}, h1{t0 + kHour, 3600};
  auto c0 = count_shard_rows(shard_path(dir.path(), h0, ShardForm::kOpen));
  auto c1 = count_shard_rows(shard_path(dir.path(), h1, ShardForm::kOpen));
  ASSERT_TRUE(c0) << c0.error().message;
  ASSERT_TRUE(c1);
  EXPECT_EQ(c0->flows + c1->flows, pushed);
  EXPECT_GT(c0->flows, 0u);
  EXPECT_GT(c1->flows, 0u);
  EXPECT_EQ(c0->sessions, 1u);

  auto db = sql::Db::open(shard_path(dir.path(), h0, ShardForm::kOpen), sql::OpenMode::kReadOnly);
  ASSERT_TRUE(db);
  EXPECT_EQ(db->query_int("SELECT packets FROM counters").value(), 2000);
  EXPECT_EQ(db->query_int("SELECT kernel_drops FROM counters").value(), 6);
  EXPECT_EQ(db->query_text("PRAGMA journal_mode").value(), "wal");
  EXPECT_EQ(db->query_int("PRAGMA user_version").value(), 1);

  auto status = storage::status(dir.path());
  ASSERT_TRUE(status);
  EXPECT_EQ(status->flows_stored, pushed);
  EXPECT_EQ(status->sessions_stored, 1u);
  EXPECT_EQ(status->shards_open, 2u);
  EXPECT_GT(status->bytes_on_disk, 0u);
  EXPECT_EQ(*status->oldest_period_start, t0);

  (*w)->stop();
  EXPECT_FALSE((*w)->try_push(gen.next()));
  EXPECT_EQ((*w)->stats().queue_rejected, 1u);
}

TEST(FlowWriterTest, StopWritesEverythingStillQueued) {
  testing::TestDir dir;
  testing::SyntheticFlows gen({.seed = 2, .flows_per_second = 100000.0});
  std::atomic<TimestampNs> clock{gen.now()};
  auto o = options_for(dir.path(), &clock);
  o.batch_max_delay = std::chrono::seconds(30);  // nothing commits by time
  o.batch_max_records = 1u << 30;
  o.queue_capacity = 1u << 20;
  auto w = FlowWriter::start(o);
  ASSERT_TRUE(w);
  for (int i = 0; i < 50000; ++i) ASSERT_TRUE((*w)->try_push(gen.next()));
  (*w)->stop();
  EXPECT_EQ((*w)->stats().rows_written, 50000u);
  auto status = storage::status(dir.path());
  ASSERT_TRUE(status);
  EXPECT_EQ(status->flows_stored, 50000u);
}

TEST(FlowWriterTest, FullQueueRejectsInsteadOfBlocking) {
  testing::TestDir dir;
  testing::SyntheticFlows gen({.seed = 3});
  std::atomic<TimestampNs> clock{gen.now()};
  auto o = options_for(dir.path(), &clock);
  o.queue_capacity = 4;
  o.batch_max_delay = std::chrono::seconds(30);
  o.batch_max_records = 1u << 30;
  auto w = FlowWriter::start(o);
  ASSERT_TRUE(w);
  // The writer drains the queue only every batch_max_delay/4 (7.5 s) unless a
  // batch fills; 5 pushes inside that window: the fifth must be refused.
  std::size_t accepted = 0, rejected = 0;
  for (int i = 0; i < 5; ++i) ((*w)->try_push(gen.next()) ? accepted : rejected)++;
  EXPECT_GE(rejected, 1u);
  (*w)->stop();
  const auto st = (*w)->stats();
  EXPECT_EQ(st.queue_rejected, rejected);
  EXPECT_EQ(st.rows_written, accepted);
}

}  // namespace
}  // namespace conntrail::storage

namespace conntrail::storage {
namespace {

TEST(FlowWriterSealingTest, ClosesAndSealsShardsInTheBackgroundAsTimeMoves) {
  testing::TestDir dir;
  testing::SyntheticFlows gen({.seed = 4, .flows_per_second = 5.0});
  const TimestampNs t0 = period_of(gen.now(), 3600).start;
  std::atomic<TimestampNs> clock{t0 + kHour / 2};
  auto o = options_for(dir.path(), &clock);
  o.seal_in_background = true;
  auto w = FlowWriter::start(o);
  ASSERT_TRUE(w);
  std::uint64_t pushed = 0;
  // Data for three hours while the wall clock follows the data.
  for (;;) {
    auto f = gen.next();
    if (f.first_ts >= t0 + 3 * kHour) break;
    clock = f.first_ts;
    ASSERT_TRUE((*w)->try_push(std::move(f)));
    ++pushed;
    if (pushed % 2000 == 0) (*w)->flush();
  }
  (*w)->flush();
  // Hour 0 closed at t0 + 1h + 6 min: sealed by now; hour 1 at t0 + 2h + 6 min too.
  for (int i = 0; i < 2000 && (*w)->stats().shards_sealed < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    (*w)->flush();
  }
  EXPECT_EQ((*w)->stats().shards_sealed, 2u);
  // A record for a sealed hour is late: counted, not written.
  auto late = gen.next();
  late.first_ts = t0 + 10;
  late.last_ts = t0 + 20;
  ASSERT_TRUE((*w)->try_push(std::move(late)));
  (*w)->stop();
  const auto st = (*w)->stats();
  EXPECT_EQ(st.rows_late, 1u);
  EXPECT_EQ(st.rows_failed, 1u);
  EXPECT_EQ(st.rows_written, pushed);
  auto s = storage::status(dir.path());
  ASSERT_TRUE(s);
  EXPECT_EQ(s->shards_sealed, 2u);
  EXPECT_EQ(s->shards_open, 1u);
  EXPECT_EQ(s->flows_stored, pushed);
}

TEST(FlowWriterSealingTest, OfflineImportSealsOnStop) {
  testing::TestDir dir;
  testing::SyntheticFlows gen({.seed = 5, .flows_per_second = 3.0});
  std::atomic<TimestampNs> clock{gen.now() + 30LL * 24 * kHour};  // the capture is a month old
  auto o = options_for(dir.path(), &clock);
  o.seal_in_background = false;
  o.seal_on_stop = true;
  auto w = FlowWriter::start(o);
  ASSERT_TRUE(w);
  std::uint64_t pushed = 0;
  const TimestampNs end = gen.now() + 5 * kHour;
  while (gen.now() < end) {
    ASSERT_TRUE((*w)->try_push(gen.next()));
    ++pushed;
  }
  (*w)->stop();
  const auto st = (*w)->stats();
  EXPECT_EQ(st.rows_written, pushed);
  EXPECT_EQ(st.rows_late, 0u);
  EXPECT_GE(st.shards_sealed, 5u);
  auto s = storage::status(dir.path());
  ASSERT_TRUE(s);
  EXPECT_EQ(s->shards_open, 0u);
  EXPECT_EQ(s->flows_stored, pushed);
}

}  // namespace
}  // namespace conntrail::storage

namespace conntrail::storage {
namespace {

TEST(FlowWriterSealingTest, LateSessionsAndCountersAreFiledInTheCurrentPeriod) {
  testing::TestDir dir;
  const TimestampNs t0 = (1'790'000'000LL / 3600) * 3600 * kNsPerSecond;
  std::atomic<TimestampNs> clock{t0 + 10};
  auto o = options_for(dir.path(), &clock);
  {
    auto w = FlowWriter::start(o);
    SessionRecord s;
    s.address = IpPrefix::parse("100.64.0.9/32").value();
    s.subscriber = "dave";
    s.start_ts = t0 + 5;
    ASSERT_TRUE((*w)->try_push(std::move(s)));
    (*w)->stop();
  }
  ASSERT_TRUE(seal_due_shards(o, t0 + 2 * kHour));  // hour 0 sealed
  clock = t0 + 3 * kHour;
  auto w = FlowWriter::start(o);
  ASSERT_TRUE(w);
  SessionRecord closed;
  closed.address = IpPrefix::parse("100.64.0.9/32").value();
  closed.subscriber = "dave";
  closed.start_ts = t0 + 5;
  closed.end_ts = t0 + 1800 * kNsPerSecond;  // ended in the sealed hour, reported now
  ASSERT_TRUE((*w)->try_push(std::move(closed)));
  CaptureCounters c;
  c.kernel_drops = 2;
  (*w)->add_counters(t0 + 100, c);
  FlowRecord late;
  late.first_ts = t0 + 200;
  late.last_ts = t0 + 300;
  ASSERT_TRUE((*w)->try_push(std::move(late)));
  (*w)->stop();
  const auto st = (*w)->stats();
  EXPECT_EQ(st.sessions_written, 1u);
  EXPECT_EQ(st.counters_moved, 1u);
  EXPECT_EQ(st.rows_late, 1u);
  QueryEngine engine(o);
  // The close is found: dave no longer holds the address after t0 + 30 min.
  auto during = engine.sessions_covering(IpAddress::parse("100.64.0.9").value(), t0 + kHour / 4);
  auto after = engine.sessions_covering(IpAddress::parse("100.64.0.9").value(), t0 + kHour);
  ASSERT_TRUE(during);
  ASSERT_TRUE(after);
  EXPECT_EQ(during->size(), 1u);
  EXPECT_TRUE(after->empty());
}

}  // namespace
}  // namespace conntrail::storage

namespace conntrail::storage {
namespace {

// A record older than the retention is not kept (the law says delete it, and
// the sweeper would delete its shard under the writer); it is counted. The
// retention can change at run time (SIGHUP) and applies from then on.
TEST(FlowWriterTest, CountsRecordsOlderThanTheRetentionAndFollowsARetentionChange) {
  testing::TestDir dir;
  const TimestampNs now = (1'790'000'000LL / 3600) * 3600 * kNsPerSecond;
  std::atomic<TimestampNs> clock{now};
  auto w = FlowWriter::start(options_for(dir.path(), &clock));
  ASSERT_TRUE(w) << w.error().message;
  auto flow_at = [](TimestampNs t) {
    FlowRecord f;
    f.src_ip = *IpAddress::parse("100.64.0.7");
    f.dst_ip = *IpAddress::parse("192.0.2.1");
    f.proto = 6;
    f.first_ts = f.last_ts = t;
    return f;
  };
  const TimestampNs two_months_ago = now - 61LL * 86400 * kNsPerSecond;
  const TimestampNs two_years_ago = now - 731LL * 86400 * kNsPerSecond;
  ASSERT_TRUE((*w)->try_push(flow_at(two_years_ago)));   // beyond 12 months: refused
  ASSERT_TRUE((*w)->try_push(flow_at(two_months_ago)));  // inside 12 months: kept
  ASSERT_TRUE((*w)->flush());
  EXPECT_EQ((*w)->stats().rows_expired, 1u);
  EXPECT_EQ((*w)->stats().rows_written, 1u);

  (*w)->set_retention_months(1);
  ASSERT_TRUE((*w)->try_push(flow_at(two_months_ago)));  // now beyond the retention
  ASSERT_TRUE((*w)->flush());
  EXPECT_EQ((*w)->stats().rows_expired, 2u);
  EXPECT_EQ((*w)->stats().rows_written, 1u);
  (*w)->stop();
}

}  // namespace
}  // namespace conntrail::storage
