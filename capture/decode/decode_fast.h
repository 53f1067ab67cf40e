// capture/decode/decode_fast.h — the straight-line decoder of the common frames.
//
// Inline (decode_frame in decoder.h runs it for every Ethernet frame before
// the general walk of decoder.cc). Pure functions over the frame, like every
// decoder; they never allocate.
#pragma once

#include <algorithm>
#include <cstring>

#include "capture/decode/bytes.h"
#include "capture/decode/ipv6.h"
#include "capture/decode/link.h"
#include "capture/decode/packet_info.h"
#include "capture/decode/ppp.h"
#include "capture/decode/transport.h"
#include "capture/decode/vlan.h"

namespace conntrail::capture {

inline constexpr std::size_t kUdpHeaderLength = 8;

// UDP header (8 bytes) then payload; a length field below 8 gives no payload.
// Expects out.udp_payload empty and out.udp_payload_truncated false.
inline void set_udp_payload(Bytes udp, PacketInfo& out) noexcept {
  if (udp.size() < kUdpHeaderLength) {
    out.udp_payload_truncated = true;
    return;
  }
  const std::size_t length = load_be16(udp, 4);
  if (length < kUdpHeaderLength) return;
  const std::size_t want = length - kUdpHeaderLength;
  const std::size_t have = udp.size() - kUdpHeaderLength;
  out.udp_payload = udp.subspan(kUdpHeaderLength, std::min(want, have));
  out.udp_payload_truncated = want > have;
}

// The frames nearly every packet is: Ethernet, at most two VLAN tags, at most
// one PPPoE session header, then IPv4 without options and not fragmented or
// IPv6 without extension headers, then a complete TCP, UDP, ICMP or ICMPv6
// header. One straight pass with no per-layer bookkeeping; it fills `out`
// exactly as the general walk (FrameDecoder) does for such a frame and returns
// true. Anything else (a third tag, MPLS, tunnels, options, fragments,
// extension headers, other protocols, any short or odd header) returns false
// with `out` half written, and the caller runs the general walk from scratch.
// tests/capture/decoder_test.cc checks both give the same PacketInfo on every
// frame of the test captures.
[[gnu::always_inline]] inline bool decode_common_ethernet(Bytes frame, PacketInfo& out) noexcept {
  if (frame.size() < kEthernetHeaderLength) return false;
  std::size_t at = kEthernetHeaderLength;
  std::uint16_t type = load_be16(frame, 12);
  std::uint16_t vlan_outer = kNoVlan;
  std::uint16_t vlan_inner = kNoVlan;
  if (is_vlan_ethertype(type)) {
    if (frame.size() < at + kVlanTagLength) return false;
    vlan_outer = load_be16(frame, at) & 0x0fff;
    type = load_be16(frame, at + 2);
    at += kVlanTagLength;
    if (is_vlan_ethertype(type)) {
      if (frame.size() < at + kVlanTagLength) return false;
      vlan_inner = load_be16(frame, at) & 0x0fff;
      type = load_be16(frame, at + 2);
      at += kVlanTagLength;
    }
  }
  std::uint16_t pppoe_session = 0;
  if (type == ethertype::kPppoeSession) {
    if (frame.size() < at + kPppoeSessionHeaderLength) return false;
    pppoe_session = load_be16(frame, at + 2);
    const std::uint16_t ppp_protocol = load_be16(frame, at + 6);
    at += kPppoeSessionHeaderLength;
    if (ppp_protocol == kPppIpv4) {
      type = ethertype::kIpv4;
    } else if (ppp_protocol == kPppIpv6) {
      type = ethertype::kIpv6;
    } else {
      return false;
    }
  }
  const Bytes ip = frame.subspan(at);
  std::uint8_t proto;
  std::size_t header_length;
  std::size_t payload_claim;
  if (type == ethertype::kIpv4) {
    // Version 4, IHL 5; total length covers the header; DF is the only flag allowed.
    if (ip.size() < 20 || ip[0] != 0x45) return false;
    const std::uint16_t total_length = load_be16(ip, 2);
    if (total_length < 20 || (load_be16(ip, 6) & 0x3fff) != 0) return false;
    proto = ip[9];
    if (!has_ports(proto)) return false;
    out.is_v6 = false;
    out.src = Address16{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ip[12], ip[13], ip[14], ip[15]};
    out.dst = Address16{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ip[16], ip[17], ip[18], ip[19]};
    out.ip_bytes = total_length;
    out.fragment_id = load_be16(ip, 4);
    header_length = 20;
    payload_claim = total_length - 20u;
  } else if (type == ethertype::kIpv6) {
    if (ip.size() < kIpv6HeaderLength || (ip[0] >> 4) != 6) return false;
    proto = ip[6];
    if (!has_ports(proto)) return false;  // extension headers and proto-only flows
    const std::uint16_t payload_length = load_be16(ip, 4);
    out.is_v6 = true;
    std::memcpy(out.src.data(), ip.data() + 8, 16);
    std::memcpy(out.dst.data(), ip.data() + 24, 16);
    out.ip_bytes = kIpv6HeaderLength + payload_length;
    out.fragment_id = 0;
    header_length = kIpv6HeaderLength;
    payload_claim = payload_length;
  } else {
    return false;
  }
  // The transport header as parse_transport reads it, but TCP and UDP share
  // one path (ports at the same offsets; the TCP flags byte picked without a
  // branch): whether the next packet is TCP or UDP is unpredictable.
  const Bytes payload = ip.subspan(header_length);
  if ((proto == kProtoIcmp) | (proto == kProtoIcmpv6)) {
    if (payload.size() < 2) return false;
    const TransportPorts icmp = icmp_ports(proto == kProtoIcmpv6, payload[0], payload[1]);
    out.src_port = icmp.src_port;
    out.dst_port = icmp.dst_port;
    out.tcp_flags = 0;
    out.one_way = icmp.one_way;
  } else {  // TCP or UDP (has_ports above)
    if (payload.size() < 4) return false;
    out.src_port = load_be16(payload, 0);
    out.dst_port = load_be16(payload, 2);
    const bool has_flags = (proto == kProtoTcp) & (payload.size() >= 14);
    out.tcp_flags = static_cast<std::uint8_t>(payload[has_flags ? 13 : 0] & (has_flags ? 0xff : 0));
    out.one_way = false;
  }
  out.proto = proto;
  out.fragment = FragmentKind::kNone;
  out.udp_payload = {};
  out.udp_payload_truncated = false;
  if (proto == kProtoUdp) set_udp_payload(payload.first(std::min(payload.size(), payload_claim)), out);
  out.vlan_outer = vlan_outer;
  out.vlan_inner = vlan_inner;
  out.pppoe_session = pppoe_session;
  out.has_mac = true;
  std::memcpy(out.dst_mac.data(), frame.data(), 6);
  std::memcpy(out.src_mac.data(), frame.data() + 6, 6);
  return true;
}

}  // namespace conntrail::capture
