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

namespace conntrail {
namespace {

// contains() compares whole bytes then a masked byte; this is the bit-by-bit
// definition it must agree with, for every prefix length of both families.
bool contains_bitwise(const IpPrefix& p, const IpAddress& a) {
  if (a.family() != p.network().family()) return false;
  const int first_bit = p.network().is_v4() ? 96 : 0;
  for (int bit = first_bit; bit < first_bit + p.length(); ++bit) {
    const auto i = static_cast<std::size_t>(bit / 8);
    const auto mask = static_cast<std::uint8_t>(0x80u >> (bit % 8));
    if ((a.bytes()[i] & mask) != (p.network().bytes()[i] & mask)) return false;
  }
  return true;
}

TEST(IpPrefixTest, ContainsAgreesWithTheBitwiseDefinition) {
  std::uint64_t s = 12345;
  auto next = [&s] {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::uint8_t>(s >> 56);
  };
  for (int round = 0; round < 20000; ++round) {
    std::array<std::uint8_t, 16> b{};
    for (auto& x : b) x = next();
    const bool v4 = round % 2 == 0;
    const IpAddress net =
        v4 ? IpAddress::v4_from_bytes(std::span<const std::uint8_t, 4>(b.data(), 4))
           : IpAddress::v6_from_bytes(b);
    const int length = static_cast<int>(next()) % ((v4 ? 32 : 128) + 1);
    auto prefix = IpPrefix::make(net, length);
    ASSERT_TRUE(prefix);
    // An address that shares a random number of leading bits with the network.
    auto a = net.bytes();
    const int keep = static_cast<int>(next()) % 129;
    for (int bit = keep; bit < 128; ++bit) {
      if (next() & 1)
        a[static_cast<std::size_t>(bit / 8)] ^= static_cast<std::uint8_t>(0x80u >> (bit % 8));
    }
    const IpAddress addr =
        v4 ? IpAddress::v4_from_bytes(std::span<const std::uint8_t, 4>(a.data() + 12, 4))
           : IpAddress::v6_from_bytes(a);
    ASSERT_EQ(prefix->contains(addr), contains_bitwise(*prefix, addr))
        << prefix->to_string() << " " << addr.to_string();
    ASSERT_TRUE(prefix->contains(prefix->network()));
  }
}

}  // namespace
}  // namespace conntrail
