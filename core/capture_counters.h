// core/capture_counters.h — how complete the captured data is.
//
// Capture keeps these per interface; storage keeps their per-period sums with
// each shard so that a lawful answer can say how complete the data behind it
// is (a kernel drop during the window means a flow may be missing).
#pragma once

#include <cstdint>

namespace conntrail {

struct CaptureCounters {
  std::uint64_t packets = 0;        // packets handed to the decoder
  std::uint64_t bytes = 0;          // wire bytes of those packets
  std::uint64_t decode_errors = 0;  // packets that belonged to no flow (all kinds)
  std::uint64_t kernel_drops = 0;   // pcap_stats ps_drop
  std::uint64_t interface_drops = 0;// pcap_stats ps_ifdrop
  std::uint64_t queue_drops = 0;    // records shed because the storage queue was full
  std::uint64_t flows_exported = 0;
  std::uint64_t flows_evicted = 0;  // exported early at the flow table's memory cap

  CaptureCounters& operator+=(const CaptureCounters& o) noexcept {
    packets += o.packets;
    bytes += o.bytes;
    decode_errors += o.decode_errors;
    kernel_drops += o.kernel_drops;
    interface_drops += o.interface_drops;
    queue_drops += o.queue_drops;
    flows_exported += o.flows_exported;
    flows_evicted += o.flows_evicted;
    return *this;
  }
  friend bool operator==(const CaptureCounters&, const CaptureCounters&) = default;
};

}  // namespace conntrail
