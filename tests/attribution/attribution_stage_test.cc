// The attribution stage inside the capture pipeline: flows get the subscriber that
// held their address at their first packet; sessions go out once; the retention
// covers the longest time a flow can take to be exported.
#include "capture/pipeline/attribution_stage.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "capture/pipeline/capture_file.h"
#include "tests/attribution/builders.h"

namespace conntrail::capture {
namespace {

using namespace conntrail::test;
using Bytes = conntrail::test::Bytes;

capture::Bytes as_span(const Bytes& b) { return capture::Bytes(b.data(), b.size()); }

constexpr TimestampNs kT0 = 1'700'000'000 * kNsPerSecond;

Bytes ipv4_udp(std::array<std::uint8_t, 4> src, std::array<std::uint8_t, 4> dst,
               std::uint16_t sport, std::uint16_t dport, const Bytes& payload) {
  Bytes b{0x45, 0};
  put16(b, static_cast<std::uint32_t>(28 + payload.size()));
  put32(b, 0);
  b.push_back(64);
  b.push_back(17);
  put16(b, 0);
  b.insert(b.end(), src.begin(), src.end());
  b.insert(b.end(), dst.begin(), dst.end());
  put16(b, sport);
  put16(b, dport);
  put16(b, static_cast<std::uint32_t>(8 + payload.size()));
  put16(b, 0);
  put(b, payload);
  return b;
}

Bytes start(const char* user, const char* session, std::uint8_t status = 1) {
  return Radius(4, 1)
      .attr(1, text(user))
      .attr(4, v4(192, 0, 2, 1))
      .attr(8, v4(100, 64, 1, 7))
      .attr(44, text(session))
      .status(status)
      .bytes();
}

struct Piped {
  std::vector<FlowRecord> flows;
  std::vector<SessionRecord> sessions;
};

// Raw-IP frames through a FlowMeter with the stage as its tap, as read_capture_file does.
Piped run(const std::vector<std::pair<TimestampNs, Bytes>>& frames) {
  Piped r;
  AttributionStage stage({}, TimePrecision::kNano,
                         [&](const SessionRecord& s) { r.sessions.push_back(s); });
  FlowMeter meter(LinkType::kRawIp, {}, [&](FlowRecord&& f) {
    stage.fill(f);
    r.flows.push_back(std::move(f));
  });
  meter.set_udp_tap(&stage);
  for (const auto& [ts, frame] : frames) {
    meter.on_frame(ts, as_span(frame), static_cast<std::uint32_t>(frame.size()));
  }
  meter.finish();
  stage.finish();
  return r;
}

const FlowRecord* flow_with_port(const Piped& r, std::uint16_t port) {
  for (const auto& f : r.flows) {
    if (f.src_port == port || f.dst_port == port) return &f;
  }
  return nullptr;
}

TEST(AttributionStageTest, FlowsCarryTheSubscriberAtTheirFirstPacket) {
  const auto radius = [](const Bytes& p) {
    return ipv4_udp({192, 0, 2, 1}, {192, 0, 2, 10}, 40000, 1813, p);
  };
  const auto traffic = [](std::uint16_t sport) {
    return ipv4_udp({100, 64, 1, 7}, {198, 51, 100, 7}, sport, 443, Bytes(10, 0));
  };
  const Piped r = run({
      {kT0 - kNsPerSecond, traffic(50999)},  // before any session
      {kT0, radius(start("alice", "S-1"))},
      {kT0 + 5 * kNsPerSecond, traffic(51000)},
      {kT0 + 100 * kNsPerSecond, radius(start("alice", "S-1", 2))},  // Stop
      {kT0 + 150 * kNsPerSecond, traffic(51001)},                    // gap
      {kT0 + 200 * kNsPerSecond, radius(start("bob", "S-2"))},
      {kT0 + 210 * kNsPerSecond, traffic(51002)},
  });
  ASSERT_NE(flow_with_port(r, 50999), nullptr);
  EXPECT_EQ(flow_with_port(r, 50999)->subscriber, "");
  EXPECT_EQ(flow_with_port(r, 51000)->subscriber, "alice");
  EXPECT_EQ(flow_with_port(r, 51001)->subscriber, "");
  EXPECT_EQ(flow_with_port(r, 51002)->subscriber, "bob");
  ASSERT_EQ(r.sessions.size(), 2u);
  EXPECT_EQ(r.sessions[0].subscriber, "alice");
  EXPECT_EQ(r.sessions[0].end_ts, kT0 + 100 * kNsPerSecond);
  EXPECT_EQ(r.sessions[1].subscriber, "bob");
  EXPECT_TRUE(r.sessions[1].is_open());
}

TEST(AttributionStageTest, AFragmentedControlDatagramIsCountedAsCut) {
  std::vector<SessionRecord> sessions;
  AttributionStage stage({}, TimePrecision::kMicro,
                         [&](const SessionRecord& s) { sessions.push_back(s); });
  FlowMeter meter(LinkType::kRawIp, {}, [&](FlowRecord&&) {});
  meter.set_udp_tap(&stage);
  Bytes frame = ipv4_udp({192, 0, 2, 1}, {192, 0, 2, 10}, 40000, 1813, start("alice", "S-1"));
  frame[6] = 0x20;  // More Fragments, offset 0: the first fragment
  meter.on_frame(kT0, as_span(frame), static_cast<std::uint32_t>(frame.size()));
  meter.finish();
  stage.finish();
  EXPECT_TRUE(sessions.empty());
  EXPECT_EQ(stage.report().parsing.truncated_payloads, 1u);
}

TEST(AttributionStageTest, OnlyControlPortsAreTapped) {
  AttributionStage stage({}, TimePrecision::kMicro, {});
  EXPECT_TRUE(stage.wants(40000, 1813));
  EXPECT_TRUE(stage.wants(68, 67));
  EXPECT_TRUE(stage.wants(547, 546));
  EXPECT_FALSE(stage.wants(40000, 53));
  AttributionOptions custom;
  custom.dispatch.radius_accounting_ports = {11813};
  AttributionStage other(custom, TimePrecision::kMicro, {});
  EXPECT_TRUE(other.wants(40000, 11813));
  EXPECT_FALSE(other.wants(40000, 1813));
}

TEST(AttributionStageTest, CheckpointEmitsEachOpenSessionOnceThenTheClosedOne) {
  std::vector<SessionRecord> out;
  AttributionStage stage({}, TimePrecision::kMicro,
                         [&](const SessionRecord& s) { out.push_back(s); });
  const auto payload = start("alice", "S-1");
  const auto frame = ipv4_udp({192, 0, 2, 1}, {192, 0, 2, 10}, 40000, 1813, payload);
  PacketInfo p;
  p.ts = kT0;
  ASSERT_EQ(decode_frame(LinkType::kRawIp, as_span(frame), {}, p), DecodeError::kNone);
  stage.on_datagram(p);
  stage.checkpoint_open();
  stage.checkpoint_open();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].is_open());
  stage.finish();  // already emitted open: not repeated
  EXPECT_EQ(out.size(), 1u);
  EXPECT_EQ(stage.report().datagrams, 1u);
}

TEST(AttributionStageTest, ClosedRetentionCoversTheLongestFlowLifetime) {
  FlowTimeouts t;
  t.tcp = {300 * kNsPerSecond, 1800 * kNsPerSecond};
  // active + idle of TCP, the linger, one sweep and a minute of margin.
  EXPECT_EQ(closed_retention_for(t), (2100 + 5 + 1 + 60) * kNsPerSecond);
}

TEST(AttributionStageTest, ReadCaptureFileCanLeaveAttributionOff) {
  CaptureOptions options;
  options.attribution.enabled = false;
  std::vector<FlowRecord> flows;
  std::vector<SessionRecord> sessions;
  const auto counters = read_capture_file(
      std::string(CONNTRAIL_TEST_DATA) + "/attribution/radius-traffic.pcap", options,
      [&](FlowRecord&& f) { flows.push_back(std::move(f)); },
      [&](const SessionRecord& s) { sessions.push_back(s); });
  ASSERT_TRUE(counters.has_value()) << counters.error().message;
  EXPECT_FALSE(flows.empty());
  EXPECT_TRUE(sessions.empty());
  for (const auto& f : flows) EXPECT_EQ(f.subscriber, "");
}

TEST(AttributionStageTest, ReadCaptureFileFillsSubscribersFromTheSameFile) {
  std::vector<FlowRecord> flows;
  std::vector<SessionRecord> sessions;
  const auto counters = read_capture_file(
      std::string(CONNTRAIL_TEST_DATA) + "/attribution/radius-traffic.pcap", CaptureOptions{},
      [&](FlowRecord&& f) { flows.push_back(std::move(f)); },
      [&](const SessionRecord& s) { sessions.push_back(s); });
  ASSERT_TRUE(counters.has_value()) << counters.error().message;
  std::map<std::uint16_t, std::string> by_port;
  for (const auto& f : flows) {
    if (f.src_ip.to_string() == "100.64.1.7") by_port[f.src_port] = f.subscriber;
    if (f.src_ip.to_string() == "192.0.2.1") {
      EXPECT_EQ(f.subscriber, "");
    }
  }
  EXPECT_EQ(by_port[51000], "alice");
  EXPECT_EQ(by_port[53000], "alice");
  EXPECT_EQ(by_port[51001], "");
  EXPECT_EQ(by_port[40000], "bob");
  ASSERT_EQ(sessions.size(), 2u);
  EXPECT_EQ(sessions[0].subscriber, "alice");
  EXPECT_FALSE(sessions[0].is_open());
  EXPECT_EQ(sessions[1].subscriber, "bob");
  EXPECT_TRUE(sessions[1].is_open());
}

}  // namespace
}  // namespace conntrail::capture
