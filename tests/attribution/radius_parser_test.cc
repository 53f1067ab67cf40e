#include "capture/attribution/radius_parser.h"

#include <gtest/gtest.h>

#include "tests/attribution/builders.h"

namespace conntrail::capture {
namespace {

using test::Bytes;
using test::Radius;
using test::text;
using test::u32;
using test::v4;

Radius full_start() {
  Radius r(4, 7);
  r.attr(1, text("alice"))
      .attr(4, v4(192, 0, 2, 1))
      .attr(8, v4(100, 64, 1, 7))
      .attr(97, Bytes{0, 64, 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 1})
      .attr(123, Bytes{0, 56, 0x20, 0x01, 0x0d, 0xb8, 1, 0, 0})
      .attr(168, test::v6({0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, 0x10}))
      .attr(31, text("00-11-22-33-44-55"))
      .attr(32, text("bng-1"))
      .attr(44, text("S-1"))
      .attr(50, text("M-1"))
      .attr(87, text("eth 0/1:100"))
      .attr(41, u32(3))
      .attr(46, u32(60))
      .attr(49, u32(1))
      .attr(55, u32(1700000000))
      .attr(26, Bytes{0, 0, 0x39, 0xe7, 5, 4, 'x', 'y'})  // a VSA, skipped
      .status(1);
  return r;
}

TEST(RadiusParserTest, ParsesEveryAttributeOfAnAccountingRequest) {
  const auto bytes = full_start().bytes();
  const auto a = parse_radius_accounting(bytes);
  ASSERT_TRUE(a.has_value()) << to_string(a.error());
  EXPECT_EQ(a->identifier, 7);
  EXPECT_TRUE(a->is(AcctStatus::kStart));
  EXPECT_EQ(a->user_name, "alice");
  EXPECT_EQ(a->nas_ip->to_string(), "192.0.2.1");
  EXPECT_EQ(a->nas_identifier, "bng-1");
  EXPECT_EQ(a->framed_ip->to_string(), "100.64.1.7");
  ASSERT_EQ(a->framed_ipv6_prefixes.size(), 1u);
  EXPECT_EQ(a->framed_ipv6_prefixes[0].to_string(), "2001:db8:1:1::/64");
  ASSERT_EQ(a->delegated_ipv6_prefixes.size(), 1u);
  EXPECT_EQ(a->delegated_ipv6_prefixes[0].to_string(), "2001:db8:100::/56");
  ASSERT_EQ(a->framed_ipv6_addresses.size(), 1u);
  EXPECT_EQ(a->framed_ipv6_addresses[0].to_string(), "2001:db8:ffff::10");
  EXPECT_EQ(a->calling_station_id, "00-11-22-33-44-55");
  EXPECT_EQ(a->acct_session_id, "S-1");
  EXPECT_EQ(a->acct_multi_session_id, "M-1");
  EXPECT_EQ(a->nas_port_id, "eth 0/1:100");
  EXPECT_EQ(a->acct_delay_time, 3u);
  EXPECT_EQ(a->acct_session_time, 60u);
  EXPECT_EQ(a->acct_terminate_cause, 1u);
  EXPECT_EQ(a->event_timestamp, 1700000000u);
  EXPECT_TRUE(a->has_address());
}

TEST(RadiusParserTest, AccessPacketsAreNeverAccounting) {
  for (std::uint8_t code : {1, 2, 3, 5, 11}) {
    const auto bytes = Radius(code).attr(8, v4(10, 0, 0, 3)).status(1).bytes();
    const auto a = parse_radius_accounting(bytes);
    ASSERT_FALSE(a.has_value());
    EXPECT_EQ(a.error(), RadiusParseError::kNotAccountingRequest) << int(code);
  }
}

TEST(RadiusParserTest, PlaceholderFramedAddressesAreNotAddresses) {
  for (auto addr : {v4(255, 255, 255, 254), v4(255, 255, 255, 255), v4(0, 0, 0, 0)}) {
    const auto a = parse_radius_accounting(Radius().attr(8, addr).status(1).bytes());
    ASSERT_TRUE(a.has_value());
    EXPECT_FALSE(a->framed_ip.has_value());
    EXPECT_FALSE(a->has_address());
  }
}

TEST(RadiusParserTest, BytesAfterTheHeaderLengthArePadding) {
  auto bytes = Radius().status(3).bytes();
  bytes.insert(bytes.end(), {8, 6, 1, 2, 3, 4});  // would be a Framed-IP if read
  const auto a = parse_radius_accounting(bytes);
  ASSERT_TRUE(a.has_value());
  EXPECT_FALSE(a->framed_ip.has_value());
}

TEST(RadiusParserTest, FirstOccurrenceOfASingleValuedAttributeWins) {
  const auto a = parse_radius_accounting(
      Radius().attr(1, text("first")).attr(1, text("second")).status(1).bytes());
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->user_name, "first");
}

TEST(RadiusParserTest, NasIpv6AddressStandsInForNasIpAddress) {
  const auto a = parse_radius_accounting(
      Radius().attr(95, test::v6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 1})).status(1).bytes());
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->nas_ip->to_string(), "2001:db8::1");
}

struct Malformed {
  const char* name;
  Bytes bytes;
  RadiusParseError error;
};

class RadiusMalformedTest : public ::testing::TestWithParam<Malformed> {};

TEST_P(RadiusMalformedTest, IsRejectedWithItsKind) {
  const auto a = parse_radius_accounting(GetParam().bytes);
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error(), GetParam().error) << to_string(a.error());
}

Bytes truncated_start() {
  auto b = full_start().bytes();
  b.resize(b.size() - 3);  // cut by a snaplen: header Length now exceeds the bytes
  return b;
}

INSTANTIATE_TEST_SUITE_P(
    Lengths, RadiusMalformedTest,
    ::testing::Values(
        Malformed{"empty", Bytes{}, RadiusParseError::kTruncatedHeader},
        Malformed{"nineteen_bytes", Bytes(19, 0), RadiusParseError::kTruncatedHeader},
        Malformed{"length_below_header", Radius().status(1).bytes(19), RadiusParseError::kBadLength},
        Malformed{"length_above_4096", Radius().status(1).bytes(4097), RadiusParseError::kBadLength},
        Malformed{"length_beyond_capture", truncated_start(), RadiusParseError::kTruncated},
        Malformed{"zero_length_attribute", Radius().raw({1, 0}).status(1).bytes(),
                  RadiusParseError::kAttributeTooShort},
        Malformed{"one_length_attribute", Radius().raw({1, 1}).status(1).bytes(),
                  RadiusParseError::kAttributeTooShort},
        Malformed{"lone_type_octet_at_end", Radius().status(1).raw({1}).bytes(),
                  RadiusParseError::kAttributeTooShort},
        Malformed{"attribute_overflows_packet", Radius().status(1).raw({1, 40, 'a'}).bytes(),
                  RadiusParseError::kAttributeOverflow},
        Malformed{"framed_ip_five_bytes", Radius().attr(8, {1, 2, 3, 4, 5}).status(1).bytes(),
                  RadiusParseError::kBadAttributeValue},
        Malformed{"status_three_bytes", Radius().attr(40, {0, 0, 1}).bytes(),
                  RadiusParseError::kBadAttributeValue},
        Malformed{"nas_ipv6_short", Radius().attr(95, Bytes(15, 1)).status(1).bytes(),
                  RadiusParseError::kBadAttributeValue},
        Malformed{"prefix_length_129", Radius().attr(97, {0, 129, 0x20, 1}).status(1).bytes(),
                  RadiusParseError::kBadAttributeValue},
        Malformed{"prefix_bytes_short_of_length",
                  Radius().attr(123, {0, 64, 0x20, 1, 0x0d, 0xb8}).status(1).bytes(),
                  RadiusParseError::kBadAttributeValue},
        Malformed{"prefix_value_17_octets", Radius().attr(97, Bytes(19, 0)).status(1).bytes(),
                  RadiusParseError::kBadAttributeValue},
        Malformed{"no_status_type", Radius().attr(8, v4(10, 0, 0, 3)).bytes(),
                  RadiusParseError::kNoStatusType}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(RadiusParserTest, Ipv6PrefixMayOmitTrailingZeroOctets) {
  const auto p = parse_radius_ipv6_prefix(Bytes{0, 48, 0x20, 0x01, 0x0d, 0xb8, 0, 5});
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->to_string(), "2001:db8:5::/48");
  const auto zero = parse_radius_ipv6_prefix(Bytes{0, 0});
  ASSERT_TRUE(zero.has_value());
  EXPECT_EQ(zero->length(), 0);
}

TEST(RadiusParserTest, EveryPrefixOfAGoodPacketIsRejectedOrParsedWithoutReadingPastIt) {
  // Each cut is a snaplen somewhere inside the packet: never a crash, never a success.
  const auto bytes = full_start().bytes();
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    const auto a = parse_radius_accounting(std::span(bytes.data(), n));
    EXPECT_FALSE(a.has_value()) << n;
  }
}

}  // namespace
}  // namespace conntrail::capture
