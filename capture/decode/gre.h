// capture/decode/gre.h — GRE (RFC 2784/2890) and PPTP enhanced GRE (RFC 2637).
//
// parse_gre returns the payload's EtherType and the header length, skipping
// checksum, offset, key, sequence, acknowledgement (version 1) and source
// routing entries (RFC 1701). Cisco MetaData (EtherType 0x8909, an 8-byte
// shim: inner EtherType, version, length, option, security group tag) is skipped too, so the
// payload type is the real one. Versions other than 0 and 1 are refused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "capture/decode/bytes.h"

namespace conntrail::capture {

inline constexpr std::uint16_t kGreCiscoMetadata = 0x8909;

struct GreHeader {
  std::size_t length = 0;      // bytes up to the payload
  std::uint16_t protocol = 0;  // EtherType of the payload (0x880b: PPP)
  std::uint8_t version = 0;
};

std::optional<GreHeader> parse_gre(Bytes data) noexcept;

}  // namespace conntrail::capture
