// bench/api/api_bench_store.cc — a data directory of synthetic flows for the lawful API
// benchmark (bench/api/run-api-bench.sh), written as sealed hourly shards the agent serves.
//
//   api_bench_store bulk  DIR FLOWS HOURS   FLOWS synthetic flows (tests/storage/synthetic_flows.h)
//                                           over the HOURS whole hours that end two hours ago,
//                                           so one request window covers them all
//   api_bench_store month DIR FLOWS_PER_HOUR  720 hourly shards (30 days) ending where a
//                                           10-hour bulk store begins
//
// Synthetic subscribers are 100.64.0.0/16 and 2001:db8::/48, so two prefix selectors match
// every record. Prints one line per shard written and a summary; the sample subscriber
// address (for single-address queries) is printed as "sample_ip=...".
// Not a test and not part of the agent: it writes shard files directly (write_sealed_file,
// as bench/storage does); the agent's start-up recovery adds their manifest entries.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include "storage/seal/seal_shard.h"
#include "storage/shard/shard_name.h"
#include "tests/storage/synthetic_flows.h"

using namespace conntrail;
using namespace conntrail::storage;

namespace {

constexpr TimestampNs kHour = 3600 * kNsPerSecond;

std::vector<FlowRecord> hour_of_flows(std::size_t n, std::uint64_t seed, TimestampNs start) {
  testing::SyntheticFlows gen({.seed = seed,
                               .subscribers = 50000,
                               .flows_per_second = static_cast<double>(n) / 3600.0 * 1.02,
                               .start = start});
  std::vector<FlowRecord> v;
  v.reserve(n);
  while (v.size() < n) {
    auto f = gen.next();
    if (f.first_ts >= start + kHour) break;
    // Flows end inside their hour: the shard period is the flow's, and the window covers it.
    if (f.last_ts >= start + kHour) f.last_ts = start + kHour - 1000;
    v.push_back(std::move(f));
  }
  return v;
}

bool write_hour(const std::filesystem::path& dir, TimestampNs start, std::vector<FlowRecord>& v) {
  const ShardPeriod p{start, 3600};
  const auto path = shard_path(dir, p, ShardForm::kSealed);
  std::filesystem::create_directories(path.parent_path());
  auto r = write_sealed_file(path, p, v, {}, {}, SealOptions{});
  if (!r) {
    std::fprintf(stderr, "api_bench_store: %s: %s\n", path.c_str(), r.error().message.c_str());
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr,
                 "usage: api_bench_store bulk DIR FLOWS HOURS | month DIR FLOWS_PER_HOUR\n");
    return 2;
  }
  const std::string mode = argv[1];
  const std::filesystem::path dir = argv[2];
  const std::size_t n = std::strtoull(argv[3], nullptr, 10);
  const TimestampNs now = static_cast<TimestampNs>(std::time(nullptr)) * kNsPerSecond;
  TimestampNs end = (now / kHour - 2) * kHour;  // a whole hour, two hours ago
  std::string sample;
  std::size_t total = 0;
  TimestampNs first = end;
  if (mode == "bulk") {
    const int hours = argc > 4 ? std::atoi(argv[4]) : 10;
    if (hours < 1 || hours > 24 * 30) return 2;
    const std::size_t per_hour = n / static_cast<std::size_t>(hours);
    for (int h = 0; h < hours; ++h) {
      const TimestampNs start = end - (hours - h) * kHour;
      if (h == 0) first = start;
      auto v = hour_of_flows(per_hour + (h == hours - 1 ? n % static_cast<std::size_t>(hours) : 0),
                             100 + static_cast<std::uint64_t>(h), start);
      total += v.size();
      if (sample.empty()) sample = v[v.size() / 3].src_ip.to_string();
      if (!write_hour(dir, start, v)) return 1;
      std::printf("hour %d: %zu flows so far\n", h, total);
      std::fflush(stdout);
    }
  } else if (mode == "month") {
    for (int h = 0; h < 720; ++h) {
      const TimestampNs start = end - (730 - h) * kHour;  // clear of bulk's 10 hours
      if (h == 0) first = start;
      auto v = hour_of_flows(n, 1000 + static_cast<std::uint64_t>(h), start);
      total += v.size();
      if (sample.empty()) sample = v[v.size() / 3].src_ip.to_string();
      if (!write_hour(dir, start, v)) return 1;
    }
  } else {
    return 2;
  }
  if (mode == "month") end = first + 720 * kHour;
  std::printf("flows=%zu\nsample_ip=%s\nfrom=%lld\nto=%lld\n", total, sample.c_str(),
              static_cast<long long>(first / kNsPerSecond),
              static_cast<long long>(end / kNsPerSecond));
  return 0;
}
