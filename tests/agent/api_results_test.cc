// Streamed results: bounded memory whatever the size, early stop when the
// client goes away, query errors, completeness, and the stream limit.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
#include <filesystem>
#include <mutex>

#include "agent/api/result_stream.h"
#include "api_test_support.h"
#include "storage/hash/sha256.h"

namespace conntrail::agent::testing {
namespace {

using Json = nlohmann::json;
using Status = http2::BodySource::Status;

// A query that produces `rows` rows and records how far it ran ahead of the consumer.
struct BigQuery {
  std::uint64_t rows = 0;
  std::atomic<std::uint64_t> produced{0};
  std::atomic<bool> stopped_early{false};

  FlowQueryFn fn() {
    return [this](const QuerySpec&, const FlowRowFn& on_row) -> Result<QueryCompleteness> {
      for (std::uint64_t i = 0; i < rows; ++i) {
        FlowRecord f =
            make_flow("192.0.2.10", static_cast<std::uint16_t>(i % 60000), "198.51.100.1", 443,
                      *parse_time("2026-11-01T10:00:00Z") + static_cast<TimestampNs>(i));
        if (!on_row(f)) {
          stopped_early = true;
          return QueryCompleteness{};
        }
        ++produced;
      }
      return QueryCompleteness{};
    };
  }
};

TEST(ResultStreamTest, MemoryStaysBoundedWhateverTheResultSize) {
  BigQuery q;
  q.rows = 200'000;
  const std::size_t limit = 64 * 1024;
  DeliverySummary summary;
  ResultStream s(q.fn(), QuerySpec{}, OutputFormat::kNdjson, TimeFormat::kEpoch, limit,
                 [&](const DeliverySummary& d) { summary = d; });
  std::mutex mu;
  std::condition_variable cv;
  bool woken = false;
  s.set_resume([&] {
    std::lock_guard lock(mu);
    woken = true;
    cv.notify_all();
  });
  std::vector<char> buf(4096);
  std::uint64_t consumed_rows = 0;
  std::uint64_t max_ahead = 0;
  storage::Sha256 hash;
  std::uint64_t bytes = 0;
  for (;;) {
    {
      std::lock_guard lock(mu);
      woken = false;
    }
    auto c = s.read(buf);
    if (c.status == Status::kData) {
      hash.update(std::string_view(buf.data(), c.length));
      bytes += c.length;
      consumed_rows +=
          static_cast<std::uint64_t>(std::count(buf.begin(), buf.begin() + c.length, '\n'));
      max_ahead =
          std::max(max_ahead, q.produced.load() - std::min(q.produced.load(), consumed_rows));
      continue;
    }
    if (c.status == Status::kWouldBlock) {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return woken; });
      continue;
    }
    ASSERT_EQ(c.status, Status::kEnd);
    break;
  }
  EXPECT_EQ(consumed_rows, q.rows);
  EXPECT_EQ(summary.records, q.rows);
  EXPECT_EQ(summary.bytes, bytes);
  EXPECT_EQ(summary.sha256, hash.hex());
  EXPECT_TRUE(summary.finished);
  // Rows are ~450 bytes: the producer can be at most one buffer (plus one row) ahead.
  EXPECT_LT(max_ahead * 300, 2 * limit + 4096) << "producer ran " << max_ahead << " rows ahead";
}

TEST(ResultStreamTest, AbandonedStreamStopsTheQueryAndReportsWhatWasDelivered) {
  BigQuery q;
  q.rows = 1'000'000;
  DeliverySummary summary;
  int calls = 0;
  {
    ResultStream s(q.fn(), QuerySpec{}, OutputFormat::kNdjson, TimeFormat::kEpoch, 16 * 1024,
                   [&](const DeliverySummary& d) {
                     summary = d;
                     ++calls;
                   });
    s.set_resume([] {});
    std::vector<char> buf(1000);
    std::uint64_t got = 0;
    while (got < 5000) {
      auto c = s.read(buf);
      if (c.status == Status::kData) got += c.length;
    }
  }  // the server drops the stream: the destructor stops and joins the worker
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(q.stopped_early);
  EXPECT_LT(q.produced.load(), q.rows);
  EXPECT_FALSE(summary.finished);
  EXPECT_GE(summary.bytes, 5000u);
  EXPECT_FALSE(summary.error.empty());
}

TEST_F(ApiTest, QueryErrorEndsTheStreamWithAnErrorAndIsJournaled) {
  const std::string id = create_approved();
  flows_.clear();
  api_.reset();
  auto api = LawfulApi::open(
      options(),
      [](const QuerySpec&, const FlowRowFn& on_row) -> Result<QueryCompleteness> {
        on_row(make_flow("192.0.2.10", 1, "198.51.100.1", 2, *parse_time("2026-11-01T10:00:00Z")));
        return fail(ErrorCode::kIo, "shard unreadable");
      },
      [this] { return now_; });
  ASSERT_TRUE(api);
  api_ = std::move(*api);
  auto r = call(kCertA, "GET", "/v1/requests/" + id + "/results");
  ASSERT_EQ(r.status, 200);
  Drained d = drain(r);
  EXPECT_EQ(d.end, Status::kError);
  r = {};
  auto deliveries = journal_entries("result_delivered");
  ASSERT_EQ(deliveries.size(), 1u);
  EXPECT_EQ(deliveries[0]["fields"]["finished"], false);
  EXPECT_EQ(deliveries[0]["fields"]["records"], 1);
  EXPECT_EQ(deliveries[0]["fields"]["error"], "shard unreadable");
}

TEST_F(ApiTest, IncompleteDataIsReportedInTrailersAndManifest) {
  completeness_.shards_searched = 20;
  completeness_.uncovered.push_back(
      {*parse_time("2026-11-01T00:00:00Z"), *parse_time("2026-11-01T04:00:00Z")});
  const std::string id = create_approved();
  auto r = call(kCertA, "GET", "/v1/requests/" + id + "/results");
  Drained d = drain(r);
  r = {};
  bool saw = false;
  for (const auto& [k, v] : d.trailers) {
    if (k == "x-conntrail-complete") {
      saw = true;
      EXPECT_EQ(v, "false");
    }
  }
  EXPECT_TRUE(saw);
  Json m = json_of(call(kCertA, "GET", "/v1/requests/" + id + "/manifest"));
  EXPECT_EQ(m["last_delivery"]["complete"], false);
  EXPECT_EQ(m["last_delivery"]["completeness"]["shards_searched"], 20);
  EXPECT_EQ(m["last_delivery"]["completeness"]["uncovered"][0]["from"],
            "2026-11-01T00:00:00.000000Z");
}

TEST_F(ApiTest, QuerySeesOnlyTheRequestsSelectorsAndWindow) {
  QuerySpec seen;
  api_.reset();
  auto api = LawfulApi::open(
      options(),
      [&seen](const QuerySpec& spec, const FlowRowFn&) -> Result<QueryCompleteness> {
        seen = spec;
        return QueryCompleteness{};
      },
      [this] { return now_; });
  ASSERT_TRUE(api);
  api_ = std::move(*api);
  const std::string id =
      create(kCertA, R"([{"ip":"100.64.1.7","port":51000},{"subscriber":"alice@isp"}])");
  ASSERT_EQ(call(kCertB, "POST", "/v1/requests/" + id + "/approve").status, 200);
  auto r = call(kCertB, "GET", "/v1/requests/" + id + "/results");
  drain(r);
  EXPECT_EQ(seen.request_id, id);
  ASSERT_EQ(seen.selectors.size(), 2u);
  EXPECT_EQ(seen.selectors[0].address.to_string(), "100.64.1.7");
  EXPECT_EQ(seen.selectors[0].port, 51000);
  EXPECT_EQ(seen.selectors[1].subscriber, "alice@isp");
  EXPECT_EQ(seen.from, *parse_time("2026-11-01T00:00:00Z"));
  EXPECT_EQ(seen.to, *parse_time("2026-11-02T00:00:00Z"));
}

TEST_F(ApiTest, ConcurrentResultStreamsAreLimited) {
  options().max_result_streams = 1;
  open_api();
  const std::string id = create_approved();
  auto first = call(kCertA, "GET", "/v1/requests/" + id + "/results");
  ASSERT_EQ(first.status, 200);
  auto second = call(kCertB, "GET", "/v1/requests/" + id + "/results");
  EXPECT_EQ(second.status, 503);
  EXPECT_EQ(header_of(second, "retry-after"), "5");
  drain(first);
  first = {};
  auto third = call(kCertB, "GET", "/v1/requests/" + id + "/results");
  EXPECT_EQ(third.status, 200);
  drain(third);
}

TEST_F(ApiTest, NothingChangesAndNothingLeavesWhenTheJournalCannotBeWritten) {
  const std::string approved = create_approved();
  const std::string pending = create(kCertA);
  const std::string before = call(kCertA, "GET", "/v1/requests/" + pending).body;
  // Fault injection: a file-size limit at the journal's current size makes
  // every append fail (EFBIG), as a full disk would.
  struct rlimit old {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit capped = old;
  capped.rlim_cur = static_cast<rlim_t>(std::filesystem::file_size(journal_path_));
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &capped), 0);

  auto created = call(kCertA, "POST", "/v1/requests", request_body());
  auto approve = call(kCertB, "POST", "/v1/requests/" + pending + "/approve");
  auto results = call(kCertA, "GET", "/v1/requests/" + approved + "/results");
  const std::string after = call(kCertA, "GET", "/v1/requests/" + pending).body;

  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old), 0);
  std::signal(SIGXFSZ, old_handler);

  EXPECT_EQ(created.status, 503);
  EXPECT_EQ(approve.status, 503);
  EXPECT_EQ(results.status, 503);
  EXPECT_FALSE(results.stream);
  EXPECT_EQ(queries_, 0);
  EXPECT_EQ(after, before);
  EXPECT_EQ(json_of(call(kCertA, "GET", "/v1/requests"))["total"], 2);
  // Once space returns, the journal is intact and the service carries on.
  auto v = api_->verify_journal();
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->ok());
  EXPECT_EQ(call(kCertB, "POST", "/v1/requests/" + pending + "/approve").status, 200);
}

}  // namespace
}  // namespace conntrail::agent::testing
