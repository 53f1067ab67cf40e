#include "capture/attribution/address_attributor.h"

#include <gtest/gtest.h>

namespace conntrail::capture {
namespace {

constexpr TimestampNs kT0 = 1'700'000'000 * kNsPerSecond;
constexpr TimestampNs kSec = kNsPerSecond;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

RadiusAccounting start(const char* session, const char* user, const char* nas) {
  RadiusAccounting a;
  a.status = static_cast<std::uint32_t>(AcctStatus::kStart);
  a.acct_session_id = session;
  a.user_name = user;
  a.nas_ip = ip(nas);
  return a;
}

PacketContext at(TimestampNs offset) { return {kT0 + offset, ip("192.0.2.1"), ip("192.0.2.10")}; }

class AddressAttributorTest : public ::testing::Test {
 protected:
  SessionTracker tracker{SessionTrackerConfig{}, [](const SessionRecord&) {}};
  AddressAttributor attributor{tracker};
};

TEST_F(AddressAttributorTest, UniqueNoneAndBeforeStart) {
  auto a = start("S1", "alice", "192.0.2.1");
  a.framed_ip = ip("100.64.1.7");
  tracker.on_radius(a, at(10 * kSec));
  const auto hit = attributor.attribute(ip("100.64.1.7"), kT0 + 20 * kSec);
  EXPECT_EQ(hit.status, AttributionStatus::kUnique);
  EXPECT_EQ(hit.subscriber, "alice");
  ASSERT_EQ(hit.sessions.size(), 1u);
  EXPECT_EQ(attributor.attribute(ip("100.64.1.7"), kT0 + 9 * kSec).status, AttributionStatus::kNone);
  EXPECT_EQ(attributor.attribute(ip("100.64.1.8"), kT0 + 20 * kSec).status, AttributionStatus::kNone);
}

TEST_F(AddressAttributorTest, Ipv6AddressMatchesItsDelegatedPrefix) {
  auto a = start("S1", "alice", "192.0.2.1");
  a.delegated_ipv6_prefixes.push_back(*IpPrefix::parse("2001:db8:100::/56"));
  a.framed_ipv6_prefixes.push_back(*IpPrefix::parse("2001:db8:1:1::/64"));
  tracker.on_radius(a, at(0));
  EXPECT_EQ(attributor.attribute(ip("2001:db8:100:ff::1234"), kT0).subscriber, "alice");
  EXPECT_EQ(attributor.attribute(ip("2001:db8:1:1::9"), kT0).subscriber, "alice");
  EXPECT_EQ(attributor.attribute(ip("2001:db8:101::1"), kT0).status, AttributionStatus::kNone);
  // An IPv4-mapped lookup never matches an IPv6 prefix of the same bits.
  EXPECT_EQ(attributor.attribute(ip("100.64.1.7"), kT0).status, AttributionStatus::kNone);
}

TEST_F(AddressAttributorTest, TwoSubscribersOnOneAddressAreReportedAsAmbiguous) {
  auto a = start("X1", "frank", "192.0.2.1");
  a.framed_ip = ip("100.64.9.9");
  auto b = start("Y1", "grace", "192.0.2.2");
  b.framed_ip = ip("100.64.9.9");
  tracker.on_radius(a, at(0));
  tracker.on_radius(b, at(60 * kSec));
  const auto before = attributor.attribute(ip("100.64.9.9"), kT0 + 30 * kSec);
  EXPECT_EQ(before.status, AttributionStatus::kUnique);
  const auto r = attributor.attribute(ip("100.64.9.9"), kT0 + 90 * kSec);
  EXPECT_EQ(r.status, AttributionStatus::kAmbiguous);
  EXPECT_EQ(r.subscriber, "frank|grace");
  EXPECT_EQ(r.sessions.size(), 2u);
}

TEST(AttributeFromTest, SameSubscriberFromTwoSourcesIsNotAmbiguous) {
  SessionRecord radius, dhcp;
  radius.subscriber = dhcp.subscriber = "eth0/1:100";
  dhcp.source = SessionSource::kDhcp;
  const auto a = attribute_from({radius, dhcp});
  EXPECT_EQ(a.status, AttributionStatus::kUnique);
  EXPECT_EQ(a.subscriber, "eth0/1:100");
  EXPECT_EQ(a.sessions.size(), 2u);
}

TEST_F(AddressAttributorTest, FillUsesTheSubscriberSideAtTheFirstPacket) {
  auto a = start("S1", "alice", "192.0.2.1");
  a.framed_ip = ip("100.64.1.7");
  tracker.on_radius(a, at(10 * kSec));
  FlowRecord f;
  f.src_ip = ip("198.51.100.7");
  f.dst_ip = ip("100.64.1.7");
  f.first_ts = kT0 + 11 * kSec;
  f.subscriber_side = SubscriberSide::kSrc;
  EXPECT_EQ(attributor.fill(f), AttributionStatus::kNone);
  EXPECT_EQ(f.subscriber, "");
  f.subscriber_side = SubscriberSide::kDst;
  EXPECT_EQ(attributor.fill(f), AttributionStatus::kUnique);
  EXPECT_EQ(f.subscriber, "alice");
  f.subscriber_side = SubscriberSide::kUnknown;
  f.subscriber.clear();
  EXPECT_EQ(attributor.fill(f), AttributionStatus::kUnique);
  EXPECT_EQ(f.subscriber, "alice");
  f.first_ts = kT0;  // before the session began
  EXPECT_EQ(attributor.fill(f), AttributionStatus::kNone);
  EXPECT_EQ(f.subscriber, "");
}

}  // namespace
}  // namespace conntrail::capture
