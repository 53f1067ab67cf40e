// FlowMeter: decoder + fragment table + flow table over built frames, and the
// counters it keeps per interface.
#include "capture/pipeline/flow_meter.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <random>
#include <vector>

#include "tests/capture/packet_builder.h"

namespace conntrail::capture {
namespace {

using namespace conntrail::testing;

constexpr TimestampNs kS = kNsPerSecond;
constexpr TimestampNs kT0 = 1'700'000'000 * kS;

class FlowMeterTest : public ::testing::Test {
 protected:
  FlowMeter make(MeterOptions options = {}) {
    return FlowMeter(LinkType::kEthernet, std::move(options),
                     [this](FlowRecord&& r) { out.push_back(std::move(r)); });
  }
  static void feed(FlowMeter& m, TimestampNs ts, const Frame& f) {
    m.on_frame(ts, Bytes(f.data(), f.size()), static_cast<std::uint32_t>(f.size()));
  }
  std::vector<FlowRecord> out;
};

Frame v4_fragment(std::uint16_t offset, bool more, std::size_t length, std::uint16_t id = 7) {
  Ipv4Extras x;
  x.id = id;
  x.fragment_offset = offset;
  x.more_fragments = more;
  const Frame payload = offset == 0 ? udp(53, 40000, length - 8) : Frame(length, 0x55);
  return ethernet(0x0800) + ipv4("192.0.2.53", "10.0.0.1", 17, payload, x);
}

TEST_F(FlowMeterTest, FragmentsArrivingLastFirstAreAttributedToTheirDatagram) {
  auto meter = make();
  feed(meter, kT0 + 1, v4_fragment(370, false, 100));  // last fragment first
  feed(meter, kT0 + 2, v4_fragment(185, true, 1480));
  feed(meter, kT0 + 3, v4_fragment(0, true, 1480));  // the first fragment, with the ports
  feed(meter, kT0 + 4, ethernet(0x0800) + ipv4("10.0.0.1", "192.0.2.53", 17, udp(40000, 53, 30)));
  meter.finish();
  ASSERT_EQ(out.size(), 1u);
  const FlowRecord& r = out[0];
  EXPECT_EQ(r.src_ip.to_string(), "192.0.2.53");
  EXPECT_EQ(r.src_port, 53);
  EXPECT_EQ(r.dst_port, 40000);
  EXPECT_EQ(r.packets_fwd, 3u);
  EXPECT_EQ(r.bytes_fwd, 120u + 1500u + 1500u);
  EXPECT_EQ(r.packets_rev, 1u);
  EXPECT_EQ(r.first_ts, kT0 + 1);
  EXPECT_EQ(meter.decode_errors()[DecodeError::kOrphanFragment], 0u);
}

TEST_F(FlowMeterTest, FragmentsAfterTheFirstTakeItsPorts) {
  auto meter = make();
  feed(meter, kT0, v4_fragment(0, true, 1480));
  feed(meter, kT0 + 1, v4_fragment(185, false, 100));
  meter.finish();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].packets_fwd, 2u);
  EXPECT_EQ(out[0].src_port, 53);
}

TEST_F(FlowMeterTest, OrphanFragmentBecomesAPortlessFlow) {
  auto meter = make();
  feed(meter, kT0, v4_fragment(185, false, 100, 99));
  meter.finish();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].proto, 17);
  EXPECT_EQ(out[0].src_port, 0);
  EXPECT_EQ(out[0].dst_port, 0);
  EXPECT_EQ(out[0].bytes_fwd, 120u);
  EXPECT_EQ(meter.decode_errors()[DecodeError::kOrphanFragment], 1u);
}

TEST_F(FlowMeterTest, OrphanIsReleasedAfterTheBoundedWait) {
  MeterOptions options;
  options.fragments.timeout = 30 * kS;
  auto meter = make(options);
  feed(meter, kT0, v4_fragment(185, false, 100, 99));
  feed(meter, kT0 + 31 * kS, v4_fragment(0, true, 1480, 99));  // too late to claim it
  meter.finish();
  ASSERT_EQ(out.size(), 2u);
  int portless = 0;
  for (const auto& r : out) portless += r.src_port == 0 ? 1 : 0;
  EXPECT_EQ(portless, 1);
}

TEST_F(FlowMeterTest, FragmentTableCapPassesFragmentsThroughUntracked) {
  MeterOptions options;
  options.fragments.max_pending = 2;
  auto meter = make(options);
  for (std::uint16_t id = 1; id <= 5; ++id) feed(meter, kT0 + id, v4_fragment(185, false, 100, id));
  EXPECT_EQ(meter.decode_errors()[DecodeError::kFragmentTableFull], 3u);
  meter.finish();
  std::uint64_t packets = 0;
  for (const auto& r : out) packets += r.packets_fwd;
  EXPECT_EQ(packets, 5u);
}

TEST_F(FlowMeterTest, Ipv6FragmentsLastFirst) {
  const auto frag = [](std::uint16_t offset, bool more, const Frame& body) {
    return ethernet(0x86dd) + ipv6("2001:db8::53", "2001:db8::1", 44,
                                   ipv6_fragment_header(17, offset, more, 0xabcd) + body);
  };
  auto meter = make();
  feed(meter, kT0, frag(150, false, Frame(40, 0)));
  feed(meter, kT0 + 1, frag(0, true, udp(53, 1234, 1192)));
  meter.finish();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].dst_port, 1234);
  EXPECT_EQ(out[0].packets_fwd, 2u);
  EXPECT_EQ(out[0].bytes_fwd, (40u + 48u) + (40u + 8u + 1200u));
}

TEST_F(FlowMeterTest, QinqPppoeFlowRecordsItsContext) {
  const Frame inner = ipv4("100.64.1.2", "203.0.113.9", 6, tcp(50000, 443, kSyn));
  const Frame f = ethernet(0x88a8) + vlan_tag(3704, 0x8100) + vlan_tag(2474, 0x8864) +
                  pppoe_session(0x00c8, 0x0021, static_cast<std::uint16_t>(inner.size())) + inner;
  MeterOptions options;
  options.flows.subscriber_prefixes = {*IpPrefix::parse("100.64.0.0/10")};
  auto meter = make(options);
  feed(meter, kT0, f);
  meter.finish();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].vlan_outer, 3704);
  EXPECT_EQ(out[0].vlan_inner, 2474);
  EXPECT_EQ(out[0].pppoe_session, 0x00c8);
  EXPECT_EQ(out[0].subscriber_side, SubscriberSide::kSrc);
  EXPECT_EQ(out[0].subscriber_mac, kMacA);
  EXPECT_EQ(out[0].bytes_fwd, 40u);
}

TEST_F(FlowMeterTest, MplsStackOfFiveMakesTheInnerFlow) {
  Frame f = ethernet(0x8847);
  for (int i = 0; i < 5; ++i) f = f + mpls_label(static_cast<std::uint32_t>(1000 + i), i == 4);
  auto meter = make();
  feed(meter, kT0, f + ipv4("10.0.0.1", "10.0.0.2", 17, udp(1, 2, 10)));
  meter.finish();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].dst_port, 2);
  EXPECT_EQ(out[0].bytes_fwd, 38u);
}

TEST_F(FlowMeterTest, CountsPacketsBytesAndDecodeErrorsByKind) {
  auto meter = make();
  const Frame good = ethernet(0x0800) + ipv4("10.0.0.1", "10.0.0.2", 17, udp(1, 2, 10));
  feed(meter, kT0, good);
  feed(meter, kT0, ethernet(0x0806) + Frame(28, 0));
  Frame cut = good;
  cut.resize(20);
  feed(meter, kT0, cut);
  Frame short_udp = good;
  short_udp.resize(14 + 20 + 2);
  feed(meter, kT0, short_udp);
  meter.finish();
  const CaptureCounters c = meter.counters();
  EXPECT_EQ(c.packets, 4u);
  EXPECT_EQ(c.bytes, good.size() + 42 + 20 + 36);
  EXPECT_EQ(c.decode_errors, 2u);
  EXPECT_EQ(meter.decode_errors()[DecodeError::kNotIp], 1u);
  EXPECT_EQ(meter.decode_errors()[DecodeError::kTruncatedIp], 1u);
  EXPECT_EQ(meter.decode_errors()[DecodeError::kTruncatedTransport], 1u);
  EXPECT_EQ(meter.decode_errors().dropped(), 2u);
  EXPECT_EQ(c.flows_exported, 2u);  // 1->2 and the ports-0/0 UDP flow
}

TEST_F(FlowMeterTest, AdvanceExpiresFlowsWhenTrafficStops) {
  auto meter = make();
  feed(meter, kT0, ethernet(0x0800) + ipv4("10.0.0.1", "10.0.0.2", 17, udp(1, 2)));
  meter.advance(kT0 + 30 * kS);
  EXPECT_TRUE(out.empty());
  meter.advance(kT0 + 61 * kS);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].end_reason, EndReason::kIdle);
  EXPECT_EQ(meter.active_flows(), 0u);
}

// The byte cap holds whatever the counts allow: a flood of fragments of many
// datagrams (each later fragment waiting, some datagrams with dozens) keeps
// memory_bytes() within max_bytes at every step, the heap the table really
// holds (glibc's count of allocated bytes) within its own accounting, and
// every fragment is still handed on (tracked or counted as untracked).
TEST(FragmentTableTest, StaysWithinItsByteBudgetUnderAFlood) {
  FragmentTableOptions options;
  options.max_datagrams = 1'000'000;  // counts far above what the bytes allow
  options.max_pending = 1'000'000;
  options.max_bytes = 256 << 10;
  const std::size_t heap_before = mallinfo2().uordblks;
  // Bytes allocated since (0 if fewer: under a sanitizer's allocator glibc's
  // count may not move at all, which makes the heap checks vacuous, not wrong).
  const auto heap_grown = [heap_before] {
    const std::size_t now = mallinfo2().uordblks;
    return now > heap_before ? now - heap_before : std::size_t{0};
  };
  std::size_t heap_peak = 0;
  {
    FragmentTable table(options);
    std::mt19937 rng(5);
    std::size_t untracked_count = 0, released = 0, handed_on = 0, held = 0;
    const auto count = [&](const PacketInfo&, bool) { ++released; };
    for (int i = 0; i < 100'000; ++i) {
      PacketInfo p;
      p.ts = kT0 + i;
      p.proto = 17;
      p.src[15] = static_cast<std::uint8_t>(rng());
      p.dst[15] = 1;
      // Half the fragments share 64 ids (long waiting lists), half are new datagrams.
      p.fragment_id = (i % 2 == 0) ? static_cast<std::uint32_t>(rng() % 64)
                                   : static_cast<std::uint32_t>(rng());
      if (rng() % 10 == 0) {
        p.fragment = FragmentKind::kFirst;
        table.on_first(p, count);
        ++handed_on;
      } else {
        p.fragment = FragmentKind::kLater;
        bool untracked = false;
        if (table.on_later(p, &untracked)) {
          ++handed_on;
        } else {
          ++held;
        }
        untracked_count += untracked ? 1 : 0;
      }
      ASSERT_LE(table.memory_bytes(), options.max_bytes) << "after fragment " << i;
      if (i % 1000 == 0) {
        heap_peak = std::max(heap_peak, heap_grown());
        ASSERT_LE(heap_grown(), table.memory_bytes() + 1024)
            << "after fragment " << i;
      }
    }
    EXPECT_GT(untracked_count, 0u);
    EXPECT_GT(table.datagrams(), 0u);
    table.flush(count);
    EXPECT_EQ(table.pending(), 0u);
    EXPECT_EQ(released, held);  // every waiting fragment comes out exactly once
    EXPECT_EQ(handed_on + held, 100'000u);
  }
  EXPECT_LE(heap_peak, options.max_bytes + 1024);
}

TEST(FragmentTableTest, DefaultCapsAreBoundedInBytes) {
  FragmentTable table(FragmentTableOptions{});
  // The default counts fit in the default byte cap (4 MiB): the counts are the
  // binding caps, and the byte cap is what the fragment table can ever hold.
  const FragmentTableOptions d;
  EXPECT_LE(d.max_datagrams * (FragmentTable::bytes_per_datagram() + sizeof(void*)), d.max_bytes);
  EXPECT_LE(table.memory_bytes(), d.max_bytes);
}

}  // namespace
}  // namespace conntrail::capture
