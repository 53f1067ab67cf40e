// capture/attribution/radius_parser.h — RADIUS Accounting-Request, decoded from a UDP payload.
//
// Job: turn the bytes of one RADIUS packet (RFC 2865 §3 header, RFC 2866
// accounting attributes, RFC 3162/4818/6911 IPv6 attributes) into the facts
// subscriber attribution needs. Pure: no state, no allocation beyond the
// returned strings and vectors, no I/O.
//
// Invariants:
//  - Every length is checked before it is read: the header Length field
//    against the bytes present (a snaplen cut is kTruncated), every attribute
//    length against 2 and against the end of the packet, and fixed-size
//    attributes (addresses, integers) against their exact size. The first
//    violation rejects the whole packet: a packet whose framing is wrong can
//    not be trusted for a legal mapping.
//  - Bytes after the header Length are padding and ignored (RFC 2865 §3).
//  - Only code 4 (Accounting-Request) is parsed. Access-* and every other
//    code return kNotAccountingRequest, so authentication traffic can never
//    create a mapping (an Access-Accept's Framed-IP-Address is a promise,
//    not a binding).
//  - Framed-IP-Address 255.255.255.255 / 255.255.255.254 (RFC 2865 §5.8:
//    "user selects" / "NAS selects") are placeholders, not addresses, and
//    are dropped.
//  - Single-valued attributes: the first occurrence wins. The vectors keep
//    at most kMaxAddressesPerPacket entries (a RADIUS packet holds at most
//    4096 bytes, so this only bounds pathological input).
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip_address.h"

namespace conntrail::capture {

inline constexpr std::uint16_t kRadiusAcctPort = 1813;

enum class RadiusCode : std::uint8_t {
  kAccessRequest = 1,
  kAccessAccept = 2,
  kAccessReject = 3,
  kAccountingRequest = 4,
  kAccountingResponse = 5,
  kAccessChallenge = 11,
};

// Acct-Status-Type values (RFC 2866 §5.1). Others (tunnel, Failed) are kept
// as their number and ignored by the session tracker.
enum class AcctStatus : std::uint32_t {
  kStart = 1,
  kStop = 2,
  kInterimUpdate = 3,
  kAccountingOn = 7,
  kAccountingOff = 8,
};

std::string_view to_string(AcctStatus status) noexcept;

enum class RadiusParseError : std::uint8_t {
  kTruncatedHeader,       // fewer than 20 bytes
  kBadLength,             // header Length < 20 or > 4096
  kTruncated,             // header Length > bytes present (snaplen cut)
  kNotAccountingRequest,  // a well-formed packet of another code: not an error, just not ours
  kAttributeTooShort,     // attribute length < 2
  kAttributeOverflow,     // attribute runs past the header Length
  kBadAttributeValue,     // fixed-size attribute of the wrong size, prefix length > 128, ...
  kNoStatusType,          // Accounting-Request without Acct-Status-Type (RFC 2866 requires it)
};

std::string_view to_string(RadiusParseError error) noexcept;

struct RadiusAccounting {
  std::uint8_t identifier = 0;
  std::uint32_t status = 0;  // an AcctStatus value, or any other number the NAS sent
  std::string user_name;              // 1
  std::optional<IpAddress> nas_ip;    // 4 NAS-IP-Address, else 95 NAS-IPv6-Address
  std::string nas_identifier;         // 32
  std::string nas_port_id;            // 87
  std::optional<IpAddress> framed_ip;                // 8
  std::vector<IpPrefix> framed_ipv6_prefixes;        // 97 (RFC 3162)
  std::vector<IpPrefix> delegated_ipv6_prefixes;     // 123 (RFC 4818)
  std::vector<IpAddress> framed_ipv6_addresses;      // 168 (RFC 6911)
  std::string calling_station_id;     // 31
  std::string acct_session_id;        // 44
  std::string acct_multi_session_id;  // 50
  std::optional<std::uint32_t> acct_delay_time;       // 41, seconds
  std::optional<std::uint32_t> acct_session_time;     // 46, seconds
  std::optional<std::uint32_t> acct_terminate_cause;  // 49
  std::optional<std::uint32_t> event_timestamp;       // 55, seconds since the epoch (NAS clock)

  bool is(AcctStatus s) const noexcept { return status == static_cast<std::uint32_t>(s); }
  bool has_address() const noexcept {
    return framed_ip || !framed_ipv6_prefixes.empty() || !delegated_ipv6_prefixes.empty() ||
           !framed_ipv6_addresses.empty();
  }
};

inline constexpr std::size_t kMaxAddressesPerPacket = 64;

// Parses one RADIUS packet (the UDP payload). Returns the accounting facts of
// an Accounting-Request, or why it is not one.
std::expected<RadiusAccounting, RadiusParseError> parse_radius_accounting(
    std::span<const std::uint8_t> payload);

// Parses a Framed-IPv6-Prefix / Delegated-IPv6-Prefix value (RFC 3162 §2.3:
// reserved, prefix-length, 0..16 prefix octets). Exposed for tests.
std::optional<IpPrefix> parse_radius_ipv6_prefix(std::span<const std::uint8_t> value);

}  // namespace conntrail::capture
