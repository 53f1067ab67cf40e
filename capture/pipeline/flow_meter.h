// capture/pipeline/flow_meter.h — frames in, flow records out, for one interface.
//
// The meter is the per-interface pipeline shared by offline files and live
// capture: decode_frame → fragment attribution → FlowTable, plus the counters
// the agent stores with each shard. It owns all its state and is driven by
// one thread. Time is packet time; advance() lets a live source move time on
// when no packet arrives, so flows still expire when traffic stops.
#pragma once

#include <array>
#include <cstdint>

#include "capture/decode/decode_error.h"
#include "capture/decode/decoder.h"
#include "capture/flow/flow_table.h"
#include "capture/flow/fragment_table.h"
#include "core/capture_counters.h"

namespace conntrail::capture {

// Side channel for the control-plane messages attribution reads (RADIUS
// accounting, DHCP): the meter hands it the UDP datagrams it wants, with their
// payload span (valid only during the call), and tells it how packet time
// moves. It runs on the meter's thread; the meter never keeps payload. The
// first fragment of a fragmented datagram on a wanted port is handed over with
// no payload and udp_payload_truncated set (fragments are not reassembled).
class UdpTap {
 public:
  virtual ~UdpTap() = default;
  virtual bool wants(std::uint16_t src_port, std::uint16_t dst_port) const noexcept = 0;
  virtual void on_datagram(const PacketInfo& packet) = 0;
  virtual void on_time(TimestampNs now) = 0;
};

struct MeterOptions {
  DecodeOptions decode;
  FlowTableOptions flows;
  FragmentTableOptions fragments;
};

class FlowMeter {
 public:
  FlowMeter(LinkType link, MeterOptions options, FlowTable::ExportFn on_flow);

  // One captured frame; `wire_length` is its length on the wire.
  void on_frame(TimestampNs ts, Bytes frame, std::uint32_t wire_length);
  // Optional tap (not owned; must outlive the meter or be reset to nullptr).
  void set_udp_tap(UdpTap* tap) noexcept { tap_ = tap; }

  // Moves time on without a packet (live capture idle): expires flows and
  // pending fragments judged at `now`.
  void advance(TimestampNs now);
  // End of input: pending fragments become orphan flows, every flow is exported.
  void finish(EndReason reason = EndReason::kShutdown);

  // Hands batched packets to the flow table; call before reading counters or
  // flow_table() between frames (advance() and finish() do it themselves).
  void sync() { flush_batch(); }
  // Counters so far (flows_exported/evicted filled from the tables).
  CaptureCounters counters() const noexcept;
  const DecodeErrorCounts& decode_errors() const noexcept { return errors_; }
  std::size_t active_flows() const noexcept { return flows_.active(); }
  const FlowTable& flow_table() const noexcept { return flows_; }

 private:
  [[gnu::noinline]] void on_uncommon_frame(PacketInfo& packet, DecodeError error);
  void account(PacketInfo& packet);
  void flush_batch();

  LinkType link_;
  DecodeOptions decode_;
  FlowTable flows_;
  FragmentTable fragments_;
  PacketInfo packet_;
  // Unfragmented packets wait here so the flow table can prefetch a batch;
  // flushed before anything that must see the table up to date (fragments,
  // sweeps, counters, end of input), so order and results are unchanged.
  std::array<PacketInfo, FlowTable::kMaxBatch> batch_;
  std::size_t batched_ = 0;
  CaptureCounters counters_;
  DecodeErrorCounts errors_;
  TimestampNs next_sweep_ = 0;
  TimestampNs newest_ = 0;  // newest packet time seen (for the tap at finish)
  UdpTap* tap_ = nullptr;
};

}  // namespace conntrail::capture
