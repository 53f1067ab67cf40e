#include "core/ip_address.h"

#include <gtest/gtest.h>

namespace conntrail {
namespace {

TEST(IpAddressTest, ParsesAndFormatsIpv4) {
  auto a = IpAddress::parse("192.0.2.10");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->is_v4());
  EXPECT_EQ(a->to_string(), "192.0.2.10");
  EXPECT_EQ(a->v4_host_order(), 0xC000020Au);
}

TEST(IpAddressTest, ParsesAndFormatsIpv6InRfc5952Form) {
  auto a = IpAddress::parse("2001:0DB8:0000:0000:0000:0000:0000:0001");
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->is_v4());
  EXPECT_EQ(a->to_string(), "2001:db8::1");
}

TEST(IpAddressTest, RejectsGarbageWithMessage) {
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "300.1.1.1", "fe80::1::2", "abc",
                          "1.2.3.4 ", "2001:db8::1/64"}) {
    auto a = IpAddress::parse(bad);
    ASSERT_FALSE(a) << bad;
    EXPECT_EQ(a.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(a.error().message.find("not an IP address"), std::string::npos);
  }
}

TEST(IpAddressTest, Ipv4AndItsMappedIpv6FormAreDifferentFamilies) {
  auto v4 = IpAddress::parse("10.0.0.1");
  auto mapped = IpAddress::parse("::ffff:10.0.0.1");
  ASSERT_TRUE(v4 && mapped);
  EXPECT_NE(*v4, *mapped);
}

TEST(IpPrefixTest, ContainsRespectsLengthAndFamily) {
  auto p = IpPrefix::parse("100.64.0.0/10");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->contains(*IpAddress::parse("100.64.1.7")));
  EXPECT_TRUE(p->contains(*IpAddress::parse("100.127.255.255")));
  EXPECT_FALSE(p->contains(*IpAddress::parse("100.128.0.0")));
  EXPECT_FALSE(p->contains(*IpAddress::parse("::ffff:100.64.1.7")));
  EXPECT_EQ(p->last().to_string(), "100.127.255.255");
}

TEST(IpPrefixTest, ZeroesHostBitsAndBoundsLength) {
  auto p = IpPrefix::parse("2001:db8:1:2::5/56");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->to_string(), "2001:db8:1::/56");
  EXPECT_FALSE(IpPrefix::parse("10.0.0.0/33"));
  EXPECT_FALSE(IpPrefix::parse("10.0.0.0/"));
  EXPECT_FALSE(IpPrefix::parse("10.0.0.0/8x"));
  EXPECT_EQ(IpPrefix::parse("10.1.2.3")->length(), 32);
}

TEST(IpPrefixTest, ZeroLengthPrefixContainsWholeFamily) {
  auto p = IpPrefix::parse("0.0.0.0/0");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->contains(*IpAddress::parse("255.255.255.255")));
  EXPECT_FALSE(p->contains(*IpAddress::parse("::1")));
}

}  // namespace
}  // namespace conntrail
