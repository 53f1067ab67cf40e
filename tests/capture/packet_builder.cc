#include "tests/capture/packet_builder.h"

#include <gtest/gtest.h>

#include "core/ip_address.h"

namespace conntrail::testing {
namespace {

void put16(Frame& f, std::uint16_t v) {
  f.push_back(static_cast<std::uint8_t>(v >> 8));
  f.push_back(static_cast<std::uint8_t>(v));
}
void put32(Frame& f, std::uint32_t v) {
  put16(f, static_cast<std::uint16_t>(v >> 16));
  put16(f, static_cast<std::uint16_t>(v));
}
std::array<std::uint8_t, 16> addr(const std::string& text) {
  auto a = IpAddress::parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a ? a->bytes() : std::array<std::uint8_t, 16>{};
}

}  // namespace

Frame operator+(Frame a, const Frame& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

Frame ethernet(std::uint16_t ethertype, const MacAddress& src, const MacAddress& dst) {
  Frame f(dst.begin(), dst.end());
  f.insert(f.end(), src.begin(), src.end());
  put16(f, ethertype);
  return f;
}

Frame vlan_tag(std::uint16_t vid, std::uint16_t ethertype) {
  Frame f;
  put16(f, vid & 0x0fff);
  put16(f, ethertype);
  return f;
}

Frame mpls_label(std::uint32_t label, bool bottom) {
  Frame f;
  put32(f, (label << 12) | (bottom ? 0x100u : 0u) | 64u);
  return f;
}

Frame pppoe_session(std::uint16_t session, std::uint16_t ppp_protocol,
                    std::uint16_t payload_length) {
  Frame f{0x11, 0x00};
  put16(f, session);
  put16(f, static_cast<std::uint16_t>(payload_length + 2));
  put16(f, ppp_protocol);
  return f;
}

Frame linux_sll(std::uint16_t protocol) {
  Frame f;
  put16(f, 0);  // to us
  put16(f, 1);  // ARPHRD_ETHER
  put16(f, 6);
  f.insert(f.end(), kMacA.begin(), kMacA.end());
  put16(f, 0);
  put16(f, protocol);
  return f;
}

Frame linux_sll2(std::uint16_t protocol) {
  Frame f;
  put16(f, protocol);
  put16(f, 0);
  put32(f, 2);  // ifindex
  put16(f, 1);  // ARPHRD_ETHER
  f.push_back(0);
  f.push_back(6);
  f.insert(f.end(), kMacA.begin(), kMacA.end());
  put16(f, 0);
  return f;
}

Frame ipv4(const std::string& src, const std::string& dst, std::uint8_t proto, const Frame& payload,
           const Ipv4Extras& x) {
  const int ihl = 5 + x.option_words;
  Frame f;
  f.push_back(
      static_cast<std::uint8_t>(0x40 | ((x.ihl_override >= 0 ? x.ihl_override : ihl) & 0xf)));
  f.push_back(0);
  const std::size_t total = static_cast<std::size_t>(ihl) * 4 + payload.size();
  put16(f,
        static_cast<std::uint16_t>(x.total_length >= 0 ? x.total_length : static_cast<int>(total)));
  put16(f, x.id);
  put16(f,
        static_cast<std::uint16_t>((x.more_fragments ? 0x2000 : 0) | (x.fragment_offset & 0x1fff)));
  f.push_back(64);
  f.push_back(proto);
  put16(f, 0);
  const auto s = addr(src);
  const auto d = addr(dst);
  f.insert(f.end(), s.begin() + 12, s.end());
  f.insert(f.end(), d.begin() + 12, d.end());
  for (int i = 0; i < x.option_words; ++i) put32(f, 0x01010101);  // NOPs
  return f + payload;
}

Frame ipv6(const std::string& src, const std::string& dst, std::uint8_t next_header,
           const Frame& payload) {
  Frame f{0x60, 0, 0, 0};
  put16(f, static_cast<std::uint16_t>(payload.size()));
  f.push_back(next_header);
  f.push_back(64);
  const auto s = addr(src);
  const auto d = addr(dst);
  f.insert(f.end(), s.begin(), s.end());
  f.insert(f.end(), d.begin(), d.end());
  return f + payload;
}

Frame ipv6_option_header(std::uint8_t next_header, std::size_t length) {
  Frame f(length, 0);
  f[0] = next_header;
  f[1] = static_cast<std::uint8_t>(length / 8 - 1);
  f[2] = 1;  // PadN
  f[3] = static_cast<std::uint8_t>(length - 4);
  return f;
}

Frame ipv6_fragment_header(std::uint8_t next_header, std::uint16_t offset, bool more,
                           std::uint32_t id) {
  Frame f{next_header, 0};
  put16(f, static_cast<std::uint16_t>((offset << 3) | (more ? 1 : 0)));
  put32(f, id);
  return f;
}

Frame ipv6_ah(std::uint8_t next_header) {
  Frame f(24, 0);
  f[0] = next_header;
  f[1] = 4;  // (4 + 2) * 4 = 24 bytes
  return f;
}

Frame tcp(std::uint16_t sport, std::uint16_t dport, std::uint8_t flags, std::size_t payload) {
  Frame f;
  put16(f, sport);
  put16(f, dport);
  put32(f, 1000);
  put32(f, 2000);
  f.push_back(0x50);
  f.push_back(flags);
  put16(f, 65535);
  put32(f, 0);
  f.resize(f.size() + payload, 0xab);
  return f;
}

Frame udp(std::uint16_t sport, std::uint16_t dport, std::size_t payload) {
  Frame f;
  put16(f, sport);
  put16(f, dport);
  put16(f, static_cast<std::uint16_t>(8 + payload));
  put16(f, 0);
  f.resize(f.size() + payload, 0xcd);
  return f;
}

Frame icmp(std::uint8_t type, std::uint8_t code, std::size_t payload) {
  Frame f{type, code, 0, 0, 0, 1, 0, 1};
  f.resize(f.size() + payload, 0xef);
  return f;
}

Frame gre(std::uint16_t protocol, bool key, bool sequence, bool checksum) {
  Frame f;
  put16(f, static_cast<std::uint16_t>((checksum ? 0x8000 : 0) | (key ? 0x2000 : 0) |
                                      (sequence ? 0x1000 : 0)));
  put16(f, protocol);
  if (checksum) put32(f, 0);
  if (key) put32(f, 0xdeadbeef);
  if (sequence) put32(f, 7);
  return f;
}

Frame pptp_gre(bool sequence, bool ack) {
  Frame f;
  put16(f, static_cast<std::uint16_t>(0x2000 | (sequence ? 0x1000 : 0) | (ack ? 0x0080 : 0) | 1));
  put16(f, 0x880b);
  put16(f, 0);   // payload length (unchecked)
  put16(f, 42);  // call id
  if (sequence) put32(f, 1);
  if (ack) put32(f, 0);
  return f;
}

Frame ppp(std::uint16_t protocol, bool address_control, bool compressed) {
  Frame f;
  if (address_control) {
    f.push_back(0xff);
    f.push_back(0x03);
  }
  if (compressed) {
    f.push_back(static_cast<std::uint8_t>(protocol));
  } else {
    put16(f, protocol);
  }
  return f;
}

}  // namespace conntrail::testing
