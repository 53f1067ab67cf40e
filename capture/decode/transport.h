// capture/decode/transport.h — TCP, UDP, ICMP and ICMPv6 "ports".
//
// Only the first bytes of a transport header matter to a flow: ports (TCP and
// UDP bytes 0-3), TCP flags (byte 13), ICMP type and code (bytes 0-1). ICMP
// ports follow Zeek / Community ID v1: src_port = type, dst_port = counterpart
// type for request/reply pairs, else the code; types without a counterpart
// (errors, redirects, MLDv2 reports, ...) are one-way and never merged with
// packets in the other direction.
#pragma once

#include <cstdint>
#include <optional>

#include "capture/decode/bytes.h"

namespace conntrail::capture {

struct TransportPorts {
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  std::uint8_t tcp_flags = 0;
  bool one_way = false;
};

inline constexpr std::uint8_t kProtoIcmp = 1;
inline constexpr std::uint8_t kProtoIpv4InIp = 4;
inline constexpr std::uint8_t kProtoTcp = 6;
inline constexpr std::uint8_t kProtoUdp = 17;
inline constexpr std::uint8_t kProtoIpv6InIp = 41;
inline constexpr std::uint8_t kProtoGre = 47;
inline constexpr std::uint8_t kProtoIcmpv6 = 58;

// True for the protocols whose flows carry ports.
constexpr bool has_ports(std::uint8_t proto) noexcept {
  return proto == kProtoTcp || proto == kProtoUdp || proto == kProtoIcmp || proto == kProtoIcmpv6;
}

// nullopt when the header is too short to give the ports (the caller then
// uses ports 0/0). A TCP header with ports but cut before the flags byte
// gives flags 0.
// (Inline: it runs for every packet.)
inline std::optional<TransportPorts> parse_transport(std::uint8_t proto, Bytes data) noexcept;

// The Zeek / Community ID v1 mapping; icmpv6 selects the ICMPv6 table.
TransportPorts icmp_ports(bool icmpv6, std::uint8_t type, std::uint8_t code) noexcept;

inline std::optional<TransportPorts> parse_transport(std::uint8_t proto, Bytes data) noexcept {
  switch (proto) {
    case kProtoTcp: {
      if (data.size() < 4) return std::nullopt;
      TransportPorts p{load_be16(data, 0), load_be16(data, 2), 0, false};
      if (data.size() >= 14) p.tcp_flags = data[13];
      return p;
    }
    case kProtoUdp:
      if (data.size() < 4) return std::nullopt;
      return TransportPorts{load_be16(data, 0), load_be16(data, 2), 0, false};
    case kProtoIcmp:
    case kProtoIcmpv6:
      if (data.size() < 2) return std::nullopt;
      return icmp_ports(proto == kProtoIcmpv6, data[0], data[1]);
    default:
      return TransportPorts{};
  }
}

}  // namespace conntrail::capture
