#include "capture/decode/decoder.h"

#include <algorithm>
#include <cstring>

#include "capture/decode/decode_fast.h"
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
