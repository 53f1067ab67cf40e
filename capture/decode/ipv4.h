// capture/decode/ipv4.h — the IPv4 header (RFC 791).
//
// Options are skipped by the IHL (nothing in them changes the flow). The total
// length is the header's claim and is what the flow counts, even when the
// capture is cut shorter (snaplen); only the header itself must be complete.
#pragma once

#include <algorithm>
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

inline std::expected<Ipv4Header, DecodeError> parse_ipv4(Bytes data) noexcept {
  if (data.size() < 20) return std::unexpected(DecodeError::kTruncatedIp);
  if ((data[0] >> 4) != 4) return std::unexpected(DecodeError::kBadIpVersion);
  Ipv4Header h;
  h.header_length = std::size_t{data[0] & 0x0fu} * 4;
  h.total_length = load_be16(data, 2);
  if (h.header_length < 20) return std::unexpected(DecodeError::kBadIpv4HeaderLength);
  if (h.total_length < h.header_length) {
    // A total length below the minimal header is a broken length field; an IHL
    // reaching past a plausible total length is a broken IHL.
    return std::unexpected(h.total_length < 20 && h.header_length == 20
                               ? DecodeError::kBadIpTotalLength
                               : DecodeError::kBadIpv4HeaderLength);
  }
  if (data.size() < h.header_length) return std::unexpected(DecodeError::kTruncatedIp);
  h.id = load_be16(data, 4);
  const std::uint16_t frag = load_be16(data, 6);
  h.more_fragments = (frag & 0x2000) != 0;
  h.fragment_offset = frag & 0x1fff;
  h.proto = data[9];
  std::copy_n(data.begin() + 12, 4, h.src.begin());
  std::copy_n(data.begin() + 16, 4, h.dst.begin());
  return h;
}

}  // namespace conntrail::capture
