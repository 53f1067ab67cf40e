// bench/storage/storage_seal_formats.cc — measures candidate sealed forms (bytes/flow, seal rate).
//
// Usage: storage_seal_formats [flows] [dir]. Generates one hour of synthetic
// flows and writes the sealed file once per variant (record order, block
// rows, zstd level, page size); prints bytes per flow and build rate. The
// numbers chose the defaults in storage/seal/seal_shard.h (docs/STORAGE.md).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "storage/seal/seal_shard.h"
#include "tests/storage/synthetic_flows.h"

using namespace conntrail;
using namespace conntrail::storage;

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::stoul(argv[1]) : 2'000'000;
  const std::filesystem::path dir = argc > 2 ? argv[2] : "/tmp/conntrail-seal-formats";
  std::filesystem::create_directories(dir);
  testing::SyntheticFlows gen({.seed = 42, .flows_per_second = static_cast<double>(n) / 3600.0});
  const auto base = gen.take(n);
  const ShardPeriod period = period_of(base.front().first_ts, 3600);
  struct Variant {
    const char* name;
    SealOptions o;
  };
  std::vector<Variant> variants;
  // Order: time (as the open shard has it) vs subscriber address.
  for (bool by_addr : {false, true}) {
    SealOptions o;
    o.sort_by_subscriber_address = by_addr;
    o.page_size = 4096;
    variants.push_back({"", o});
  }
  for (int ps : {1024, 2048, 4096, 8192, 65536}) {
    for (std::size_t rows : {1024u, 2048u, 4096u}) {
      for (int level : {3, 6}) {
        SealOptions o;
        o.block_rows = rows;
        o.zstd_level = level;
        o.page_size = ps;
        variants.push_back({"", o});
      }
    }
  }
  std::printf("order,block_rows,zstd,page_size,bytes_per_flow,seal_flows_per_s\n");
  for (auto& v : variants) {
    auto flows = base;
    const auto path = dir / "variant.sqlite";
    const auto t0 = std::chrono::steady_clock::now();
    auto r = write_sealed_file(path, period, flows, {}, {}, v.o);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!r) {
      std::fprintf(stderr, "failed: %s\n", r.error().message.c_str());
      return 1;
    }
    const double bytes = static_cast<double>(std::filesystem::file_size(path));
    std::printf("%s,%zu,%d,%d,%.2f,%.0f\n", v.o.sort_by_subscriber_address ? "address" : "time",
                v.o.block_rows, v.o.zstd_level, v.o.page_size, bytes / static_cast<double>(n),
                static_cast<double>(n) / secs);
    std::fflush(stdout);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
