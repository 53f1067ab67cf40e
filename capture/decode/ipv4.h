// capture/decode/ipv4.h — the IPv4 header (RFC 791).
//
// Options are skipped by the IHL (nothing in them changes the flow). The total
// length is the header's claim and is what the flow counts, even when the
// capture is cut shorter (snaplen); only the header itself must be complete.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <expected>

#include "capture/decode/bytes.h"
#include "capture/decode/decode_error.h"

namespace conntrail::capture {

struct Ipv4Header {
  std::size_t header_length = 0;  // IHL * 4, options included
  std::uint16_t total_length = 0;
  std::uint16_t id = 0;
  std::uint16_t fragment_offset = 0;  // in 8-byte units
  bool more_fragments = false;
  std::uint8_t proto = 0;
  std::array<std::uint8_t, 4> src{};
  std::array<std::uint8_t, 4> dst{};

  bool is_fragment() const noexcept { return fragment_offset != 0 || more_fragments; }
};

// Errors: kTruncatedIp (fewer than 20 bytes or fewer than IHL*4 captured),
// kBadIpVersion, kBadIpv4HeaderLength (IHL < 5 or IHL*4 > total length),
// kBadIpTotalLength (never raised separately: a total length below 20 is
// always below the IHL and reported as kBadIpv4HeaderLength).
std::expected<Ipv4Header, DecodeError> parse_ipv4(Bytes data) noexcept;

}  // namespace conntrail::capture
