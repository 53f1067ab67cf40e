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
};

}  // namespace conntrail::capture
