#include "storage/query/query_engine.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <thread>

#include "storage/hash/sha256.h"
#include "storage/manifest/manifest.h"
#include "storage/seal/sealer.h"
#include "storage/shard/shard_name.h"
#include "storage/sqlite/sqlite.h"
#include "tests/storage/store_fixture.h"

namespace conntrail::storage {
namespace {

using testing::keys_of;
using testing::kHour;

std::vector<FlowRecord> run_query(const QueryEngine& engine, const Query& q,
                                  QuerySummary* summary = nullptr) {
  std::vector<FlowRecord> out;
  auto s = engine.run(q, [&](const FlowRecord& f) {
    out.push_back(f);
    return true;
  });
  EXPECT_TRUE(s) << (s ? "" : s.error().message);
  if (s && summary) *summary = *s;
  return out;
}

std::vector<FlowRecord> brute(const std::vector<FlowRecord>& all, const Query& q) {
  std::vector<FlowRecord> out;
  for (const auto& f : all) {
    if (q.matches(f)) out.push_back(f);
  }
  return out;
}

class QueryEngineTest : public ::testing::Test {
 protected:
  void SetUp() override { fx_.write(2.5, 40.0); }

  std::vector<Query> queries() const {
    const auto& f = fx_.flows[fx_.flows.size() / 3];
    const auto& g = fx_.flows[fx_.flows.size() / 2];
    const TimestampNs t0 = fx_.start();
    std::vector<Query> qs;
    qs.push_back({.ip = f.src_ip, .from = t0, .to = t0 + 3 * kHour});
    qs.push_back({.ip = f.dst_ip, .from = t0, .to = t0 + 3 * kHour});  // server side
    qs.push_back({.ip = f.src_ip, .port = f.src_port, .from = f.first_ts, .to = f.first_ts + 1});
    qs.push_back(
        {.ip = g.src_ip, .proto = std::uint8_t{17}, .from = t0 + kHour / 2, .to = t0 + 2 * kHour});
    qs.push_back(
        {.prefix = IpPrefix::parse("100.64.1.0/24").value(), .from = t0, .to = t0 + kHour});
    qs.push_back(
        {.prefix = IpPrefix::parse("2001:db8::/48").value(), .from = t0, .to = t0 + 3 * kHour});
    qs.push_back({.subscriber = g.subscriber, .from = t0, .to = t0 + 3 * kHour});
    qs.push_back(
        {.proto = std::uint8_t{1}, .from = t0 + kHour, .to = t0 + kHour + 600 * kNsPerSecond});
    qs.push_back({.ip = IpAddress::parse("192.0.2.1").value(), .from = t0, .to = t0 + 3 * kHour});
    return qs;
  }

  void expect_all_queries_exact() {
    QueryEngine engine(fx_.options());
    for (const auto& q : queries()) {
      const auto expected = brute(fx_.flows, q);
      const auto got = run_query(engine, q);
      EXPECT_EQ(keys_of(got), keys_of(expected));
      // In time order within a shard, shards in period order: globally sorted here.
      EXPECT_TRUE(std::is_sorted(got.begin(), got.end(), [](const auto& a, const auto& b) {
        return a.first_ts < b.first_ts;
      }));
    }
  }

  testing::StoreFixture fx_;
};

TEST_F(QueryEngineTest, OpenShardsAnswerEverySelectorExactly) { expect_all_queries_exact(); }

TEST_F(QueryEngineTest, SealedShardsAnswerTheSameAndAreRecordedInTheManifest) {
  auto o = fx_.options();
  // All three periods are past their deadline at this clock.
  const TimestampNs now = fx_.start() + 4 * kHour;
  auto sealed = seal_due_shards(o, now);
  ASSERT_TRUE(sealed) << sealed.error().message;
  ASSERT_EQ(sealed->size(), 3u);
  fx_.clock = now;
  expect_all_queries_exact();

  Manifest manifest(fx_.dir.path());
  auto entries = manifest.read_all();
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries->size(), 3u);
  std::uint64_t rows = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& e = (*entries)[i];
    EXPECT_EQ(e.kind, ManifestKind::kSeal);
    EXPECT_EQ(e.seq, i + 1);
    EXPECT_EQ(e.period.start, fx_.start() + static_cast<TimestampNs>(i) * kHour);
    const auto path = fx_.dir.path() / e.file;
    EXPECT_EQ(to_hex(sha256_file(path).value()), e.sha256);
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0444u);
    EXPECT_FALSE(std::filesystem::exists(shard_path(fx_.dir.path(), e.period, ShardForm::kOpen)));
    auto db = sql::Db::open(path, sql::OpenMode::kImmutable);
    ASSERT_TRUE(db);
    EXPECT_EQ(db->query_int("PRAGMA user_version").value(), 1);
    EXPECT_EQ(db->query_text("PRAGMA integrity_check").value(), "ok");
    rows += e.rows;
  }
  EXPECT_EQ(rows, fx_.flows.size());
  auto problems = manifest.verify_chain();
  ASSERT_TRUE(problems);
  EXPECT_TRUE(problems->empty());
}

TEST_F(QueryEngineTest, NothingIsSealedBeforeItsDeadline) {
  auto o = fx_.options();
  // 2.5 h written: period 0 and 1 ended; with active timeout 300 s + margin 60 s,
  // at start + 2h + 5 min only period 0 is due.
  auto sealed = seal_due_shards(o, fx_.start() + 2 * kHour + 300 * kNsPerSecond);
  ASSERT_TRUE(sealed);
  ASSERT_EQ(sealed->size(), 1u);
  EXPECT_EQ(sealed->front().period.start, fx_.start());
}

TEST_F(QueryEngineTest, CallbackCanStopTheStream) {
  QueryEngine engine(fx_.options());
  Query q{.from = fx_.start(), .to = fx_.start() + 3 * kHour};
  std::size_t n = 0;
  auto s = engine.run(q, [&](const FlowRecord&) { return ++n < 5; });
  ASSERT_TRUE(s);
  EXPECT_EQ(n, 5u);
  EXPECT_EQ(s->rows, 5u);
  EXPECT_TRUE(s->stopped_early);
}

TEST_F(QueryEngineTest, SummaryNamesTheGapsAndCarriesCounters) {
  // Counters for the first period, then a seal so they are in the manifest and the shard.
  {
    auto w = FlowWriter::start(fx_.options());
    ASSERT_TRUE(w);
    CaptureCounters c;
    c.packets = 100;
    c.kernel_drops = 7;
    (*w)->add_counters(fx_.start() + 1, c);
    (*w)->stop();
  }
  auto o = fx_.options();
  o.retention_months = 1;
  const TimestampNs now = fx_.start() + 2 * kHour + kHour / 2;
  fx_.clock = now;
  QueryEngine engine(o);
  const TimestampNs month = 31LL * 24 * kHour;
  Query q{.ip = fx_.flows[0].src_ip, .from = fx_.start() - 2 * month, .to = now + kHour};
  QuerySummary s;
  run_query(engine, q, &s);
  EXPECT_EQ(s.counters.kernel_drops, 7u);
  EXPECT_EQ(s.counters.packets, 100u);
  ASSERT_EQ(s.gaps.size(), 3u);
  EXPECT_EQ(s.gaps[0].reason, GapReason::kBeforeRetention);
  EXPECT_EQ(s.gaps[0].from, q.from);
  EXPECT_EQ(s.gaps[1].reason, GapReason::kNoData);
  EXPECT_EQ(s.gaps[1].to, fx_.start());
  EXPECT_EQ(s.gaps[2].reason, GapReason::kNotYetWritten);
  EXPECT_EQ(s.gaps[2].from, fx_.start() + 3 * kHour);
  EXPECT_EQ(s.gaps[2].to, q.to);
  EXPECT_EQ(s.shards_open, 3u);
}

TEST_F(QueryEngineTest, RejectsInvertedWindow) {
  QueryEngine engine(fx_.options());
  auto s = engine.run({.from = 10, .to = 10}, [](const FlowRecord&) { return true; });
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(QueryEngineTest, CorruptSealedBlockIsAnErrorNotACrash) {
  auto o = fx_.options();
  ASSERT_TRUE(seal_due_shards(o, fx_.start() + 4 * kHour));
  const auto path = shard_path(fx_.dir.path(), ShardPeriod{fx_.start(), 3600}, ShardForm::kSealed);
  ::chmod(path.c_str(), 0644);
  {
    auto db = sql::Db::open(path, sql::OpenMode::kReadWrite);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("UPDATE blocks SET data = zeroblob(100)"));
  }
  QueryEngine engine(o);
  auto s = engine.run({.from = fx_.start(), .to = fx_.start() + kHour},
                      [](const FlowRecord&) { return true; });
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kCorrupt);
}

TEST(QueryEngineConcurrencyTest, ReadsOpenShardWhileTheWriterWrites) {
  testing::StoreFixture fx;
  testing::SyntheticFlows gen({.seed = 9, .flows_per_second = 2000.0});
  fx.clock = gen.now();
  auto w = FlowWriter::start(fx.options());
  ASSERT_TRUE(w);
  std::atomic<bool> done{false};
  std::thread producer([&] {
    for (int i = 0; i < 200000; ++i) {
      while (!(*w)->try_push(gen.next())) std::this_thread::yield();
    }
    done = true;
  });
  QueryEngine engine(fx.options());
  int queries = 0;
  std::uint64_t last = 0;
  while (!done || queries < 3) {
    std::uint64_t n = 0;
    auto s = engine.run({.from = 0, .to = gen.now() + kHour}, [&](const FlowRecord&) {
      ++n;
      return true;
    });
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_GE(n, last);  // committed batches only grow
    last = n;
    ++queries;
  }
  producer.join();
  (*w)->stop();
  std::uint64_t n = 0;
  ASSERT_TRUE(engine.run({.from = 0, .to = gen.now() + kHour}, [&](const FlowRecord&) {
    ++n;
    return true;
  }));
  EXPECT_EQ(n, 200000u);
}

TEST(SessionQueryTest, SessionsCoveringAnInstantAcrossShardsAndForms) {
  testing::StoreFixture fx;
  const TimestampNs t0 = (1'790'000'000LL / 3600) * 3600 * kNsPerSecond;
  fx.clock = t0;
  auto w = FlowWriter::start(fx.options());
  ASSERT_TRUE(w);
  auto session = [&](const char* addr, const char* sub, TimestampNs start, TimestampNs end,
                     const char* id) {
    SessionRecord s;
    s.address = IpPrefix::parse(addr).value();
    s.subscriber = sub;
    s.start_ts = start;
    s.end_ts = end;
    s.session_id = id;
    s.server = IpAddress::parse("192.0.2.1").value();
    return s;
  };
  // alice holds .7 from t0+10min; her open record, later her close record 5 h after.
  ASSERT_TRUE((*w)->try_push(session("100.64.1.7/32", "alice", t0 + 600 * kNsPerSecond, 0, "a1")));
  ASSERT_TRUE((*w)->try_push(
      session("100.64.1.7/32", "alice", t0 + 600 * kNsPerSecond, t0 + 5 * kHour, "a1")));
  // bob then holds .7; still open.
  ASSERT_TRUE((*w)->try_push(session("100.64.1.7/32", "bob", t0 + 6 * kHour, 0, "b1")));
  // carol has a delegated IPv6 prefix.
  ASSERT_TRUE((*w)->try_push(session("2001:db8:1::/56", "carol", t0, t0 + 2 * kHour, "c1")));
  (*w)->stop();

  auto o = fx.options();
  ASSERT_TRUE(seal_due_shards(o, t0 + 3 * kHour));  // the first shards become sealed
  QueryEngine engine(o);
  auto at = [&](const char* addr, TimestampNs t) {
    auto r = engine.sessions_covering(IpAddress::parse(addr).value(), t);
    EXPECT_TRUE(r);
    std::vector<std::string> subs;
    for (const auto& s : *r) subs.push_back(s.subscriber);
    return subs;
  };
  EXPECT_EQ(at("100.64.1.7", t0), std::vector<std::string>{});
  EXPECT_EQ(at("100.64.1.7", t0 + kHour), std::vector<std::string>{"alice"});
  EXPECT_EQ(at("100.64.1.7", t0 + 5 * kHour), std::vector<std::string>{});  // end exclusive
  EXPECT_EQ(at("100.64.1.7", t0 + 7 * kHour), std::vector<std::string>{"bob"});
  EXPECT_EQ(at("2001:db8:1:ff::42", t0 + kHour), std::vector<std::string>{"carol"});
  EXPECT_EQ(at("2001:db8:2::1", t0 + kHour), std::vector<std::string>{});

  auto by_sub =
      engine.sessions({.subscriber = std::string("alice"), .from = t0, .to = t0 + 10 * kHour});
  ASSERT_TRUE(by_sub);
  ASSERT_EQ(by_sub->size(), 1u);
  EXPECT_EQ(by_sub->front().end_ts, t0 + 5 * kHour);
}

}  // namespace
}  // namespace conntrail::storage

namespace conntrail::storage {
namespace {

TEST_F(QueryEngineTest, LargeResultsStreamCompletelyWithBoundedBuffers) {
  // Every flow of 2.5 h (~360 k rows, far above the per-shard buffers), from
  // open and sealed shards, sequentially and with reader threads.
  auto o = fx_.options();
  ASSERT_TRUE(seal_due_shards(o, fx_.start() + 2 * kHour + 10 * 60 * kNsPerSecond));
  for (int threads : {1, 3}) {
    o.query_threads = threads;
    QueryEngine engine(o);
    std::uint64_t n = 0;
    TimestampNs last_shard_start = 0;
    auto s =
        engine.run({.from = fx_.start(), .to = fx_.start() + 3 * kHour}, [&](const FlowRecord& f) {
          // Shards arrive in period order.
          const TimestampNs p = period_of(f.first_ts, 3600).start;
          EXPECT_GE(p, last_shard_start);
          last_shard_start = p;
          ++n;
          return true;
        });
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(n, fx_.flows.size());
    EXPECT_EQ(s->shards_sealed, 2u);
    EXPECT_EQ(s->shards_open, 1u);
  }
}

}  // namespace
}  // namespace conntrail::storage

namespace conntrail::storage {
namespace {

TEST_F(QueryEngineTest, IndexedSelectorsNeverScanASealedShard) {
  auto o = fx_.options();
  ASSERT_TRUE(seal_due_shards(o, fx_.start() + 4 * kHour));
  QueryEngine engine(o);
  const auto& f = fx_.flows[fx_.flows.size() / 2];
  const TimestampNs hour = period_of(f.first_ts, 3600).start;
  QuerySummary all, by_ip, by_port, by_sub;
  run_query(engine, {.from = hour + 600 * kNsPerSecond, .to = hour + kHour}, &all);
  run_query(engine, {.ip = f.src_ip, .from = hour + 600 * kNsPerSecond, .to = hour + kHour},
            &by_ip);
  run_query(engine, {.ip = f.src_ip, .port = f.src_port, .from = f.first_ts, .to = f.first_ts + 1},
            &by_port);
  run_query(engine,
            {.subscriber = f.subscriber, .from = hour + 600 * kNsPerSecond, .to = hour + kHour},
            &by_sub);
  ASSERT_GT(all.blocks_read, 50u);  // ~144 k flows an hour in 1024-row blocks
  // The subscriber's rows are contiguous in the sealed order: the blocks they
  // fill plus at most one partial block at each end, per shard read (two at most).
  EXPECT_LE(by_ip.blocks_read, by_ip.rows / 1024 + 4);
  EXPECT_LE(by_sub.blocks_read, by_sub.rows / 1024 + 4);
  EXPECT_LE(by_port.blocks_read, 4u);
  EXPECT_LT(by_ip.blocks_read * 10, all.blocks_read);
  EXPECT_GE(by_port.rows, 1u);
}

}  // namespace
}  // namespace conntrail::storage
