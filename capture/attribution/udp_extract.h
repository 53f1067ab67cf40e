// capture/attribution/udp_extract.h — TEMPORARY minimal frame walker down to UDP.
//
// Job: find the UDP datagram in one captured frame so the attribution parsers
// can be driven from real captures before capture/decode/ (issue 3) lands.
// It is deliberately small and is NOT a second decoder: once capture's
// decoder is merged, the coordinator replaces every call of
// extract_udp() with it and deletes this file pair.
//
// Walks: Ethernet II, 802.1Q / 802.1ad / QinQ (0x8100, 0x88A8, 0x9100, up to
// 4 tags), MPLS label stacks (first nibble after bottom of stack), PPPoE
// session (0x8864, PPP IPv4 0x0021 / IPv6 0x0057), Linux cooked v1/v2, raw
// IP; IPv4 without fragmentation (a fragment is skipped: DHCP and RADIUS
// accounting fit one datagram); IPv6 skipping hop-by-hop, routing and
// destination options headers (and an atomic fragment header); UDP.
//
// Invariants: every header is length-checked against the captured bytes; the
// payload span is cut to min(UDP length - 8, bytes present) and
// `payload_truncated` says when the capture cut it. Anything else returns
// std::nullopt — it is not our packet, and not an error for this walker.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "core/flow_record.h"
#include "core/ip_address.h"

namespace conntrail::capture {

// libpcap link-layer types this walker accepts (values from pcap/dlt.h).
inline constexpr int kLinkEthernet = 1;
inline constexpr int kLinkRaw = 101;
inline constexpr int kLinkRawAlt = 12;  // DLT_RAW on OpenBSD and in some files
inline constexpr int kLinkLinuxSll = 113;
inline constexpr int kLinkLinuxSll2 = 276;

bool udp_extract_supports(int link_type) noexcept;

struct UdpDatagram {
  IpAddress src;
  IpAddress dst;
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  std::span<const std::uint8_t> payload;
  bool payload_truncated = false;
  MacAddress src_mac{};  // all zero when the link has no Ethernet header
  std::uint16_t vlan_outer = kNoVlan;
  std::uint16_t vlan_inner = kNoVlan;
  std::uint16_t pppoe_session = 0;
};

std::optional<UdpDatagram> extract_udp(int link_type, std::span<const std::uint8_t> frame);

}  // namespace conntrail::capture
