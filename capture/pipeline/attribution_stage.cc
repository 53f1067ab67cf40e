#include "capture/pipeline/attribution_stage.h"

#include <algorithm>

#include "capture/attribution/pcap_sessions.h"

namespace conntrail::capture {
namespace {

IpAddress address_of(const Address16& a, bool is_v6) {
  if (is_v6) return IpAddress::v6_from_bytes(std::span<const std::uint8_t, 16>(a.data(), 16));
  return IpAddress::v4_from_bytes(std::span<const std::uint8_t, 4>(a.data() + 12, 4));
}

constexpr TimestampNs kRetentionMargin = 60 * kNsPerSecond;

}  // namespace

TimestampNs closed_retention_for(const FlowTimeouts& t) noexcept {
  return max_export_delay(t) + kRetentionMargin;
}

AttributionStage::AttributionStage(AttributionOptions options, TimePrecision precision,
                                   SessionSink on_session)
    : precision_(precision),
      on_session_(std::move(on_session)),
      tracker_(std::move(options.tracker), [this](const SessionRecord& r) { emit(r); }),
      dispatcher_(options.dispatch, tracker_),
      attributor_(tracker_) {
  for (std::uint16_t port : options.dispatch.radius_accounting_ports) ports_.set(port);
  for (std::uint16_t port :
       {kDhcpv4ServerPort, kDhcpv4ClientPort, kDhcpv6ServerPort, kDhcpv6ClientPort}) {
    ports_.set(port);
  }
}

std::string AttributionStage::key_of(const SessionRecord& r) {
  return r.address.to_string() + '|' + std::to_string(r.start_ts) + '|' + r.session_id + '|' +
         std::string(to_string(r.source)) + '|' + r.server.to_string();
}

void AttributionStage::emit(const SessionRecord& record) {
  if (!record.is_open() && !emitted_open_.empty()) emitted_open_.erase(key_of(record));
  ++sessions_;
  if (on_session_) on_session_(record);
}

void AttributionStage::on_datagram(const PacketInfo& p) {
  on_datagram(p.ts, address_of(p.src, p.is_v6), address_of(p.dst, p.is_v6), p.src_port, p.dst_port,
              p.udp_payload, p.udp_payload_truncated);
}

void AttributionStage::on_datagram(TimestampNs ts, const IpAddress& src, const IpAddress& dst,
                                   std::uint16_t src_port, std::uint16_t dst_port,
                                   std::span<const std::uint8_t> payload, bool truncated) {
  ++datagrams_;
  const PacketContext ctx{ts, src, dst, precision_};
  dispatcher_.on_udp(ctx, src_port, dst_port, payload, truncated);
}

void AttributionStage::finish() {
  if (finished_) return;
  finished_ = true;
  auto open = tracker_.open_sessions();
  sort_sessions(open);
  for (const auto& r : open) {
    if (!emitted_open_.contains(key_of(r))) emit(r);
  }
}

void AttributionStage::checkpoint_open() {
  for (const auto& r : tracker_.open_sessions()) {
    if (emitted_open_.insert(key_of(r)).second) emit(r);
  }
}

AttributionReport AttributionStage::report() const {
  AttributionReport r;
  r.tracker = tracker_.counters();
  r.parsing = dispatcher_.counters();
  r.datagrams = datagrams_;
  r.sessions = sessions_;
  return r;
}

}  // namespace conntrail::capture
