#include <gtest/gtest.h>

#include "capture/decode/decoder.h"
#include "tests/attribution/builders.h"

namespace conntrail::capture {
namespace {

using namespace conntrail::test;
using Bytes = conntrail::test::Bytes;  // not capture::Bytes (a span)

Bytes udp(std::uint16_t sport, std::uint16_t dport, const Bytes& payload) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put16(b, static_cast<std::uint32_t>(8 + payload.size()));
  put16(b, 0);
  put(b, payload);
  return b;
}

Bytes ipv4(const Bytes& l4, std::uint16_t frag = 0, std::uint8_t proto = 17) {
  Bytes b{0x45, 0};
  put16(b, static_cast<std::uint32_t>(20 + l4.size()));
  put16(b, 1);
  put16(b, frag);
  b.push_back(64);
  b.push_back(proto);
  put16(b, 0);
  put(b, v4(10, 0, 0, 1));
  put(b, v4(10, 0, 0, 2));
  put(b, l4);
  return b;
}

Bytes ipv6(const Bytes& l4, const Bytes& ext = {}, std::uint8_t first_next = 17) {
  Bytes b{0x60, 0, 0, 0};
  put16(b, static_cast<std::uint32_t>(ext.size() + l4.size()));
  b.push_back(first_next);
  b.push_back(64);
  put(b, v6({0xfe80, 0, 0, 0, 0, 0, 0, 1}));
  put(b, v6({0xff02, 0, 0, 0, 0, 0, 1, 2}));
  put(b, ext);
  put(b, l4);
  return b;
}

Bytes ether(std::uint16_t type, const Bytes& payload,
            std::initializer_list<std::uint16_t> tags = {}) {
  Bytes b{0, 0, 0, 0, 0, 2, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
  bool first = true;
  for (auto vid : tags) {
    put16(b, first && tags.size() > 1 ? 0x88A8 : 0x8100);
    put16(b, vid);
    first = false;
  }
  put16(b, type);
  put(b, payload);
  return b;
}

const Bytes kPayload = text("hello");
// capture's decoder exposes the payload of the innermost UDP header (PacketInfo::udp_payload);
// these are the cases the attribution tap depends on (they replaced the temporary walker's).
// Owns the frame it decoded, so the payload view stays valid as long as the result.
struct Decoded {
  Bytes frame;
  DecodeError error = DecodeError::kNone;
  PacketInfo packet;
  Bytes payload() const { return Bytes(packet.udp_payload.begin(), packet.udp_payload.end()); }
};

Decoded decode(LinkType link, Bytes frame) {
  Decoded d;
  d.frame = std::move(frame);  // moving a vector keeps its buffer: the view stays valid
  d.error = decode_frame(link, capture::Bytes(d.frame.data(), d.frame.size()), {}, d.packet);
  return d;
}

TEST(UdpPayloadTest, EthernetIpv4) {
  const auto f = ether(0x0800, ipv4(udp(40000, 1813, kPayload)));
  const auto d = decode(LinkType::kEthernet, f);
  ASSERT_EQ(d.error, DecodeError::kNone);
  EXPECT_EQ(d.packet.proto, 17);
  EXPECT_EQ(d.packet.src_port, 40000);
  EXPECT_EQ(d.packet.dst_port, 1813);
  EXPECT_EQ(d.payload(), kPayload);
  EXPECT_FALSE(d.packet.udp_payload_truncated);
  EXPECT_EQ(format_mac(d.packet.src_mac), "aa:bb:cc:dd:ee:ff");
}

TEST(UdpPayloadTest, QinqTagsAreRecorded) {
  const auto d = decode(LinkType::kEthernet, ether(0x0800, ipv4(udp(1, 2, kPayload)), {10, 20}));
  EXPECT_EQ(d.packet.vlan_outer, 10);
  EXPECT_EQ(d.packet.vlan_inner, 20);
  EXPECT_EQ(d.payload(), kPayload);
}

TEST(UdpPayloadTest, PppoeSessionIpv4AndIpv6) {
  for (const auto& [proto, ip] :
       {std::pair<std::uint16_t, Bytes>{0x0021, ipv4(udp(1, 2, kPayload))},
        std::pair<std::uint16_t, Bytes>{0x0057, ipv6(udp(1, 2, kPayload))}}) {
    Bytes p{0x11, 0};
    put16(p, 0x42);
    put16(p, static_cast<std::uint32_t>(ip.size() + 2));
    put16(p, proto);
    put(p, ip);
    const auto d = decode(LinkType::kEthernet, ether(0x8864, p));
    EXPECT_EQ(d.packet.pppoe_session, 0x42);
    EXPECT_EQ(d.payload(), kPayload);
  }
}

TEST(UdpPayloadTest, MplsStackThenIpv4) {
  Bytes m{0, 0x01, 0x00, 64, 0, 0x02, 0x01, 64};  // two labels, bottom of stack on the second
  put(m, ipv4(udp(1, 2, kPayload)));
  EXPECT_EQ(decode(LinkType::kEthernet, ether(0x8847, m)).payload(), kPayload);
}

TEST(UdpPayloadTest, Ipv6SkipsHopByHopAndDestinationOptions) {
  const Bytes ext{60, 0, 1, 4, 0, 0, 0, 0,   // hop-by-hop → destination options, PadN
                  17, 0, 1, 4, 0, 0, 0, 0};  // destination options → UDP
  const auto d = decode(LinkType::kEthernet, ether(0x86DD, ipv6(udp(546, 547, kPayload), ext, 0)));
  EXPECT_EQ(d.packet.dst_port, 547);
  EXPECT_EQ(d.payload(), kPayload);
}

TEST(UdpPayloadTest, Ipv6AtomicFragmentIsWholeButARealFragmentIsNot) {
  const Bytes atomic{17, 0, 0, 0, 0, 0, 0, 1};
  EXPECT_EQ(decode(LinkType::kRawIp, ipv6(udp(1, 2, kPayload), atomic, 44)).payload(), kPayload);
  const Bytes first_of_many{17, 0, 0, 1, 0, 0, 0, 1};  // M flag set
  EXPECT_TRUE(decode(LinkType::kRawIp, ipv6(udp(1, 2, kPayload), first_of_many, 44))
                  .packet.udp_payload.empty());
}

TEST(UdpPayloadTest, Ipv4FragmentsHaveNoPayload) {
  EXPECT_TRUE(
      decode(LinkType::kRawIp, ipv4(udp(1, 2, kPayload), 0x2000)).packet.udp_payload.empty());
  EXPECT_TRUE(
      decode(LinkType::kRawIp, ipv4(udp(1, 2, kPayload), 0x0010)).packet.udp_payload.empty());
}

TEST(UdpPayloadTest, EthernetPaddingIsNotPayload) {
  auto f = ether(0x0800, ipv4(udp(1, 2, kPayload)));
  f.insert(f.end(), 20, 0xEE);
  const auto d = decode(LinkType::kEthernet, f);
  EXPECT_EQ(d.payload(), kPayload);
  EXPECT_FALSE(d.packet.udp_payload_truncated);
}

TEST(UdpPayloadTest, SnaplenCutIsFlagged) {
  auto f = ether(0x0800, ipv4(udp(1, 2, kPayload)));
  f.resize(f.size() - 2);
  const auto d = decode(LinkType::kEthernet, f);
  EXPECT_TRUE(d.packet.udp_payload_truncated);
  EXPECT_EQ(d.packet.udp_payload.size(), kPayload.size() - 2);
}

TEST(UdpPayloadTest, UdpLengthBelowHeaderGivesNoPayload) {
  auto l4 = udp(1, 2, kPayload);
  l4[4] = 0;
  l4[5] = 4;
  EXPECT_TRUE(decode(LinkType::kRawIp, ipv4(l4)).packet.udp_payload.empty());
}

TEST(UdpPayloadTest, LinuxCookedV1AndV2) {
  Bytes sll(14, 0);
  put16(sll, 0x0800);
  put(sll, ipv4(udp(1, 2, kPayload)));
  EXPECT_EQ(decode(LinkType::kLinuxSll, sll).payload(), kPayload);
  Bytes sll2;
  put16(sll2, 0x86DD);
  sll2.resize(20, 0);
  put(sll2, ipv6(udp(1, 2, kPayload)));
  EXPECT_EQ(decode(LinkType::kLinuxSll2, sll2).payload(), kPayload);
}

TEST(UdpPayloadTest, TcpHasNoUdpPayload) {
  EXPECT_TRUE(decode(LinkType::kRawIp, ipv4(udp(1, 2, kPayload), 0, 6)).packet.udp_payload.empty());
}

TEST(UdpPayloadTest, InnermostUdpOfAnIpInIpTunnel) {
  const Bytes inner = ipv4(udp(40000, 1813, kPayload));
  const auto d = decode(LinkType::kRawIp, ipv4(inner, 0, 4));
  EXPECT_EQ(d.packet.dst_port, 1813);
  EXPECT_EQ(d.payload(), kPayload);
}

TEST(UdpPayloadTest, EveryPrefixOfAFrameIsSafe) {
  const Bytes ext{17, 0, 1, 4, 0, 0, 0, 0};
  Bytes p{0x11, 0, 0, 0x42, 0, 0, 0, 0x57};
  put(p, ipv6(udp(546, 547, kPayload), ext, 60));
  const auto f = ether(0x8864, p, {10, 20});
  for (std::size_t n = 0; n <= f.size(); ++n) {
    const auto d = decode(LinkType::kEthernet, Bytes(f.begin(), f.begin() + static_cast<long>(n)));
    EXPECT_LE(d.packet.udp_payload.size(), kPayload.size());
    if (!d.packet.udp_payload.empty()) {
      EXPECT_GE(d.packet.udp_payload.data(), d.frame.data());
      EXPECT_LE(d.packet.udp_payload.data() + d.packet.udp_payload.size(),
                d.frame.data() + d.frame.size());
    }
  }
}

}  // namespace
}  // namespace conntrail::capture
