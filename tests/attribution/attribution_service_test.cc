// The live attribution owner: control datagrams and flows from any thread, one
// tracker, flows filled before they go on, sessions out, bounded queue, clean stop.
#include "capture/pipeline/attribution_service.h"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "tests/attribution/builders.h"

namespace conntrail::capture {
namespace {

using namespace conntrail::test;
using Bytes = conntrail::test::Bytes;

constexpr TimestampNs kT0 = 1'700'000'000 * kNsPerSecond;

Bytes radius_frame(const char* user, const char* session) {
  const Bytes payload = Radius(4, 1)
                            .attr(1, text(user))
                            .attr(4, v4(192, 0, 2, 1))
                            .attr(8, v4(100, 64, 1, 7))
                            .attr(44, text(session))
                            .status(1)
                            .bytes();
  Bytes b{0x45, 0};
  put16(b, static_cast<std::uint32_t>(28 + payload.size()));
  put32(b, 0);
  b.push_back(64);
  b.push_back(17);
  put16(b, 0);
  put(b, v4(192, 0, 2, 1));
  put(b, v4(192, 0, 2, 10));
  put16(b, 40000);
  put16(b, 1813);
  put16(b, static_cast<std::uint32_t>(8 + payload.size()));
  put16(b, 0);
  put(b, payload);
  return b;
}

FlowRecord flow_from(const char* src, TimestampNs first) {
  FlowRecord f;
  f.proto = 6;
  f.src_ip = *IpAddress::parse(src);
  f.dst_ip = *IpAddress::parse("198.51.100.7");
  f.src_port = 51000;
  f.dst_port = 443;
  f.first_ts = first;
  f.last_ts = first;
  return f;
}

struct Collected {
  std::mutex mu;
  std::vector<FlowRecord> flows;
  std::vector<SessionRecord> sessions;
};

TEST(AttributionServiceTest, ControlFromOneThreadAttributesFlowsFromAnother) {
  Collected out;
  AttributionServiceOptions options;
  options.clock = [] { return kT0 + 10 * kNsPerSecond; };
  options.flow_hold = 0;
  auto service = AttributionService::start(
      options,
      [&](FlowRecord&& f) {
        std::lock_guard lock(out.mu);
        out.flows.push_back(std::move(f));
        return true;
      },
      [&](const SessionRecord& s) {
        std::lock_guard lock(out.mu);
        out.sessions.push_back(s);
      });
  ASSERT_TRUE(service.has_value());
  const Bytes frame = radius_frame("alice", "S-1");
  // The "RADIUS interface" thread, then the "subscriber interface" thread.
  std::thread control([&] {
    PacketInfo p;
    p.ts = kT0;
    ASSERT_EQ(decode_frame(LinkType::kRawIp, capture::Bytes(frame.data(), frame.size()), {}, p),
              DecodeError::kNone);
    EXPECT_TRUE((*service)->submit_control(p));
  });
  control.join();  // the payload was copied: the frame may go now
  std::thread traffic([&] {
    EXPECT_TRUE((*service)->submit_flow(flow_from("100.64.1.7", kT0 + 5 * kNsPerSecond)));
    EXPECT_TRUE((*service)->submit_flow(flow_from("100.64.1.8", kT0 + 5 * kNsPerSecond)));
  });
  traffic.join();
  (*service)->stop();
  EXPECT_FALSE((*service)->submit_flow(flow_from("100.64.1.7", kT0)));  // stopped
  ASSERT_EQ(out.flows.size(), 2u);
  EXPECT_EQ(out.flows[0].subscriber, "alice");
  EXPECT_EQ(out.flows[1].subscriber, "");
  ASSERT_EQ(out.sessions.size(), 1u);  // open at stop (checkpointed or finished: once)
  EXPECT_EQ(out.sessions[0].subscriber, "alice");
  EXPECT_TRUE(out.sessions[0].is_open());
  const auto stats = (*service)->stats();
  EXPECT_EQ(stats.control_datagrams, 1u);
  EXPECT_EQ(stats.flows, 2u);
  EXPECT_EQ(stats.flows_dropped, 1u);
  EXPECT_EQ(stats.report.parsing.radius_accounting, 1u);
}

TEST(AttributionServiceTest, OversizedControlPayloadIsCountedNotParsed) {
  AttributionServiceOptions options;
  auto service = AttributionService::start(options, [](FlowRecord&&) { return true; }, {});
  ASSERT_TRUE(service.has_value());
  std::vector<std::uint8_t> big(kMaxControlPayload + 1, 0);
  PacketInfo p;
  p.ts = kT0;
  p.proto = 17;
  p.src_port = 40000;
  p.dst_port = 1813;
  p.udp_payload = capture::Bytes(big.data(), big.size());
  EXPECT_TRUE((*service)->submit_control(p));
  (*service)->stop();
  const auto stats = (*service)->stats();
  EXPECT_EQ(stats.control_oversized, 1u);
  EXPECT_EQ(stats.report.parsing.truncated_payloads, 1u);
  EXPECT_EQ(stats.report.parsing.radius_accounting, 0u);
}

TEST(AttributionServiceTest, RefusesBadOptions) {
  AttributionServiceOptions options;
  options.queue_capacity = 0;
  EXPECT_FALSE(AttributionService::start(options, [](FlowRecord&&) { return true; }, {}));
  EXPECT_FALSE(AttributionService::start({}, {}, {}));
}

TEST(AttributionServiceTest, HeldFlowsAreBoundedByTheQueueCapacity) {
  AttributionServiceOptions options;
  options.queue_capacity = 2;
  options.flow_hold = 1'000'000 * kNsPerSecond;  // would hold them "forever"
  auto service = AttributionService::start(options, [](FlowRecord&&) { return true; }, {});
  ASSERT_TRUE(service.has_value());
  for (int i = 0; i < 3; ++i) {
    // One at a time, each taken off the queue before the next (bounded wait).
    for (int tries = 0; tries < 1000 && !(*service)->submit_flow(flow_from("100.64.1.7", kT0));
         ++tries) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  // The third held flow pushes the oldest out before its hold ends.
  for (int tries = 0; tries < 1000 && (*service)->stats().flows == 0; ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GE((*service)->stats().flows, 1u);
  (*service)->stop();
  EXPECT_EQ((*service)->stats().flows, 3u);  // the rest at stop (refused submits were retried)
}

TEST(AttributionServiceTest, RefusedFlowsAreCounted) {
  auto service = AttributionService::start({}, [](FlowRecord&&) { return false; }, {});
  ASSERT_TRUE(service.has_value());
  EXPECT_TRUE((*service)->submit_flow(flow_from("100.64.1.7", kT0)));
  (*service)->stop();
  EXPECT_EQ((*service)->stats().flows_refused, 1u);
}

}  // namespace
}  // namespace conntrail::capture
