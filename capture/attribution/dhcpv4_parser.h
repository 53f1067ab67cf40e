// capture/attribution/dhcpv4_parser.h — DHCPv4 messages, decoded from a UDP payload.
//
// Job: turn one BOOTP/DHCP message (RFC 2131 §2 fixed header, RFC 2132
// options) into the facts of a lease: message type, client hardware address,
// the address the message is about, lease time, server identifier, and the
// relay agent information a BNG inserts (RFC 3046 option 82: circuit-id 1,
// remote-id 2; RFC 3993 subscriber-id 6). Pure and stateless.
//
// Invariants:
//  - The 236-byte fixed header and the magic cookie are checked before any
//    option is read; every option's length is checked against the end of its
//    area; fixed-size options (lease time, server id, requested address,
//    message type) must have their exact size.
//  - Options are read from the options area, then `file`, then `sname` when
//    option 52 (overload) says so (RFC 2131 §4.1). An option that appears
//    more than once is concatenated (RFC 3396), which is how long option-82
//    values are split.
//  - A message without option 53 is plain BOOTP and returned as kNotDhcp:
//    it carries no lease, so it never creates a mapping.
//  - chaddr is reported as a MAC only for htype 1 / hlen 6 (Ethernet).
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/flow_record.h"
#include "core/ip_address.h"

namespace conntrail::capture {

inline constexpr std::uint16_t kDhcpv4ServerPort = 67;
inline constexpr std::uint16_t kDhcpv4ClientPort = 68;

enum class Dhcpv4Type : std::uint8_t {
  kDiscover = 1,
  kOffer = 2,
  kRequest = 3,
  kDecline = 4,
  kAck = 5,
  kNak = 6,
  kRelease = 7,
  kInform = 8,
};

enum class Dhcpv4ParseError : std::uint8_t {
  kTruncated,         // shorter than the fixed header + magic cookie
  kBadMagic,          // not 99.130.83.99
  kBadHardwareLength, // hlen > 16
  kOptionOverflow,    // an option runs past the end of its area
  kBadOptionValue,    // a fixed-size option of the wrong size
  kNotDhcp,           // BOOTP without option 53: no lease, not an error
};

std::string_view to_string(Dhcpv4ParseError error) noexcept;

struct Dhcpv4Message {
  std::uint8_t op = 0;  // 1 BOOTREQUEST, 2 BOOTREPLY
  Dhcpv4Type type = Dhcpv4Type::kDiscover;
  std::uint32_t xid = 0;
  IpAddress ciaddr;
  IpAddress yiaddr;
  IpAddress giaddr;
  std::optional<MacAddress> mac;          // chaddr when htype 1 / hlen 6
  std::string chaddr_hex;                 // chaddr[0..hlen) as hex, for other hardware types
  std::optional<std::uint32_t> lease_seconds;  // 51
  std::optional<IpAddress> server_id;          // 54
  std::optional<IpAddress> requested_ip;       // 50
  std::string client_id_hex;                   // 61
  std::string circuit_id;     // 82.1, raw bytes as text
  std::string remote_id;      // 82.2
  std::string subscriber_id;  // 82.6
};

std::expected<Dhcpv4Message, Dhcpv4ParseError> parse_dhcpv4(
    std::span<const std::uint8_t> payload);

}  // namespace conntrail::capture
