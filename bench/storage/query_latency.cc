// bench/storage/query_latency.cc — single-address query latency inside one process.
//
// What the agent pays for a lawful query's storage part (the API runs the
// query engine in process; `conntrail query` adds a process start, ~5 ms).
// Usage: query_latency DATA_DIR FROM_EPOCH TO_EPOCH HOST... ; for each host,
// one unmeasured warm-up, then RUNS (env, default 3) warm queries, then RUNS
// cold ones (page cache dropped before each: needs root). Prints one line per
// query and p50 / max per cache state (run-storage-vs-nfdump.sh).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "bench/storage/bench_support.h"
#include "storage/query/query_engine.h"

using namespace conntrail;
using namespace conntrail::storage;

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: query_latency DATA_DIR FROM TO HOST...\n");
    return 2;
  }
  const int runs = std::getenv("RUNS") ? std::atoi(std::getenv("RUNS")) : 3;
  StoreOptions o;
  o.data_dir = argv[1];
  const TimestampNs from = std::stoll(argv[2]) * kNsPerSecond;
  const TimestampNs to = std::stoll(argv[3]) * kNsPerSecond;
  o.clock = [to] { return to + 86400 * kNsPerSecond; };
  o.retention_months = 120;  // synthetic data may be older than a year
  const QueryEngine engine(o);
  auto once = [&](const IpAddress& ip, std::size_t& rows) -> double {
    const auto t = std::chrono::steady_clock::now();
    rows = 0;
    auto s = engine.run(Query{.ip = ip, .from = from, .to = to}, [&](const FlowRecord&) {
      ++rows;
      return true;
    });
    if (!s) {
      std::fprintf(stderr, "query: %s\n", s.error().message.c_str());
      std::exit(1);
    }
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
  };
  for (const bool cold : {false, true}) {
    std::vector<double> ms;
    for (int h = 4; h < argc; ++h) {
      const auto ip = IpAddress::parse(argv[h]);
      if (!ip) return 2;
      std::size_t rows = 0;
      if (!cold) once(*ip, rows);
      for (int r = 0; r < runs; ++r) {
        if (cold) bench::drop_caches();
        ms.push_back(once(*ip, rows));
        std::printf("%s %s %.2f ms, %zu rows\n", cold ? "cold" : "warm", argv[h], ms.back(), rows);
      }
    }
    std::sort(ms.begin(), ms.end());
    std::printf("%s p50 %.2f ms, max %.2f ms (%zu queries)\n", cold ? "cold" : "warm",
                ms[ms.size() / 2], ms.back(), ms.size());
  }
  return 0;
}
