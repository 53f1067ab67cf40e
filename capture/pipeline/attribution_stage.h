// capture/pipeline/attribution_stage.h — subscriber attribution inside the capture pipeline.
//
// Job: the one place where the flow path and the attribution path meet. As a
// FlowMeter's UdpTap it receives the decoded UDP datagrams on the RADIUS
// accounting and DHCP ports (payload span valid only during the call; parsed
// and dropped, never kept), feeds them to its AttributionDispatcher and
// SessionTracker, and emits each session through `on_session` when it ends.
// fill() sets FlowRecord::subscriber from the session that held the flow's
// subscriber-side address at its first packet (AddressAttributor).
//
// Invariants:
//  - Single owner: one thread drives it (the meter's thread offline, the
//    attribution thread live — see capture/pipeline/attribution_service.h).
//  - A flow is exported at most `longest flow lifetime` after its first
//    packet; closed sessions are kept at least that long
//    (closed_retention_for()), so a flow exported late is still attributed.
//  - finish() emits every binding still live as an open record (end 0),
//    once; the stage keeps them (a later fill still sees them).
#pragma once

#include <bitset>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_set>
#include <vector>

#include "capture/attribution/address_attributor.h"
#include "capture/attribution/attribution_dispatcher.h"
#include "capture/attribution/session_tracker.h"
#include "capture/flow/flow_table.h"
#include "capture/pipeline/flow_meter.h"
#include "core/session_record.h"

namespace conntrail::capture {

struct AttributionOptions {
  bool enabled = true;
  SessionTrackerConfig tracker;
  AttributionDispatchConfig dispatch;
};

struct AttributionReport {
  SessionTrackerCounters tracker;
  AttributionCounters parsing;
  std::uint64_t datagrams = 0;  // control-port UDP datagrams handed to the dispatcher
  std::uint64_t sessions = 0;   // session records emitted (closed + open at finish)
};

// The longest time between a flow's first packet and its export under these
// timeouts (active + idle of the slowest protocol, close linger, one sweep),
// plus a minute of margin: how long closed sessions must stay queryable.
TimestampNs closed_retention_for(const FlowTimeouts& timeouts) noexcept;

class AttributionStage final : public UdpTap {
 public:
  using SessionSink = std::function<void(const SessionRecord&)>;

  AttributionStage(AttributionOptions options, TimePrecision precision, SessionSink on_session);

  bool wants(std::uint16_t src_port, std::uint16_t dst_port) const noexcept override {
    return ports_[src_port] || ports_[dst_port];
  }
  void on_datagram(const PacketInfo& packet) override;
  void on_time(TimestampNs now) override { tracker_.advance(now); }

  // Same as on_datagram, for a datagram that crossed a thread (live capture).
  void on_datagram(TimestampNs ts, const IpAddress& src, const IpAddress& dst,
                   std::uint16_t src_port, std::uint16_t dst_port,
                   std::span<const std::uint8_t> payload, bool truncated);

  AttributionStatus fill(FlowRecord& flow) const { return attributor_.fill(flow); }
  // Emits every live binding as an open record (sorted by start); idempotent.
  // Bindings already emitted open by checkpoint_open() are not repeated.
  void finish();
  // Emits, once each, the live bindings not emitted open yet (end 0), so a
  // store sees a long session while it lasts; its closed record follows when
  // it ends (a store keeps the closed version). Memory: one key per live binding.
  void checkpoint_open();

  AttributionReport report() const;
  const SessionTracker& tracker() const noexcept { return tracker_; }

 private:
  void emit(const SessionRecord& record);
  static std::string key_of(const SessionRecord& record);

  TimePrecision precision_;
  SessionSink on_session_;
  SessionTracker tracker_;
  AttributionDispatcher dispatcher_;
  AddressAttributor attributor_;
  std::bitset<65536> ports_;
  std::uint64_t datagrams_ = 0;
  std::uint64_t sessions_ = 0;
  bool finished_ = false;
  std::unordered_set<std::string> emitted_open_;
};

}  // namespace conntrail::capture
