// Flow table rules (docs/FLOWS.md), each at its boundary, with packet times
// injected through PacketInfo.
#include "capture/flow/flow_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <tuple>
#include <vector>

#include "capture/flow/flow_key.h"
#include "core/ip_address.h"
#include "tests/capture/packet_builder.h"

namespace conntrail::capture {
namespace {

using conntrail::testing::kAck;
using conntrail::testing::kFin;
using conntrail::testing::kMacA;
using conntrail::testing::kMacB;
using conntrail::testing::kRst;
using conntrail::testing::kSyn;

constexpr TimestampNs kS = kNsPerSecond;
constexpr TimestampNs kT0 = 1'700'000'000 * kS;

Address16 addr(const std::string& text) { return IpAddress::parse(text)->bytes(); }

PacketInfo packet(TimestampNs ts, const std::string& src, std::uint16_t sport,
                  const std::string& dst, std::uint16_t dport, std::uint8_t proto = 17,
                  std::uint8_t flags = 0, std::uint32_t bytes = 100) {
  PacketInfo p;
  p.ts = ts;
  p.src = addr(src);
  p.dst = addr(dst);
  p.is_v6 = !IpAddress::parse(src)->is_v4();
  p.src_port = sport;
  p.dst_port = dport;
  p.proto = proto;
  p.tcp_flags = flags;
  p.ip_bytes = bytes;
  return p;
}

// A TCP packet between client 10.0.0.1:40000 and server 192.0.2.1:80.
PacketInfo c2s(TimestampNs ts, std::uint8_t flags) {
  return packet(ts, "10.0.0.1", 40000, "192.0.2.1", 80, 6, flags, 60);
}
PacketInfo s2c(TimestampNs ts, std::uint8_t flags) {
  return packet(ts, "192.0.2.1", 80, "10.0.0.1", 40000, 6, flags, 60);
}

class FlowTableTest : public ::testing::Test {
 protected:
  FlowTable make(FlowTableOptions options = {}) {
    return FlowTable(std::move(options), [this](FlowRecord&& r) { out.push_back(std::move(r)); });
  }
  std::vector<FlowRecord> out;
};

TEST_F(FlowTableTest, BothDirectionsMakeOneFlowOrientedByTheFirstPacket) {
  auto table = make();
  // The first sender is the "greater" endpoint, so orientation is not key order.
  table.add(packet(kT0, "192.0.2.9", 53, "10.0.0.1", 5353, 17, 0, 80));
  table.add(packet(kT0 + 1, "10.0.0.1", 5353, "192.0.2.9", 53, 17, 0, 120));
  table.add(packet(kT0 + 2, "10.0.0.1", 5353, "192.0.2.9", 53, 17, 0, 120));
  EXPECT_EQ(table.active(), 1u);
  table.flush();
  ASSERT_EQ(out.size(), 1u);
  const FlowRecord& r = out[0];
  EXPECT_EQ(r.src_ip.to_string(), "192.0.2.9");
  EXPECT_EQ(r.src_port, 53);
  EXPECT_EQ(r.dst_port, 5353);
  EXPECT_EQ(r.packets_fwd, 1u);
  EXPECT_EQ(r.packets_rev, 2u);
  EXPECT_EQ(r.bytes_fwd, 80u);
  EXPECT_EQ(r.bytes_rev, 240u);
  EXPECT_EQ(r.first_ts, kT0);
  EXPECT_EQ(r.last_ts, kT0 + 2);
  EXPECT_EQ(r.end_reason, EndReason::kShutdown);
}

TEST_F(FlowTableTest, UdpGapOf59SecondsStaysOneFlow) {
  auto table = make();
  table.add(packet(kT0, "10.0.0.1", 1, "10.0.0.2", 2));
  table.add(packet(kT0 + 59 * kS, "10.0.0.2", 2, "10.0.0.1", 1));
  table.flush();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].packets_fwd + out[0].packets_rev, 2u);
}

TEST_F(FlowTableTest, UdpGapOf61SecondsStartsANewFlow) {
  auto table = make();
  table.add(packet(kT0, "10.0.0.1", 1, "10.0.0.2", 2));
  table.add(packet(kT0 + 61 * kS, "10.0.0.2", 2, "10.0.0.1", 1));
  table.flush();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].end_reason, EndReason::kIdle);
  EXPECT_EQ(out[0].last_ts, kT0);
  // The new flow's initiator is the sender of its own first packet.
  EXPECT_EQ(out[1].src_ip.to_string(), "10.0.0.2");
  EXPECT_EQ(out[1].end_reason, EndReason::kShutdown);
}

TEST_F(FlowTableTest, IdleBoundaryIsStrictlyGreater) {
  auto table = make();
  table.add(packet(kT0, "10.0.0.1", 1, "10.0.0.2", 2));
  table.add(packet(kT0 + 60 * kS, "10.0.0.1", 1, "10.0.0.2", 2));
  table.add(packet(kT0 + 120 * kS + 1, "10.0.0.1", 1, "10.0.0.2", 2));
  table.flush();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].packets_fwd, 2u);
}

TEST_F(FlowTableTest, TcpIdleTimeoutIsFiveMinutes) {
  auto table = make();
  table.add(c2s(kT0, kSyn));
  table.add(s2c(kT0 + 299 * kS, kAck));
  table.add(c2s(kT0 + 299 * kS + 301 * kS, kAck));
  table.flush();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].end_reason, EndReason::kIdle);
  EXPECT_EQ(out[0].packets_fwd + out[0].packets_rev, 2u);
}

TEST_F(FlowTableTest, ActiveTimeoutSplitsAtThreeHundredSeconds) {
  auto table = make();
  for (int i = 0; i < 300; ++i) table.add(packet(kT0 + i * kS, "10.0.0.1", 1, "10.0.0.2", 2));
  table.add(packet(kT0 + 300 * kS - 1, "10.0.0.1", 1, "10.0.0.2", 2));  // 299.999999999 s: same
  table.add(packet(kT0 + 300 * kS, "10.0.0.1", 1, "10.0.0.2", 2));      // 300 s: new record
  table.flush();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].end_reason, EndReason::kActive);
  EXPECT_EQ(out[0].packets_fwd, 301u);
  EXPECT_EQ(out[1].first_ts, kT0 + 300 * kS);
}

TEST_F(FlowTableTest, TimeoutsAreConfigurablePerProtocol) {
  FlowTableOptions options;
  options.timeouts.udp.idle = 5 * kS;
  options.timeouts.icmp.active = 10 * kS;
  auto table = make(options);
  table.add(packet(kT0, "10.0.0.1", 1, "10.0.0.2", 2));
  table.add(packet(kT0 + 6 * kS, "10.0.0.1", 1, "10.0.0.2", 2));
  table.add(packet(kT0, "10.0.0.1", 8, "10.0.0.2", 0, 1));
  table.add(packet(kT0 + 9 * kS, "10.0.0.1", 8, "10.0.0.2", 0, 1));
  table.add(packet(kT0 + 10 * kS, "10.0.0.1", 8, "10.0.0.2", 0, 1));
  table.add(c2s(kT0, kSyn));
  table.add(c2s(kT0 + 200 * kS, kAck));
  table.flush();
  EXPECT_EQ(out.size(), 5u);  // udp 2, icmp 2, tcp 1
}

TEST_F(FlowTableTest, FinBothWaysClosesAndBareSynReusesThePort) {
  auto table = make();
  table.add(c2s(kT0, kSyn));
  table.add(s2c(kT0 + 1, kSyn | kAck));
  table.add(c2s(kT0 + 2, kAck));
  table.add(c2s(kT0 + 3, kFin | kAck));
  table.add(s2c(kT0 + 4, kFin | kAck));
  table.add(c2s(kT0 + 5, kAck));   // final ACK: belongs to the closed flow
  table.add(c2s(kT0 + kS, kSyn));  // port reuse one second later
  table.add(s2c(kT0 + kS + 1, kSyn | kAck));
  table.flush();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].end_reason, EndReason::kTcpClose);
  EXPECT_EQ(out[0].packets_fwd, 4u);
  EXPECT_EQ(out[0].packets_rev, 2u);
  EXPECT_EQ(out[0].tcp_flags_fwd, kSyn | kAck | kFin);
  EXPECT_EQ(out[1].first_ts, kT0 + kS);
  EXPECT_EQ(out[1].packets_fwd, 1u);
  EXPECT_EQ(out[1].packets_rev, 1u);
}

TEST_F(FlowTableTest, FinOneWayDoesNotClose) {
  auto table = make();
  table.add(c2s(kT0, kSyn));
  table.add(c2s(kT0 + 1, kFin | kAck));
  table.add(c2s(kT0 + 2 * kS, kSyn));  // retransmitted/odd SYN: same, still-open flow
  table.flush();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].end_reason, EndReason::kShutdown);
  EXPECT_EQ(out[0].packets_fwd, 3u);
}

TEST_F(FlowTableTest, RstMidFlowClosesButLateAcksStayWithinTheLinger) {
  auto table = make();
  table.add(c2s(kT0, kSyn));
  table.add(s2c(kT0 + 1, kSyn | kAck));
  table.add(c2s(kT0 + 2, kAck));
  table.add(s2c(kT0 + 3, kRst));
  table.add(c2s(kT0 + 2 * kS, kAck));           // late ACK, within 5 s: same flow
  table.add(c2s(kT0 + 2 * kS + 8 * kS, kAck));  // 8 s after the last: a new flow
  table.flush();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].end_reason, EndReason::kTcpClose);
  EXPECT_EQ(out[0].packets_fwd, 3u);
  EXPECT_EQ(out[0].packets_rev, 2u);
  EXPECT_EQ(out[0].tcp_flags_rev, kSyn | kAck | kRst);
  EXPECT_EQ(out[1].packets_fwd, 1u);
  EXPECT_EQ(out[1].end_reason, EndReason::kShutdown);
}

TEST_F(FlowTableTest, SynAfterRstStartsANewFlowImmediately) {
  auto table = make();
  table.add(c2s(kT0, kSyn));
  table.add(s2c(kT0 + 1, kRst | kAck));
  table.add(c2s(kT0 + 2, kSyn));
  table.flush();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].end_reason, EndReason::kTcpClose);
  EXPECT_EQ(out[1].packets_fwd, 1u);
}

TEST_F(FlowTableTest, ExpireExportsClosedFlowsAfterTheLingerAndIdleFlowsAfterTheirTimeout) {
  auto table = make();
  table.add(c2s(kT0, kSyn));
  table.add(s2c(kT0 + 1, kRst));
  table.add(packet(kT0, "10.0.0.1", 1, "10.0.0.2", 2));
  table.expire(kT0 + 5 * kS);  // exactly the linger: not yet
  EXPECT_TRUE(out.empty());
  table.expire(kT0 + 5 * kS + 2);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].end_reason, EndReason::kTcpClose);
  table.expire(kT0 + 60 * kS);
  EXPECT_EQ(out.size(), 1u);
  table.expire(kT0 + 60 * kS + 1);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].end_reason, EndReason::kIdle);
  EXPECT_EQ(table.active(), 0u);
}

TEST_F(FlowTableTest, BackwardsTimestampsNeverSplitNorGoNegative) {
  auto table = make();
  table.add(packet(kT0 + 100 * kS, "10.0.0.1", 1, "10.0.0.2", 2));
  table.add(packet(kT0, "10.0.0.2", 2, "10.0.0.1", 1));  // 100 s in the past
  table.add(packet(kT0 + 101 * kS, "10.0.0.1", 1, "10.0.0.2", 2));
  table.flush();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].first_ts, kT0);
  EXPECT_EQ(out[0].last_ts, kT0 + 101 * kS);
  EXPECT_GE(out[0].last_ts, out[0].first_ts);
  EXPECT_EQ(out[0].src_ip.to_string(), "10.0.0.1");  // still the first packet's sender
}

TEST_F(FlowTableTest, OneWayIcmpIsNeverMergedWithTheReverseDirection) {
  auto table = make();
  PacketInfo unreachable = packet(kT0, "10.0.0.9", 3, "10.0.0.1", 3, 1);
  unreachable.one_way = true;
  PacketInfo back = packet(kT0 + 1, "10.0.0.1", 3, "10.0.0.9", 3, 1);
  back.one_way = true;
  table.add(unreachable);
  table.add(back);
  table.add(unreachable);
  table.flush();
  ASSERT_EQ(out.size(), 2u);
  for (const auto& r : out) EXPECT_EQ(r.packets_rev, 0u);
}

TEST_F(FlowTableTest, SubscriberPrefixesSetSideAndMac) {
  FlowTableOptions options;
  options.subscriber_prefixes = {*IpPrefix::parse("10.0.0.0/8"), *IpPrefix::parse("2001:db8::/32")};
  auto table = make(options);
  PacketInfo up = packet(kT0, "10.1.2.3", 5000, "198.51.100.1", 443, 6, kSyn);
  up.has_mac = true;
  up.src_mac = kMacA;
  up.dst_mac = kMacB;
  table.add(up);
  PacketInfo down = packet(kT0, "2001:4860::1", 443, "2001:db8::5", 6000, 6, kSyn);
  down.has_mac = true;
  down.src_mac = kMacB;
  down.dst_mac = kMacA;
  table.add(down);
  table.add(packet(kT0, "192.0.2.1", 1, "192.0.2.2", 2));
  table.flush();
  ASSERT_EQ(out.size(), 3u);
  std::map<std::string, FlowRecord> by_src;
  for (auto& r : out) by_src[r.src_ip.to_string()] = r;
  EXPECT_EQ(by_src["10.1.2.3"].subscriber_side, SubscriberSide::kSrc);
  EXPECT_EQ(by_src["10.1.2.3"].subscriber_mac, kMacA);
  EXPECT_EQ(by_src["2001:4860::1"].subscriber_side, SubscriberSide::kDst);
  EXPECT_EQ(by_src["2001:4860::1"].subscriber_mac, kMacA);
  EXPECT_EQ(by_src["192.0.2.1"].subscriber_side, SubscriberSide::kUnknown);
  EXPECT_EQ(by_src["192.0.2.1"].subscriber_mac, MacAddress{});
}

TEST_F(FlowTableTest, VlanIsRecordedAndKeyedOnlyOnRequest) {
  const auto tagged = [](TimestampNs ts, std::uint16_t outer, std::uint16_t inner) {
    PacketInfo p = packet(ts, "10.0.0.1", 1, "10.0.0.2", 2);
    p.vlan_outer = outer;
    p.vlan_inner = inner;
    p.pppoe_session = 77;
    return p;
  };
  {
    auto table = make();
    table.add(tagged(kT0, 10, 20));
    table.add(tagged(kT0 + 1, 42, kNoVlan));
    table.add(tagged(kT0 + 2, kNoVlan, kNoVlan));
    table.flush();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].vlan_outer, 10);
    EXPECT_EQ(out[0].vlan_inner, 20);
    EXPECT_EQ(out[0].pppoe_session, 77);
  }
  out.clear();
  FlowTableOptions options;
  options.key_vlan = true;
  auto table = make(options);
  table.add(tagged(kT0, 10, 20));
  table.add(tagged(kT0 + 1, 42, kNoVlan));
  table.add(tagged(kT0 + 2, kNoVlan, kNoVlan));
  table.add(tagged(kT0 + 3, 10, 20));
  table.flush();
  EXPECT_EQ(out.size(), 3u);
}

TEST_F(FlowTableTest, MemoryCapEvictsTheOldestFlow) {
  FlowTableOptions options;
  options.max_flows = 2;
  auto table = make(options);
  table.add(packet(kT0, "10.0.0.1", 1, "10.0.0.2", 2));
  table.add(packet(kT0 + 1, "10.0.0.1", 3, "10.0.0.2", 4));
  table.add(packet(kT0 + 2, "10.0.0.1", 1, "10.0.0.2", 2));  // refreshes the first
  table.add(packet(kT0 + 3, "10.0.0.1", 5, "10.0.0.2", 6));  // evicts 3->4
  EXPECT_EQ(table.active(), 2u);
  EXPECT_EQ(table.evicted(), 1u);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].src_port, 3);
  EXPECT_EQ(out[0].end_reason, EndReason::kEvicted);
  table.flush();
  EXPECT_EQ(table.exported(), 3u);
}

TEST_F(FlowTableTest, MemoryStaysBoundedUnderAFloodOfNewFlows) {
  FlowTableOptions options;
  options.max_flows = 1000;
  auto table = make(options);
  for (std::uint32_t i = 0; i < 50000; ++i) {
    table.add(packet(kT0 + i, "10.0.0.1", static_cast<std::uint16_t>(i), "10.0.0.2",
                     static_cast<std::uint16_t>(i >> 16)));
    ASSERT_LE(table.active(), 1000u);
  }
  EXPECT_LE(table.memory_bytes(), 1000 * FlowTable::kBytesPerFlow);
  EXPECT_EQ(table.evicted(), 49000u);
}

TEST_F(FlowTableTest, BytesPerFlowStayWithinBudget) {
  EXPECT_LE(FlowTable::kBytesPerFlow, 128u);
  EXPECT_EQ(FlowTable::flows_for_memory(128 * 1000), 1000u);
  EXPECT_EQ(FlowTable::flows_for_memory(0), 1u);
}

// Random insertions and removals against a std::map model: exercises the
// open-addressing index (growth, backward-shift deletion) and the LRU lists.
TEST_F(FlowTableTest, MatchesAReferenceModelUnderRandomTraffic) {
  FlowTableOptions options;
  options.timeouts.udp.idle = 50;  // ns: flows come and go constantly
  options.max_flows = 5000;
  auto table = make(options);
  std::mt19937 rng(7);
  struct Open {
    TimestampNs first, last;
    std::uint64_t packets;
  };
  using Record = std::tuple<int, TimestampNs, TimestampNs, std::uint64_t>;
  std::map<int, Open> open;
  std::vector<Record> expected;
  for (int i = 0; i < 200000; ++i) {
    const int port = static_cast<int>(rng() % 3000);
    const TimestampNs ts = kT0 + i;
    table.add(packet(ts, "10.0.0.1", static_cast<std::uint16_t>(port), "10.0.0.2", 9));
    auto it = open.find(port);
    if (it != open.end() && ts - it->second.last > 50) {
      expected.emplace_back(port, it->second.first, it->second.last, it->second.packets);
      open.erase(it);
      it = open.end();
    }
    if (it == open.end()) it = open.emplace(port, Open{ts, ts, 0}).first;
    it->second.last = ts;
    ++it->second.packets;
    if (i % 97 == 0) table.expire(ts);
  }
  table.flush();
  for (const auto& [port, o] : open) expected.emplace_back(port, o.first, o.last, o.packets);
  std::vector<Record> actual;
  for (const auto& r : out) {
    actual.emplace_back(r.src_port, r.first_ts, r.last_ts, r.packets_fwd + r.packets_rev);
  }
  std::sort(expected.begin(), expected.end());
  std::sort(actual.begin(), actual.end());
  EXPECT_EQ(actual.size(), expected.size());
  EXPECT_TRUE(actual == expected);
  EXPECT_EQ(table.active(), 0u);
}

// make_flow_key mixes the hash from registers while it builds the key; it must
// equal hash_flow_key of the key it built, and both directions of a
// conversation must give the same key and hash (but one-way flows must not).
TEST(FlowKeyTest, KeyAndHashAgreeAndAreDirectionFree) {
  std::mt19937 rng(11);
  const std::vector<std::string> hosts = {"10.0.0.1",   "10.0.0.2", "192.0.2.1",
                                          "2001:db8::1", "2001:db8::2", "::ffff:1.2.3.4"};
  int checked = 0;
  for (int i = 0; i < 2000; ++i) {
    const std::string& a = hosts[rng() % 3 + (i % 2 ? 3 : 0)];
    const std::string& b = hosts[rng() % 3 + (i % 2 ? 3 : 0)];
    PacketInfo p = packet(kT0, a, static_cast<std::uint16_t>(rng() % 4),
                          b, static_cast<std::uint16_t>(rng() % 4), static_cast<std::uint8_t>(rng() % 3 == 0 ? 6 : 17));
    p.one_way = rng() % 5 == 0;
    p.vlan_outer = static_cast<std::uint16_t>(rng() % 3);
    p.vlan_inner = rng() % 2 ? kNoVlan : 7;
    PacketInfo r = p;
    std::swap(r.src, r.dst);
    std::swap(r.src_port, r.dst_port);
    for (const bool key_vlan : {false, true}) {
      FlowKey kp, kr;
      bool fp = false, fr = false;
      const std::uint64_t hp = make_flow_key(p, key_vlan, &kp, &fp);
      const std::uint64_t hr = make_flow_key(r, key_vlan, &kr, &fr);
      ASSERT_EQ(hp, hash_flow_key(kp));
      ASSERT_EQ(hr, hash_flow_key(kr));
      EXPECT_EQ(kp.vlan_outer, key_vlan ? p.vlan_outer : 0);
      const bool same_endpoint = p.src == p.dst && p.src_port == p.dst_port;
      if (!p.one_way) {
        ASSERT_TRUE(kp == kr);
        ASSERT_EQ(hp, hr);
        if (!same_endpoint) {
          ASSERT_NE(fp, fr);
        }
      } else {
        ASSERT_TRUE(fp && fr);
        if (!same_endpoint) {
          ASSERT_FALSE(kp == kr);
        }
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 4000);
}

}  // namespace
}  // namespace conntrail::capture
