#include "capture/attribution/attribution_query.h"

#include <gtest/gtest.h>

namespace conntrail::capture {
namespace {

constexpr TimestampNs kT0 = 1'700'000'000 * kNsPerSecond;
constexpr TimestampNs kSec = kNsPerSecond;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

SessionRecord session(const char* prefix, const char* who, TimestampNs start, TimestampNs end,
                      bool assumed = false) {
  SessionRecord s;
  s.address = *IpPrefix::parse(prefix);
  s.subscriber = who;
  s.start_ts = start;
  s.end_ts = end;
  s.end_assumed = assumed;
  s.session_id = std::string("id-") + who;
  return s;
}

FlowRecord flow(const char* src, std::uint16_t sport, TimestampNs first, TimestampNs last) {
  FlowRecord f;
  f.src_ip = ip(src);
  f.src_port = sport;
  f.dst_ip = ip("198.51.100.7");
  f.dst_port = 443;
  f.proto = 6;
  f.first_ts = first;
  f.last_ts = last;
  return f;
}

TEST(AttributionQueryTest, UniqueAnswerWithinTheSession) {
  const std::vector<SessionRecord> s{session("100.64.1.7/32", "alice", kT0, kT0 + 100 * kSec),
                                     session("100.64.1.8/32", "bob", kT0, 0)};
  const auto a = answer_attribution({ip("100.64.1.7"), std::nullopt, kT0 + 50 * kSec, 0}, s, {});
  EXPECT_EQ(a.status, AttributionStatus::kUnique);
  EXPECT_EQ(a.subscriber, "alice");
  ASSERT_EQ(a.sessions.size(), 1u);
  EXPECT_TRUE(a.notes.empty());
  EXPECT_EQ(a.port, PortCheck::kNotAsked);
}

TEST(AttributionQueryTest, EndIsExclusiveAndAGapNamesItsEdges) {
  const std::vector<SessionRecord> s{session("100.64.1.7/32", "alice", kT0, kT0 + 100 * kSec),
                                     session("100.64.1.7/32", "bob", kT0 + 200 * kSec, 0)};
  const auto a = answer_attribution({ip("100.64.1.7"), std::nullopt, kT0 + 100 * kSec, 0}, s, {});
  EXPECT_EQ(a.status, AttributionStatus::kNone);
  ASSERT_TRUE(a.previous && a.next);
  EXPECT_EQ(a.previous->subscriber, "alice");
  EXPECT_EQ(a.next->subscriber, "bob");
  ASSERT_EQ(a.notes.size(), 1u);
  EXPECT_NE(a.notes[0].find("gap"), std::string::npos);
}

TEST(AttributionQueryTest, UnknownAddressSaysSo) {
  const auto a = answer_attribution({ip("100.64.1.7"), std::nullopt, kT0, 0}, {}, {});
  EXPECT_EQ(a.status, AttributionStatus::kNone);
  EXPECT_FALSE(a.previous || a.next);
  EXPECT_NE(a.notes.at(0).find("no session"), std::string::npos);
}

TEST(AttributionQueryTest, OverlapIsAmbiguousAndAssumedEndsAreNoted) {
  const std::vector<SessionRecord> s{
      session("100.64.9.9/32", "frank", kT0, kT0 + 120 * kSec, true),
      session("100.64.9.9/32", "grace", kT0 + 60 * kSec, 0)};
  const auto a = answer_attribution({ip("100.64.9.9"), std::nullopt, kT0 + 90 * kSec, 0}, s, {});
  EXPECT_EQ(a.status, AttributionStatus::kAmbiguous);
  EXPECT_EQ(a.subscriber, "frank|grace");
  EXPECT_EQ(a.sessions.size(), 2u);
  EXPECT_EQ(a.notes.size(), 2u);
}

TEST(AttributionQueryTest, AWindowCatchesSessionsNearTheInstant) {
  const std::vector<SessionRecord> s{session("100.64.1.7/32", "alice", kT0, kT0 + 100 * kSec)};
  const AttributionQuery instant{ip("100.64.1.7"), std::nullopt, kT0 + 102 * kSec, 0};
  EXPECT_EQ(answer_attribution(instant, s, {}).status, AttributionStatus::kNone);
  AttributionQuery windowed = instant;
  windowed.window = 5 * kSec;
  EXPECT_EQ(answer_attribution(windowed, s, {}).status, AttributionStatus::kUnique);
}

TEST(AttributionQueryTest, DelegatedPrefixAnswersForAnAddressInside) {
  const std::vector<SessionRecord> s{session("2001:db8:2200::/56", "ae0.2001", kT0, 0)};
  const auto a = answer_attribution({ip("2001:db8:2200:ff::1"), std::nullopt, kT0, 0}, s, {});
  EXPECT_EQ(a.subscriber, "ae0.2001");
}

TEST(AttributionQueryTest, PortIsConfirmedOnlyByAFlowOfThatEndpointAtThatTime) {
  const std::vector<SessionRecord> s{session("100.64.1.7/32", "alice", kT0, 0)};
  const std::vector<FlowRecord> flows{flow("100.64.1.7", 51000, kT0 + 10 * kSec, kT0 + 20 * kSec),
                                      flow("100.64.1.8", 51001, kT0 + 10 * kSec, kT0 + 20 * kSec)};
  const auto hit = answer_attribution({ip("100.64.1.7"), 51000, kT0 + 15 * kSec, 0}, s, flows);
  EXPECT_EQ(hit.port, PortCheck::kConfirmed);
  EXPECT_EQ(hit.flows.size(), 1u);
  const auto other_port = answer_attribution({ip("100.64.1.7"), 51001, kT0 + 15 * kSec, 0}, s, flows);
  EXPECT_EQ(other_port.port, PortCheck::kNoFlow);
  EXPECT_EQ(other_port.status, AttributionStatus::kUnique);
  EXPECT_NE(other_port.notes.back().find("matches no flow"), std::string::npos);
  const auto later = answer_attribution({ip("100.64.1.7"), 51000, kT0 + 21 * kSec, 0}, s, flows);
  EXPECT_EQ(later.port, PortCheck::kNoFlow);
  // The port of the remote side (443) is not the subscriber's port.
  EXPECT_EQ(answer_attribution({ip("100.64.1.7"), 443, kT0 + 15 * kSec, 0}, s, flows).port,
            PortCheck::kNoFlow);
}

}  // namespace
}  // namespace conntrail::capture
