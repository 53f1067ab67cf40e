#include "capture/attribution/attribution_dispatcher.h"

#include <algorithm>

namespace conntrail::capture {

bool AttributionDispatcher::is_radius_port(std::uint16_t port) const noexcept {
  return std::find(config_.radius_accounting_ports.begin(), config_.radius_accounting_ports.end(),
                   port) != config_.radius_accounting_ports.end();
}

bool AttributionDispatcher::on_udp(const PacketContext& ctx, std::uint16_t src_port,
                                   std::uint16_t dst_port, std::span<const std::uint8_t> payload,
                                   bool payload_truncated) {
  const bool radius = is_radius_port(dst_port);
  const bool dhcpv4 = src_port == kDhcpv4ServerPort || src_port == kDhcpv4ClientPort ||
                      dst_port == kDhcpv4ServerPort || dst_port == kDhcpv4ClientPort;
  const bool dhcpv6 = src_port == kDhcpv6ServerPort || src_port == kDhcpv6ClientPort ||
                      dst_port == kDhcpv6ServerPort || dst_port == kDhcpv6ClientPort;
  if (!radius && !dhcpv4 && !dhcpv6) {
    // Still let time move: leases expire even when no attribution packet arrives.
    tracker_.advance(ctx.ts);
    return false;
  }
  if (payload_truncated) {
    // A binding built from half a message could be wrong; a snaplen that cuts
    // RADIUS/DHCP is a configuration problem the counter makes visible.
    ++counters_.truncated_payloads;
    tracker_.advance(ctx.ts);
    return true;
  }
  if (radius) {
    auto acct = parse_radius_accounting(payload);
    if (acct) {
      ++counters_.radius_accounting;
      tracker_.on_radius(*acct, ctx);
    } else if (acct.error() == RadiusParseError::kNotAccountingRequest) {
      ++counters_.radius_other_codes;
    } else {
      ++counters_.radius_errors.at(static_cast<std::size_t>(acct.error()));
    }
  } else if (dhcpv4) {
    auto msg = parse_dhcpv4(payload);
    if (msg) {
      ++counters_.dhcpv4_messages;
      tracker_.on_dhcpv4(*msg, ctx);
    } else if (msg.error() == Dhcpv4ParseError::kNotDhcp) {
      ++counters_.dhcpv4_bootp;
    } else {
      ++counters_.dhcpv4_errors.at(static_cast<std::size_t>(msg.error()));
    }
  } else {
    auto msg = parse_dhcpv6(payload);
    if (msg) {
      ++counters_.dhcpv6_messages;
      tracker_.on_dhcpv6(*msg, ctx);
    } else {
      ++counters_.dhcpv6_errors.at(static_cast<std::size_t>(msg.error()));
    }
  }
  tracker_.advance(ctx.ts);
  return true;
}

}  // namespace conntrail::capture
