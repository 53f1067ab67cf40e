// Integration: the live control handle. Inside a network namespace of its own
// (loopback only), LiveCapture runs with a 256-byte flow snaplen and a control
// handle; a RADIUS Accounting-Request larger than 256 bytes sent to 1813 reaches
// the control sink whole, and goes through the AttributionService to a session,
// while the flow for it still comes out of the flow handle. Needs root; skipped
// otherwise. The wait for packets is bounded (never a timing assertion).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "capture/pipeline/attribution_service.h"
#include "capture/source/live_capture.h"
#include "tests/attribution/builders.h"

namespace conntrail::capture {
namespace {

using namespace conntrail::test;
using Bytes = conntrail::test::Bytes;

TEST(ControlCaptureTest, ControlHandleSeesWholeRadiusBeyondTheFlowSnaplen) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to capture in a private network namespace";
  if (unshare(CLONE_NEWNET) != 0) GTEST_SKIP() << "cannot create a network namespace here";
  if (std::system("ip link set lo up >/dev/null 2>&1") != 0) GTEST_SKIP() << "needs `ip`";

  // With a 200-byte User-Name and a 100-byte Class the message is > 256 bytes:
  // the flow snaplen would cut it.
  const std::string user(200, 'u');
  const Bytes radius = Radius(4, 1)
                           .attr(1, text(user))
                           .attr(25, Bytes(100, 0x43))
                           .attr(4, v4(127, 0, 0, 1))
                           .attr(8, v4(100, 64, 1, 7))
                           .attr(44, text("L-1"))
                           .status(1)
                           .bytes();

  std::mutex mu;
  std::vector<FlowRecord> flows;
  std::vector<SessionRecord> sessions;
  std::atomic<int> control_seen{0};
  std::atomic<std::size_t> control_size{0};
  auto service = AttributionService::start(
      {},
      [&](FlowRecord&& f) {
        std::lock_guard lock(mu);
        flows.push_back(std::move(f));
        return true;
      },
      [&](const SessionRecord& s) {
        std::lock_guard lock(mu);
        sessions.push_back(s);
      });
  ASSERT_TRUE(service.has_value());
  AttributionService* owner = service->get();

  LiveCaptureOptions options;
  InterfaceOptions lo;
  lo.pcap.interface = "lo";
  lo.pcap.snaplen = 256;
  lo.pcap.timeout_ms = 20;
  options.interfaces.push_back(lo);
  options.control.ports = {1813, 1646, 67, 68, 546, 547};
  options.control.sink = [&](const PacketInfo& p) {
    control_size = p.udp_payload.size();
    ++control_seen;
    return owner->submit_control(p);
  };
  auto live = LiveCapture::start(
      std::move(options), [owner](FlowRecord&& f) { return owner->submit_flow(std::move(f)); });
  if (!live) {
    owner->stop();
    FAIL() << live.error().message;
  }

  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(1813);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // Resent until seen (the handles may still be starting), at most ~10 s.
  for (int i = 0; i < 100 && control_seen.load() == 0; ++i) {
    ASSERT_EQ(
        sendto(fd, radius.data(), radius.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
        static_cast<ssize_t>(radius.size()));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  close(fd);
  (*live)->stop();
  owner->stop();

  ASSERT_GT(control_seen.load(), 0) << "no datagram reached the control handle";
  EXPECT_EQ(control_size.load(), radius.size());  // whole, beyond the flow snaplen
  const auto counters = (*live)->counters();
  ASSERT_EQ(counters.size(), 1u);
  EXPECT_GT(counters[0].control_packets, 0u);
  EXPECT_EQ(owner->stats().report.parsing.truncated_payloads, 0u);
  std::lock_guard lock(mu);
  ASSERT_FALSE(sessions.empty());
  EXPECT_EQ(sessions[0].subscriber, user);
  EXPECT_EQ(sessions[0].address.network().to_string(), "100.64.1.7");
  bool radius_flow = false;
  for (const auto& f : flows) radius_flow |= f.dst_port == 1813 || f.src_port == 1813;
  EXPECT_TRUE(radius_flow);
}

// RADIUS accounting on one interface (lo), the subscriber's traffic on another (a veth):
// the one tracker owner attributes the flow captured on the second interface.
TEST(ControlCaptureTest, RadiusOnOneInterfaceAttributesTrafficOnAnother) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to capture in a private network namespace";
  if (unshare(CLONE_NEWNET) != 0) GTEST_SKIP() << "cannot create a network namespace here";
  const char* setup =
      "ip link set lo up && ip link add va type veth peer name vb && "
      "ip addr add 100.64.1.7/24 dev va && ip link set va up && ip link set vb up && "
      "ip neigh add 100.64.1.99 lladdr 02:00:00:00:00:99 dev va";
  if (std::system((std::string(setup) + " >/dev/null 2>&1").c_str()) != 0) {
    GTEST_SKIP() << "cannot create a veth pair here";
  }
  const Bytes radius = Radius(4, 1)
                           .attr(1, text("alice"))
                           .attr(4, v4(127, 0, 0, 1))
                           .attr(8, v4(100, 64, 1, 7))
                           .attr(44, text("M-1"))
                           .status(1)
                           .bytes();
  std::mutex mu;
  std::vector<FlowRecord> flows;
  std::atomic<int> control_seen{0};
  auto service = AttributionService::start({},
                                           [&](FlowRecord&& f) {
                                             std::lock_guard lock(mu);
                                             flows.push_back(std::move(f));
                                             return true;
                                           },
                                           {});
  ASSERT_TRUE(service.has_value());
  AttributionService* owner = service->get();
  LiveCaptureOptions options;
  for (const char* name : {"lo", "va"}) {
    InterfaceOptions i;
    i.pcap.interface = name;
    i.pcap.timeout_ms = 20;
    options.interfaces.push_back(i);
  }
  options.control.ports = {1813};
  options.control.sink = [&](const PacketInfo& p) {
    ++control_seen;
    return owner->submit_control(p);
  };
  auto live = LiveCapture::start(
      std::move(options), [owner](FlowRecord&& f) { return owner->submit_flow(std::move(f)); });
  if (!live) {
    owner->stop();
    FAIL() << live.error().message;
  }
  auto send = [](const char* from, const char* to_ip, std::uint16_t port, const Bytes& payload) {
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    inet_pton(AF_INET, from, &src.sin_addr);
    bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    inet_pton(AF_INET, to_ip, &to.sin_addr);
    const auto n =
        sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    close(fd);
    return n == static_cast<ssize_t>(payload.size());
  };
  for (int i = 0; i < 100 && control_seen.load() == 0; ++i) {
    ASSERT_TRUE(send("127.0.0.1", "127.0.0.1", 1813, radius));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_GT(control_seen.load(), 0) << "the RADIUS Start never reached the control handle";
  // Then the subscriber's datagram leaves through va (a static neighbour, so no ARP).
  ASSERT_TRUE(send("100.64.1.7", "100.64.1.99", 9999, Bytes(20, 0)));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let the ring block retire
  (*live)->stop();  // exports the flows (shutdown) into the service
  owner->stop();
  std::lock_guard lock(mu);
  const FlowRecord* traffic = nullptr;
  for (const auto& f : flows) {
    if (f.dst_port == 9999) traffic = &f;
  }
  ASSERT_NE(traffic, nullptr) << "the veth capture saw no subscriber datagram";
  EXPECT_EQ(traffic->interface_id, 1u);     // captured on va
  EXPECT_EQ(traffic->subscriber, "alice");  // from the RADIUS captured on lo
}

}  // namespace
}  // namespace conntrail::capture
