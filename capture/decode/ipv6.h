// capture/decode/ipv6.h — the IPv6 header (RFC 8200) and its extension chain.
//
// walk_ipv6_extensions follows Hop-by-Hop (0), Routing (43), Fragment (44),
// Destination Options (60) and AH (51, RFC 4302: length in 4-byte units) to
// the upper-layer protocol. ESP (50) and No Next Header (59) end the walk:
// what follows is encrypted or absent, so the flow is proto-only. A chain cut
// by the snaplen or longer than kMaxIpv6Extensions still yields a flow on the
// last next-header value reached (ports 0/0), flagged `broken`.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <expected>

#include "capture/decode/bytes.h"
#include "capture/decode/decode_error.h"

namespace conntrail::capture {

inline constexpr std::size_t kIpv6HeaderLength = 40;
inline constexpr int kMaxIpv6Extensions = 16;

struct Ipv6Header {
  std::uint16_t payload_length = 0;
  std::uint8_t next_header = 0;
  std::array<std::uint8_t, 16> src{};
  std::array<std::uint8_t, 16> dst{};
};

// Errors: kTruncatedIp (fewer than 40 bytes), kBadIpVersion.
inline std::expected<Ipv6Header, DecodeError> parse_ipv6(Bytes data) noexcept {
  if (data.size() < kIpv6HeaderLength) return std::unexpected(DecodeError::kTruncatedIp);
  if ((data[0] >> 4) != 6) return std::unexpected(DecodeError::kBadIpVersion);
  Ipv6Header h;
  h.payload_length = load_be16(data, 4);
  h.next_header = data[6];
  std::copy_n(data.begin() + 8, 16, h.src.begin());
  std::copy_n(data.begin() + 24, 16, h.dst.begin());
  return h;
}

// True for the headers walk_ipv6_extensions steps over.
constexpr bool is_ipv6_extension(std::uint8_t next_header) noexcept {
  return next_header == 0 || next_header == 43 || next_header == 44 || next_header == 51 ||
         next_header == 60;
}

struct Ipv6Extensions {
  std::uint8_t proto = 0;             // upper-layer protocol (or the header the walk stopped at)
  std::size_t length = 0;             // bytes of extension headers walked
  bool broken = false;                // chain cut or too long: no upper-layer header
  bool fragment = false;              // a Fragment header that is not atomic
  std::uint16_t fragment_offset = 0;  // 8-byte units
  bool more_fragments = false;
  std::uint32_t fragment_id = 0;
};

// `data` starts right after the fixed header; `next_header` is its Next Header.
Ipv6Extensions walk_ipv6_extensions(Bytes data, std::uint8_t next_header) noexcept;

}  // namespace conntrail::capture
