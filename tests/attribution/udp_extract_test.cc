#include "capture/attribution/udp_extract.h"

#include <gtest/gtest.h>

#include "tests/attribution/builders.h"

namespace conntrail::capture {
namespace {

using namespace conntrail::test;

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

Bytes ether(std::uint16_t type, const Bytes& payload, std::initializer_list<std::uint16_t> tags = {}) {
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

TEST(UdpExtractTest, EthernetIpv4) {
  const auto f = ether(0x0800, ipv4(udp(40000, 1813, kPayload)));
  const auto d = extract_udp(kLinkEthernet, f);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->src.to_string(), "10.0.0.1");
  EXPECT_EQ(d->dst.to_string(), "10.0.0.2");
  EXPECT_EQ(d->src_port, 40000);
  EXPECT_EQ(d->dst_port, 1813);
  EXPECT_EQ(Bytes(d->payload.begin(), d->payload.end()), kPayload);
  EXPECT_FALSE(d->payload_truncated);
  EXPECT_EQ(format_mac(d->src_mac), "aa:bb:cc:dd:ee:ff");
}

TEST(UdpExtractTest, QinqTagsAreRecorded) {
  const auto d = extract_udp(kLinkEthernet, ether(0x0800, ipv4(udp(1, 2, kPayload)), {10, 20}));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->vlan_outer, 10);
  EXPECT_EQ(d->vlan_inner, 20);
}

TEST(UdpExtractTest, FiveVlanTagsAreTooMany) {
  EXPECT_FALSE(extract_udp(kLinkEthernet, ether(0x0800, ipv4(udp(1, 2, kPayload)), {1, 2, 3, 4, 5})));
}

TEST(UdpExtractTest, PppoeSessionIpv4AndIpv6) {
  for (const auto& [proto, ip] : {std::pair<std::uint16_t, Bytes>{0x0021, ipv4(udp(1, 2, kPayload))},
                                  std::pair<std::uint16_t, Bytes>{0x0057, ipv6(udp(1, 2, kPayload))}}) {
    Bytes p{0x11, 0};
    put16(p, 0x42);
    put16(p, static_cast<std::uint32_t>(ip.size() + 2));
    put16(p, proto);
    put(p, ip);
    const auto d = extract_udp(kLinkEthernet, ether(0x8864, p));
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->pppoe_session, 0x42);
    EXPECT_EQ(d->payload.size(), kPayload.size());
  }
}

TEST(UdpExtractTest, MplsStackThenIpv4) {
  Bytes m{0, 0x01, 0x00, 64, 0, 0x02, 0x01, 64};  // two labels, bottom of stack on the second
  put(m, ipv4(udp(1, 2, kPayload)));
  ASSERT_TRUE(extract_udp(kLinkEthernet, ether(0x8847, m)).has_value());
}

TEST(UdpExtractTest, Ipv6SkipsHopByHopAndDestinationOptions) {
  const Bytes ext{60, 0, 1, 4, 0, 0, 0, 0,    // hop-by-hop → destination options, PadN
                  17, 0, 1, 4, 0, 0, 0, 0};   // destination options → UDP
  const auto d = extract_udp(kLinkEthernet, ether(0x86DD, ipv6(udp(546, 547, kPayload), ext, 0)));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->dst_port, 547);
}

TEST(UdpExtractTest, Ipv6AtomicFragmentIsWholeButARealFragmentIsNot) {
  const Bytes atomic{17, 0, 0, 0, 0, 0, 0, 1};
  EXPECT_TRUE(extract_udp(kLinkRaw, ipv6(udp(1, 2, kPayload), atomic, 44)).has_value());
  const Bytes first_of_many{17, 0, 0, 1, 0, 0, 0, 1};  // M flag set
  EXPECT_FALSE(extract_udp(kLinkRaw, ipv6(udp(1, 2, kPayload), first_of_many, 44)).has_value());
}

TEST(UdpExtractTest, Ipv4FragmentsAreSkipped) {
  EXPECT_FALSE(extract_udp(kLinkRaw, ipv4(udp(1, 2, kPayload), 0x2000)).has_value());  // MF
  EXPECT_FALSE(extract_udp(kLinkRaw, ipv4(udp(1, 2, kPayload), 0x0010)).has_value());  // offset
}

TEST(UdpExtractTest, EthernetPaddingIsNotPayload) {
  auto f = ether(0x0800, ipv4(udp(1, 2, kPayload)));
  f.insert(f.end(), 20, 0xEE);
  const auto d = extract_udp(kLinkEthernet, f);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->payload.size(), kPayload.size());
}

TEST(UdpExtractTest, SnaplenCutIsFlagged) {
  auto f = ether(0x0800, ipv4(udp(1, 2, kPayload)));
  f.resize(f.size() - 2);
  const auto d = extract_udp(kLinkEthernet, f);
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->payload_truncated);
  EXPECT_EQ(d->payload.size(), kPayload.size() - 2);
}

TEST(UdpExtractTest, LinuxCookedV1AndV2) {
  Bytes sll(14, 0);
  put16(sll, 0x0800);
  put(sll, ipv4(udp(1, 2, kPayload)));
  EXPECT_TRUE(extract_udp(kLinkLinuxSll, sll).has_value());
  Bytes sll2;
  put16(sll2, 0x86DD);
  sll2.resize(20, 0);
  put(sll2, ipv6(udp(1, 2, kPayload)));
  EXPECT_TRUE(extract_udp(kLinkLinuxSll2, sll2).has_value());
}

TEST(UdpExtractTest, NotUdpAndUnknownLinksAreNotOurs) {
  EXPECT_FALSE(extract_udp(kLinkRaw, ipv4(udp(1, 2, kPayload), 0, 6)).has_value());
  EXPECT_FALSE(extract_udp(147, ether(0x0800, ipv4(udp(1, 2, kPayload)))).has_value());
  EXPECT_FALSE(udp_extract_supports(147));
}

TEST(UdpExtractTest, EveryPrefixOfAFrameIsSafe) {
  const Bytes ext{17, 0, 1, 4, 0, 0, 0, 0};
  Bytes p{0x11, 0, 0, 0x42, 0, 0, 0, 0x57};
  put(p, ipv6(udp(546, 547, kPayload), ext, 60));
  const auto f = ether(0x8864, p, {10, 20});
  for (std::size_t n = 0; n <= f.size(); ++n) {
    const auto d = extract_udp(kLinkEthernet, std::span(f.data(), n));
    if (d) {
      EXPECT_LE(d->payload.size(), kPayload.size());
    }
  }
}

}  // namespace
}  // namespace conntrail::capture
