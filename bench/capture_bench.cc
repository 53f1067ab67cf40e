// capture_bench — packets/s of the offline capture pipeline against the bare
// libpcap read floor on the same file, and flow table memory per active flow.
//
//   capture_bench [--benchmark_filter=...]   (file: $CONNTRAIL_BENCH_PCAP,
//                                             default /tmp/conntrail-bench/1m.pcap)
// The file is the 1M-packet access-network capture of ../shared/bench/pcapgen.c
// (`pcapgen -n 1000000 -f 50000 -s 1 -d 360`); bench/run-capture-bench.sh makes
// it and runs everything docs/PERFORMANCE.md reports.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "capture/decode/decoder.h"
#include "capture/flow/flow_table.h"
#include "capture/pipeline/capture_file.h"
#include "capture/source/pcap_handle.h"

namespace conntrail::capture {
namespace {

std::string bench_pcap() {
  const char* env = std::getenv("CONNTRAIL_BENCH_PCAP");
  return env != nullptr ? env : "/tmp/conntrail-bench/1m.pcap";
}

struct Count {
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
};

void count_packet(void* context, const RawPacket& p) {
  auto* c = static_cast<Count*>(context);
  ++c->packets;
  c->bytes += p.captured_length;
}

// The floor: libpcap reads every record and calls back, nothing else
// (pcapcount.c's `pcap_loop` counter, through our handle wrapper). With
// read_buffer 0 the file is opened by libpcap with stdio's default buffer, as
// a plain libpcap program does (BM_PcapReadFloor, the floor); with the
// handle's default it is read as the ingest path reads it (a 256 KiB stdio
// buffer: BM_PcapReadFloorBuffered, the floor of our own per-packet work).
void read_floor(benchmark::State& state, std::size_t read_buffer) {
  std::uint64_t packets = 0;
  for (auto _ : state) {
    auto handle = PcapHandle::open_offline(bench_pcap(), read_buffer);
    if (!handle) {
      state.SkipWithError(handle.error().message.c_str());
      return;
    }
    Count c;
    while (true) {
      auto n = handle->dispatch(-1, &count_packet, &c);
      if (!n || *n == 0) break;
    }
    packets += c.packets;
    benchmark::DoNotOptimize(c.bytes);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(packets));
}
void BM_PcapReadFloor(benchmark::State& state) { read_floor(state, 0); }
void BM_PcapReadFloorBuffered(benchmark::State& state) {
  read_floor(state, PcapHandle::kOfflineReadBuffer);
}
BENCHMARK(BM_PcapReadFloor)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime();
BENCHMARK(BM_PcapReadFloorBuffered)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

// The whole offline pipeline without output: read, decode, fragments, flow
// table, record export (records are built and dropped).
void BM_OfflinePipeline(benchmark::State& state) {
  std::uint64_t packets = 0;
  std::uint64_t flows = 0;
  for (auto _ : state) {
    const auto counters = read_capture_file(bench_pcap(), {}, [&](FlowRecord&& r) {
      benchmark::DoNotOptimize(r);
      ++flows;
    });
    if (!counters) {
      state.SkipWithError(counters.error().message.c_str());
      return;
    }
    packets += counters->packets;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(packets));
  state.counters["flows"] = static_cast<double>(flows) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_OfflinePipeline)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

// Decoding alone, over the first 200k frames held in memory.
void BM_DecodeFrames(benchmark::State& state) {
  auto handle = PcapHandle::open_offline(bench_pcap());
  if (!handle) {
    state.SkipWithError(handle.error().message.c_str());
    return;
  }
  struct Frames {
    std::vector<std::vector<std::uint8_t>> frames;
  } f;
  handle->dispatch(
      200000,
      [](void* ctx, const RawPacket& p) {
        static_cast<Frames*>(ctx)->frames.emplace_back(p.data, p.data + p.captured_length);
      },
      &f);
  PacketInfo info;
  for (auto _ : state) {
    for (const auto& frame : f.frames) {
      benchmark::DoNotOptimize(
          decode_frame(LinkType::kEthernet, Bytes(frame.data(), frame.size()), {}, info));
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * f.frames.size()));
}
BENCHMARK(BM_DecodeFrames)->Unit(benchmark::kMillisecond);

PacketInfo synthetic_flow_packet(std::uint32_t i, TimestampNs ts) {
  PacketInfo p;
  p.ts = ts;
  p.src[10] = p.src[11] = 0xff;
  p.dst[10] = p.dst[11] = 0xff;
  p.src[12] = 10;
  p.src[13] = static_cast<std::uint8_t>(i >> 16);
  p.src[14] = static_cast<std::uint8_t>(i >> 8);
  p.src[15] = static_cast<std::uint8_t>(i);
  p.dst[12] = 198;
  p.dst[13] = 51;
  p.dst[14] = 100;
  p.dst[15] = static_cast<std::uint8_t>(i % 7);
  p.src_port = static_cast<std::uint16_t>(1024 + i % 50000);
  p.dst_port = 443;
  p.proto = 17;
  p.ip_bytes = 100;
  return p;
}

long rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string key;
  long value = 0;
  while (in >> key) {
    if (key == "VmRSS:") {
      in >> value;
      return value;
    }
    in.ignore(256, '\n');
  }
  return 0;
}

// 1M active flows at once: bytes per flow as the table counts them and as
// the process RSS grows, then the cost of an update to an existing flow.
void BM_FlowTableOneMillionActive(benchmark::State& state) {
  constexpr std::uint32_t kFlows = 1'000'000;
  const TimestampNs t0 = 1'700'000'000LL * kNsPerSecond;
  double table_bytes = 0;
  double rss_bytes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    FlowTableOptions options;
    options.max_flows = kFlows;
    const long rss_before = rss_kib();
    {
      FlowTable table(options, [](FlowRecord&&) {});
      for (std::uint32_t i = 0; i < kFlows; ++i) table.add(synthetic_flow_packet(i, t0));
      table_bytes = static_cast<double>(table.memory_bytes()) / table.active();
      // RSS growth is allocator-dependent (glibc keeps freed growth buffers
      // below its mmap threshold after the first round): the first round's
      // figure is the clean one.
      if (rss_bytes == 0)
        rss_bytes = static_cast<double>(rss_kib() - rss_before) * 1024.0 / table.active();
      state.ResumeTiming();
      // Updates in a random order, in batches as FlowMeter hands them over.
      PacketInfo batch[FlowTable::kMaxBatch];
      std::uint32_t x = 12345;
      for (std::uint32_t round = 0; round < 4; ++round) {
        for (std::uint32_t i = 0; i < kFlows; i += FlowTable::kMaxBatch) {
          for (auto& p : batch) {
            x = x * 1664525u + 1013904223u;  // LCG: a cache-hostile order
            p = synthetic_flow_packet(x % kFlows, t0 + round + 1);
          }
          table.add_batch(batch);
        }
      }
      state.PauseTiming();
    }
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * 4 * kFlows));
  state.counters["table_bytes_per_flow"] = table_bytes;
  state.counters["rss_bytes_per_flow"] = rss_bytes;
}
BENCHMARK(BM_FlowTableOneMillionActive)->Unit(benchmark::kMillisecond)->Iterations(2);

}  // namespace
}  // namespace conntrail::capture

BENCHMARK_MAIN();
