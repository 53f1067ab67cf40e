// bench/storage/pcap_to_store.cc — a capture file's flows into a conntrail store, sealed.
//
// Used by run-storage-vs-nfdump.sh so that conntrail and nfdump store the SAME
// flows: the capture pipeline (capture::read_capture_file, as `conntrail flows`)
// feeds the real FlowWriter (hourly shards, as the agent), the data clock
// follows the packets, and stop() seals every shard. Prints one line:
//   flows=N written=W sealed=S failed=F late=L cpu_s=C wall_s=W [last_error=...]
// Usage: pcap_to_store PCAP DATA_DIR [--no-seal] [--no-merge]   (--no-seal: leave the shards
// open; --no-merge: keep finished days as hourly shards)
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "bench/storage/bench_support.h"
#include "capture/pipeline/capture_file.h"
#include "storage/store/flow_writer.h"

using namespace conntrail;
using conntrail::bench::cpu_seconds;

int main(int argc, char** argv) {
  bool seal = true, merge = true, usage = argc < 3;
  for (int i = 3; i < argc; ++i) {
    const std::string flag = argv[i];
    seal &= flag != "--no-seal";
    merge &= flag != "--no-merge";
    usage |= flag != "--no-seal" && flag != "--no-merge";
  }
  if (usage) {
    std::fprintf(stderr, "usage: pcap_to_store PCAP DATA_DIR [--no-seal] [--no-merge]\n");
    return 2;
  }
  const auto t0 = std::chrono::steady_clock::now();
  TimestampNs data_clock = 0;  // written and read by this thread and the writer's clock calls
  std::atomic<TimestampNs> clock{0};
  storage::StoreOptions o;
  o.data_dir = argv[2];
  o.queue_capacity = 1u << 20;
  // How late a record can come after its first packet, as the agent computes it.
  o.active_timeout = std::chrono::seconds(
      capture::max_export_delay(capture::CaptureOptions{}.meter.flows.timeouts) / kNsPerSecond + 1);
  o.seal_on_stop = seal;
  o.seal_in_background = seal;
  o.merge_sealed_days = merge;
  o.clock = [&] { return clock.load(std::memory_order_relaxed); };
  auto writer = storage::FlowWriter::start(o);
  if (!writer) {
    std::fprintf(stderr, "pcap_to_store: %s\n", writer.error().message.c_str());
    return 1;
  }
  std::uint64_t flows = 0;
  capture::CaptureOptions options;
  const auto counters = capture::read_capture_file(argv[1], options, [&](FlowRecord&& flow) {
    if (flow.first_ts > data_clock) data_clock = flow.first_ts;
    // Records leave the flow table up to idle + active timeout after their first
    // packet, so the writer's clock lags the data by an hour: no record is late.
    clock.store(data_clock - 3600 * kNsPerSecond, std::memory_order_relaxed);
    ++flows;
    while (!(*writer)->try_push(std::move(flow))) std::this_thread::yield();
  });
  if (!counters) {
    std::fprintf(stderr, "pcap_to_store: %s\n", counters.error().message.c_str());
    return 1;
  }
  // Commit everything queued first: moving the clock while records still wait
  // in the queue would close their periods under them (they would count late).
  (*writer)->flush();
  // Every period is due: stop() commits and seals them all.
  clock.store(data_clock + 4 * 3600 * kNsPerSecond);
  (*writer)->stop();
  const auto s = (*writer)->stats();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("flows=%llu written=%llu sealed=%llu failed=%llu late=%llu cpu_s=%.3f wall_s=%.3f%s%s\n",
              static_cast<unsigned long long>(flows), static_cast<unsigned long long>(s.rows_written),
              static_cast<unsigned long long>(s.shards_sealed),
              static_cast<unsigned long long>(s.rows_failed),
              static_cast<unsigned long long>(s.rows_late), cpu_seconds(), wall,
              s.last_error.empty() ? "" : " last_error=", s.last_error.c_str());
  return s.rows_failed == 0 && s.seal_failures == 0 ? 0 : 1;
}
