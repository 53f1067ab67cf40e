// bench/storage/merge_bench.cc — what merging a finished day costs, and what it buys.
//
// A plain timed program (not a test), for docs/PERFORMANCE.md ("Merged days"):
// 24 hourly shards of synthetic flows (tests/storage/synthetic_flows.h) are
// written through FlowWriter and sealed (seal_due_shards, no merge); then
// merge_sealed_day() makes them one day shard. Printed: sealing and merging
// CPU per flow, the merge's peak memory (VmHWM, reset before it), bytes per
// flow before and after, and one subscriber over the day, warm and cold
// (cold needs root: drop_caches), on 24 shards and on the day shard.
// Usage: merge_bench [flows_per_hour=200000] [dir]
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bench/storage/bench_support.h"
#include "storage/query/query_engine.h"
#include "storage/seal/merge_day.h"
#include "storage/seal/sealer.h"
#include "storage/store/flow_writer.h"
#include "tests/storage/synthetic_flows.h"

using namespace conntrail;
using conntrail::bench::cpu_seconds;
using conntrail::bench::drop_caches;
using namespace conntrail::storage;
using Steady = std::chrono::steady_clock;

namespace {

constexpr TimestampNs kHour = 3600 * kNsPerSecond;
constexpr TimestampNs kDay = 24 * kHour;
const TimestampNs kDayStart = (1'790'000'000LL / 86400) * 86400 * kNsPerSecond;

// A "VmXxx:" line of /proc/self/status, in MB: VmRSS now, VmHWM the peak
// since the last reset_peak_rss().
double proc_status_mb(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::stod(line.substr(key.size() + 1)) / 1024.0;
  }
  return 0;
}
void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5\n"; }

std::uint64_t dir_bytes(const std::filesystem::path& dir) {
  std::uint64_t bytes = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().filename() != "manifest.jsonl") bytes += e.file_size();
  }
  return bytes;
}

// p50 / max of one-subscriber queries over the whole day, in ms.
std::pair<double, double> latency(const StoreOptions& o, const std::vector<IpAddress>& hosts,
                                  bool cold) {
  const QueryEngine engine(o);
  std::vector<double> ms;
  for (const auto& ip : hosts) {
    if (cold && !drop_caches()) return {-1, -1};
    const auto t = Steady::now();
    auto s = engine.run(Query{.ip = ip, .from = kDayStart, .to = kDayStart + kDay},
                        [](const FlowRecord&) { return true; });
    if (!s) {
      std::fprintf(stderr, "query: %s\n", s.error().message.c_str());
      std::exit(1);
    }
    ms.push_back(std::chrono::duration<double, std::milli>(Steady::now() - t).count());
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms.back()};
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t per_hour = argc > 1 ? std::stoull(argv[1]) : 200000;
  const std::filesystem::path dir = argc > 2 ? std::filesystem::path(argv[2])
                                             : std::filesystem::path("/tmp/conntrail-merge-bench");
  std::filesystem::remove_all(dir);
  StoreOptions o;
  o.data_dir = dir;
  o.seal_in_background = false;
  o.merge_sealed_days = false;
  o.queue_capacity = 1u << 20;
  TimestampNs now = kDayStart + 2 * kDay;
  o.clock = [&now] { return now; };

  testing::SyntheticFlows gen({.seed = 7,
                               .subscribers = 50000,
                               .servers = 200000,
                               .flows_per_second = static_cast<double>(per_hour) / 3600.0,
                               .start = kDayStart});
  std::vector<IpAddress> hosts;
  {
    auto w = FlowWriter::start(o);
    if (!w) return 1;
    while (gen.now() < kDayStart + kDay) {
      auto f = gen.next();
      if (f.first_ts >= kDayStart + kDay) break;
      // 20 subscribers, picked through the day (busy ones weigh more, like lawful requests).
      const auto picked = static_cast<TimestampNs>(hosts.size());
      if (picked < 20 && f.first_ts > kDayStart + picked * kHour) hosts.push_back(f.src_ip);
      while (!(*w)->try_push(std::move(f))) std::this_thread::yield();
    }
    (*w)->stop();
  }
  double c0 = cpu_seconds();
  auto sealed = seal_due_shards(o, now);
  if (!sealed || sealed->size() != 24) {
    std::fprintf(stderr, "seal failed\n");
    return 1;
  }
  const double seal_cpu = cpu_seconds() - c0;
  std::uint64_t rows = 0;
  for (const auto& s : *sealed) rows += s.rows;
  const std::uint64_t hourly_bytes = dir_bytes(dir);
  const auto hourly_warm = latency(o, hosts, false);
  const auto hourly_cold = latency(o, hosts, true);

  Manifest manifest(dir);
  const double rss_before = proc_status_mb("VmRSS");
  reset_peak_rss();
  c0 = cpu_seconds();
  const auto t0 = Steady::now();
  auto merged = merge_sealed_day(dir, kDayStart, SealOptions{}, manifest, now);
  const double merge_wall = std::chrono::duration<double>(Steady::now() - t0).count();
  const double merge_cpu = cpu_seconds() - c0;
  const double peak = proc_status_mb("VmHWM");
  if (!merged) {
    std::fprintf(stderr, "merge: %s\n", merged.error().message.c_str());
    return 1;
  }
  const std::uint64_t day_bytes = dir_bytes(dir);
  const auto day_warm = latency(o, hosts, false);
  const auto day_cold = latency(o, hosts, true);

  const double n = static_cast<double>(rows);
  std::printf("## merge_bench: one day, %zu flows/hour (%llu flows)\n\n", per_hour,
              static_cast<unsigned long long>(rows));
  std::printf("| measure | 24 hourly shards | merged day shard |\n|---|---|---|\n");
  std::printf(
      "| CPU per flow | sealing %.2f us | merging %.2f us (%.1f s wall, %.2f M flows/s) |\n",
      seal_cpu * 1e6 / n, merge_cpu * 1e6 / n, merge_wall, n / merge_wall / 1e6);
  std::printf("| merge peak RSS above the process before it | - | %.0f MB |\n", peak - rss_before);
  std::printf("| bytes per flow (shards + day summaries) | %.1f | %.1f |\n",
              static_cast<double>(hourly_bytes) / n, static_cast<double>(day_bytes) / n);
  std::printf(
      "| one subscriber over the day, warm p50 / max ms (%zu hosts) | %.2f / %.2f | %.2f / %.2f "
      "|\n",
      hosts.size(), hourly_warm.first, hourly_warm.second, day_warm.first, day_warm.second);
  std::printf("| same, cold p50 / max ms | %.2f / %.2f | %.2f / %.2f |\n", hourly_cold.first,
              hourly_cold.second, day_cold.first, day_cold.second);
  std::filesystem::remove_all(dir);
  return 0;
}
