// Decoder tests: each layer over frames built byte by byte, including every
// malformed case the decoder must count instead of crashing.
#include "capture/decode/decoder.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "capture/decode/gre.h"
#include "capture/decode/ipv4.h"
#include "capture/decode/ipv6.h"
#include "capture/decode/mpls.h"
#include "capture/decode/ppp.h"
#include "capture/decode/transport.h"
#include "capture/source/pcap_handle.h"
#include "core/ip_address.h"
#include "tests/capture/packet_builder.h"

namespace conntrail::capture {
namespace {

using namespace conntrail::testing;

constexpr std::uint16_t kEthIpv4 = 0x0800;
constexpr std::uint16_t kEthIpv6 = 0x86dd;

struct Decoded {
  DecodeError error;
  PacketInfo p;
};

Decoded decode(const Frame& f, LinkType link = LinkType::kEthernet,
               TunnelLayer layer = TunnelLayer::kInner) {
  Decoded d;
  DecodeOptions options;
  options.tunnel_layer = layer;
  d.error = decode_frame(link, Bytes(f.data(), f.size()), options, d.p);
  return d;
}

std::string ip_text(const Address16& a, bool v6) {
  if (v6) return IpAddress::v6_from_bytes(std::span<const std::uint8_t, 16>(a)).to_string();
  return IpAddress::v4_from_bytes(std::span<const std::uint8_t, 4>(a.data() + 12, 4)).to_string();
}

Frame v4_tcp(std::uint8_t flags = kSyn, std::size_t payload = 0) {
  return ipv4("10.0.0.1", "192.0.2.7", 6, tcp(40000, 443, flags, payload));
}

TEST(DecoderTest, EthernetIpv4Tcp) {
  const auto d = decode(ethernet(kEthIpv4) + v4_tcp(kSyn | kAck, 10));
  ASSERT_EQ(d.error, DecodeError::kNone);
  EXPECT_FALSE(d.p.is_v6);
  EXPECT_EQ(ip_text(d.p.src, false), "10.0.0.1");
  EXPECT_EQ(ip_text(d.p.dst, false), "192.0.2.7");
  EXPECT_EQ(d.p.proto, 6);
  EXPECT_EQ(d.p.src_port, 40000);
  EXPECT_EQ(d.p.dst_port, 443);
  EXPECT_EQ(d.p.tcp_flags, kSyn | kAck);
  EXPECT_EQ(d.p.ip_bytes, 20u + 20u + 10u);
  EXPECT_TRUE(d.p.has_mac);
  EXPECT_EQ(d.p.src_mac, kMacA);
  EXPECT_EQ(d.p.dst_mac, kMacB);
  EXPECT_EQ(d.p.vlan_outer, kNoVlan);
  EXPECT_EQ(d.p.fragment, FragmentKind::kNone);
}

TEST(DecoderTest, Ipv4OptionsAreSkippedByIhl) {
  Ipv4Extras x;
  x.option_words = 3;
  const auto d = decode(ethernet(kEthIpv4) + ipv4("10.0.0.1", "10.0.0.2", 17, udp(53, 5353, 4), x));
  ASSERT_EQ(d.error, DecodeError::kNone);
  EXPECT_EQ(d.p.src_port, 53);
  EXPECT_EQ(d.p.dst_port, 5353);
  EXPECT_EQ(d.p.ip_bytes, 32u + 12u);
}

TEST(DecoderTest, SingleVlanAndQinq) {
  auto d = decode(ethernet(0x8100) + vlan_tag(42, kEthIpv4) + v4_tcp());
  ASSERT_EQ(d.error, DecodeError::kNone);
  EXPECT_EQ(d.p.vlan_outer, 42);
  EXPECT_EQ(d.p.vlan_inner, kNoVlan);
  d = decode(ethernet(0x88a8) + vlan_tag(10, 0x8100) + vlan_tag(20, kEthIpv4) + v4_tcp());
  ASSERT_EQ(d.error, DecodeError::kNone);
  EXPECT_EQ(d.p.vlan_outer, 10);
  EXPECT_EQ(d.p.vlan_inner, 20);
}

TEST(DecoderTest, QinqWithPppoeSessionCarryingIpv6) {
  const Frame inner = ipv6("2001:db8::1", "2001:db8:ffff::53", 17, udp(5000, 53, 20));
  const auto d =
      decode(ethernet(0x88a8) + vlan_tag(3704, 0x8100) + vlan_tag(2474, 0x8864) +
             pppoe_session(0x1234, 0x0057, static_cast<std::uint16_t>(inner.size())) + inner);
  ASSERT_EQ(d.error, DecodeError::kNone);
  EXPECT_EQ(d.p.vlan_outer, 3704);
  EXPECT_EQ(d.p.vlan_inner, 2474);
  EXPECT_EQ(d.p.pppoe_session, 0x1234);
  EXPECT_TRUE(d.p.is_v6);
  EXPECT_EQ(ip_text(d.p.src, true), "2001:db8::1");
  EXPECT_EQ(d.p.dst_port, 53);
  EXPECT_EQ(d.p.ip_bytes, 40u + 28u);
}

TEST(DecoderTest, PppoeControlAndDiscoveryAreNotIp) {
  EXPECT_EQ(decode(ethernet(0x8864) + pppoe_session(7, 0xc021, 10) + Frame(10, 0)).error,
            DecodeError::kNotIp);
  EXPECT_EQ(decode(ethernet(0x8863) + Frame(20, 0)).error, DecodeError::kNotIp);
  EXPECT_EQ(decode(ethernet(0x0806) + Frame(28, 0)).error, DecodeError::kNotIp);
  EXPECT_EQ(decode(ethernet(0x0026) + Frame(38, 0)).error, DecodeError::kNotIp);  // 802.3 length
}

TEST(DecoderTest, MplsStackOfFiveInsideVlan) {
  Frame f = ethernet(0x8100) + vlan_tag(7, 0x8847);
  for (int i = 0; i < 5; ++i) f = f + mpls_label(100 + static_cast<std::uint32_t>(i), i == 4);
  const auto d = decode(f + v4_tcp());
  ASSERT_EQ(d.error, DecodeError::kNone);
  EXPECT_EQ(d.p.vlan_outer, 7);
  EXPECT_EQ(d.p.dst_port, 443);
  const Frame stack = mpls_label(1, false) + mpls_label(2, false) + mpls_label(3, false) +
                      mpls_label(4, false) + mpls_label(5, true) + v4_tcp();
  const auto s = parse_mpls_stack(Bytes(stack.data(), stack.size()));
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->labels, 5);
  EXPECT_EQ(s->length, 20u);
  EXPECT_EQ(s->ip_version, 4);
}

TEST(DecoderTest, MplsCarriesIpv6ByFirstNibble) {
  const auto d = decode(ethernet(0x8847) + mpls_label(16, true) +
                        ipv6("2001:db8::1", "2001:db8::2", 58, icmp(128, 0)));
  ASSERT_EQ(d.error, DecodeError::kNone);
  EXPECT_TRUE(d.p.is_v6);
  EXPECT_EQ(d.p.src_port, 128);
  EXPECT_EQ(d.p.dst_port, 129);
}

TEST(DecoderTest, MplsMalformedStacksAreCounted) {
  Frame deep = ethernet(0x8847);
  for (int i = 0; i < 17; ++i) deep = deep + mpls_label(1, false);
  EXPECT_EQ(decode(deep + v4_tcp()).error, DecodeError::kTooManyLayers);
  EXPECT_EQ(decode(ethernet(0x8847) + mpls_label(1, false)).error, DecodeError::kTruncatedLink);
  EXPECT_EQ(
      decode(ethernet(0x8847) + mpls_label(1, true) + Frame{0x00, 0, 0, 0} + Frame(14, 0)).error,
      DecodeError::kNotIp);  // pseudowire control word
}

TEST(DecoderTest, BrokenIpv4HeadersBelongToNoFlow) {
  Ipv4Extras bad_ihl;
  bad_ihl.ihl_override = 15;  // 60 bytes, total length 20+8
  EXPECT_EQ(decode(ethernet(kEthIpv4) + ipv4("1.1.1.1", "2.2.2.2", 17, udp(1, 2), bad_ihl)).error,
            DecodeError::kBadIpv4HeaderLength);
  Ipv4Extras small_ihl;
  small_ihl.ihl_override = 4;
  EXPECT_EQ(decode(ethernet(kEthIpv4) + ipv4("1.1.1.1", "2.2.2.2", 17, udp(1, 2), small_ihl)).error,
            DecodeError::kBadIpv4HeaderLength);
  Ipv4Extras short_total;
  short_total.total_length = 12;
  EXPECT_EQ(
      decode(ethernet(kEthIpv4) + ipv4("1.1.1.1", "2.2.2.2", 17, udp(1, 2), short_total)).error,
      DecodeError::kBadIpTotalLength);
  Frame cut = ethernet(kEthIpv4) + v4_tcp();
  cut.resize(14 + 19);
  EXPECT_EQ(decode(cut).error, DecodeError::kTruncatedIp);
  Frame v6_in_v4 = ethernet(kEthIpv4) + ipv6("::1", "::2", 17, udp(1, 2));
  EXPECT_EQ(decode(v6_in_v4).error, DecodeError::kBadIpVersion);
}

TEST(DecoderTest, TruncatedPacketCountsFullIpLength) {
  Frame f = ethernet(kEthIpv4) + v4_tcp(kAck, 1400);
  f.resize(14 + 20 + 20);  // snaplen cut after the TCP header
  const auto d = decode(f);
  ASSERT_EQ(d.error, DecodeError::kNone);
  EXPECT_EQ(d.p.ip_bytes, 1440u);
}

TEST(DecoderTest, TransportCutByTheSnaplenGivesPortsZero) {
  Frame f = ethernet(kEthIpv4) + v4_tcp();
  f.resize(14 + 20 + 3);
  const auto d = decode(f);
  EXPECT_EQ(d.error, DecodeError::kTruncatedTransport);
  EXPECT_FALSE(is_dropped(d.error));
  EXPECT_EQ(d.p.src_port, 0);
  EXPECT_EQ(d.p.dst_port, 0);
  EXPECT_EQ(d.p.proto, 6);
  // Ports but no flags byte: ports kept, flags 0.
  Frame g = ethernet(kEthIpv4) + v4_tcp(kSyn);
  g.resize(14 + 20 + 10);
  const auto e = decode(g);
  EXPECT_EQ(e.error, DecodeError::kNone);
  EXPECT_EQ(e.p.dst_port, 443);
  EXPECT_EQ(e.p.tcp_flags, 0);
}

TEST(DecoderTest, Ipv6ExtensionHeadersAreWalked) {
  const Frame l4 = tcp(1234, 80, kSyn);
  const Frame chain = ipv6_option_header(43, 16) + ipv6_option_header(60, 8) +
                      ipv6_option_header(51, 8) + ipv6_ah(6) + l4;
  const auto d = decode(ethernet(kEthIpv6) + ipv6("2001:db8::1", "2001:db8::2", 0, chain));
  ASSERT_EQ(d.error, DecodeError::kNone);
  EXPECT_EQ(d.p.proto, 6);
  EXPECT_EQ(d.p.src_port, 1234);
  EXPECT_EQ(d.p.dst_port, 80);
  EXPECT_EQ(d.p.ip_bytes, 40u + chain.size());
}

TEST(DecoderTest, EspEndsTheIpv6Walk) {
  const auto d = decode(ethernet(kEthIpv6) + ipv6("2001:db8::1", "2001:db8::2", 0,
                                                  ipv6_option_header(50) + Frame(16, 1)));
  ASSERT_EQ(d.error, DecodeError::kNone);
  EXPECT_EQ(d.p.proto, 50);
  EXPECT_EQ(d.p.src_port, 0);
  EXPECT_EQ(d.p.dst_port, 0);
}

TEST(DecoderTest, CutExtensionChainStillMakesAProtoOnlyFlow) {
  Frame f = ethernet(kEthIpv6) + ipv6("2001:db8::1", "2001:db8::2", 0, ipv6_option_header(17, 16));
  f.resize(f.size() - 10);
  const auto d = decode(f);
  EXPECT_EQ(d.error, DecodeError::kBadIpv6Extension);
  EXPECT_FALSE(is_dropped(d.error));
  EXPECT_EQ(d.p.proto, 0);
  EXPECT_EQ(d.p.src_port, 0);
}

TEST(DecoderTest, Ipv6Fragments) {
  const auto first =
      decode(ethernet(kEthIpv6) + ipv6("2001:db8::1", "2001:db8::2", 44,
                                       ipv6_fragment_header(17, 0, true, 77) + udp(53, 999, 100)));
  ASSERT_EQ(first.error, DecodeError::kNone);
  EXPECT_EQ(first.p.fragment, FragmentKind::kFirst);
  EXPECT_EQ(first.p.fragment_id, 77u);
  EXPECT_EQ(first.p.dst_port, 999);
  const auto later =
      decode(ethernet(kEthIpv6) + ipv6("2001:db8::1", "2001:db8::2", 44,
                                       ipv6_fragment_header(17, 14, false, 77) + Frame(50, 0)));
  ASSERT_EQ(later.error, DecodeError::kNone);
  EXPECT_EQ(later.p.fragment, FragmentKind::kLater);
  EXPECT_EQ(later.p.proto, 17);
  EXPECT_EQ(later.p.src_port, 0);
  const auto atomic =
      decode(ethernet(kEthIpv6) + ipv6("2001:db8::1", "2001:db8::2", 44,
                                       ipv6_fragment_header(6, 0, false, 5) + tcp(1, 2, kSyn)));
  ASSERT_EQ(atomic.error, DecodeError::kNone);
  EXPECT_EQ(atomic.p.fragment, FragmentKind::kNone);
  EXPECT_EQ(atomic.p.dst_port, 2);
}

TEST(DecoderTest, Ipv4Fragments) {
  Ipv4Extras first;
  first.more_fragments = true;
  first.id = 9;
  auto d = decode(ethernet(kEthIpv4) + ipv4("10.0.0.1", "10.0.0.2", 17, udp(53, 1000, 40), first));
  EXPECT_EQ(d.p.fragment, FragmentKind::kFirst);
  EXPECT_EQ(d.p.src_port, 53);
  Ipv4Extras later;
  later.fragment_offset = 6;
  later.id = 9;
  d = decode(ethernet(kEthIpv4) + ipv4("10.0.0.1", "10.0.0.2", 17, Frame(20, 0), later));
  EXPECT_EQ(d.p.fragment, FragmentKind::kLater);
  EXPECT_EQ(d.p.fragment_id, 9u);
  EXPECT_EQ(d.p.src_port, 0);
}

TEST(DecoderTest, IcmpPortsFollowCommunityId) {
  auto d = decode(ethernet(kEthIpv4) + ipv4("10.0.0.1", "10.0.0.2", 1, icmp(8, 0, 56)));
  EXPECT_EQ(d.p.src_port, 8);
  EXPECT_EQ(d.p.dst_port, 0);
  EXPECT_FALSE(d.p.one_way);
  d = decode(ethernet(kEthIpv4) + ipv4("10.0.0.9", "10.0.0.1", 1,
                                       icmp(3, 3) + ipv4("10.0.0.1", "10.0.0.2", 17, udp(5, 6))));
  EXPECT_EQ(d.p.src_port, 3);
  EXPECT_EQ(d.p.dst_port, 3);
  EXPECT_TRUE(d.p.one_way);
  EXPECT_EQ(ip_text(d.p.src, false), "10.0.0.9");  // keyed on the error, not the quoted packet
  d = decode(ethernet(kEthIpv6) + ipv6("fe80::1", "ff02::1", 58, icmp(135, 0, 16)));
  EXPECT_EQ(d.p.src_port, 135);
  EXPECT_EQ(d.p.dst_port, 136);
  d = decode(ethernet(kEthIpv6) + ipv6("fe80::1", "ff02::16", 58, icmp(143, 0, 16)));
  EXPECT_EQ(d.p.src_port, 143);
  EXPECT_TRUE(d.p.one_way);
}

TEST(DecoderTest, OtherProtocolsAreProtoOnly) {
  const auto d = decode(ethernet(kEthIpv4) + ipv4("10.0.0.1", "224.0.0.5", 89, Frame(40, 0)));
  ASSERT_EQ(d.error, DecodeError::kNone);
  EXPECT_EQ(d.p.proto, 89);
  EXPECT_EQ(d.p.src_port, 0);
  EXPECT_EQ(d.p.dst_port, 0);
}

TEST(DecoderTest, GreIsOpenedToTheInnerConversation) {
  const Frame inner = ipv4("192.168.1.1", "192.168.2.2", 6, tcp(5555, 22, kSyn));
  for (const bool key : {false, true}) {
    for (const bool seq : {false, true}) {
      const auto d = decode(ethernet(kEthIpv4) + ipv4("198.51.100.1", "198.51.100.2", 47,
                                                      gre(0x0800, key, seq, true) + inner));
      ASSERT_EQ(d.error, DecodeError::kNone);
      EXPECT_EQ(ip_text(d.p.src, false), "192.168.1.1");
      EXPECT_EQ(d.p.dst_port, 22);
      EXPECT_EQ(d.p.ip_bytes, 40u);
    }
  }
  const auto outer =
      decode(ethernet(kEthIpv4) + ipv4("198.51.100.1", "198.51.100.2", 47, gre(0x0800) + inner),
             LinkType::kEthernet, TunnelLayer::kOuter);
  ASSERT_EQ(outer.error, DecodeError::kNone);
  EXPECT_EQ(outer.p.proto, 47);
  EXPECT_EQ(ip_text(outer.p.src, false), "198.51.100.1");
  EXPECT_EQ(outer.p.ip_bytes, 20u + 4u + 40u);
}

TEST(DecoderTest, PptpEnhancedGreWithPpp) {
  const Frame inner = ipv4("172.16.0.5", "8.8.8.8", 17, udp(3333, 53, 30));
  for (const bool ac : {false, true}) {
    for (const bool compressed : {false, true}) {
      const auto d = decode(ethernet(kEthIpv6) +
                            ipv6("2001:db8::a", "2001:db8::b", 47,
                                 pptp_gre(true, ac) + ppp(0x0021, ac, compressed) + inner));
      ASSERT_EQ(d.error, DecodeError::kNone) << ac << compressed;
      EXPECT_FALSE(d.p.is_v6);
      EXPECT_EQ(ip_text(d.p.dst, false), "8.8.8.8");
      EXPECT_EQ(d.p.dst_port, 53);
    }
  }
  // LCP inside the tunnel: the tunnel itself is the flow.
  const auto lcp = decode(ethernet(kEthIpv4) +
                          ipv4("10.1.1.1", "10.1.1.2", 47,
                               pptp_gre(false, false) + ppp(0xc021, true, false) + Frame(8, 0)));
  ASSERT_EQ(lcp.error, DecodeError::kNone);
  EXPECT_EQ(lcp.p.proto, 47);
}

TEST(DecoderTest, IpInIpAnd6in4AreOpened) {
  auto d = decode(ethernet(kEthIpv4) +
                  ipv4("10.0.0.1", "10.0.0.2", 4, ipv4("172.16.0.1", "172.16.0.2", 1, icmp(8, 0))));
  ASSERT_EQ(d.error, DecodeError::kNone);
  EXPECT_EQ(ip_text(d.p.src, false), "172.16.0.1");
  EXPECT_EQ(d.p.proto, 1);
  d = decode(ethernet(kEthIpv4) + ipv4("10.0.0.1", "10.0.0.2", 41,
                                       ipv6("2001:db8::1", "2001:db8::2", 58, icmp(128, 0))));
  ASSERT_EQ(d.error, DecodeError::kNone);
  EXPECT_TRUE(d.p.is_v6);
  EXPECT_EQ(d.p.src_port, 128);
  d = decode(ethernet(kEthIpv4) + ipv4("10.0.0.1", "10.0.0.2", 41,
                                       ipv6("2001:db8::1", "2001:db8::2", 58, icmp(128, 0))),
             LinkType::kEthernet, TunnelLayer::kOuter);
  EXPECT_EQ(d.p.proto, 41);
  EXPECT_FALSE(d.p.is_v6);
}

TEST(DecoderTest, BrokenTunnelPayloadKeysOnTheOuterHeader) {
  Frame cut_inner = ipv4("172.16.0.1", "172.16.0.2", 6, tcp(1, 2, kSyn));
  cut_inner.resize(12);
  const auto d = decode(ethernet(kEthIpv4) + ipv4("10.0.0.1", "10.0.0.2", 4, cut_inner));
  EXPECT_EQ(d.error, DecodeError::kBadTunnel);
  EXPECT_FALSE(is_dropped(d.error));
  EXPECT_EQ(d.p.proto, 4);
  EXPECT_EQ(ip_text(d.p.src, false), "10.0.0.1");
}

TEST(DecoderTest, NestedTunnelsAreBounded) {
  Frame f = ipv4("1.1.1.1", "2.2.2.2", 17, udp(1, 2));
  for (int i = 0; i < 20; ++i) f = ipv4("10.0.0.1", "10.0.0.2", 4, f);
  const auto d = decode(ethernet(kEthIpv4) + f);
  // The walk stops at the bound; the frame still makes a (tunnel) flow.
  EXPECT_EQ(d.error, DecodeError::kBadTunnel);
  EXPECT_EQ(d.p.proto, 4);
}

TEST(DecoderTest, LinuxCookedAndRawLinks) {
  auto d = decode(linux_sll(kEthIpv4) + v4_tcp(), LinkType::kLinuxSll);
  ASSERT_EQ(d.error, DecodeError::kNone);
  EXPECT_EQ(d.p.dst_port, 443);
  d = decode(linux_sll2(kEthIpv6) + ipv6("::1", "::1", 58, icmp(128, 0)), LinkType::kLinuxSll2);
  ASSERT_EQ(d.error, DecodeError::kNone);
  EXPECT_EQ(d.p.src_port, 128);
  d = decode(v4_tcp(), LinkType::kRawIp);
  ASSERT_EQ(d.error, DecodeError::kNone);
  d = decode(ipv6("::1", "::2", 17, udp(1, 2)), LinkType::kRawIp);
  EXPECT_TRUE(d.p.is_v6);
  EXPECT_EQ(decode(Frame{}, LinkType::kRawIp).error, DecodeError::kTruncatedIp);
  EXPECT_EQ(decode(Frame(10, 0), LinkType::kLinuxSll).error, DecodeError::kTruncatedLink);
  EXPECT_EQ(decode(Frame(10, 0)).error, DecodeError::kTruncatedLink);
}

TEST(DecoderTest, TooManyVlanTagsAreCounted) {
  Frame f = ethernet(0x8100);
  for (int i = 0; i < 20; ++i) f = f + vlan_tag(static_cast<std::uint16_t>(i), 0x8100);
  EXPECT_EQ(decode(f + Frame(4, 0)).error, DecodeError::kTooManyLayers);
  EXPECT_EQ(decode(ethernet(0x8100) + Frame{0x00}).error, DecodeError::kTruncatedLink);
}

TEST(DecoderTest, EveryPrefixOfAFrameDecodesWithoutCrashing) {
  const Frame inner =
      ipv6("2001:db8::1", "2001:db8::2", 0,
           ipv6_option_header(44) + ipv6_fragment_header(6, 0, true, 1) + tcp(1, 2, kSyn));
  const Frame full = ethernet(0x88a8) + vlan_tag(1, 0x8100) + vlan_tag(2, 0x8847) +
                     mpls_label(5, true) +
                     ipv4("10.0.0.1", "10.0.0.2", 47, gre(0x86dd, true) + inner);
  for (std::size_t n = 0; n <= full.size(); ++n) {
    Frame cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    PacketInfo p;
    (void)decode_frame(LinkType::kEthernet, Bytes(cut.data(), cut.size()), {}, p);
  }
  const auto d = decode(full);
  ASSERT_EQ(d.error, DecodeError::kNone);
  EXPECT_EQ(d.p.fragment, FragmentKind::kFirst);
  EXPECT_EQ(d.p.dst_port, 2);
}

TEST(GreTest, RejectsUnknownVersionsAndShortHeaders) {
  const Frame v2{0x00, 0x02, 0x08, 0x00};
  EXPECT_FALSE(parse_gre(Bytes(v2.data(), v2.size())).has_value());
  const Frame key_cut{0x20, 0x00, 0x08, 0x00, 0x00};
  EXPECT_FALSE(parse_gre(Bytes(key_cut.data(), key_cut.size())).has_value());
  const Frame pptp_without_key{0x00, 0x01, 0x88, 0x0b};
  EXPECT_FALSE(parse_gre(Bytes(pptp_without_key.data(), pptp_without_key.size())).has_value());
}

TEST(PppTest, ProtocolFieldCompression) {
  const Frame c{0x21, 0x45};
  auto h = parse_ppp(Bytes(c.data(), c.size()));
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->protocol, 0x21);
  EXPECT_EQ(h->length, 1u);
  const Frame full{0xff, 0x03, 0x00, 0x57};
  h = parse_ppp(Bytes(full.data(), full.size()));
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->protocol, 0x57);
  EXPECT_EQ(h->length, 4u);
}

// Every field, so a difference between the fast path and the general walk shows.
std::string describe(DecodeError e, const PacketInfo& p) {
  std::string s = std::string(to_string(e));
  const auto add = [&s](std::uint64_t v) { s += ' ' + std::to_string(v); };
  for (auto b : p.src) add(b);
  for (auto b : p.dst) add(b);
  add(p.ip_bytes), add(p.src_port), add(p.dst_port), add(p.proto), add(p.tcp_flags);
  add(p.is_v6), add(p.one_way), add(static_cast<int>(p.fragment)), add(p.fragment_id);
  add(reinterpret_cast<std::uintptr_t>(p.udp_payload.data())), add(p.udp_payload.size());
  add(p.udp_payload_truncated), add(p.vlan_outer), add(p.vlan_inner), add(p.pppoe_session);
  add(p.has_mac);
  for (auto b : p.src_mac) add(b);
  for (auto b : p.dst_mac) add(b);
  return s;
}

// decode_frame (fast path first) and decode_frame_general must agree on every
// frame of every test capture, whole and cut at every length up to 96 bytes
// (which walks every bounds check of the fast path), for both tunnel layers.
TEST(DecoderTest, FastPathMatchesTheGeneralWalkOnEveryTestCaptureFrame) {
  struct Frames {
    LinkType link;
    std::vector<std::vector<std::uint8_t>> frames;
  };
  std::size_t files = 0;
  std::size_t compared = 0;
  std::size_t whole_ok = 0;
  const std::filesystem::path root = std::string(CONNTRAIL_TEST_DATA) + "/pcaps";
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    const std::string ext = entry.path().extension().string();
    if (ext != ".pcap" && ext != ".pcapng") continue;
    auto handle = PcapHandle::open_offline(entry.path().string());
    ASSERT_TRUE(handle) << entry.path();
    auto link = handle->link_type();
    if (!link) continue;
    Frames f{*link, {}};
    for (;;) {
      auto n = handle->dispatch(
          -1,
          [](void* ctx, const RawPacket& r) {
            static_cast<Frames*>(ctx)->frames.emplace_back(r.data, r.data + r.captured_length);
          },
          &f);
      if (!n || *n == 0) break;
    }
    ++files;
    for (const auto& frame : f.frames) {
      std::vector<std::size_t> lengths;
      for (std::size_t n = 0; n < std::min<std::size_t>(frame.size(), 97); ++n) lengths.push_back(n);
      lengths.push_back(frame.size());
      for (const std::size_t length : lengths) {
        const Bytes bytes(frame.data(), length);
        for (const auto layer : {TunnelLayer::kInner, TunnelLayer::kOuter}) {
          DecodeOptions options;
          options.tunnel_layer = layer;
          PacketInfo fast, general;
          fast.ts = general.ts = 42;
          const DecodeError fe = decode_frame(f.link, bytes, options, fast);
          const DecodeError ge = decode_frame_general(f.link, bytes, options, general);
          ++compared;
          if (is_dropped(ge)) {
            ASSERT_EQ(fe, ge) << entry.path() << " length " << length;
            continue;  // `out` is unspecified after a dropped kind
          }
          ASSERT_EQ(describe(fe, fast), describe(ge, general)) << entry.path() << " length " << length;
          ASSERT_EQ(fast.ts, 42);
          if (fe == DecodeError::kNone && length == frame.size()) ++whole_ok;
        }
      }
    }
  }
  EXPECT_GE(files, 43u);
  EXPECT_GT(compared, 100000u);
  EXPECT_GT(whole_ok, 1000u);
}

}  // namespace
}  // namespace conntrail::capture
