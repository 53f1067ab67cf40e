#include "capture/attribution/dhcpv4_parser.h"

#include <gtest/gtest.h>

#include "tests/attribution/builders.h"

namespace conntrail::capture {
namespace {

using test::Bytes;
using test::Dhcp4;
using test::text;
using test::u32;
using test::v4;

const Bytes kMac{0x00, 0x11, 0x22, 0x33, 0x44, 0x55};

Dhcp4 relayed_ack() {
  Dhcp4 d(2, 5, 0xabcdef01);
  d.yiaddr(v4(100, 64, 5, 5)).chaddr(kMac).field(24, v4(100, 64, 5, 1));
  d.opt(54, v4(198, 51, 100, 67)).opt(51, u32(600)).opt(61, {1, 0, 0x11, 0x22, 0x33, 0x44, 0x55});
  // Option 82: circuit-id, remote-id, subscriber-id (RFC 3046, RFC 3993).
  d.opt(82, {1, 4, 'e', 't', 'h', '0', 2, 3, 'c', 'p', 'e', 6, 2, 's', '1'});
  return d;
}

TEST(Dhcpv4ParserTest, ParsesARelayedAck) {
  const auto m = parse_dhcpv4(relayed_ack().bytes());
  ASSERT_TRUE(m.has_value()) << to_string(m.error());
  EXPECT_EQ(m->op, 2);
  EXPECT_EQ(m->type, Dhcpv4Type::kAck);
  EXPECT_EQ(m->xid, 0xabcdef01u);
  EXPECT_EQ(m->yiaddr.to_string(), "100.64.5.5");
  EXPECT_EQ(m->giaddr.to_string(), "100.64.5.1");
  ASSERT_TRUE(m->mac.has_value());
  EXPECT_EQ(format_mac(*m->mac), "00:11:22:33:44:55");
  EXPECT_EQ(m->chaddr_hex, "001122334455");
  EXPECT_EQ(m->lease_seconds, 600u);
  EXPECT_EQ(m->server_id->to_string(), "198.51.100.67");
  EXPECT_EQ(m->client_id_hex, "01001122334455");
  EXPECT_EQ(m->circuit_id, "eth0");
  EXPECT_EQ(m->remote_id, "cpe");
  EXPECT_EQ(m->subscriber_id, "s1");
}

TEST(Dhcpv4ParserTest, RepeatedOptionsConcatenate) {
  // RFC 3396: a long option 82 split in two instances is one value.
  Dhcp4 d(2, 5);
  d.opt(82, {1, 6, 'a', 'b', 'c'}).opt(82, {'d', 'e', 'f'});
  const auto m = parse_dhcpv4(d.bytes());
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->circuit_id, "abcdef");
}

TEST(Dhcpv4ParserTest, ReadsOptionsOverloadedIntoFileAndSname) {
  Dhcp4 d(2, 5);
  d.opt(52, {3});
  // file (offset 108) carries the lease time, sname (offset 44) the server id.
  d.field(108, {51, 4, 0, 0, 0x0e, 0x10, 255});
  d.field(44, {54, 4, 10, 0, 0, 1, 255});
  const auto m = parse_dhcpv4(d.bytes());
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->lease_seconds, 3600u);
  EXPECT_EQ(m->server_id->to_string(), "10.0.0.1");
}

TEST(Dhcpv4ParserTest, NonEthernetChaddrIsNotAMac) {
  Dhcp4 d(2, 5);
  d.field(1, {6, 8});  // IEEE 802 htype 6, hlen 8
  const auto m = parse_dhcpv4(d.bytes());
  ASSERT_TRUE(m.has_value());
  EXPECT_FALSE(m->mac.has_value());
  EXPECT_EQ(m->chaddr_hex.size(), 16u);
}

TEST(Dhcpv4ParserTest, MissingEndOptionIsTolerated) {
  const auto m = parse_dhcpv4(relayed_ack().bytes(/*end=*/false));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->lease_seconds, 600u);
}

TEST(Dhcpv4ParserTest, BootpWithoutMessageTypeIsNotDhcp) {
  Bytes b = Dhcp4(2, 5).bytes();
  b.resize(240);  // drop option 53 and End
  const auto m = parse_dhcpv4(b);
  ASSERT_FALSE(m.has_value());
  EXPECT_EQ(m.error(), Dhcpv4ParseError::kNotDhcp);
}

struct Malformed {
  const char* name;
  Bytes bytes;
  Dhcpv4ParseError error;
};

class Dhcpv4MalformedTest : public ::testing::TestWithParam<Malformed> {};

TEST_P(Dhcpv4MalformedTest, IsRejectedWithItsKind) {
  const auto m = parse_dhcpv4(GetParam().bytes);
  ASSERT_FALSE(m.has_value());
  EXPECT_EQ(m.error(), GetParam().error) << to_string(m.error());
}

Bytes with(Bytes b, std::size_t at, std::uint8_t v) {
  b.at(at) = v;
  return b;
}

INSTANTIATE_TEST_SUITE_P(
    Framing, Dhcpv4MalformedTest,
    ::testing::Values(
        Malformed{"empty", Bytes{}, Dhcpv4ParseError::kTruncated},
        Malformed{"no_magic", Bytes(236, 0), Dhcpv4ParseError::kTruncated},
        Malformed{"bad_magic", with(Dhcp4(2, 5).bytes(), 236, 0), Dhcpv4ParseError::kBadMagic},
        Malformed{"hlen_17", with(Dhcp4(2, 5).bytes(), 2, 17),
                  Dhcpv4ParseError::kBadHardwareLength},
        Malformed{"option_length_overflows", Dhcp4(2, 5).raw({51, 200, 0, 0}).bytes(false),
                  Dhcpv4ParseError::kOptionOverflow},
        Malformed{"option_code_without_length", Dhcp4(2, 5).raw({51}).bytes(false),
                  Dhcpv4ParseError::kOptionOverflow},
        Malformed{"lease_three_bytes", Dhcp4(2, 5).opt(51, {0, 0, 1}).bytes(),
                  Dhcpv4ParseError::kBadOptionValue},
        Malformed{"server_id_zero_length", Dhcp4(2, 5).opt(54, {}).bytes(),
                  Dhcpv4ParseError::kBadOptionValue},
        Malformed{"message_type_two_bytes", Dhcp4(2, 5).opt(53, {5}).bytes(),
                  Dhcpv4ParseError::kBadOptionValue},
        Malformed{"relay_suboption_overflows", Dhcp4(2, 5).opt(82, {1, 9, 'x'}).bytes(),
                  Dhcpv4ParseError::kBadOptionValue},
        Malformed{"relay_suboption_without_length", Dhcp4(2, 5).opt(82, {1}).bytes(),
                  Dhcpv4ParseError::kBadOptionValue},
        Malformed{"overload_in_file_overflows",
                  [] {
                    Dhcp4 d(2, 5);
                    d.opt(52, {1}).field(108 + 126, {51, 9});
                    return d.bytes();
                  }(),
                  Dhcpv4ParseError::kOptionOverflow}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(Dhcpv4ParserTest, EveryPrefixOfAGoodMessageIsHandled) {
  const auto bytes = relayed_ack().bytes();
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    const auto m = parse_dhcpv4(std::span(bytes.data(), n));
    if (n < 240) {
      ASSERT_FALSE(m.has_value());
      EXPECT_EQ(m.error(), Dhcpv4ParseError::kTruncated) << n;
    } else if (m.has_value()) {
      // Cut at an option boundary: parsed, with only the options that are whole.
      EXPECT_EQ(m->yiaddr.to_string(), "100.64.5.5");
    }
  }
}

}  // namespace
}  // namespace conntrail::capture
