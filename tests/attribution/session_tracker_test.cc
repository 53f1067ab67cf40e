#include "capture/attribution/session_tracker.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <vector>

namespace conntrail::capture {
namespace {

constexpr TimestampNs kT0 = 1'700'000'000 * kNsPerSecond;
constexpr TimestampNs kSec = kNsPerSecond;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }
IpPrefix prefix(const char* text) { return *IpPrefix::parse(text); }

PacketContext at(TimestampNs offset, const char* src = "192.0.2.1") {
  return PacketContext{kT0 + offset, ip(src), ip("192.0.2.10"), TimePrecision::kMicro};
}

RadiusAccounting acct(AcctStatus status, const char* session, const char* user,
                      const char* framed, const char* nas = "192.0.2.1") {
  RadiusAccounting a;
  a.status = static_cast<std::uint32_t>(status);
  if (session != nullptr) a.acct_session_id = session;
  if (user != nullptr) a.user_name = user;
  if (framed != nullptr) a.framed_ip = ip(framed);
  if (nas != nullptr) a.nas_ip = ip(nas);
  return a;
}

Dhcpv4Message ack(const char* address, std::uint8_t mac_last, std::optional<std::uint32_t> lease) {
  Dhcpv4Message m;
  m.op = 2;
  m.type = Dhcpv4Type::kAck;
  m.yiaddr = ip(address);
  m.mac = MacAddress{0, 0x11, 0x22, 0, 0, mac_last};
  m.chaddr_hex = "0011220000" + fmt::format("{:02x}", mac_last);
  m.lease_seconds = lease;
  m.server_id = ip("198.51.100.67");
  return m;
}

Dhcpv6Message reply6(const char* duid, const char* pfx, std::uint32_t valid, std::uint32_t iaid = 1) {
  Dhcpv6Message m;
  m.type = Dhcpv6Type::kReply;
  m.client_duid_hex = duid;
  m.bindings.push_back(Dhcpv6Binding{prefix(pfx), iaid, valid / 2, valid, true});
  return m;
}

class SessionTrackerTest : public ::testing::Test {
 protected:
  SessionTracker make(SessionTrackerConfig config = {}) {
    return SessionTracker(std::move(config), [this](const SessionRecord& r) { closed.push_back(r); });
  }
  std::vector<SessionRecord> closed;
};

TEST_F(SessionTrackerTest, StartInterimStopMakeOneClosedSessionPerAddress) {
  auto t = make();
  auto start = acct(AcctStatus::kStart, "S1", "alice", "100.64.1.7");
  start.delegated_ipv6_prefixes.push_back(prefix("2001:db8:100::/56"));
  t.on_radius(start, at(0));
  t.on_radius(acct(AcctStatus::kInterimUpdate, "S1", "alice", "100.64.1.7"), at(300 * kSec));
  EXPECT_TRUE(closed.empty());
  EXPECT_EQ(t.open_sessions().size(), 2u);
  t.on_radius(acct(AcctStatus::kStop, "S1", "alice", "100.64.1.7"), at(900 * kSec));
  ASSERT_EQ(closed.size(), 2u);
  for (const auto& r : closed) {
    EXPECT_EQ(r.subscriber, "alice");
    EXPECT_EQ(r.start_ts, kT0);
    EXPECT_EQ(r.end_ts, kT0 + 900 * kSec);
    EXPECT_FALSE(r.end_assumed);
    EXPECT_EQ(r.source, SessionSource::kRadius);
    EXPECT_EQ(r.session_id, "S1");
    EXPECT_EQ(r.server.to_string(), "192.0.2.1");
  }
  EXPECT_EQ(closed[0].address.to_string(), "100.64.1.7/32");
  EXPECT_EQ(closed[1].address.to_string(), "2001:db8:100::/56");
  EXPECT_TRUE(t.open_sessions().empty());
  EXPECT_EQ(t.counters().closed_observed, 2u);
}

TEST_F(SessionTrackerTest, AcctDelayTimeMovesTheEventEarlier) {
  auto t = make();
  t.on_radius(acct(AcctStatus::kStart, "S1", "alice", "100.64.1.7"), at(0));
  auto stop = acct(AcctStatus::kStop, "S1", "alice", "100.64.1.7");
  stop.acct_delay_time = 7;
  t.on_radius(stop, at(100 * kSec));
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].end_ts, kT0 + 93 * kSec);
}

TEST_F(SessionTrackerTest, InterimOfAnUnseenSessionIsBackdatedBySessionTime) {
  auto t = make();
  auto interim = acct(AcctStatus::kInterimUpdate, "S1", "alice", "100.64.1.7");
  interim.acct_session_time = 3600;
  t.on_radius(interim, at(0));
  ASSERT_EQ(t.open_sessions().size(), 1u);
  EXPECT_EQ(t.open_sessions()[0].start_ts, kT0 - 3600 * kSec);

  SessionTrackerConfig no_backdate;
  no_backdate.backdate_from_session_time = false;
  auto t2 = make(no_backdate);
  t2.on_radius(interim, at(0));
  EXPECT_EQ(t2.open_sessions()[0].start_ts, kT0);
}

TEST_F(SessionTrackerTest, AddressAddedByAnInterimStartsAtThatInterim) {
  auto t = make();
  t.on_radius(acct(AcctStatus::kStart, "S1", "alice", "100.64.1.7"), at(0));
  auto interim = acct(AcctStatus::kInterimUpdate, "S1", "alice", "100.64.1.7");
  interim.acct_session_time = 60;
  interim.framed_ipv6_prefixes.push_back(prefix("2001:db8:1:1::/64"));
  t.on_radius(interim, at(60 * kSec));
  const auto open = t.open_sessions();
  ASSERT_EQ(open.size(), 2u);
  EXPECT_EQ(open[1].address.to_string(), "2001:db8:1:1::/64");
  EXPECT_EQ(open[1].start_ts, kT0 + 60 * kSec);
}

TEST_F(SessionTrackerTest, UnrefreshedSessionClosesAtTheOpenBoundAssumed) {
  SessionTrackerConfig c;
  c.open_bound = 600 * kSec;
  auto t = make(c);
  t.on_radius(acct(AcctStatus::kStart, "S1", "alice", "100.64.1.7"), at(0));
  t.on_radius(acct(AcctStatus::kInterimUpdate, "S1", "alice", "100.64.1.7"), at(500 * kSec));
  t.advance(kT0 + 1099 * kSec);
  EXPECT_TRUE(closed.empty()) << "the interim at 500 s moved the bound to 1100 s";
  t.advance(kT0 + 1100 * kSec);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].end_ts, kT0 + 1100 * kSec);
  EXPECT_TRUE(closed[0].end_assumed);
  EXPECT_EQ(t.counters().closed_bound, 1u);
}

TEST_F(SessionTrackerTest, AccountingOnClosesOnlyItsNasAssumedAndOffObserved) {
  auto t = make();
  t.on_radius(acct(AcctStatus::kStart, "A", "carol", "100.64.2.1", "192.0.2.1"), at(0));
  t.on_radius(acct(AcctStatus::kStart, "B", "dave", "100.64.2.2", "192.0.2.1"), at(1 * kSec));
  t.on_radius(acct(AcctStatus::kStart, "C", "erin", "100.64.3.1", "192.0.2.2"), at(2 * kSec));
  t.on_radius(acct(AcctStatus::kAccountingOn, nullptr, nullptr, nullptr, "192.0.2.1"), at(100 * kSec));
  ASSERT_EQ(closed.size(), 2u);
  EXPECT_TRUE(closed[0].end_assumed);
  EXPECT_EQ(closed[0].end_ts, kT0 + 100 * kSec);
  EXPECT_EQ(t.open_sessions().size(), 1u);
  t.on_radius(acct(AcctStatus::kAccountingOff, nullptr, nullptr, nullptr, "192.0.2.2"), at(200 * kSec));
  ASSERT_EQ(closed.size(), 3u);
  EXPECT_FALSE(closed[2].end_assumed);
  EXPECT_EQ(t.counters().closed_reset, 2u);
}

TEST_F(SessionTrackerTest, NasWithoutNasIpAddressIsKnownByItsSourceAddress) {
  auto t = make();
  t.on_radius(acct(AcctStatus::kStart, "A", "carol", "100.64.2.1", nullptr), at(0, "192.0.2.7"));
  t.on_radius(acct(AcctStatus::kAccountingOn, nullptr, nullptr, nullptr, nullptr), at(5 * kSec, "192.0.2.8"));
  EXPECT_TRUE(closed.empty());
  t.on_radius(acct(AcctStatus::kAccountingOn, nullptr, nullptr, nullptr, nullptr), at(9 * kSec, "192.0.2.7"));
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].server.to_string(), "192.0.2.7");
}

TEST_F(SessionTrackerTest, DuplicateStopAndLateInterimAreCountedNotReopened) {
  auto t = make();
  t.on_radius(acct(AcctStatus::kStart, "S1", "alice", "100.64.1.7"), at(0));
  t.on_radius(acct(AcctStatus::kStop, "S1", "alice", "100.64.1.7"), at(10 * kSec));
  t.on_radius(acct(AcctStatus::kStop, "S1", "alice", "100.64.1.7"), at(13 * kSec));
  t.on_radius(acct(AcctStatus::kInterimUpdate, "S1", "alice", "100.64.1.7"), at(14 * kSec));
  EXPECT_EQ(closed.size(), 1u);
  EXPECT_TRUE(t.open_sessions().empty());
  EXPECT_EQ(t.counters().radius_duplicate_stop, 1u);
  EXPECT_EQ(t.counters().radius_late_update, 1u);
}

TEST_F(SessionTrackerTest, StopOfAnUnseenSessionIsRecordedFromTheStopAlone) {
  auto t = make();
  auto stop = acct(AcctStatus::kStop, "S9", "zoe", "100.64.1.9");
  stop.acct_session_time = 120;
  t.on_radius(stop, at(1000 * kSec));
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].start_ts, kT0 + 880 * kSec);
  EXPECT_EQ(closed[0].end_ts, kT0 + 1000 * kSec);
  EXPECT_EQ(t.counters().radius_stop_unseen, 1u);
}

TEST_F(SessionTrackerTest, StartWithoutAddressAndOtherStatusTypesMakeNothing) {
  auto t = make();
  t.on_radius(acct(AcctStatus::kStart, "S1", "alice", nullptr), at(0));
  auto tunnel = acct(AcctStatus::kStart, "S2", "bob", "100.64.1.8");
  tunnel.status = 9;  // Tunnel-Start
  t.on_radius(tunnel, at(1));
  EXPECT_TRUE(t.open_sessions().empty());
  EXPECT_EQ(t.counters().radius_no_address, 1u);
  EXPECT_EQ(t.counters().radius_ignored_status, 1u);
}

TEST_F(SessionTrackerTest, SameNasReassigningAnAddressSupersedesAnotherNasOverlaps) {
  auto t = make();
  t.on_radius(acct(AcctStatus::kStart, "X1", "frank", "100.64.9.9", "192.0.2.1"), at(0));
  t.on_radius(acct(AcctStatus::kStart, "Y1", "grace", "100.64.9.9", "192.0.2.2"), at(60 * kSec));
  EXPECT_TRUE(closed.empty());
  EXPECT_EQ(t.counters().overlaps, 1u);
  EXPECT_EQ(t.covering(ip("100.64.9.9"), kT0 + 61 * kSec).size(), 2u);
  t.on_radius(acct(AcctStatus::kStart, "X2", "heidi", "100.64.9.9", "192.0.2.1"), at(120 * kSec));
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].subscriber, "frank");
  EXPECT_TRUE(closed[0].end_assumed);
  EXPECT_EQ(closed[0].end_ts, kT0 + 120 * kSec);
  EXPECT_EQ(t.counters().superseded, 1u);
  EXPECT_EQ(t.counters().overlaps, 2u);
}

TEST_F(SessionTrackerTest, DhcpLeaseExpiresUnlessRenewed) {
  auto t = make();
  t.on_dhcpv4(ack("100.64.5.5", 0x0a, 600), at(0));
  t.on_dhcpv4(ack("100.64.5.5", 0x0a, 600), at(300 * kSec));
  EXPECT_EQ(t.counters().dhcp_renewals, 1u);
  t.advance(kT0 + 899 * kSec);
  EXPECT_TRUE(closed.empty());
  t.advance(kT0 + 900 * kSec);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].start_ts, kT0);
  EXPECT_EQ(closed[0].end_ts, kT0 + 900 * kSec);
  EXPECT_TRUE(closed[0].end_assumed);
  EXPECT_EQ(closed[0].source, SessionSource::kDhcp);
  EXPECT_EQ(closed[0].subscriber, "00:11:22:00:00:0a");
  EXPECT_EQ(t.counters().closed_expired, 1u);
}

TEST_F(SessionTrackerTest, DhcpReleaseOnlyByTheHolder) {
  auto t = make();
  t.on_dhcpv4(ack("100.64.5.6", 0x0b, 3600), at(0));
  Dhcpv4Message release;
  release.op = 1;
  release.type = Dhcpv4Type::kRelease;
  release.ciaddr = ip("100.64.5.6");
  release.chaddr_hex = "00112200000d";
  t.on_dhcpv4(release, at(50 * kSec));
  EXPECT_TRUE(closed.empty());
  EXPECT_EQ(t.counters().dhcp_release_unmatched, 1u);
  release.chaddr_hex = "00112200000b";
  t.on_dhcpv4(release, at(500 * kSec));
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].end_ts, kT0 + 500 * kSec);
  EXPECT_FALSE(closed[0].end_assumed);
}

TEST_F(SessionTrackerTest, DhcpDeclineNamesTheAddressInOption50) {
  auto t = make();
  t.on_dhcpv4(ack("100.64.5.6", 0x0b, 3600), at(0));
  Dhcpv4Message decline;
  decline.op = 1;
  decline.type = Dhcpv4Type::kDecline;
  decline.chaddr_hex = "00112200000b";
  t.on_dhcpv4(decline, at(1 * kSec));  // no option 50: a server would ignore it too
  EXPECT_TRUE(closed.empty());
  decline.requested_ip = ip("100.64.5.6");
  t.on_dhcpv4(decline, at(2 * kSec));
  ASSERT_EQ(closed.size(), 1u);
}

TEST_F(SessionTrackerTest, DhcpNakEndsTheClientsLease) {
  auto t = make();
  t.on_dhcpv4(ack("100.64.5.7", 0x0c, 3600), at(0));
  auto nak = ack("0.0.0.0", 0x0c, std::nullopt);
  nak.type = Dhcpv4Type::kNak;
  t.on_dhcpv4(nak, at(20 * kSec));
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].end_ts, kT0 + 20 * kSec);
}

TEST_F(SessionTrackerTest, DhcpClientMovingToANewAddressEndsTheOldLease) {
  auto t = make();
  t.on_dhcpv4(ack("100.64.5.7", 0x0c, 3600), at(0));
  t.on_dhcpv4(ack("100.64.5.8", 0x0c, 3600), at(30 * kSec));
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].address.to_string(), "100.64.5.7/32");
  EXPECT_TRUE(closed[0].end_assumed);
  EXPECT_EQ(t.open_sessions().size(), 1u);
}

TEST_F(SessionTrackerTest, DhcpAddressLeasedToAnotherClientSupersedesTheFirst) {
  auto t = make();
  t.on_dhcpv4(ack("100.64.5.7", 0x0c, 3600), at(0));
  t.on_dhcpv4(ack("100.64.5.7", 0x0d, 3600), at(30 * kSec));
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].subscriber, "00:11:22:00:00:0c");
  EXPECT_EQ(t.counters().superseded, 1u);
}

TEST_F(SessionTrackerTest, InfiniteLeaseIsNotEndedByTheOpenBoundButALeaselessAckIs) {
  SessionTrackerConfig c;
  c.open_bound = 100 * kSec;
  auto t = make(c);
  t.on_dhcpv4(ack("100.64.5.1", 1, kInfiniteLifetime), at(0));
  t.on_dhcpv4(ack("100.64.5.2", 2, std::nullopt), at(0));
  t.advance(kT0 + 1'000'000 * kSec);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].address.to_string(), "100.64.5.2/32");
  EXPECT_EQ(closed[0].end_ts, kT0 + 100 * kSec);
  EXPECT_EQ(t.open_sessions().size(), 1u);
}

TEST_F(SessionTrackerTest, AckToInformMakesNoLease) {
  auto t = make();
  t.on_dhcpv4(ack("0.0.0.0", 1, std::nullopt), at(0));
  EXPECT_TRUE(t.open_sessions().empty());
  EXPECT_EQ(t.counters().dhcp_ack_no_address, 1u);
}

TEST_F(SessionTrackerTest, Dhcpv6ValidLifetimeZeroWithdrawsAndReleaseCloses) {
  auto t = make();
  t.on_dhcpv6(reply6("0003000100112233", "2001:db8:2200::/56", 1800), at(0));
  t.on_dhcpv6(reply6("0003000100112233", "2001:db8:2200::/56", 0), at(10 * kSec));
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].end_ts, kT0 + 10 * kSec);
  EXPECT_FALSE(closed[0].end_assumed);
  EXPECT_EQ(closed[0].duid, "0003000100112233");
  EXPECT_EQ(closed[0].session_id, "iaid:00000001");

  t.on_dhcpv6(reply6("0003000100112233", "2001:db8:2300::/56", 1800), at(20 * kSec));
  auto release = reply6("0003000100112233", "2001:db8:2300::/56", 0);
  release.type = Dhcpv6Type::kRelease;
  t.on_dhcpv6(release, at(30 * kSec));
  ASSERT_EQ(closed.size(), 2u);
  EXPECT_EQ(closed[1].end_ts, kT0 + 30 * kSec);
}

TEST_F(SessionTrackerTest, Dhcpv6ReleaseFromAnotherClientIsIgnored) {
  auto t = make();
  t.on_dhcpv6(reply6("aa", "2001:db8:2300::/56", 1800), at(0));
  auto release = reply6("bb", "2001:db8:2300::/56", 0);
  release.type = Dhcpv6Type::kRelease;
  t.on_dhcpv6(release, at(30 * kSec));
  EXPECT_TRUE(closed.empty());
  EXPECT_EQ(t.counters().dhcp_release_unmatched, 1u);
}

TEST_F(SessionTrackerTest, AdvertiseDoesNotBind) {
  auto t = make();
  auto advertise = reply6("aa", "2001:db8:2300::/56", 1800);
  advertise.type = Dhcpv6Type::kAdvertise;
  t.on_dhcpv6(advertise, at(0));
  EXPECT_TRUE(t.open_sessions().empty());
}

TEST_F(SessionTrackerTest, SubscriberIdFollowsTheConfiguredOrder) {
  auto m = ack("100.64.5.5", 0x0a, 600);
  m.circuit_id = "eth0/1/1:100";
  m.remote_id = "cpe-42";
  {
    auto t = make();
    t.on_dhcpv4(m, at(0));
    EXPECT_EQ(t.open_sessions()[0].subscriber, "eth0/1/1:100");
  }
  SessionTrackerConfig c;
  c.subscriber_id_order = *parse_subscriber_id_order("remote-id,mac");
  auto t = make(c);
  t.on_dhcpv4(m, at(0));
  EXPECT_EQ(t.open_sessions()[0].subscriber, "cpe-42");
}

TEST_F(SessionTrackerTest, RadiusCallingStationMacFillsTheMacField) {
  auto t = make();
  auto start = acct(AcctStatus::kStart, "S1", "alice", "100.64.1.7");
  start.calling_station_id = "0011.2233.44AA";
  t.on_radius(start, at(0));
  EXPECT_EQ(format_mac(t.open_sessions()[0].mac), "00:11:22:33:44:aa");
  start.calling_station_id = "not a mac";
  start.acct_session_id = "S2";
  start.framed_ip = ip("100.64.1.8");
  t.on_radius(start, at(1));
  EXPECT_EQ(t.open_sessions()[1].mac, MacAddress{});
}

TEST(SubscriberIdOrderTest, RejectsUnknownWordsAndEmptyLists) {
  EXPECT_FALSE(parse_subscriber_id_order("user-name,colour").has_value());
  EXPECT_FALSE(parse_subscriber_id_order("").has_value());
  const auto order = parse_subscriber_id_order("duid,mac");
  ASSERT_TRUE(order.has_value());
  EXPECT_EQ(order->size(), 2u);
}

TEST_F(SessionTrackerTest, TableStaysWithinItsCapAndCountsEvictions) {
  SessionTrackerConfig c;
  c.max_bindings = 3;
  auto t = make(c);
  for (int i = 0; i < 10; ++i) {
    t.on_dhcpv4(ack(fmt::format("100.64.6.{}", i).c_str(), static_cast<std::uint8_t>(i),
                    600 + static_cast<std::uint32_t>(i)),
                at(i * kSec));
    EXPECT_LE(t.size(), 3u);
  }
  EXPECT_EQ(t.counters().evicted, 7u);
  EXPECT_EQ(closed.size(), 7u);
  for (const auto& r : closed) EXPECT_TRUE(r.end_assumed);
  EXPECT_EQ(t.open_sessions().size(), 3u);
}

TEST_F(SessionTrackerTest, ClosedSessionsStayQueryableForTheRetentionThenGo) {
  SessionTrackerConfig c;
  c.closed_retention = 60 * kSec;
  auto t = make(c);
  t.on_radius(acct(AcctStatus::kStart, "S1", "alice", "100.64.1.7"), at(0));
  t.on_radius(acct(AcctStatus::kStop, "S1", "alice", "100.64.1.7"), at(100 * kSec));
  EXPECT_EQ(t.covering(ip("100.64.1.7"), kT0 + 50 * kSec).size(), 1u);
  EXPECT_TRUE(t.covering(ip("100.64.1.7"), kT0 + 100 * kSec).empty()) << "end is exclusive";
  t.advance(kT0 + 159 * kSec);
  EXPECT_EQ(t.size(), 1u);
  t.advance(kT0 + 160 * kSec);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_TRUE(t.covering(ip("100.64.1.7"), kT0 + 50 * kSec).empty());
}

TEST_F(SessionTrackerTest, TimeGoingBackwardsNeverEndsASessionBeforeItStarts) {
  auto t = make();
  t.on_radius(acct(AcctStatus::kStart, "S1", "alice", "100.64.1.7"), at(100 * kSec));
  t.on_radius(acct(AcctStatus::kStop, "S1", "alice", "100.64.1.7"), at(50 * kSec));
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_GE(closed[0].end_ts, closed[0].start_ts);
}

}  // namespace
}  // namespace conntrail::capture

namespace conntrail::capture {
namespace {

class SessionTrackerResumeTest : public SessionTrackerTest {};

TEST_F(SessionTrackerResumeTest, InterimAfterTheOpenBoundContinuesFromTheAssumedEnd) {
  SessionTrackerConfig c;
  c.open_bound = 600 * kSec;
  auto t = make(c);
  t.on_radius(acct(AcctStatus::kStart, "S1", "alice", "100.64.1.7"), at(0));
  t.advance(kT0 + 700 * kSec);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].end_ts, kT0 + 600 * kSec);
  t.on_radius(acct(AcctStatus::kInterimUpdate, "S1", "alice", "100.64.1.7"), at(900 * kSec));
  ASSERT_EQ(t.open_sessions().size(), 1u);
  EXPECT_EQ(t.open_sessions()[0].start_ts, kT0 + 600 * kSec);
  t.on_radius(acct(AcctStatus::kStop, "S1", "alice", "100.64.1.7"), at(1000 * kSec));
  ASSERT_EQ(closed.size(), 2u);
  EXPECT_EQ(closed[1].start_ts, kT0 + 600 * kSec);
  EXPECT_EQ(closed[1].end_ts, kT0 + 1000 * kSec);
  EXPECT_FALSE(closed[1].end_assumed);
  EXPECT_EQ(t.counters().resumed, 1u);
  EXPECT_EQ(t.counters().radius_duplicate_stop, 0u);
}

TEST_F(SessionTrackerResumeTest, StopAfterTheOpenBoundRecordsTheRemainder) {
  SessionTrackerConfig c;
  c.open_bound = 600 * kSec;
  auto t = make(c);
  t.on_radius(acct(AcctStatus::kStart, "S1", "alice", "100.64.1.7"), at(0));
  t.on_radius(acct(AcctStatus::kStop, "S1", "alice", "100.64.1.7"), at(800 * kSec));
  ASSERT_EQ(closed.size(), 2u);
  EXPECT_TRUE(closed[0].end_assumed);
  EXPECT_EQ(closed[1].start_ts, kT0 + 600 * kSec);
  EXPECT_EQ(closed[1].end_ts, kT0 + 800 * kSec);
  EXPECT_FALSE(closed[1].end_assumed);
}

TEST_F(SessionTrackerResumeTest, SessionIdReusedAfterStopStartsANewSession) {
  auto t = make();
  t.on_radius(acct(AcctStatus::kStart, "S1", "alice", "100.64.1.7"), at(0));
  t.on_radius(acct(AcctStatus::kStop, "S1", "alice", "100.64.1.7"), at(10 * kSec));
  t.on_radius(acct(AcctStatus::kStart, "S1", "alice", "100.64.1.7"), at(20 * kSec));
  ASSERT_EQ(t.open_sessions().size(), 1u);
  EXPECT_EQ(t.open_sessions()[0].start_ts, kT0 + 20 * kSec);
}

TEST_F(SessionTrackerResumeTest, RelayStrippedCopyOfAnAckRenewsWithoutChangingTheSubscriber) {
  // Server→relay copy carries option 82; the relay→client copy must not (RFC 3046 §2.2).
  auto t = make();
  auto with82 = ack("100.64.5.5", 0x0a, 600);
  with82.circuit_id = "eth0/1/1:100";
  t.on_dhcpv4(with82, at(0));
  t.on_dhcpv4(ack("100.64.5.5", 0x0a, 600), at(0));
  t.on_dhcpv4(ack("100.64.5.5", 0x0a, 600), at(300 * kSec));
  EXPECT_TRUE(closed.empty());
  ASSERT_EQ(t.open_sessions().size(), 1u);
  EXPECT_EQ(t.open_sessions()[0].subscriber, "eth0/1/1:100");
  EXPECT_EQ(t.counters().superseded, 0u);
  // A better-ranked id that differs is a different subscriber: a new record.
  auto moved = with82;
  moved.circuit_id = "eth0/1/9:100";
  t.on_dhcpv4(moved, at(400 * kSec));
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(t.open_sessions()[0].subscriber, "eth0/1/9:100");
}

}  // namespace
}  // namespace conntrail::capture
