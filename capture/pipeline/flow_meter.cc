#include "capture/pipeline/flow_meter.h"

#include <utility>

#include "capture/decode/transport.h"

namespace conntrail::capture {
namespace {
// How often (in packet time) idle flows and stale fragments are swept. The
// split decision is made per packet with the same rule, so the sweep period
// changes only how soon memory is freed, never a record.
constexpr TimestampNs kSweepInterval = kNsPerSecond;
}  // namespace

FlowMeter::FlowMeter(LinkType link, MeterOptions options, FlowTable::ExportFn on_flow)
    : link_(link),
      decode_(options.decode),
      flows_(std::move(options.flows), std::move(on_flow)),
      fragments_(options.fragments) {}

void FlowMeter::on_frame(TimestampNs ts, Bytes frame, std::uint32_t wire_length) {
  ++counters_.packets;
  counters_.bytes += wire_length;
  if (ts >= next_sweep_) [[unlikely]] advance(ts);
  if (ts > newest_) newest_ = ts;
  // Decoded straight into the batch: most packets never need another copy.
  PacketInfo& packet = batch_[batched_];
  packet.ts = ts;
  const DecodeError error = decode_frame(link_, frame, decode_, packet);
  // The common case stays here; errors, tapped datagrams and fragments go to
  // the out-of-line rest, so this loop body stays small.
  if (error != DecodeError::kNone || packet.fragment != FragmentKind::kNone ||
      (tap_ != nullptr && packet.proto == kProtoUdp &&
       tap_->wants(packet.src_port, packet.dst_port))) [[unlikely]] {
    on_uncommon_frame(packet, error);
    return;
  }
  if (++batched_ == batch_.size()) flush_batch();
}

void FlowMeter::on_uncommon_frame(PacketInfo& packet, DecodeError error) {
  if (error != DecodeError::kNone) {
    errors_.add(error);
    if (is_dropped(error)) {
      ++counters_.decode_errors;
      return;
    }
  }
  if (tap_ != nullptr && packet.proto == kProtoUdp && packet.fragment != FragmentKind::kLater &&
      tap_->wants(packet.src_port, packet.dst_port)) {
    if (packet.fragment == FragmentKind::kNone) {
      tap_->on_datagram(packet);
    } else {
      // The first fragment of a control datagram: nothing reassembles it, so the
      // tap sees it as a cut message (counted, never parsed from a part).
      PacketInfo first = packet;
      first.udp_payload = {};
      first.udp_payload_truncated = true;
      tap_->on_datagram(first);
    }
  }
  if (packet.fragment == FragmentKind::kNone) {
    if (++batched_ == batch_.size()) flush_batch();
    return;
  }
  packet_ = packet;
  account(packet_);
}

void FlowMeter::account(PacketInfo& packet) {
  switch (packet.fragment) {
    case FragmentKind::kNone:
      batch_[batched_++] = packet;
      if (batched_ == batch_.size()) flush_batch();
      return;
    case FragmentKind::kFirst:
      flush_batch();
      fragments_.on_first(packet, [this](const PacketInfo& f, bool) { flows_.add(f); });
      flows_.add(packet);
      return;
    case FragmentKind::kLater: {
      flush_batch();
      bool untracked = false;
      if (fragments_.on_later(packet, &untracked)) {
        if (untracked) errors_.add(DecodeError::kFragmentTableFull);
        flows_.add(packet);
      }
      return;
    }
  }
}

void FlowMeter::flush_batch() {
  if (batched_ == 0) return;
  flows_.add_batch(std::span<const PacketInfo>(batch_.data(), batched_));
  batched_ = 0;
}

void FlowMeter::advance(TimestampNs now) {
  flush_batch();
  next_sweep_ = now + kSweepInterval;
  fragments_.expire(now, [this](const PacketInfo& f, bool orphan) {
    if (orphan) errors_.add(DecodeError::kOrphanFragment);
    flows_.add(f);
  });
  flows_.expire(now);
  if (tap_ != nullptr) tap_->on_time(now);
}

void FlowMeter::finish(EndReason reason) {
  flush_batch();
  fragments_.flush([this](const PacketInfo& f, bool orphan) {
    if (orphan) errors_.add(DecodeError::kOrphanFragment);
    flows_.add(f);
  });
  flows_.flush(reason);
  if (tap_ != nullptr && newest_ != 0) tap_->on_time(newest_);
}

CaptureCounters FlowMeter::counters() const noexcept {
  CaptureCounters c = counters_;
  c.flows_exported = flows_.exported();
  c.flows_evicted = flows_.evicted();
  return c;
}

}  // namespace conntrail::capture
