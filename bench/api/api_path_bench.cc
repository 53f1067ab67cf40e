// bench/api/api_path_bench.cc — the per-row pieces of a lawful result stream,
// each on its own (Google Benchmark): the row formatter (CSV, NDJSON), the
// Community ID inside it, SHA-256 over delivered bytes, and the whole
// ResultStream (query thread → format → hash) draining into a buffer. With
// CONNTRAIL_BENCH_STORE=DIR (a data directory from api_bench_store) also the
// storage query engine's decode of that store. Numbers are in
// docs/PERFORMANCE.md ("Lawful API").
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "agent/api/result_stream.h"
#include "core/flow_format.h"
#include "storage/hash/sha256.h"
#include "storage/query/query_engine.h"
#include "tests/storage/synthetic_flows.h"

namespace {

using namespace conntrail;

const std::vector<FlowRecord>& sample_flows() {
  static const std::vector<FlowRecord> flows = [] {
    testing::SyntheticFlows gen({});
    return gen.take(1 << 16);
  }();
  return flows;
}

void format_rows(benchmark::State& state, OutputFormat format) {
  const auto& flows = sample_flows();
  const FlowFormatter formatter(format, TimeFormat::kEpoch);
  std::string out;
  out.reserve(1 << 20);
  std::size_t i = 0;
  std::uint64_t bytes = 0;
  for (auto _ : state) {
    formatter.append_row(flows[i++ & (flows.size() - 1)], out);
    if (out.size() > (1 << 19)) {
      bytes += out.size();
      out.clear();
    }
  }
  bytes += out.size();
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}

void BM_FormatNdjson(benchmark::State& state) { format_rows(state, OutputFormat::kNdjson); }
void BM_FormatCsv(benchmark::State& state) { format_rows(state, OutputFormat::kCsv); }
BENCHMARK(BM_FormatNdjson);
BENCHMARK(BM_FormatCsv);

void BM_CommunityId(benchmark::State& state) {
  const auto& flows = sample_flows();
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(community_id(flows[i++ & (flows.size() - 1)]));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CommunityId);

void BM_Sha256(benchmark::State& state) {
  const std::string chunk(static_cast<std::size_t>(state.range(0)), 'x');
  storage::Sha256 h;
  for (auto _ : state) h.update(chunk);
  benchmark::DoNotOptimize(h.digest());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * chunk.size()));
}
BENCHMARK(BM_Sha256)->Arg(16 * 1024);

// The whole stream without the network: a query function replaying the sample
// rows, the stream's threads, and a consumer that reads 16 KiB at a time (as
// nghttp2 does) on this thread.
void stream_rows(benchmark::State& state, OutputFormat format) {
  const auto& flows = sample_flows();
  const std::uint64_t rows = static_cast<std::uint64_t>(state.range(0));
  agent::FlowQueryFn query =
      [&](const agent::QuerySpec&,
          const agent::FlowRowFn& on_row) -> Result<agent::QueryCompleteness> {
    for (std::uint64_t i = 0; i < rows; ++i) {
      if (!on_row(flows[i & (flows.size() - 1)])) break;
    }
    return agent::QueryCompleteness{};
  };
  std::vector<char> buf(16 * 1024);
  for (auto _ : state) {
    std::mutex mu;
    std::condition_variable cv;
    bool resumed = false;
    agent::ResultStream stream(query, {}, format, TimeFormat::kEpoch, 1 << 20,
                               [](const agent::DeliverySummary&) {});
    stream.set_resume([&] {
      std::lock_guard lock(mu);
      resumed = true;
      cv.notify_one();
    });
    for (;;) {
      const auto c = stream.read(buf);
      if (c.status == http2::BodySource::Status::kData) continue;
      if (c.status != http2::BodySource::Status::kWouldBlock) break;
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return resumed; });
      resumed = false;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * rows));
}
void BM_StreamNdjson(benchmark::State& state) { stream_rows(state, OutputFormat::kNdjson); }
void BM_StreamCsv(benchmark::State& state) { stream_rows(state, OutputFormat::kCsv); }
BENCHMARK(BM_StreamNdjson)->Arg(1'000'000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_StreamCsv)->Arg(1'000'000)->Unit(benchmark::kMillisecond)->UseRealTime();

// The storage side alone: every row of a store, decoded and dropped.
void BM_StoreDecode(benchmark::State& state) {
  const char* dir = std::getenv("CONNTRAIL_BENCH_STORE");
  if (dir == nullptr) {
    state.SkipWithError("set CONNTRAIL_BENCH_STORE to an api_bench_store data directory");
    return;
  }
  storage::StoreOptions options;
  options.data_dir = dir;
  const storage::QueryEngine engine(options);
  storage::Query q;
  q.prefix = IpPrefix::parse(state.range(0) == 4 ? "100.64.0.0/16" : "2001:db8::/48").value();
  q.from = 0;
  q.to = std::int64_t{4'000'000'000} * kNsPerSecond;
  std::uint64_t rows = 0;
  for (auto _ : state) {
    auto r = engine.run(q, [&](const FlowRecord&) {
      ++rows;
      return true;
    });
    if (!r) state.SkipWithError(r.error().message.c_str());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(rows));
}
// Arg: 4 for the bulk request's IPv4 selector, 6 for its IPv6 one.
BENCHMARK(BM_StoreDecode)->Arg(4)->Arg(6)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
