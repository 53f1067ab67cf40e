// Streamed results: bounded memory whatever the size, early stop when the
// client goes away, query errors, completeness, and the stream limit.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>

#include "agent/api/result_stream.h"
#include "api_test_support.h"
#include "storage/hash/sha256.h"

namespace conntrail::agent::testing {
namespace {

using Json = nlohmann::json;
using Status = http2::BodySource::Status;

// A query that produces `rows` rows and records how far it ran ahead of the consumer.
struct BigQuery {
  explicit BigQuery(std::uint64_t n) : rows(n) {}
  std::uint64_t rows;
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
  // A stream of these rows (epoch times) that leaves its delivery in `summary`.
  std::unique_ptr<ResultStream> stream(OutputFormat format, std::size_t limit,
                                       DeliverySummary& summary) {
    return std::make_unique<ResultStream>(fn(), QuerySpec{}, format, TimeFormat::kEpoch, limit,
                                          [&summary](const DeliverySummary& d) { summary = d; });
  }
};

// Reads `s` to its end in 4 KiB reads, waiting on resume; returns the body and
// how many rows (lines) the producer, counting in `produced`, ran ahead of it.
struct Measured {
  std::string body;
  std::uint64_t max_rows_ahead = 0;
};
Measured read_measuring(ResultStream& s, const std::atomic<std::uint64_t>& produced) {
  std::mutex mu;
  std::condition_variable cv;
  bool woken = false;
  s.set_resume([&] {
    std::lock_guard lock(mu);
    woken = true;
    cv.notify_all();
  });
  std::vector<char> buf(4096);
  Measured m;
  std::uint64_t consumed_rows = 0;
  for (;;) {
    {
      std::lock_guard lock(mu);
      woken = false;
    }
    auto c = s.read(buf);
    if (c.status == Status::kData) {
      m.body.append(buf.data(), c.length);
      consumed_rows +=
          static_cast<std::uint64_t>(std::count(buf.begin(), buf.begin() + c.length, '\n'));
      const std::uint64_t now = produced.load();
      m.max_rows_ahead = std::max(m.max_rows_ahead, now - std::min(now, consumed_rows));
      continue;
    }
    if (c.status == Status::kWouldBlock) {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return woken; });
      continue;
    }
    EXPECT_EQ(c.status, Status::kEnd);
    break;
  }
  return m;
}

std::uint64_t lines(const std::string& s) {
  return static_cast<std::uint64_t>(std::count(s.begin(), s.end(), '\n'));
}

TEST(ResultStreamTest, MemoryStaysBoundedWhateverTheResultSize) {
  BigQuery q(200'000);
  const std::size_t limit = 64 * 1024;
  DeliverySummary summary;
  auto s = q.stream(OutputFormat::kNdjson, limit, summary);
  const Measured m = read_measuring(*s, q.produced);
  EXPECT_EQ(lines(m.body), q.rows);
  EXPECT_EQ(summary.records, q.rows);
  EXPECT_EQ(summary.bytes, m.body.size());
  EXPECT_EQ(summary.sha256, storage::sha256_hex(m.body));
  EXPECT_TRUE(summary.finished);
  // Rows are ~450 bytes: the producer can be at most one buffer (plus one row) ahead.
  EXPECT_LT(m.max_rows_ahead * 300, 2 * limit + 4096)
      << "producer ran " << m.max_rows_ahead << " rows ahead";
}

// An injected producer (subscriber sessions, the attribution answer) gets the
// same bounded, hashed delivery, and a row counts as the records it carries.
TEST(ResultStreamTest, ProducerRowsAreBoundedAndEveryRecordIsCountedOnce) {
  std::atomic<std::uint64_t> produced{0};
  const std::uint64_t rows = 100'000;
  ResultStream::Produce produce = [&](ResultStream::RowSink& sink) -> Result<QueryCompleteness> {
    for (std::uint64_t i = 0; i < rows; ++i) {
      if (!sink.add(fmt::format("{{\"row\":{}}}\n", i))) return QueryCompleteness{};
      ++produced;
    }
    if (!sink.add("{\"summary\":3}\n", 3)) return QueryCompleteness{};  // a document of 3
    return QueryCompleteness{};
  };
  DeliverySummary summary;
  const std::size_t limit = 64 * 1024;
  ResultStream s(produce, "header\n", limit, [&](const DeliverySummary& d) { summary = d; });
  const Measured m = read_measuring(s, produced);
  // Rows are ~12 bytes: how far the producer ran ahead of the reader, in bytes.
  EXPECT_LT(m.max_rows_ahead * 12, 4 * limit) << "the producer ran far ahead of the reader";
  EXPECT_EQ(summary.records, rows + 3) << "the header is not a record";
  EXPECT_TRUE(summary.finished);
  EXPECT_EQ(summary.bytes, m.body.size());
  EXPECT_EQ(summary.sha256, storage::sha256_hex(m.body));
  EXPECT_TRUE(m.body.starts_with("header\n{\"row\":0}\n"));
  EXPECT_TRUE(m.body.ends_with("{\"row\":99999}\n{\"summary\":3}\n"));
}

TEST(ResultStreamTest, AbandonedStreamStopsTheQueryAndReportsWhatWasDelivered) {
  BigQuery q(1'000'000);
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

TEST(ResultStreamTest, DroppedProducerStreamStopsTheProducerAndCountsOnlyWholeRows) {
  std::atomic<bool> stopped{false};
  ResultStream::Produce produce = [&](ResultStream::RowSink& sink) -> Result<QueryCompleteness> {
    for (;;) {
      if (!sink.add(std::string(100, 'x') + "\n")) {
        stopped = true;
        return QueryCompleteness{};
      }
    }
  };
  DeliverySummary summary;
  int calls = 0;
  {
    ResultStream s(produce, "", 64 * 1024, [&](const DeliverySummary& d) {
      summary = d;
      ++calls;
    });
    s.set_resume([] {});
    std::vector<char> buf(1000);
    while (s.read(buf).status != Status::kData) {
    }
  }
  EXPECT_TRUE(stopped);
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(summary.finished);
  EXPECT_EQ(summary.bytes, 1000u);
  EXPECT_EQ(summary.records, 9u) << "only rows whose every byte was handed over";
}

// Reads a stream to its end with reads of varying sizes (as nghttp2's flow
// control makes them), waiting on resume; returns the bytes and the end status.
struct ReadAll {
  std::string bytes;
  Status end = Status::kEnd;
};
ReadAll read_all(ResultStream& s, std::size_t max_bytes = ~std::size_t{0}) {
  std::mutex mu;
  std::condition_variable cv;
  bool woken = false;
  s.set_resume([&] {
    std::lock_guard lock(mu);
    woken = true;
    cv.notify_all();
  });
  ReadAll r;
  std::vector<char> buf(7001);
  std::size_t step = 1;
  while (r.bytes.size() < max_bytes) {
    {
      std::lock_guard lock(mu);
      woken = false;
    }
    step = step * 7 % 7001 + 1;  // 1 .. 7001 bytes, never the block size
    const std::size_t want = std::min(step, max_bytes - r.bytes.size());
    auto c = s.read(std::span<char>(buf.data(), want));
    if (c.status == Status::kData) {
      r.bytes.append(buf.data(), c.length);
      continue;
    }
    if (c.status == Status::kWouldBlock) {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return woken; });
      continue;
    }
    r.end = c.status;
    break;
  }
  return r;
}

// The body is exactly the formatter's header and rows, in order, whatever the
// block boundaries and read sizes; the summary's count and digest are of it.
TEST(ResultStreamTest, BodyIsTheFormattedRowsInOrderAndTheDigestIsOfThem) {
  for (auto format : {OutputFormat::kCsv, OutputFormat::kNdjson}) {
    BigQuery q(20'000);
    std::string want;
    const FlowFormatter formatter(format, TimeFormat::kEpoch);
    want = formatter.header();
    q.fn()(QuerySpec{}, [&](const FlowRecord& f) {
      formatter.append_row(f, want);
      return true;
    });
    q.produced = 0;
    DeliverySummary summary;
    ReadAll got;
    {
      auto s = q.stream(format, 64 * 1024, summary);
      got = read_all(*s);
    }
    EXPECT_EQ(got.end, Status::kEnd);
    ASSERT_EQ(got.bytes.size(), want.size());
    EXPECT_TRUE(got.bytes == want);
    EXPECT_EQ(summary.records, q.rows);
    EXPECT_EQ(summary.bytes, want.size());
    EXPECT_EQ(summary.sha256, storage::sha256_hex(want));
    EXPECT_TRUE(summary.finished);
  }
}

// A client that goes away mid-block: the digest is of exactly the bytes it
// was handed (including blocks the worker had not hashed yet and the cut
// block's prefix), and rows count only when complete.
TEST(ResultStreamTest, AbandonedStreamDigestIsOfTheDeliveredBytesExactly) {
  for (std::size_t cut : {1u, 4095u, 70'001u, 300'007u}) {
    BigQuery q(1'000'000);
    DeliverySummary summary;
    ReadAll got;
    {
      auto s = q.stream(OutputFormat::kNdjson, 256 * 1024, summary);
      got = read_all(*s, cut);
    }
    ASSERT_EQ(got.bytes.size(), cut);
    EXPECT_EQ(summary.bytes, cut);
    EXPECT_EQ(summary.sha256, storage::sha256_hex(got.bytes)) << "cut at " << cut;
    EXPECT_EQ(summary.records, lines(got.bytes));
    EXPECT_FALSE(summary.finished);
    EXPECT_TRUE(q.stopped_early);
  }
}

// Back-pressure: a client that stops reading stops the query. The worker
// fills the queue and waits; how far it got is bounded by the buffer whatever
// the result size.
TEST(ResultStreamTest, ClientThatStopsReadingStopsTheQuery) {
  BigQuery q(5'000'000);
  const std::size_t limit = 128 * 1024;
  DeliverySummary summary;
  {
    auto s = q.stream(OutputFormat::kCsv, limit, summary);
    const ReadAll got = read_all(*s, 10'000);  // then nothing more is read
    // Wait until the worker stops making progress (it blocks on the full queue).
    std::uint64_t last = ~std::uint64_t{0};
    for (int still = 0; still < 20;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      const std::uint64_t now = q.produced.load();
      still = now == last ? still + 1 : 0;
      last = now;
    }
    // CSV rows here are > 100 bytes: queue + one block + delivered bytes.
    EXPECT_LT(q.produced.load() * 100, 2 * limit + 10'000) << q.produced.load() << " rows";
    EXPECT_EQ(got.bytes.size(), 10'000u);
  }
  EXPECT_TRUE(q.stopped_early);
  EXPECT_EQ(summary.bytes, 10'000u);
}

// A query that fails after some rows: the rows already formatted are
// delivered, the body ends with kError, and the digest and count cover them.
TEST(ResultStreamTest, QueryErrorMidStreamDeliversTheRowsBeforeItAndEndsWithError) {
  BigQuery q(3'000);
  auto inner = q.fn();
  FlowQueryFn failing = [&](const QuerySpec& spec,
                            const FlowRowFn& on_row) -> Result<QueryCompleteness> {
    (void)inner(spec, on_row);
    return fail(ErrorCode::kIo, "shard unreadable");
  };
  DeliverySummary summary;
  ReadAll got;
  {
    ResultStream s(failing, QuerySpec{}, OutputFormat::kNdjson, TimeFormat::kEpoch, 64 * 1024,
                   [&](const DeliverySummary& d) { summary = d; });
    got = read_all(s);
  }
  EXPECT_EQ(got.end, Status::kError);
  EXPECT_EQ(lines(got.bytes), q.rows);
  EXPECT_EQ(summary.records, q.rows);
  EXPECT_EQ(summary.sha256, storage::sha256_hex(got.bytes));
  EXPECT_FALSE(summary.finished);
  EXPECT_EQ(summary.error, "shard unreadable");
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
