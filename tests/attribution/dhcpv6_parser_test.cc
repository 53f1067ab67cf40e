#include "capture/attribution/dhcpv6_parser.h"

#include <gtest/gtest.h>

#include "tests/attribution/builders.h"

namespace conntrail::capture {
namespace {

using namespace conntrail::test;

const Bytes kDuidLl{0, 3, 0, 1, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55};
const Bytes kAddr = v6({0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, 0x10});
const Bytes kPrefix = v6({0x2001, 0xdb8, 0x2200});

Bytes reply() {
  return dhcp6(7, 0x123456,
               {opt6(1, kDuidLl), opt6(2, Bytes{0, 3, 0, 1, 2, 0, 0, 0, 0, 2}),
                ia(3, 1, {ia_addr(kAddr, 900, 1800)}),
                ia(25, 2, {ia_prefix(56, kPrefix, 900, 1800)})});
}

TEST(Dhcpv6ParserTest, ParsesIaNaAndIaPdOfAReply) {
  const auto m = parse_dhcpv6(reply());
  ASSERT_TRUE(m.has_value()) << to_string(m.error());
  EXPECT_EQ(m->type, Dhcpv6Type::kReply);
  EXPECT_EQ(m->xid, 0x123456u);
  EXPECT_EQ(m->client_duid_hex, "00030001001122334455");
  ASSERT_TRUE(m->client_mac.has_value());
  EXPECT_EQ(format_mac(*m->client_mac), "00:11:22:33:44:55");
  EXPECT_EQ(m->server_duid_hex, "00030001020000000002");
  ASSERT_EQ(m->bindings.size(), 2u);
  EXPECT_EQ(m->bindings[0].prefix.to_string(), "2001:db8:ffff::10/128");
  EXPECT_EQ(m->bindings[0].iaid, 1u);
  EXPECT_EQ(m->bindings[0].preferred_lifetime, 900u);
  EXPECT_EQ(m->bindings[0].valid_lifetime, 1800u);
  EXPECT_FALSE(m->bindings[0].delegated);
  EXPECT_EQ(m->bindings[1].prefix.to_string(), "2001:db8:2200::/56");
  EXPECT_TRUE(m->bindings[1].delegated);
  EXPECT_EQ(m->relay_depth, 0);
}

TEST(Dhcpv6ParserTest, DuidLltGivesTheMacToo) {
  const Bytes llt{0, 1, 0, 1, 0x1c, 0x39, 0xcf, 0x88, 8, 0, 0x27, 0xfe, 0x8f, 0x95};
  const auto m = parse_dhcpv6(dhcp6(7, 1, {opt6(1, llt)}));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(format_mac(*m->client_mac), "08:00:27:fe:8f:95");
  const auto en = parse_dhcpv6(dhcp6(7, 1, {opt6(1, Bytes{0, 2, 0, 0, 0, 9, 1, 2})}));
  ASSERT_TRUE(en.has_value());
  EXPECT_FALSE(en->client_mac.has_value());  // DUID-EN holds no link-layer address
}

TEST(Dhcpv6ParserTest, OpensRelayRepliesAndKeepsTheInnermostHints) {
  auto relay = [](const Bytes& inner, std::string_view iface, std::string_view remote) {
    Bytes b{13, 0};
    put(b, v6({0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, 1}));
    put(b, v6({0xfe80, 0, 0, 0, 0, 0, 0, 1}));
    if (!iface.empty()) put(b, opt6(18, text(iface)));
    Bytes rid = u32(3561);
    put(rid, text(remote));
    if (!remote.empty()) put(b, opt6(37, rid));
    put(b, opt6(9, inner));
    return b;
  };
  const auto two = relay(relay(reply(), "ae0.2001", "cpe-61"), "outer", "");
  const auto m = parse_dhcpv6(two);
  ASSERT_TRUE(m.has_value()) << to_string(m.error());
  EXPECT_EQ(m->type, Dhcpv6Type::kReply);
  EXPECT_EQ(m->relay_depth, 2);
  EXPECT_EQ(m->interface_id, "ae0.2001");
  EXPECT_EQ(m->remote_id, "cpe-61");
  EXPECT_EQ(m->bindings.size(), 2u);
}

TEST(Dhcpv6ParserTest, RefusedIaYieldsNoBinding) {
  // Status NoAddrsAvail (2) inside the IA: the server did not grant it.
  Bytes status{0, 2};
  put(status, text("none"));
  const auto m = parse_dhcpv6(
      dhcp6(7, 1, {opt6(1, kDuidLl), ia(3, 1, {opt6(13, status), ia_addr(kAddr, 0, 0)})}));
  ASSERT_TRUE(m.has_value());
  EXPECT_TRUE(m->bindings.empty());
}

TEST(Dhcpv6ParserTest, IaTaAddressesAreBindingsToo) {
  const auto m = parse_dhcpv6(dhcp6(7, 1, {ia(4, 9, {ia_addr(kAddr, 100, 200)})}));
  ASSERT_TRUE(m.has_value());
  ASSERT_EQ(m->bindings.size(), 1u);
  EXPECT_EQ(m->bindings[0].iaid, 9u);
}

TEST(Dhcpv6ParserTest, CountsBindingsBeyondTheCap) {
  Bytes inner;
  for (int i = 0; i < 70; ++i) {
    put(inner, ia_addr(v6({0x2001, 0xdb8, 0, 0, 0, 0, 0, static_cast<std::uint16_t>(i)}), 1, 2));
  }
  Bytes v = u32(1);
  put(v, u32(0));
  put(v, u32(0));
  put(v, inner);
  const auto m = parse_dhcpv6(dhcp6(7, 1, {opt6(3, v)}));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->bindings.size(), kMaxBindings);
  EXPECT_EQ(m->bindings_dropped, 70 - kMaxBindings);
}

struct Malformed {
  const char* name;
  Bytes bytes;
  Dhcpv6ParseError error;
};

class Dhcpv6MalformedTest : public ::testing::TestWithParam<Malformed> {};

TEST_P(Dhcpv6MalformedTest, IsRejectedWithItsKind) {
  const auto m = parse_dhcpv6(GetParam().bytes);
  ASSERT_FALSE(m.has_value());
  EXPECT_EQ(m.error(), GetParam().error) << to_string(m.error());
}

Bytes nested_relays(int depth) {
  Bytes inner = reply();
  for (int i = 0; i < depth; ++i) {
    Bytes b{12, 0};
    b.resize(34, 0);
    put(b, opt6(9, inner));
    inner = b;
  }
  return inner;
}

INSTANTIATE_TEST_SUITE_P(
    Framing, Dhcpv6MalformedTest,
    ::testing::Values(
        Malformed{"empty", Bytes{}, Dhcpv6ParseError::kTruncated},
        Malformed{"three_bytes", Bytes{7, 0, 0}, Dhcpv6ParseError::kTruncated},
        Malformed{"option_header_cut", Bytes{7, 0, 0, 1, 0, 1, 0}, Dhcpv6ParseError::kOptionOverflow},
        Malformed{"option_length_overflows", Bytes{7, 0, 0, 1, 0, 1, 0, 9, 1},
                  Dhcpv6ParseError::kOptionOverflow},
        Malformed{"ia_na_shorter_than_fixed", dhcp6(7, 1, {opt6(3, Bytes(11, 0))}),
                  Dhcpv6ParseError::kBadOptionValue},
        Malformed{"ia_addr_short", dhcp6(7, 1, {ia(3, 1, {opt6(5, Bytes(23, 0))})}),
                  Dhcpv6ParseError::kBadOptionValue},
        Malformed{"ia_prefix_length_129",
                  dhcp6(7, 1, {ia(25, 1, {ia_prefix(129, kPrefix, 1, 2)})}),
                  Dhcpv6ParseError::kBadOptionValue},
        Malformed{"ia_inner_overflow",
                  dhcp6(7, 1, {opt6(25, Bytes{0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 26, 0, 40})}),
                  Dhcpv6ParseError::kOptionOverflow},
        Malformed{"status_one_byte", dhcp6(7, 1, {opt6(13, Bytes{0})}),
                  Dhcpv6ParseError::kBadOptionValue},
        Malformed{"relay_header_short", Bytes{13, 0, 1, 2}, Dhcpv6ParseError::kTruncated},
        Malformed{"relay_without_message", [] {
                    Bytes b{13, 0};
                    b.resize(34, 0);
                    return b;
                  }(),
                  Dhcpv6ParseError::kRelayEmpty},
        Malformed{"relay_nine_deep", nested_relays(kMaxRelayDepth + 1),
                  Dhcpv6ParseError::kRelayTooDeep},
        Malformed{"relay_message_empty", [] {
                    Bytes b{13, 0};
                    b.resize(34, 0);
                    put(b, opt6(9, Bytes{}));
                    return b;
                  }(),
                  Dhcpv6ParseError::kTruncated}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(Dhcpv6ParserTest, EightNestedRelaysAreStillOpened) {
  const auto m = parse_dhcpv6(nested_relays(kMaxRelayDepth));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->relay_depth, kMaxRelayDepth);
}

TEST(Dhcpv6ParserTest, EveryPrefixOfAGoodReplyIsRejectedOrParsedPartially) {
  const auto bytes = reply();
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    const auto m = parse_dhcpv6(std::span(bytes.data(), n));
    if (n < 4) {
      EXPECT_FALSE(m.has_value()) << n;
    }
    if (m.has_value()) {
      EXPECT_LE(m->bindings.size(), 2u);
    }
  }
}

}  // namespace
}  // namespace conntrail::capture
