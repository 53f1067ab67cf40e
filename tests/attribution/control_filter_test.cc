// The control handles' BPF texts: one per encapsulation libpcap can express, ports once.
#include "capture/source/control_filter.h"

#include <gtest/gtest.h>

namespace conntrail::capture {
namespace {

TEST(ControlFilterTest, OneFilterPerEncapsulation) {
  const auto f = control_bpf_filters({1813, 67, 1813});
  const std::string udp = "(udp port 1813 or udp port 67)";  // deduplicated
  ASSERT_EQ(f.size(), 7u);
  // Untagged, 802.1Q and QinQ in one: the second `vlan` adds to the first (pcap-filter(7)).
  EXPECT_EQ(f[0], udp + " or (vlan and " + udp + ") or (vlan and " + udp + ")");
  EXPECT_EQ(f[1], "pppoes and " + udp);
  EXPECT_EQ(f[2], "vlan and pppoes and " + udp);
  EXPECT_EQ(f[3], "vlan and vlan and pppoes and " + udp);
  EXPECT_EQ(f[4], "mpls and " + udp);
  EXPECT_EQ(f[5], "vlan and mpls and " + udp);
  EXPECT_EQ(f[6], "vlan and vlan and mpls and " + udp);
}

TEST(ControlFilterTest, NoPortsNoFilter) { EXPECT_TRUE(control_bpf_filters({}).empty()); }

}  // namespace
}  // namespace conntrail::capture
