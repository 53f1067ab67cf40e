// Golden tests: every public capture in tests/data/pcaps against its
// ground-truth flow list (see tests/data/pcaps/SOURCES.md for the oracles).
// Every flow, packet, IP byte, TCP flag set and first/last time must match,
// compared without regard to flow direction like `oracle.py compare`.
//
// On the ground truth itself: conntrail matches all 43 files (and the 4 outer
// variants) exactly, with its default timeouts and TCP close rules, and we
// found no row we believe wrong. Three places where it departs from Zeek on
// purpose, all documented in SOURCES.md and docs/FLOWS.md:
//  - zeek/tcp/truncated-header.pcap: 10/14 packets, not Zeek's 9/14 — the SYN
//    whose TCP options are cut by the snaplen still has an intact IP header and
//    TCP ports, so it is traffic and is counted.
//  - zeek/tcp/syn-bad.pcap: 1 packet (Zeek without -C: 0) — checksums are not
//    verified; a corrupt segment still crossed the link.
//  - fragments count one packet each (Zeek, Arkime: one per datagram).
// The pppoe-over-qinq FIN retransmissions (4.5 s after the close) stay in
// their flow because they come within the 5 s close linger.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "capture/pipeline/capture_file.h"
#include "tests/capture/golden_flows.h"

namespace conntrail::capture {
namespace {

struct GoldenCase {
  const char* file;
  bool outer;  // compare with <file>.outer.flows.csv, keyed on the outermost IP header
};

std::string name_of(const ::testing::TestParamInfo<GoldenCase>& info) {
  std::string n = info.param.file;
  for (char& c : n) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return n + (info.param.outer ? "_outer" : "");
}

class GoldenTest : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(GoldenTest, FlowsMatchGroundTruth) {
  const GoldenCase& c = GetParam();
  const std::string pcap = std::string(CONNTRAIL_TEST_DATA) + "/pcaps/" + c.file;
  const std::string truth = pcap + (c.outer ? ".outer.flows.csv" : ".flows.csv");

  CaptureOptions options;
  if (c.outer) options.meter.decode.tunnel_layer = TunnelLayer::kOuter;
  std::vector<FlowRecord> flows;
  const auto counters =
      read_capture_file(pcap, options, [&](FlowRecord&& f) { flows.push_back(std::move(f)); });
  ASSERT_TRUE(counters.has_value()) << counters.error().message;
  EXPECT_EQ(counters->flows_exported, flows.size());

  const auto expected = testing::load_ground_truth(truth);
  EXPECT_EQ(expected.size(), flows.size());
  const std::string diff = testing::diff_flows(expected, testing::canonicalize(flows));
  EXPECT_TRUE(diff.empty()) << c.file << (c.outer ? " (outer)" : "") << ":\n" << diff;
}

// All 43 captures of ../shared/pcaps, listed (not globbed) so that a lost file fails.
constexpr GoldenCase kCases[] = {
    {"arkime/6-4-gre-ppp-udp-4-dns.pcap", false},
    {"arkime/6-4-gre-ppp-udp-4-dns.pcap", true},
    {"arkime/dot1ad.pcap", false},
    {"arkime/mpls-basic.pcap", false},
    {"arkime/pppoe.pcap", false},
    {"arkime/radius.pcap", false},
    {"arkime/socks5-http-302-frag.pcap", false},
    {"arkime/twovlan.pcap", false},
    {"arkime/wireshark-dhcp.pcap", false},
    {"arkime/wireshark-dhcpv6.pcap", false},
    {"ndpi/dns_fragmented.pcap", false},
    {"ndpi/malformed_icmp.pcap", false},
    {"ndpi/nano.pcapng", false},
    {"tcpdump/dhcpv6-ia-na.pcap", false},
    {"tcpdump/tcp-handshake-nano.pcap", false},
    {"tcpdump/various_gre.pcap", false},
    {"tcpdump/various_gre.pcap", true},
    {"zeek/communityid/icmp6.pcap", false},
    {"zeek/dhcp/dhcp.pcap", false},
    {"zeek/ftp/ipv6.pcap", false},
    {"zeek/http/get-to-ssh-server.pcap", false},
    {"zeek/http/get.pcap", false},
    {"zeek/icmp/5-pings.pcap", false},
    {"zeek/ipv4/fragmented-syn.pcap", false},
    {"zeek/ipv6-fragmented-dns.pcap", false},
    {"zeek/ipv6-hbh-routing0.pcap", false},
    {"zeek/ipv6-http-atomic-frag.pcap", false},
    {"zeek/linux_dlt_sll2.pcap", false},
    {"zeek/mixed-vlan-mpls.pcap", false},
    {"zeek/mpls-in-vlan.pcap", false},
    {"zeek/pcapng-multi-interface.pcapng", false},
    {"zeek/pppoe-over-qinq.pcap", false},
    {"zeek/pppoe.pcap", false},
    {"zeek/q-in-q.pcap", false},
    {"zeek/radius/radius.pcap", false},
    {"zeek/tcp/syn-bad.pcap", false},
    {"zeek/tcp/truncated-header.pcap", false},
    {"zeek/tls/irc-starttls.pcap", false},
    {"zeek/trunc/ip4-trunc.pcap", false},
    {"zeek/trunc/ipv4-truncated-broken-header.pcap", false},
    {"zeek/tunnels/gre-pptp.pcap", false},
    {"zeek/tunnels/gre-pptp.pcap", true},
    {"zeek/tunnels/gre-sample.pcap", false},
    {"zeek/tunnels/gre-sample.pcap", true},
    {"zeek/tunnels/ping6-in-ipv4.pcap", false},
    {"zeek/tunnels/ping6-in-ipv4.pcap", true},
    {"zeek/udp-contents-truncated-oob.pcap", false},
    {"zeek/vlan-collisions.pcap", false},
};

INSTANTIATE_TEST_SUITE_P(PublicCaptures, GoldenTest, ::testing::ValuesIn(kCases), name_of);

TEST(GoldenTest, ListsEveryCapture) {
  int inner = 0;
  for (const auto& c : kCases) inner += c.outer ? 0 : 1;
  EXPECT_EQ(inner, 43);
}

}  // namespace
}  // namespace conntrail::capture
