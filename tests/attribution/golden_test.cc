// Golden tests: the sessions decoded from real and generated captures.
//
// Every expected row below was derived by hand from the packets (tshark -V for
// the public captures, the scenario docstrings of scripts/gen-attribution-pcaps.py
// for ours), not copied from conntrail's output. Times are epoch seconds with
// the capture's 6 decimals; T0 of the generated captures is 1700000000.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "capture/attribution/pcap_sessions.h"
#include "capture/attribution/session_format.h"

namespace conntrail::capture {
namespace {

std::string data(const std::string& name) {
  return std::string(CONNTRAIL_TEST_DATA) + "/attribution/" + name;
}

PcapSessions run(const std::string& name, AttributionDispatchConfig dispatch = {}) {
  auto r = sessions_from_pcap(data(name), SessionTrackerConfig{}, dispatch);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
  return r ? std::move(*r) : PcapSessions{};
}

std::vector<std::string> rows(const PcapSessions& r) {
  const SessionFormatter f(OutputFormat::kCsv, TimeFormat::kEpoch);
  std::vector<std::string> out;
  for (const auto& s : r.sessions) {
    auto line = f.row(s);
    line.pop_back();
    out.push_back(line);
  }
  return out;
}

using Rows = std::vector<std::string>;

TEST(AttributionGoldenTest, ArkimeRadiusInterimUpdate) {
  // One Interim-Update (VLAN 50) from NAS 10.0.0.1 at 1463339353.458380:
  // Framed-IP 10.0.0.3, User-Name xxxxxxxxx, Calling-Station-Id 985AEB898000,
  // Acct-Session-Time 177620 → the session began 177620 s earlier by the NAS's
  // account; no Stop, so it is still open at the end of the capture.
  const auto r = run("arkime-radius.pcap");
  EXPECT_EQ(rows(r), (Rows{"10.0.0.3,xxxxxxxxx,98:5a:eb:89:80:00,radius,1463161733.458380,,"
                           "xxxxxxxx985AEB898000-57361300,10.0.0.1,false,"}));
  EXPECT_EQ(r.parsing.radius_accounting, 1u);
  EXPECT_EQ(r.tracker.radius_interims, 1u);
}

TEST(AttributionGoldenTest, ZeekRadiusAuthenticationMakesNoMapping) {
  // Access-Request/Challenge/Accept on 1812, Access-Accept Framed-IP
  // 255.255.255.254 ("NAS assigns"). Even when 1812 is (wrongly) configured as an
  // accounting port, Access-* packets are counted and never bind an address.
  EXPECT_TRUE(run("zeek-radius.pcap").sessions.empty());
  AttributionDispatchConfig misconfigured;
  misconfigured.radius_accounting_ports = {1812};
  const auto r = run("zeek-radius.pcap", misconfigured);
  EXPECT_TRUE(r.sessions.empty());
  EXPECT_EQ(r.parsing.radius_other_codes, 2u);  // the two Access-Requests sent to 1812
  EXPECT_EQ(r.parsing.radius_accounting, 0u);
}

TEST(AttributionGoldenTest, ZeekDhcpAckAfterNak) {
  // NAK (no lease), then ACK of 128.2.6.189 to 90:b1:1c:99:49:29 at
  // 1370200444.371332, lease 900 s, server 128.2.6.152. The DECLINE (no option
  // 50) and RELEASE (ciaddr 0.0.0.0) name no address, so — as a server would —
  // they end nothing; the INFORM makes no lease. The capture ends 3 s later.
  const auto r = run("zeek-dhcp.pcap");
  EXPECT_EQ(rows(r), (Rows{"128.2.6.189,90:b1:1c:99:49:29,90:b1:1c:99:49:29,dhcp,"
                           "1370200444.371332,,xid:000007c0,128.2.6.152,false,"}));
  EXPECT_EQ(r.tracker.dhcp_naks, 1u);
  EXPECT_EQ(r.tracker.dhcp_release_unmatched, 2u);
}

TEST(AttributionGoldenTest, WiresharkDhcpAck) {
  const auto r = run("arkime-wireshark-dhcp.pcap");
  EXPECT_EQ(rows(r), (Rows{"192.168.0.10,00:0b:82:01:fc:42,00:0b:82:01:fc:42,dhcp,"
                           "1102274184.387798,,xid:00003d1e,192.168.0.1,false,"}));
}

TEST(AttributionGoldenTest, TcpdumpDhcpv6IaNa) {
  // Reply (xid 0x2ffdd1) with IA_NA (IAID 0x02030405) 2a00:1:1:200:38e6:b22e:c440:acdf to
  // DUID-LL 00:01:02:03:04:05; the Advertise before it binds nothing.
  const auto r = run("tcpdump-dhcpv6-ia-na.pcap");
  EXPECT_EQ(rows(r), (Rows{"2a00:1:1:200:38e6:b22e:c440:acdf,00:01:02:03:04:05,00:01:02:03:04:05,"
                           "dhcp,1353944096.019017,,iaid:02030405,fe80::211:22ff:fe33:4455,"
                           "false,00030001000102030405"}));
}

TEST(AttributionGoldenTest, WiresharkDhcpv6PrefixDelegationThenRelease) {
  // Reply with IA_PD 2001:0:0:fe00::/64 (valid 7200) at frame 8, Release of it
  // by the same DUID at frame 11: an observed end.
  const auto r = run("arkime-wireshark-dhcpv6.pcap");
  EXPECT_EQ(rows(r), (Rows{"2001:0:0:fe00::/64,08:00:27:fe:8f:95,08:00:27:fe:8f:95,dhcp,"
                           "1420235565.839157,1420235569.892611,iaid:27fe8f95,"
                           "fe80::a00:27ff:fed4:10bb,false,000100011c39cf88080027fe8f95"}));
}

TEST(AttributionGoldenTest, ZeekPppoeDhcpv6PrefixDelegation) {
  // DHCPv6 inside PPPoE session: Reply with IA_PD fc00:0:2:100::/56 at frame 39.
  const auto r = run("zeek-pppoe.pcap");
  EXPECT_EQ(rows(r), (Rows{"fc00:0:2:100::/56,cc:05:0e:88:00:00,cc:05:0e:88:00:00,dhcp,"
                           "1284385418.110560,,iaid:00090001,fe80::c801:eff:fe88:8,false,"
                           "00030001cc050e880000"}));
}

TEST(AttributionGoldenTest, GeneratedRadiusLifecycle) {
  // alice: Start T0; Stop at T0+900 with Acct-Delay-Time 2 → ends T0+898 (observed);
  //   the Stop retransmitted at T0+903 is a duplicate. Three bindings: v4, /64, /56.
  // bob: Start T0+10 (QinQ 10/20), never stopped → open.
  // carol: first seen by an Interim at T0+400 with Acct-Session-Time 3600 → began T0-3200.
  const auto r = run("radius-lifecycle.pcap");
  EXPECT_EQ(rows(r),
            (Rows{
                "100.64.1.9,carol,,radius,1699996800.000000,,C-0003,192.0.2.1,false,",
                "100.64.1.7,alice,00:11:22:33:44:55,radius,1700000000.000000,1700000898.000000,"
                "A-0001,192.0.2.1,false,",
                "2001:db8:1:1::/64,alice,00:11:22:33:44:55,radius,1700000000.000000,"
                "1700000898.000000,A-0001,192.0.2.1,false,",
                "2001:db8:100::/56,alice,00:11:22:33:44:55,radius,1700000000.000000,"
                "1700000898.000000,A-0001,192.0.2.1,false,",
                "100.64.1.8,bob,,radius,1700000010.000000,,B-0002,192.0.2.1,false,",
            }));
  EXPECT_EQ(r.tracker.radius_duplicate_stop, 1u);
}

TEST(AttributionGoldenTest, GeneratedAccountingOnAndOff) {
  // NAS 192.0.2.1 reboots (Accounting-On at T0+100): carol and dave end there,
  // assumed. NAS 192.0.2.2 shuts down (Accounting-Off at T0+200): erin ends,
  // observed. carol's new session at T0+210 is open.
  const auto r = run("radius-accounting-on.pcap");
  EXPECT_EQ(rows(r), (Rows{
                         "100.64.2.1,carol,,radius,1700000000.000000,1700000100.000000,N1-1,"
                         "192.0.2.1,true,",
                         "100.64.2.2,dave,,radius,1700000001.000000,1700000100.000000,N1-2,"
                         "192.0.2.1,true,",
                         "100.64.3.1,erin,,radius,1700000002.000000,1700000200.000000,N2-1,"
                         "192.0.2.2,false,",
                         "100.64.2.9,carol,,radius,1700000210.000000,,N1-3,192.0.2.1,false,",
                     }));
}

TEST(AttributionGoldenTest, GeneratedDhcpLeaseRenewalExpiryReleaseNak) {
  // 100.64.5.5: ACK T0 (600 s), renewed T0+300 (600 s) → expires T0+900, assumed.
  // 100.64.5.6: RELEASE by another client at T0+50 ignored; by its holder at T0+500.
  // 100.64.5.7: NAK at T0+40. The ACK to INFORM at T0+60 makes no lease.
  // Subscriber = option 82 circuit-id (the default order prefers it to the MAC).
  const auto r = run("dhcp-lease.pcap");
  EXPECT_EQ(rows(r),
            (Rows{
                "100.64.5.5,eth0/1/1:100,00:11:22:00:00:0a,dhcp,1700000000.000000,"
                "1700000900.000000,xid:00001001,198.51.100.67,true,",
                "100.64.5.6,eth0/1/2:100,00:11:22:00:00:0b,dhcp,1700000010.000000,"
                "1700000500.000000,xid:00001002,198.51.100.67,false,",
                "100.64.5.7,eth0/1/3:100,00:11:22:00:00:0c,dhcp,1700000020.000000,"
                "1700000040.000000,xid:00001003,198.51.100.67,false,",
            }));
  EXPECT_EQ(r.tracker.dhcp_release_unmatched, 1u);
  EXPECT_EQ(r.tracker.dhcp_ack_no_address, 1u);
  EXPECT_EQ(r.tracker.dhcp_renewals, 1u);
}

TEST(AttributionGoldenTest, GeneratedDhcpv6PrefixDelegation) {
  // Client 1 (Interface-Id ae0.2001): IA_NA ::10 and IA_PD 2200::/56 at T0 (valid 1800),
  //   renewed T0+900 → the prefix expires at T0+2700 (assumed); the address is
  //   withdrawn with valid lifetime 0 at T0+1000 (observed).
  // Client 2 (ae0.2002): IA_PD 2300::/56 at T0+5, Released at T0+100.
  const auto r = run("dhcpv6-pd.pcap");
  EXPECT_EQ(rows(r),
            (Rows{
                "2001:db8:2200::/56,ae0.2001,00:11:22:00:01:01,dhcp,1700000000.000000,"
                "1700002700.000000,iaid:00000002,2001:db8:53::547,true,00030001001122000101",
                "2001:db8:ffff::10,ae0.2001,00:11:22:00:01:01,dhcp,1700000000.000000,"
                "1700001000.000000,iaid:00000001,2001:db8:53::547,false,00030001001122000101",
                "2001:db8:2300::/56,ae0.2002,00:11:22:00:01:02,dhcp,1700000005.000000,"
                "1700000100.000000,iaid:00000007,2001:db8:53::547,false,00030001001122000102",
            }));
}

TEST(AttributionGoldenTest, GeneratedOverlapIsKeptAndCounted) {
  // frank (NAS 1) T0; grace (NAS 2) claims the same address at T0+60: both kept,
  // an overlap. heidi (NAS 1, inside PPPoE) at T0+120: NAS 1 reassigned the
  // address, so frank's session ends there (assumed); grace still overlaps.
  const auto r = run("radius-overlap.pcap");
  EXPECT_EQ(rows(r), (Rows{
                         "100.64.9.9,frank,,radius,1700000000.000000,1700000120.000000,X-1,"
                         "192.0.2.1,true,",
                         "100.64.9.9,grace,,radius,1700000060.000000,,Y-1,192.0.2.2,false,",
                         "100.64.9.9,heidi,,radius,1700000120.000000,,X-2,192.0.2.1,false,",
                     }));
  EXPECT_EQ(r.tracker.overlaps, 2u);
  EXPECT_EQ(r.tracker.superseded, 1u);
}

TEST(AttributionGoldenTest, MissingFileIsAnError) {
  const auto r = sessions_from_pcap(data("no-such.pcap"), {}, {});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);  // capture/source tells a missing file from an unreadable one
}

}  // namespace
}  // namespace conntrail::capture
