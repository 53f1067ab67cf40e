#include "capture/attribution/udp_extract.h"

#include "capture/attribution/wire.h"

namespace conntrail::capture {

namespace {

using Bytes = std::span<const std::uint8_t>;

constexpr std::uint16_t kEtherIpv4 = 0x0800, kEtherIpv6 = 0x86DD, kEtherVlan = 0x8100,
                        kEtherQinq = 0x88A8, kEtherQinqOld = 0x9100, kEtherMpls = 0x8847,
                        kEtherMplsMulti = 0x8848, kEtherPppoeSession = 0x8864;
constexpr int kMaxVlanTags = 4;
constexpr int kMaxMplsLabels = 8;

std::optional<UdpDatagram> from_udp(Bytes l4, UdpDatagram d) {
  if (l4.size() < 8) return std::nullopt;
  d.src_port = wire::be16(l4.data());
  d.dst_port = wire::be16(l4.data() + 2);
  const std::size_t udp_len = wire::be16(l4.data() + 4);
  if (udp_len < 8) return std::nullopt;
  const std::size_t want = udp_len - 8;
  const std::size_t have = l4.size() - 8;
  d.payload = l4.subspan(8, want < have ? want : have);
  d.payload_truncated = want > have;
  return d;
}

std::optional<UdpDatagram> from_ipv4(Bytes p, UdpDatagram d) {
  if (p.size() < 20 || (p[0] >> 4) != 4) return std::nullopt;
  const std::size_t ihl = static_cast<std::size_t>(p[0] & 0x0F) * 4;
  const std::size_t total = wire::be16(p.data() + 2);
  if (ihl < 20 || p.size() < ihl || total < ihl) return std::nullopt;
  const std::uint16_t frag = wire::be16(p.data() + 6);
  if ((frag & 0x3FFF) != 0) return std::nullopt;  // MF set or offset != 0
  if (p[9] != 17) return std::nullopt;
  d.src = IpAddress::v4_from_bytes(std::span<const std::uint8_t, 4>(p.data() + 12, 4));
  d.dst = IpAddress::v4_from_bytes(std::span<const std::uint8_t, 4>(p.data() + 16, 4));
  // Ethernet padding lies beyond the IP total length; never hand it to a parser.
  const std::size_t end = total < p.size() ? total : p.size();
  return from_udp(p.subspan(ihl, end - ihl), d);
}

std::optional<UdpDatagram> from_ipv6(Bytes p, UdpDatagram d) {
  if (p.size() < 40 || (p[0] >> 4) != 6) return std::nullopt;
  d.src = IpAddress::v6_from_bytes(std::span<const std::uint8_t, 16>(p.data() + 8, 16));
  d.dst = IpAddress::v6_from_bytes(std::span<const std::uint8_t, 16>(p.data() + 24, 16));
  const std::size_t payload_len = wire::be16(p.data() + 4);
  const std::size_t end = 40 + payload_len < p.size() ? 40 + payload_len : p.size();
  std::uint8_t next = p[6];
  std::size_t at = 40;
  for (int i = 0; i < 8; ++i) {
    if (next == 17) return from_udp(p.subspan(at, end - at), d);
    if (end - at < 8) return std::nullopt;
    if (next == 0 || next == 43 || next == 60) {  // hop-by-hop, routing, destination options
      const std::size_t len = (static_cast<std::size_t>(p[at + 1]) + 1) * 8;
      if (len > end - at) return std::nullopt;
      next = p[at];
      at += len;
    } else if (next == 44) {  // fragment: only an atomic one (offset 0, M 0) holds a whole UDP
      if ((wire::be16(p.data() + at + 2) & 0xFFF9) != 0) return std::nullopt;
      next = p[at];
      at += 8;
    } else {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::optional<UdpDatagram> from_ip(Bytes p, UdpDatagram d) {
  if (p.empty()) return std::nullopt;
  if ((p[0] >> 4) == 4) return from_ipv4(p, d);
  if ((p[0] >> 4) == 6) return from_ipv6(p, d);
  return std::nullopt;
}

std::optional<UdpDatagram> from_ethertype(std::uint16_t type, Bytes p, UdpDatagram d) {
  for (int tags = 0; type == kEtherVlan || type == kEtherQinq || type == kEtherQinqOld; ++tags) {
    if (tags == kMaxVlanTags || p.size() < 4) return std::nullopt;
    const std::uint16_t vid = wire::be16(p.data()) & 0x0FFF;
    if (d.vlan_outer == kNoVlan) {
      d.vlan_outer = vid;
    } else if (d.vlan_inner == kNoVlan) {
      d.vlan_inner = vid;
    }
    type = wire::be16(p.data() + 2);
    p = p.subspan(4);
  }
  switch (type) {
    case kEtherIpv4: return from_ipv4(p, d);
    case kEtherIpv6: return from_ipv6(p, d);
    case kEtherMpls:
    case kEtherMplsMulti:
      for (int i = 0; i < kMaxMplsLabels; ++i) {
        if (p.size() < 4) return std::nullopt;
        const bool bottom = (p[2] & 0x01) != 0;
        p = p.subspan(4);
        if (bottom) return from_ip(p, d);
      }
      return std::nullopt;
    case kEtherPppoeSession: {
      // ver/type(1) code(1) session(2) length(2), then the PPP protocol (RFC 2516 §4).
      if (p.size() < 8 || p[0] != 0x11 || p[1] != 0) return std::nullopt;
      d.pppoe_session = wire::be16(p.data() + 2);
      const std::uint16_t ppp = wire::be16(p.data() + 6);
      if (ppp == 0x0021) return from_ipv4(p.subspan(8), d);
      if (ppp == 0x0057) return from_ipv6(p.subspan(8), d);
      return std::nullopt;
    }
    default: return std::nullopt;
  }
}

}  // namespace

bool udp_extract_supports(int link_type) noexcept {
  return link_type == kLinkEthernet || link_type == kLinkRaw || link_type == kLinkRawAlt ||
         link_type == kLinkLinuxSll || link_type == kLinkLinuxSll2;
}

std::optional<UdpDatagram> extract_udp(int link_type, std::span<const std::uint8_t> f) {
  UdpDatagram d;
  switch (link_type) {
    case kLinkEthernet:
      if (f.size() < 14) return std::nullopt;
      for (std::size_t i = 0; i < 6; ++i) d.src_mac[i] = f[6 + i];
      return from_ethertype(wire::be16(f.data() + 12), f.subspan(14), d);
    case kLinkRaw:
    case kLinkRawAlt: return from_ip(f, d);
    case kLinkLinuxSll:  // packet type(2) arphrd(2) addr len(2) addr(8) protocol(2)
      if (f.size() < 16) return std::nullopt;
      return from_ethertype(wire::be16(f.data() + 14), f.subspan(16), d);
    case kLinkLinuxSll2:  // protocol(2) reserved(2) ifindex(4) arphrd(2) type(1) len(1) addr(8)
      if (f.size() < 20) return std::nullopt;
      return from_ethertype(wire::be16(f.data()), f.subspan(20), d);
    default: return std::nullopt;
  }
}

}  // namespace conntrail::capture
