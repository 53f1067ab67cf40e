// The control handles' BPF filters, compiled by libpcap for Ethernet (DLT_EN10MB)
// and run over generated frames: each filter accepts the RADIUS/DHCP datagrams of
// its own encapsulation and no other, so together they see each datagram exactly
// once; a non-control datagram passes none. The capture decoder then finds the
// UDP ports in every frame a filter accepted (what the control worker does next).
#include "capture/source/control_filter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "capture/decode/decoder.h"
#include "capture/decode/link.h"
#include "capture/decode/transport.h"
#include "capture/source/pcap_handle.h"
#include "tests/capture/packet_builder.h"

namespace conntrail::capture {
namespace {

using namespace conntrail::testing;
using namespace conntrail::capture::ethertype;

constexpr std::uint16_t kPppoeSession = 0x8864;
constexpr std::uint16_t kPppIpv4 = 0x0021, kPppIpv6 = 0x0057;

// Encapsulations in the order of control_bpf_filters(), with the filter that must take them.
enum Encap { ePlain, eDot1q, eQinq, ePppoe, eDot1qPppoe, eQinqPppoe, eMpls, eDot1qMpls, eQinqMpls };
constexpr int kFilterOf[] = {0, 0, 0, 1, 2, 3, 4, 5, 6};
constexpr const char* kNames[] = {"untagged",   "802.1Q", "QinQ",        "PPPoE",    "802.1Q+PPPoE",
                                  "QinQ+PPPoE", "MPLS",   "802.1Q+MPLS", "QinQ+MPLS"};

Frame ip_packet(bool v6, std::uint16_t sport, std::uint16_t dport) {
  const Frame l4 = udp(sport, dport, 40);
  return v6 ? ipv6("2001:db8::1", "2001:db8::2", 17, l4) : ipv4("192.0.2.1", "192.0.2.2", 17, l4);
}

// The frame of `encap` carrying `ip` (IPv4 or IPv6).
Frame frame(Encap encap, bool v6, const Frame& ip) {
  const std::uint16_t ip_type = v6 ? 0x86dd : 0x0800;
  const std::uint16_t ppp = v6 ? kPppIpv6 : kPppIpv4;
  const auto pppoe = [&] { return pppoe_session(7, ppp, static_cast<std::uint16_t>(ip.size())); };
  switch (encap) {
    case ePlain:
      return ethernet(ip_type) + ip;
    case eDot1q:
      return ethernet(kVlan) + vlan_tag(10, ip_type) + ip;
    case eQinq:
      return ethernet(kQinq) + vlan_tag(100, kVlan) + vlan_tag(10, ip_type) + ip;
    case ePppoe:
      return ethernet(kPppoeSession) + pppoe() + ip;
    case eDot1qPppoe:
      return ethernet(kVlan) + vlan_tag(10, kPppoeSession) + pppoe() + ip;
    case eQinqPppoe:
      return ethernet(kQinq) + vlan_tag(100, kVlan) + vlan_tag(10, kPppoeSession) + pppoe() + ip;
    case eMpls:
      return ethernet(kMplsUnicast) + mpls_label(16, true) + ip;
    case eDot1qMpls:
      return ethernet(kVlan) + vlan_tag(10, kMplsUnicast) + mpls_label(16, true) + ip;
    case eQinqMpls:
      return ethernet(kQinq) + vlan_tag(100, kVlan) + vlan_tag(10, kMplsUnicast) +
             mpls_label(16, true) + ip;
  }
  return {};
}

std::vector<BpfProgram> compile_all(const std::vector<std::uint16_t>& ports) {
  std::vector<BpfProgram> programs;
  for (const auto& text : control_bpf_filters(ports)) {
    auto p = BpfProgram::compile(LinkType::kEthernet, 65535, text);
    EXPECT_TRUE(p.has_value()) << (p ? "" : p.error().message);
    if (p) programs.push_back(std::move(*p));
  }
  return programs;
}

TEST(ControlFilterBpfTest, EveryFilterCompilesForEthernet) {
  const auto filters = control_bpf_filters({1813, 1646, 67, 68, 546, 547});
  ASSERT_EQ(filters.size(), 7u);
  for (const auto& text : filters) {
    auto p = BpfProgram::compile(LinkType::kEthernet, 65535, text);
    ASSERT_TRUE(p.has_value()) << text << ": " << p.error().message;
    EXPECT_GT(p->instructions(), 0u);
  }
}

TEST(ControlFilterBpfTest, EachEncapsulationIsTakenByExactlyItsFilter) {
  const auto programs = compile_all({1813, 67, 68, 546, 547});
  ASSERT_EQ(programs.size(), 7u);
  for (int e = ePlain; e <= eQinqMpls; ++e) {
    for (bool v6 : {false, true}) {
      for (auto [sport, dport] :
           {std::pair<std::uint16_t, std::uint16_t>{40000, 1813}, {67, 68}, {546, 547}}) {
        const Frame f = frame(static_cast<Encap>(e), v6, ip_packet(v6, sport, dport));
        for (std::size_t i = 0; i < programs.size(); ++i) {
          EXPECT_EQ(programs[i].matches(f), static_cast<int>(i) == kFilterOf[e])
              << kNames[e] << (v6 ? " IPv6" : " IPv4") << " port " << dport << ", filter " << i;
        }
        // What the control worker does with an accepted frame: decode to the UDP ports.
        PacketInfo packet;
        const DecodeError error = decode_frame(LinkType::kEthernet, f, DecodeOptions{}, packet);
        EXPECT_FALSE(is_dropped(error))
            << kNames[e] << (v6 ? " IPv6 " : " IPv4 ") << to_string(error);
        EXPECT_EQ(packet.proto, kProtoUdp) << kNames[e];
        EXPECT_EQ(packet.dst_port, dport) << kNames[e];
      }
    }
  }
}

TEST(ControlFilterBpfTest, OtherTrafficPassesNoFilter) {
  const auto programs = compile_all({1813, 67, 68});
  ASSERT_EQ(programs.size(), 7u);
  for (int e = ePlain; e <= eQinqMpls; ++e) {
    const Frame dns = frame(static_cast<Encap>(e), false, ip_packet(false, 40000, 53));
    const Frame web = frame(static_cast<Encap>(e), false,
                            ipv4("192.0.2.1", "192.0.2.2", 6, tcp(40000, 1813, kSyn)));
    for (const auto& p : programs) {
      EXPECT_FALSE(p.matches(dns)) << kNames[e] << " UDP 53";
      EXPECT_FALSE(p.matches(web)) << kNames[e] << " TCP 1813";
    }
  }
}

// libpcap's `mpls` checks the bottom-of-stack bit of the label it steps over, so a
// two-label stack (L3VPN) is not taken: documented in control_filter.h.
TEST(ControlFilterBpfTest, TwoLabelStackIsNotTaken) {
  const auto programs = compile_all({1813});
  const Frame f = ethernet(kMplsUnicast) + mpls_label(16, false) + mpls_label(17, true) +
                  ip_packet(false, 40000, 1813);
  for (const auto& p : programs) EXPECT_FALSE(p.matches(f));
}

TEST(ControlFilterBpfTest, BadFilterTextIsAnErrorNotACrash) {
  auto p = BpfProgram::compile(LinkType::kEthernet, 65535, "udp port and and");
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().code, ErrorCode::kInvalidArgument);
  // libpcap refuses `vlan` after `pppoes`: why PPPoE-then-VLAN has no filter.
  EXPECT_FALSE(BpfProgram::compile(LinkType::kEthernet, 65535, "pppoes and vlan and udp"));
}

}  // namespace
}  // namespace conntrail::capture
