// bench/storage/storage_bench.cc — the storage numbers of docs/PERFORMANCE.md ("Storage").
//
// A plain timed program (not a test): synthetic flows (tests/storage/synthetic_flows.h)
// through the real code paths, on this machine, in a few minutes.
//   1. open-shard ingest: OpenShard::append_flows on one thread, and FlowWriter
//      end to end (producer thread -> bounded queue -> writer thread);
//   2. sealing: seal_shard() of that open shard (read, sort, compress, index, hash);
//   3. sustained: FlowWriter with background sealing while data moves through hours;
//   4. bytes per flow, open and sealed, everything included;
//   5. query latency p50/p99, warm and cold (drop_caches before each cold query):
//      address+port at an instant and one address over 1 h on the big shard;
//      one address over 1 day and 30 days on 720 hourly shards.
// Usage: storage_bench [flows_per_hour=3000000] [flows_per_hour_30d=20000] [dir]
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "bench/storage/bench_support.h"
#include "storage/manifest/manifest.h"
#include "storage/query/query_engine.h"
#include "storage/seal/seal_shard.h"
#include "storage/seal/sealer.h"
#include "storage/shard/open_shard.h"
#include "storage/shard/shard_counts.h"
#include "storage/shard/shard_name.h"
#include "storage/store/flow_writer.h"
#include "tests/storage/synthetic_flows.h"

using namespace conntrail;
using conntrail::bench::cpu_seconds;
using conntrail::bench::drop_caches;
using namespace conntrail::storage;
using Steady = std::chrono::steady_clock;

constexpr int kSustainedHours = 12;

namespace {

constexpr TimestampNs kHour = 3600 * kNsPerSecond;
const TimestampNs kStart = (1'790'000'000LL / 3600) * 3600 * kNsPerSecond;

double seconds_since(Steady::time_point t0) {
  return std::chrono::duration<double>(Steady::now() - t0).count();
}

struct Latency {
  double p50 = 0, p99 = 0, max = 0;
  std::uint64_t rows = 0;
  double cpu_ms = 0;  // mean CPU per query, all threads
};

Latency percentiles(std::vector<double> ms, std::uint64_t rows) {
  if (ms.empty()) return {};
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) {
    return ms[std::min(ms.size() - 1,
                       static_cast<std::size_t>(q * static_cast<double>(ms.size())))];
  };
  return {at(0.5), at(0.99), ms.back(), rows};
}

std::vector<FlowRecord> hour_of_flows(std::size_t n, std::uint64_t seed, TimestampNs start) {
  testing::SyntheticFlows gen(
      {.seed = seed, .flows_per_second = static_cast<double>(n) / 3600.0, .start = start});
  std::vector<FlowRecord> v;
  v.reserve(n);
  while (v.size() < n) {
    auto f = gen.next();
    if (f.first_ts >= start + kHour) break;
    v.push_back(std::move(f));
  }
  return v;
}

Latency time_queries(const QueryEngine& engine, const std::vector<Query>& qs, bool cold) {
  std::vector<double> ms;
  std::uint64_t rows = 0;
  double cpu = 0;
  for (const auto& q : qs) {
    if (cold && !drop_caches()) return {};
    const double c0 = cpu_seconds();
    const auto t0 = Steady::now();
    auto s = engine.run(q, [&](const FlowRecord&) {
      ++rows;
      return true;
    });
    ms.push_back(seconds_since(t0) * 1000.0);
    cpu += cpu_seconds() - c0;
    if (!s) std::fprintf(stderr, "query failed: %s\n", s.error().message.c_str());
  }
  auto l = percentiles(ms, rows);
  if (!qs.empty()) l.cpu_ms = cpu * 1000.0 / static_cast<double>(qs.size());
  return l;
}

void print_latency(const char* what, const Latency& warm, const Latency& cold, std::size_t nq_warm,
                   std::size_t nq_cold) {
  std::printf("| %s | %.3f | %.3f | %.3f | %.2f | %.2f | %.1f | %zu / %zu |\n", what, warm.p50,
              warm.p99, warm.cpu_ms, cold.p50, cold.p99,
              nq_warm ? static_cast<double>(warm.rows) / static_cast<double>(nq_warm) : 0.0,
              nq_warm, nq_cold);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t per_hour = argc > 1 ? std::stoul(argv[1]) : 3'000'000;
  const std::size_t per_hour_30d = argc > 2 ? std::stoul(argv[2]) : 20'000;
  const std::filesystem::path root = argc > 3 ? argv[3] : "/tmp/conntrail-storage-bench";
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root);
  const bool can_drop = drop_caches();

  std::printf("## storage_bench: %zu flows in one hour shard; 30 days x %zu flows/hour\n\n",
              per_hour, per_hour_30d);
  auto t = Steady::now();
  const auto flows = hour_of_flows(per_hour, 42, kStart);
  std::printf("generated %zu flows in %.1f s\n\n", flows.size(), seconds_since(t));
  const ShardPeriod period{kStart, 3600};

  // 1a. OpenShard on one thread, batches of 65536 (one transaction each).
  {
    const auto dir = root / "append";
    auto shard = OpenShard::open(shard_path(dir, period, ShardForm::kOpen), period);
    if (!shard) return 1;
    codec::FlowBlockEncoder enc(1);
    const double c0 = cpu_seconds();
    t = Steady::now();
    for (std::size_t off = 0; off < flows.size(); off += 65536) {
      const auto part =
          std::span(flows).subspan(off, std::min<std::size_t>(65536, flows.size() - off));
      if (!shard->begin() || !shard->append_flows(part, enc) || !shard->commit()) return 1;
    }
    const double secs = seconds_since(t);
    const double cpu = cpu_seconds() - c0;
    (void)shard->checkpoint();
    std::printf(
        "| open-shard append, one thread (OpenShard::append_flows, 64 Ki batches) | %.2f M flows/s "
        "wall | %.2f M flows per CPU-second |\n",
        static_cast<double>(flows.size()) / secs / 1e6,
        static_cast<double>(flows.size()) / cpu / 1e6);
  }
  // 1b. FlowWriter end to end.
  const auto store = root / "store";
  {
    StoreOptions o;
    o.data_dir = store;
    o.seal_in_background = false;
    o.queue_capacity = 1u << 20;
    o.clock = [] { return kStart + kHour / 2; };
    auto w = FlowWriter::start(o);
    if (!w) return 1;
    auto copy = flows;
    const double c0 = cpu_seconds();
    t = Steady::now();
    std::uint64_t spins = 0;
    for (auto& f : copy) {
      while (!(*w)->try_push(std::move(f))) {
        ++spins;
        std::this_thread::yield();
      }
    }
    (*w)->flush();
    const double secs = seconds_since(t);
    const double cpu = cpu_seconds() - c0;
    (*w)->stop();
    std::printf(
        "| FlowWriter end to end (producer thread + writer thread, 1 s / 64 Ki batches) | %.2f M "
        "flows/s wall | %.2f M flows per CPU-second (both threads; producer waited on a full queue "
        "%llu times) |\n",
        static_cast<double>(flows.size()) / secs / 1e6,
        static_cast<double>(flows.size()) / cpu / 1e6, static_cast<unsigned long long>(spins));
  }
  const auto open_path = shard_path(store, period, ShardForm::kOpen);
  const double open_bytes = static_cast<double>(shard_bytes_on_disk(open_path));
  std::printf("| open shard size | %.1f bytes/flow |\n",
              open_bytes / static_cast<double>(flows.size()));

  // 2. Sealing.
  {
    Manifest manifest(store);
    const double c0 = cpu_seconds();
    t = Steady::now();
    auto r = seal_shard(store, period, SealOptions{}, manifest, kStart + 2 * kHour);
    const double secs = seconds_since(t);
    const double cpu = cpu_seconds() - c0;
    if (!r) {
      std::fprintf(stderr, "seal: %s\n", r.error().message.c_str());
      return 1;
    }
    std::printf(
        "| sealing (read open shard, sort, compress, index, fsync, SHA-256, manifest) | %.2f M "
        "flows/s wall (%.2f s) | %.2f M flows per CPU-second |\n",
        static_cast<double>(r->rows) / secs / 1e6, secs, static_cast<double>(r->rows) / cpu / 1e6);
    std::printf("| sealed shard size, all indexes included | %.1f bytes/flow |\n",
                static_cast<double>(r->bytes) / static_cast<double>(r->rows));
  }

  // 3. Sustained: 12 hours of data at full speed, sealing in the background.
  //    Twelve hours (of per_hour / 6 flows each) so that the last hour's seal,
  //    which nothing overlaps, is a small part of the total: the steady state
  //    "ingest and sealing together, indefinitely" is what the goal asks.
  {
    StoreOptions o;
    o.data_dir = root / "sustained";
    o.queue_capacity = 1u << 20;
    o.seal_on_stop = true;
    std::atomic<TimestampNs> data_clock{kStart};
    o.clock = [&] { return data_clock.load(); };
    const TimestampNs s0 = kStart + 24 * kHour;
    std::vector<std::vector<FlowRecord>> hours;
    for (int h = 0; h < kSustainedHours; ++h) {
      hours.push_back(hour_of_flows(per_hour / 6, 7 + h, s0 + h * kHour));
    }
    std::size_t total = 0;
    for (auto& h : hours) total += h.size();
    auto w = FlowWriter::start(o);
    if (!w) return 1;
    const double c0 = cpu_seconds();
    t = Steady::now();
    for (auto& h : hours) {
      for (auto& f : h) {
        data_clock = f.first_ts;
        while (!(*w)->try_push(std::move(f))) std::this_thread::yield();
      }
    }
    data_clock = s0 + (kSustainedHours + 1) * kHour;  // the last hour is due too: stop() seals it
    (*w)->stop();
    const double secs = seconds_since(t);
    const double cpu = cpu_seconds() - c0;
    std::printf(
        "| sustained ingest + sealing (%zu flows over 12 hours of data, all sealed at the end) | "
        "%.2f M flows/s wall (%llu shards sealed) | %.2f M flows per CPU-second, %.2f cores busy "
        "on average |\n",
        total, static_cast<double>(total) / secs / 1e6,
        static_cast<unsigned long long>((*w)->stats().shards_sealed),
        static_cast<double>(total) / cpu / 1e6, cpu / secs);
  }

  // 5a. Queries on the big sealed shard.
  StoreOptions qo;
  qo.data_dir = store;
  qo.clock = [] { return kStart + 2 * kHour; };
  QueryEngine engine(qo);
  std::printf(
      "\n| query | warm p50 ms | warm p99 ms | warm CPU ms/query | cold p50 ms | cold p99 ms | "
      "rows/query | queries warm / cold |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  testing::SyntheticFlows pick({.seed = 99});
  auto random_flow = [&](const std::vector<FlowRecord>& v) -> const FlowRecord& {
    return v[static_cast<std::size_t>(pick.next().src_port) * 7919u % v.size()];
  };
  std::vector<Query> port_q, hour_q, server_q;
  for (int i = 0; i < 200; ++i) {
    const auto& f = random_flow(flows);
    port_q.push_back(
        {.ip = f.src_ip, .port = f.src_port, .from = f.first_ts, .to = f.first_ts + 1});
    hour_q.push_back({.ip = f.src_ip, .from = kStart, .to = kStart + kHour});
    server_q.push_back({.ip = f.dst_ip, .from = kStart, .to = kStart + kHour});
  }
  const std::size_t n_cold = can_drop ? 15 : 0;
  auto cold_of = [&](const std::vector<Query>& qs) {
    return std::vector<Query>(qs.begin(), qs.begin() + static_cast<std::ptrdiff_t>(n_cold));
  };
  auto warm_port = time_queries(engine, port_q, false);
  print_latency("address+port at an instant (1 h shard)", warm_port,
                time_queries(engine, cold_of(port_q), true), port_q.size(), n_cold);
  auto warm_hour = time_queries(engine, hour_q, false);
  print_latency("one subscriber address over 1 h", warm_hour,
                time_queries(engine, cold_of(hour_q), true), hour_q.size(), n_cold);
  auto warm_server =
      time_queries(engine, std::vector<Query>(server_q.begin(), server_q.begin() + 50), false);
  print_latency(
      "one server address (other endpoint, Zipf-popular) over 1 h", warm_server,
      time_queries(engine,
                   std::vector<Query>(server_q.begin(), server_q.begin() + (can_drop ? 5 : 0)),
                   true),
      50, can_drop ? 5 : 0);

  // 5b. 30 days of hourly sealed shards (skipped when flows_per_hour_30d is 0).
  if (per_hour_30d > 0) {
    const auto dir30 = root / "days30";
    t = Steady::now();
    std::vector<FlowRecord> sample;
    for (int h = 0; h < 720; ++h) {
      const ShardPeriod p{kStart + h * kHour, 3600};
      auto hour = hour_of_flows(per_hour_30d, 1000 + static_cast<std::uint64_t>(h), p.start);
      if (h % 24 == 0) sample.push_back(hour[hour.size() / 3]);
      const auto path = shard_path(dir30, p, ShardForm::kSealed);
      std::filesystem::create_directories(path.parent_path());
      if (!write_sealed_file(path, p, hour, {}, {}, SealOptions{})) return 1;
    }
    std::printf("\n(30-day store: 720 sealed shards, %zu flows each, built in %.1f s)\n\n",
                per_hour_30d, seconds_since(t));
    StoreOptions o30;
    o30.data_dir = dir30;
    o30.clock = [] { return kStart + 31LL * 24 * kHour; };
    QueryEngine e30(o30);
    std::vector<Query> day_q, month_q;
    for (const auto& f : sample) {
      day_q.push_back(
          {.ip = f.src_ip, .from = kStart + 10 * 24 * kHour, .to = kStart + 11 * 24 * kHour});
      month_q.push_back({.ip = f.src_ip, .from = kStart, .to = kStart + 30 * 24 * kHour});
    }
    std::printf(
        "| query | warm p50 ms | warm p99 ms | warm CPU ms/query | cold p50 ms | cold p99 ms | "
        "rows/query | queries warm / cold |\n");
    std::printf("|---|---|---|---|---|---|---|---|\n");
    const std::size_t c30 = can_drop ? 8 : 0;
    auto first = [&](const std::vector<Query>& qs, std::size_t n) {
      return std::vector<Query>(qs.begin(),
                                qs.begin() + static_cast<std::ptrdiff_t>(std::min(n, qs.size())));
    };
    print_latency("one subscriber address over 1 day (24 shards)", time_queries(e30, day_q, false),
                  time_queries(e30, first(day_q, c30), true), day_q.size(), c30);
    print_latency("one subscriber address over 30 days (720 shards)",
                  time_queries(e30, month_q, false), time_queries(e30, first(month_q, c30), true),
                  month_q.size(), c30);
    std::uint64_t bytes = 0;
    for (auto& e : std::filesystem::recursive_directory_iterator(dir30)) {
      if (e.is_regular_file()) bytes += e.file_size();
    }
    std::printf("\n30-day store: %.1f bytes/flow\n",
                static_cast<double>(bytes) / (720.0 * static_cast<double>(per_hour_30d)));
  }
  if (!can_drop)
    std::printf("\ncold-cache columns empty: /proc/sys/vm/drop_caches not writable here\n");
  std::filesystem::remove_all(root);
  return 0;
}
