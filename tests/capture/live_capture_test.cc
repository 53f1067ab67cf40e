// Live capture: captures replayed onto a veth pair inside a network namespace
// this test creates must give exactly the flows the offline pipeline gives for
// the same files (times aside: live times are the replay's). Needs root,
// network namespaces, `ip` and `tcpreplay`; skipped with a message otherwise.
#include "capture/source/live_capture.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "capture/pipeline/capture_file.h"
#include "tests/capture/golden_flows.h"

namespace conntrail::capture {
namespace {

bool run(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
}

// A network namespace with a veth pair va <-> vb, IPv6 off so the kernel adds
// no neighbour discovery of its own; deleted (with the pair) on destruction.
class VethNamespace {
 public:
  VethNamespace() : name_("conntrail-test-" + std::to_string(getpid())) {}
  ~VethNamespace() {
    if (created_) run("ip netns del " + name_);
  }
  bool create() {
    if (!run("ip netns add " + name_)) return false;
    created_ = true;
    return run("ip netns exec " + name_ +
               " sysctl -qw net.ipv6.conf.all.disable_ipv6=1 "
               "net.ipv6.conf.default.disable_ipv6=1") &&
           run("ip -n " + name_ + " link add va mtu 9000 type veth peer name vb mtu 9000") &&
           run("ip -n " + name_ + " link set va up") && run("ip -n " + name_ + " link set vb up");
  }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  bool created_ = false;
};

// Moves the calling thread into a namespace; threads it starts inherit it.
class EnterNamespace {
 public:
  explicit EnterNamespace(const std::string& name) {
    original_ = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    const int target = open(("/var/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
    ok_ = original_ >= 0 && target >= 0 && setns(target, CLONE_NEWNET) == 0;
    if (target >= 0) close(target);
  }
  ~EnterNamespace() {
    if (original_ >= 0) {
      EXPECT_EQ(setns(original_, CLONE_NEWNET), 0);
      close(original_);
    }
  }
  bool ok() const { return ok_; }

 private:
  int original_ = -1;
  bool ok_ = false;
};

std::string pcaps() { return std::string(CONNTRAIL_TEST_DATA) + "/pcaps/"; }

// Captures with disjoint 5-tuples (so replaying them back to back merges nothing)
// covering IPv6 TCP, GRE, MPLS, QinQ+PPPoE, 802.1ad and IPv4/IPv6 fragments.
const std::vector<std::string> kReplayed = {
    "zeek/ftp/ipv6.pcap",        "zeek/tunnels/gre-sample.pcap", "arkime/mpls-basic.pcap",
    "zeek/pppoe-over-qinq.pcap", "arkime/dot1ad.pcap",           "ndpi/dns_fragmented.pcap",
};

TEST(LiveCaptureTest, ReplayedCapturesGiveTheOfflineFlows) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to create a network namespace and capture";
  if (!run("command -v ip") || !run("command -v tcpreplay")) {
    GTEST_SKIP() << "needs the `ip` and `tcpreplay` commands";
  }
  VethNamespace ns;
  if (!ns.create()) GTEST_SKIP() << "cannot create a network namespace with a veth pair here";

  std::mutex mutex;
  std::vector<FlowRecord> live;
  std::vector<InterfaceCounters> counters;
  {
    EnterNamespace inside(ns.name());
    ASSERT_TRUE(inside.ok()) << "setns into " << ns.name();
    LiveCaptureOptions options;
    InterfaceOptions iface;
    iface.pcap.interface = "vb";
    options.interfaces.push_back(iface);
    auto capture = LiveCapture::start(options, [&](FlowRecord&& r) {
      std::lock_guard lock(mutex);
      live.push_back(std::move(r));
      return true;
    });
    ASSERT_TRUE(capture.has_value()) << capture.error().message;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    std::string files;
    for (const auto& f : kReplayed) files += " " + pcaps() + f;
    ASSERT_TRUE(run("ip netns exec " + ns.name() + " tcpreplay -q -i va --pps 2000" + files));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    (*capture)->stop();
    counters = (*capture)->counters();
  }

  std::vector<testing::CanonicalFlow> expected;
  std::uint64_t packets = 0;
  for (const auto& f : kReplayed) {
    std::vector<FlowRecord> offline;
    const auto c =
        read_capture_file(pcaps() + f, {}, [&](FlowRecord&& r) { offline.push_back(r); });
    ASSERT_TRUE(c.has_value()) << c.error().message;
    packets += c->packets;
    for (auto& x : testing::canonicalize(offline)) expected.push_back(x);
  }
  ASSERT_EQ(counters.size(), 1u);
  EXPECT_EQ(counters[0].counters.packets, packets);
  EXPECT_EQ(counters[0].counters.kernel_drops, 0u);
  EXPECT_EQ(counters[0].counters.queue_drops, 0u);
  EXPECT_EQ(counters[0].flows_active, 0u);
  EXPECT_TRUE(counters[0].error.empty()) << counters[0].error;
  EXPECT_EQ(live.size(), expected.size());
  const std::string diff = testing::diff_flows(testing::without_times(expected),
                                               testing::without_times(testing::canonicalize(live)));
  EXPECT_TRUE(diff.empty()) << diff;
  for (const auto& r : live) EXPECT_EQ(r.precision, TimePrecision::kNano);
}

TEST(LiveCaptureTest, FlowsExpireWhenTrafficStops) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to create a network namespace and capture";
  if (!run("command -v ip") || !run("command -v tcpreplay"))
    GTEST_SKIP() << "needs ip and tcpreplay";
  VethNamespace ns;
  if (!ns.create()) GTEST_SKIP() << "cannot create a network namespace with a veth pair here";
  EnterNamespace inside(ns.name());
  ASSERT_TRUE(inside.ok());

  std::mutex mutex;
  std::vector<FlowRecord> live;
  LiveCaptureOptions options;
  InterfaceOptions iface;
  iface.pcap.interface = "vb";
  iface.meter.flows.timeouts.icmp.idle = kNsPerSecond / 2;
  options.interfaces.push_back(iface);
  auto capture = LiveCapture::start(options, [&](FlowRecord&& r) {
    std::lock_guard lock(mutex);
    live.push_back(std::move(r));
    return true;
  });
  ASSERT_TRUE(capture.has_value()) << capture.error().message;
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_TRUE(run("ip netns exec " + ns.name() + " tcpreplay -q -i va --topspeed " + pcaps() +
                  "zeek/icmp/5-pings.pcap"));
  // No more traffic: the idle ICMP flow must be exported by the clock alone.
  bool exported = false;
  for (int i = 0; i < 50 && !exported; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::lock_guard lock(mutex);
    exported = !live.empty();
  }
  ASSERT_TRUE(exported);
  EXPECT_EQ(live[0].end_reason, EndReason::kIdle);
  EXPECT_EQ(live[0].packets_fwd + live[0].packets_rev, 10u);
  (*capture)->stop();
}

TEST(LiveCaptureTest, QueueDropsAreCounted) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to create a network namespace and capture";
  if (!run("command -v ip") || !run("command -v tcpreplay"))
    GTEST_SKIP() << "needs ip and tcpreplay";
  VethNamespace ns;
  if (!ns.create()) GTEST_SKIP() << "cannot create a network namespace with a veth pair here";
  EnterNamespace inside(ns.name());
  ASSERT_TRUE(inside.ok());
  LiveCaptureOptions options;
  InterfaceOptions iface;
  iface.pcap.interface = "vb";
  options.interfaces.push_back(iface);
  auto capture = LiveCapture::start(options, [](FlowRecord&&) { return false; });  // always full
  ASSERT_TRUE(capture.has_value());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_TRUE(run("ip netns exec " + ns.name() + " tcpreplay -q -i va --topspeed " + pcaps() +
                  "zeek/tunnels/gre-sample.pcap"));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  (*capture)->stop();
  const auto c = (*capture)->counters();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].counters.queue_drops, 7u);
  EXPECT_EQ(c[0].counters.flows_exported, 7u);
}

TEST(LiveCaptureTest, StartFailsClearly) {
  LiveCaptureOptions none;
  auto r = LiveCapture::start(none, [](FlowRecord&&) { return true; });
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);

  LiveCaptureOptions missing;
  InterfaceOptions iface;
  iface.pcap.interface = "conntrail-no-such-if0";
  missing.interfaces.push_back(iface);
  r = LiveCapture::start(missing, [](FlowRecord&&) { return true; });
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("conntrail-no-such-if0"), std::string::npos);

  if (geteuid() == 0) {
    LiveCaptureOptions bad_filter;
    InterfaceOptions lo;
    lo.pcap.interface = "lo";
    lo.pcap.bpf_filter = "this is not bpf";
    bad_filter.interfaces.push_back(lo);
    r = LiveCapture::start(bad_filter, [](FlowRecord&&) { return true; });
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace conntrail::capture
