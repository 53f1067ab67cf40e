// capture/pipeline/flow_meter.h — frames in, flow records out, for one interface.
//
// The meter is the per-interface pipeline shared by offline files and live
// capture: decode_frame → fragment attribution → FlowTable, plus the counters
// the agent stores with each shard. It owns all its state and is driven by
// one thread. Time is packet time; advance() lets a live source move time on
// when no packet arrives, so flows still expire when traffic stops.
#pragma once

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

  // Counters so far (flows_exported/evicted filled from the tables).
  CaptureCounters counters() const noexcept;
  const DecodeErrorCounts& decode_errors() const noexcept { return errors_; }
  std::size_t active_flows() const noexcept { return flows_.active(); }
  const FlowTable& flow_table() const noexcept { return flows_; }

 private:
  void account(PacketInfo& packet);

  LinkType link_;
  DecodeOptions decode_;
  FlowTable flows_;
  FragmentTable fragments_;
  PacketInfo packet_;
  CaptureCounters counters_;
  DecodeErrorCounts errors_;
  TimestampNs next_sweep_ = 0;
};

}  // namespace conntrail::capture
