// capture/source/live_capture.h — live capture on one or more interfaces.
//
// Each interface gets its own thread, pcap handle and FlowMeter (so its own
// flow and fragment tables): nothing on the packet path is shared or locked.
// Packets are read in batches: the handle is non-blocking, and the thread
// polls for the next TPACKET_V3 ring block, which the kernel hands over when
// it is full or its timer (the pcap timeout, 100 ms by default) retires it —
// never immediate mode. When a wait times out with no packet, the thread
// advances the meter to the clock, so flows still expire when traffic stops.
//
// Threads and ownership:
//  | thread            | owns                                  | shares                        |
//  |-------------------|---------------------------------------|-------------------------------|
//  | caller            | LiveCapture, the Worker objects       | counters snapshot (mutex)     |
//  | capture thread i  | pcap handle i, FlowMeter i            | on_flow (must be thread-safe) |
// on_flow runs on the capture threads. It must not block: it returns false
// when it could not take the record (its queue is full), and the record is
// counted in queue_drops — the capture thread never waits for storage.
// stop() (and the destructor) sets each thread's stop flag (seen within one
// pcap timeout; pcap_breakloop as well), and each thread exports all its flows (end reason
// shutdown, closed TCP: tcp-close) before it exits; stop() returns after every record was handed to
// on_flow. With control capture, interface i also has control thread i (its
// own handle), which stops before the flow threads.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "capture/decode/decode_error.h"
#include "capture/pipeline/flow_meter.h"
#include "capture/source/pcap_handle.h"
#include "core/capture_counters.h"
#include "core/result.h"

namespace conntrail::capture {

struct InterfaceOptions {
  LiveSettings pcap;                  // interface name, snaplen (256), buffer, promisc, filter
  MeterOptions meter;                 // decode, flow table, fragment table
  std::size_t flow_memory_bytes = 0;  // flow table cap in bytes; 0 keeps meter.flows.max_flows
};

// Optional attribution input: a second pcap handle per interface, filtered to
// UDP on `ports` (control_bpf_filter) with a snaplen large enough for whole
// RADIUS/DHCP messages, read on its own thread. Each decoded UDP datagram on
// those ports goes to `sink` (thread-safe; returns false when it could not take
// it: counted in control_drops). The flow handles keep their own snaplen, so
// no other packet's payload is ever copied beyond the headers.
struct ControlCaptureOptions {
  std::vector<std::uint16_t> ports;
  int snaplen = 65535;
  std::function<bool(const PacketInfo&)> sink;
};

struct LiveCaptureOptions {
  std::vector<InterfaceOptions> interfaces;
  ControlCaptureOptions control;  // disabled while control.sink is empty
  // Wall clock used to advance idle interfaces; injectable for tests.
  std::function<TimestampNs()> clock;
};

struct InterfaceCounters {
  std::string interface;
  CaptureCounters counters;  // kernel_drops/interface_drops from pcap_stats
  DecodeErrorCounts decode_errors;
  std::uint64_t flows_active = 0;
  std::uint64_t control_packets = 0;  // datagrams read by the control handle
  std::uint64_t control_drops = 0;    // refused by the control sink (its queue was full)
  std::uint64_t control_kernel_drops = 0;
  std::string error;  // why the thread stopped reading early (empty: running or stopped by stop())
};

class LiveCapture {
 public:
  // Returns false when the record could not be taken (counted as a queue drop).
  using FlowSink = std::function<bool(FlowRecord&&)>;

  // Opens every interface (all or nothing), then starts one thread each.
  // Errors: those of PcapHandle::open_live, kUnsupported for a link type other
  // than Ethernet/SLL/SLL2/raw, kInvalidArgument for no interfaces.
  static Result<std::unique_ptr<LiveCapture>> start(LiveCaptureOptions options, FlowSink on_flow);

  LiveCapture(const LiveCapture&) = delete;
  LiveCapture& operator=(const LiveCapture&) = delete;
  ~LiveCapture();

  // Stops every thread and exports every flow; idempotent.
  void stop();
  // A consistent snapshot per interface (updated after every batch).
  std::vector<InterfaceCounters> counters() const;

 private:
  struct Worker;
  struct ControlWorker;
  LiveCapture() = default;

  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::unique_ptr<ControlWorker>> control_workers_;  // parallel to workers_ (or empty)
  bool stopped_ = false;
};

}  // namespace conntrail::capture
