#include "capture/decode/decoder.h"

#include <algorithm>
#include <cstring>

#include "capture/decode/gre.h"
#include "capture/decode/ipv4.h"
#include "capture/decode/ipv6.h"
#include "capture/decode/mpls.h"
#include "capture/decode/ppp.h"
#include "capture/decode/transport.h"
#include "capture/decode/vlan.h"

namespace conntrail::capture {
namespace {

constexpr std::size_t kErspan2HeaderLength = 8;
constexpr std::size_t kUdpHeaderLength = 8;

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
inline bool decode_common_ethernet(Bytes frame, PacketInfo& out) noexcept {
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
  const Bytes payload = ip.subspan(header_length);
  const auto ports = parse_transport(proto, payload);
  if (!ports) return false;
  out.proto = proto;
  out.src_port = ports->src_port;
  out.dst_port = ports->dst_port;
  out.tcp_flags = ports->tcp_flags;
  out.one_way = ports->one_way;
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

class FrameDecoder {
 public:
  FrameDecoder(const DecodeOptions& options, PacketInfo& out) noexcept
      : options_(options), out_(out) {}

  // The payload of a link header (or of a GRE bridging header) of EtherType `type`.
  DecodeError ethertype_payload(std::uint16_t type, Bytes data, bool outermost) noexcept {
    for (;;) {
      if (++layers_ > kMaxDecodeLayers) return DecodeError::kTooManyLayers;
      if (is_vlan_ethertype(type)) {
        const auto tag = parse_vlan_tag(data);
        if (!tag) return DecodeError::kTruncatedLink;
        if (outermost) {
          if (out_.vlan_outer == kNoVlan) {
            out_.vlan_outer = tag->vid;
          } else if (out_.vlan_inner == kNoVlan) {
            out_.vlan_inner = tag->vid;
          }
        }
        data = data.subspan(kVlanTagLength);
        type = tag->ethertype;
        continue;
      }
      switch (type) {
        case ethertype::kIpv4:
          return ip(4, data);
        case ethertype::kIpv6:
          return ip(6, data);
        case ethertype::kMplsUnicast:
        case ethertype::kMplsMulticast: {
          const auto stack = parse_mpls_stack(data);
          if (!stack) return stack.error();
          return ip(stack->ip_version, data.subspan(stack->length));
        }
        case ethertype::kPppoeSession: {
          const auto session = parse_pppoe_session(data);
          if (!session) return DecodeError::kTruncatedLink;
          if (outermost && out_.pppoe_session == 0) out_.pppoe_session = session->session_id;
          return ppp_payload(session->ppp_protocol, data.subspan(kPppoeSessionHeaderLength));
        }
        default:
          return DecodeError::kNotIp;  // ARP, PPPoE discovery, LLDP, 802.3/LLC, ...
      }
    }
  }

  DecodeError ip(std::uint8_t version, Bytes data) noexcept {
    if (++layers_ > kMaxDecodeLayers) return DecodeError::kTooManyLayers;
    Bytes payload;
    std::size_t payload_claim = 0;  // bytes of IP payload the header claims
    DecodeError anomaly = DecodeError::kNone;
    if (version == 4) {
      const auto h = parse_ipv4(data);
      if (!h) return h.error();
      out_.is_v6 = false;
      out_.src = mapped(h->src);
      out_.dst = mapped(h->dst);
      out_.proto = h->proto;
      out_.ip_bytes = h->total_length;
      out_.fragment = !h->is_fragment()         ? FragmentKind::kNone
                      : h->fragment_offset == 0 ? FragmentKind::kFirst
                                                : FragmentKind::kLater;
      out_.fragment_id = h->id;
      payload = data.subspan(h->header_length);
      payload_claim = h->total_length - h->header_length;
    } else if (version == 6) {
      const auto h = parse_ipv6(data);
      if (!h) return h.error();
      Ipv6Extensions ext;
      ext.proto = h->next_header;
      if (is_ipv6_extension(h->next_header)) {
        ext = walk_ipv6_extensions(data.subspan(kIpv6HeaderLength), h->next_header);
      }
      out_.is_v6 = true;
      out_.src = h->src;
      out_.dst = h->dst;
      out_.proto = ext.proto;
      out_.ip_bytes = kIpv6HeaderLength + h->payload_length;
      out_.fragment = !ext.fragment              ? FragmentKind::kNone
                      : ext.fragment_offset == 0 ? FragmentKind::kFirst
                                                 : FragmentKind::kLater;
      out_.fragment_id = ext.fragment_id;
      if (ext.broken) {
        clear_ports();
        return DecodeError::kBadIpv6Extension;
      }
      payload = data.subspan(kIpv6HeaderLength + ext.length);
      payload_claim = h->payload_length > ext.length ? h->payload_length - ext.length : 0;
    } else {
      return DecodeError::kBadIpVersion;
    }
    clear_ports();
    if (out_.fragment == FragmentKind::kLater) return DecodeError::kNone;  // ports: fragment table

    const std::uint8_t proto = out_.proto;
    if (options_.tunnel_layer == TunnelLayer::kInner && out_.fragment == FragmentKind::kNone &&
        (proto == kProtoIpv4InIp || proto == kProtoIpv6InIp || proto == kProtoGre)) {
      const PacketInfo outer = out_;
      const int layers = layers_;
      const DecodeError inner = tunnel_payload(proto, payload);
      if (!is_dropped(inner)) return inner;
      // Not IP inside (GRE keepalive, CDP) or unusable: the tunnel itself is the flow.
      out_ = outer;
      layers_ = layers;
      if (inner != DecodeError::kNotIp) anomaly = DecodeError::kBadTunnel;
    }

    const auto ports = parse_transport(proto, payload);
    if (!ports) return DecodeError::kTruncatedTransport;
    out_.src_port = ports->src_port;
    out_.dst_port = ports->dst_port;
    out_.tcp_flags = ports->tcp_flags;
    out_.one_way = ports->one_way;
    if (proto == kProtoUdp && out_.fragment == FragmentKind::kNone) {
      // Ethernet padding lies beyond the IP length: never part of the datagram.
      set_udp_payload(payload.first(std::min(payload.size(), payload_claim)), out_);
    }
    return anomaly;
  }

 private:
  DecodeError ppp_payload(std::uint16_t ppp_protocol, Bytes data) noexcept {
    if (ppp_protocol == kPppIpv4) return ip(4, data);
    if (ppp_protocol == kPppIpv6) return ip(6, data);
    return DecodeError::kNotIp;  // LCP, IPCP, CHAP, ...: control traffic
  }

  DecodeError tunnel_payload(std::uint8_t proto, Bytes data) noexcept {
    if (proto == kProtoIpv4InIp) return ip(4, data);
    if (proto == kProtoIpv6InIp) return ip(6, data);
    const auto gre = parse_gre(data);
    if (!gre) return DecodeError::kTruncatedLink;
    const Bytes inner = data.subspan(gre->length);
    switch (gre->protocol) {
      case ethertype::kPpp: {
        const auto ppp = parse_ppp(inner);
        if (!ppp) return DecodeError::kTruncatedLink;
        return ppp_payload(ppp->protocol, inner.subspan(ppp->length));
      }
      case ethertype::kTransparentEthernet: {
        const auto eth = parse_ethernet(inner);
        if (!eth) return DecodeError::kTruncatedLink;
        return ethertype_payload(eth->ethertype, inner.subspan(eth->length), false);
      }
      case ethertype::kErspan2: {
        if (inner.size() < kErspan2HeaderLength) return DecodeError::kTruncatedLink;
        const Bytes frame = inner.subspan(kErspan2HeaderLength);
        const auto eth = parse_ethernet(frame);
        if (!eth) return DecodeError::kTruncatedLink;
        return ethertype_payload(eth->ethertype, frame.subspan(eth->length), false);
      }
      default:
        return ethertype_payload(gre->protocol, inner, false);
    }
  }

  void clear_ports() noexcept {
    out_.udp_payload = {};
    out_.udp_payload_truncated = false;
    out_.src_port = 0;
    out_.dst_port = 0;
    out_.tcp_flags = 0;
    out_.one_way = false;
  }

  static Address16 mapped(const std::array<std::uint8_t, 4>& v4) noexcept {
    Address16 a{};
    a[10] = 0xff;
    a[11] = 0xff;
    std::copy(v4.begin(), v4.end(), a.begin() + 12);
    return a;
  }

  const DecodeOptions& options_;
  PacketInfo& out_;
  int layers_ = 0;
};

}  // namespace

DecodeError decode_frame(LinkType link, Bytes frame, const DecodeOptions& options,
                         PacketInfo& out) noexcept {
  if (link == LinkType::kEthernet && decode_common_ethernet(frame, out)) return DecodeError::kNone;
  return decode_frame_general(link, frame, options, out);
}

DecodeError decode_frame_general(LinkType link, Bytes frame, const DecodeOptions& options,
                                 PacketInfo& out) noexcept {
  const TimestampNs ts = out.ts;
  out = PacketInfo{};
  out.ts = ts;
  FrameDecoder decoder(options, out);
  std::optional<LinkHeader> header;
  switch (link) {
    case LinkType::kEthernet:
      // The common case, without the LinkHeader round trip.
      if (frame.size() < kEthernetHeaderLength) return DecodeError::kTruncatedLink;
      std::memcpy(out.dst_mac.data(), frame.data(), 6);
      std::memcpy(out.src_mac.data(), frame.data() + 6, 6);
      out.has_mac = true;
      return decoder.ethertype_payload(load_be16(frame, 12), frame.subspan(kEthernetHeaderLength),
                                       true);
    case LinkType::kLinuxSll:
      header = parse_linux_sll(frame);
      break;
    case LinkType::kLinuxSll2:
      header = parse_linux_sll2(frame);
      break;
    case LinkType::kRawIp:
      if (frame.empty()) return DecodeError::kTruncatedIp;
      return decoder.ip(static_cast<std::uint8_t>(frame[0] >> 4), frame);
    case LinkType::kIpv4:
      return decoder.ip(4, frame);
    case LinkType::kIpv6:
      return decoder.ip(6, frame);
  }
  if (!header) return DecodeError::kTruncatedLink;
  out.has_mac = header->has_mac;
  out.src_mac = header->src_mac;
  out.dst_mac = header->dst_mac;
  return decoder.ethertype_payload(header->ethertype, frame.subspan(header->length), true);
}

}  // namespace conntrail::capture
