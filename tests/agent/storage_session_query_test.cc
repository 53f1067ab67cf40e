// agent/runtime/storage_session_query: the lawful API's SessionQueryFn over a real store
// (storage::FlowWriter writes sessions into open shards, some are sealed), through
// storage::QueryEngine::sessions_report — selectors, windows, merged versions, completeness.
#include "agent/runtime/storage_session_query.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "agent/workflow/new_request.h"
#include "storage/query/query_engine.h"
#include "storage/seal/sealer.h"
#include "storage/store/flow_writer.h"
#include "tests/storage/test_dir.h"

namespace conntrail::agent {
namespace {

using Json = nlohmann::json;
constexpr TimestampNs kHour = 3600 * kNsPerSecond;

class StorageSessionQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    t0_ = (1'790'000'000LL / 3600) * 3600 * kNsPerSecond;
    clock_ = t0_ + 10 * kHour;
    auto w = storage::FlowWriter::start(options());
    ASSERT_TRUE(w) << w.error().message;
    auto push = [&](const char* addr, const char* sub, TimestampNs start, TimestampNs end,
                    const char* id) {
      SessionRecord s;
      s.address = IpPrefix::parse(addr).value();
      s.subscriber = sub;
      s.start_ts = start;
      s.end_ts = end;
      s.session_id = id;
      s.server = IpAddress::parse("192.0.2.1").value();
      ASSERT_TRUE((*w)->try_push(std::move(s)));
    };
    // alice holds .7 from t0+10min: her open record, later her closed one (5 h after t0).
    push("100.64.1.7/32", "alice", t0_ + 600 * kNsPerSecond, 0, "a1");
    push("100.64.1.7/32", "alice", t0_ + 600 * kNsPerSecond, t0_ + 5 * kHour, "a1");
    // then bob, still open; carol has a delegated IPv6 prefix; dave another address.
    push("100.64.1.7/32", "bob", t0_ + 6 * kHour, 0, "b1");
    push("2001:db8:1:100::/56", "carol", t0_ + kHour, t0_ + 2 * kHour, "c1");
    push("100.64.1.8/32", "dave", t0_ + kHour, t0_ + 3 * kHour, "d1");
    // Traffic in every hour up to t0+8h, so that hours have shards (and completeness).
    for (int h = 0; h < 8; ++h) {
      FlowRecord f;
      f.src_ip = IpAddress::parse("100.64.1.7").value();
      f.dst_ip = IpAddress::parse("198.51.100.1").value();
      f.proto = 6;
      f.first_ts = f.last_ts = t0_ + h * kHour + kNsPerSecond;
      ASSERT_TRUE((*w)->try_push(std::move(f)));
    }
    (*w)->stop();
    ASSERT_TRUE(storage::seal_due_shards(options(), t0_ + 3 * kHour));  // the first become sealed
  }

  storage::StoreOptions options() {
    storage::StoreOptions o;
    o.data_dir = dir_.path();
    o.seal_in_background = false;
    o.batch_max_delay = std::chrono::milliseconds(20);
    o.clock = [this] { return clock_; };
    return o;
  }

  // The sessions (by "subscriber/id") the seam delivers for these selectors and hours.
  std::vector<std::string> query(const std::string& selectors, int from_h, int to_h,
                                 QueryCompleteness* completeness = nullptr,
                                 std::size_t stop_after = 1000) {
    auto sel = selectors_from_json(Json::parse(selectors), nullptr);
    EXPECT_TRUE(sel);
    QuerySpec spec;
    spec.selectors = *sel;
    spec.from = t0_ + from_h * kHour;
    spec.to = t0_ + to_h * kHour;
    std::vector<std::string> out;
    auto fn = make_storage_session_query(options());
    auto r = fn(spec, [&](const SessionRecord& s) {
      out.push_back(s.subscriber + "/" + (s.is_open() ? "open" : "closed"));
      return out.size() < stop_after;
    });
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    if (r && completeness) *completeness = *r;
    return out;
  }

  conntrail::testing::TestDir dir_;
  TimestampNs t0_ = 0;
  TimestampNs clock_ = 0;
};

using V = std::vector<std::string>;

TEST_F(StorageSessionQueryTest, AnAddressSelectsTheSessionsHoldingItInTheWindowMerged) {
  // alice's open and closed records are one session, closed; bob's starts at 6 h.
  EXPECT_EQ(query(R"([{"ip":"100.64.1.7","port":443}])", 0, 8), (V{"alice/closed", "bob/open"}));
  EXPECT_EQ(query(R"([{"ip":"100.64.1.7"}])", 1, 2), (V{"alice/closed"}));
  EXPECT_EQ(query(R"([{"ip":"100.64.1.7"}])", 5, 6), (V{})) << "between the two: nobody";
  EXPECT_EQ(query(R"([{"ip":"100.64.1.7"}])", 7, 8), (V{"bob/open"})) << "an open one runs on";
  EXPECT_EQ(query(R"([{"ip":"100.64.1.9"}])", 0, 8), (V{}));
}

TEST_F(StorageSessionQueryTest, PrefixesOverlapAndSubscribersAreExact) {
  EXPECT_EQ(query(R"([{"prefix":"2001:db8:1::/48"}])", 0, 8), (V{"carol/closed"}));
  EXPECT_EQ(query(R"([{"prefix":"2001:db8:1:180::/60"}])", 0, 8), (V{"carol/closed"}));
  EXPECT_EQ(query(R"([{"prefix":"2001:db8:1:200::/56"}])", 0, 8), (V{}));
  EXPECT_EQ(query(R"([{"ip":"2001:db8:1:1ff::1"}])", 0, 8), (V{"carol/closed"}));
  EXPECT_EQ(query(R"([{"prefix":"100.64.1.0/24"}])", 0, 8),
            (V{"alice/closed", "dave/closed", "bob/open"}));
  EXPECT_EQ(query(R"([{"subscriber":"dave"}])", 0, 8), (V{"dave/closed"}));
  EXPECT_EQ(query(R"([{"subscriber":"Dave"}])", 0, 8), (V{}));
}

TEST_F(StorageSessionQueryTest, SeveralSelectorsDeliverEachSessionOnceAndStopOnRequest) {
  EXPECT_EQ(
      query(R"([{"ip":"100.64.1.7"},{"subscriber":"alice"},{"prefix":"100.64.1.0/24"}])", 0, 8),
      (V{"alice/closed", "bob/open", "dave/closed"}));
  EXPECT_EQ(query(R"([{"prefix":"100.64.1.0/24"}])", 0, 8, nullptr, 1), (V{"alice/closed"}));
}

TEST_F(StorageSessionQueryTest, CompletenessNamesTheHoursWithoutShards) {
  QueryCompleteness c;
  query(R"([{"ip":"100.64.1.7"}])", 0, 8, &c);
  EXPECT_TRUE(c.uncovered.empty());
  EXPECT_GT(c.shards_searched, 0u);
  EXPECT_TRUE(c.complete());
  // Two hours before the first shard: uncovered, so the answer is incomplete.
  query(R"([{"ip":"100.64.1.7"}])", -2, 1, &c);
  ASSERT_EQ(c.uncovered.size(), 1u);
  EXPECT_EQ(c.uncovered[0].from, t0_ - 2 * kHour);
  EXPECT_EQ(c.uncovered[0].to, t0_);
  EXPECT_FALSE(c.complete());
}

// The storage helper behind the seam stops reading at its bound instead of growing.
TEST_F(StorageSessionQueryTest, StorageRefusesMoreSessionsThanItsBound) {
  const storage::QueryEngine engine(options());
  storage::SessionQuery q;
  q.prefix = IpPrefix::parse("100.64.1.0/24").value();
  q.from = t0_;
  q.to = t0_ + 8 * kHour;
  q.max_sessions = 3;
  auto fits = engine.sessions_report(q);
  ASSERT_TRUE(fits) << fits.error().message;
  EXPECT_EQ(fits->sessions.size(), 3u);
  q.max_sessions = 2;
  auto refused = engine.sessions_report(q);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kLimit);
}

}  // namespace
}  // namespace conntrail::agent
