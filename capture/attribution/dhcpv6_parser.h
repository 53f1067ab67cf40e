// capture/attribution/dhcpv6_parser.h — DHCPv6 messages, decoded from a UDP payload.
//
// Job: turn one DHCPv6 message (RFC 8415 §8 client/server format, §9 relay
// format) into the bindings it carries: IA_NA / IA_TA addresses and IA_PD
// delegated prefixes with their lifetimes, the client and server DUIDs, and
// the relay's subscriber hints (Interface-Id 18, RFC 4649 Remote-Id 37,
// RFC 4580 Subscriber-Id 38). Pure and stateless.
//
// Invariants:
//  - Relay-forward / relay-reply messages are opened to the message inside
//    their Relay Message option (9), at most kMaxRelayDepth levels deep; the
//    subscriber hints of the innermost relay that has them are kept.
//  - Every option length is checked against the end of its enclosing option;
//    IA_NA/IA_PD/IAADDR/IAPREFIX must have at least their fixed fields and an
//    IAPREFIX length must be <= 128.
//  - An IA whose own Status Code option is not Success (0) yields no
//    bindings: the server refused it (NoAddrsAvail, NoBinding, ...).
//  - At most kMaxBindings bindings are returned; the rest are counted in
//    `bindings_dropped` rather than silently ignored.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/flow_record.h"
#include "core/ip_address.h"

namespace conntrail::capture {

inline constexpr std::uint16_t kDhcpv6ClientPort = 546;
inline constexpr std::uint16_t kDhcpv6ServerPort = 547;
inline constexpr int kMaxRelayDepth = 8;
inline constexpr std::size_t kMaxBindings = 64;
inline constexpr std::uint32_t kInfiniteLifetime = 0xFFFFFFFFu;

enum class Dhcpv6Type : std::uint8_t {
  kSolicit = 1,
  kAdvertise = 2,
  kRequest = 3,
  kConfirm = 4,
  kRenew = 5,
  kRebind = 6,
  kReply = 7,
  kRelease = 8,
  kDecline = 9,
  kReconfigure = 10,
  kInformationRequest = 11,
  kRelayForward = 12,
  kRelayReply = 13,
};

enum class Dhcpv6ParseError : std::uint8_t {
  kTruncated,       // shorter than its fixed header
  kOptionOverflow,  // an option runs past the end of its enclosure
  kBadOptionValue,  // IA/IAADDR/IAPREFIX shorter than its fixed fields, prefix length > 128
  kRelayTooDeep,    // more than kMaxRelayDepth nested relay messages
  kRelayEmpty,      // a relay message without a Relay Message option
};

std::string_view to_string(Dhcpv6ParseError error) noexcept;

struct Dhcpv6Binding {
  IpPrefix prefix;  // /128 for IA_NA and IA_TA addresses
  std::uint32_t iaid = 0;
  std::uint32_t preferred_lifetime = 0;
  std::uint32_t valid_lifetime = 0;
  bool delegated = false;  // from IA_PD
};

struct Dhcpv6Message {
  Dhcpv6Type type = Dhcpv6Type::kSolicit;  // of the innermost (client/server) message
  std::uint32_t xid = 0;
  std::string client_duid_hex;              // option 1
  std::optional<MacAddress> client_mac;     // from a DUID-LLT/DUID-LL with hardware type 1
  std::string server_duid_hex;              // option 2
  std::optional<std::uint16_t> status;      // top-level Status Code option (13)
  std::vector<Dhcpv6Binding> bindings;
  std::size_t bindings_dropped = 0;
  // Relay hints (empty when the message was not relayed).
  std::string interface_id;   // 18
  std::string remote_id;      // 37, without its 4-byte enterprise number
  std::string subscriber_id;  // 38
  int relay_depth = 0;
};

std::expected<Dhcpv6Message, Dhcpv6ParseError> parse_dhcpv6(
    std::span<const std::uint8_t> payload);

// The Ethernet address inside a DUID-LLT (type 1) or DUID-LL (type 3) of
// hardware type 1; nullopt for other DUIDs. Shared with the lease-file import.
std::optional<MacAddress> mac_from_duid(std::span<const std::uint8_t> duid);

}  // namespace conntrail::capture
