// capture/decode/mpls.h — MPLS label stacks (RFC 3032).
//
// Labels are 4 bytes each; the bottom-of-stack bit ends the stack. MPLS has no
// payload type, so the payload is IPv4 or IPv6 by its first nibble (what every
// LSR and Zeek do); anything else (pseudowires, control words) is "not IP".
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>

#include "capture/decode/bytes.h"
#include "capture/decode/decode_error.h"

namespace conntrail::capture {

inline constexpr int kMaxMplsLabels = 16;

struct MplsStack {
  int labels = 0;
  std::size_t length = 0;       // bytes of the stack
  std::uint8_t ip_version = 0;  // 4 or 6: first nibble of the payload
};

// Errors: kTruncatedLink (stack or payload cut), kTooManyLayers (> max_labels),
// kNotIp (payload is not IPv4/IPv6).

inline std::expected<MplsStack, DecodeError> parse_mpls_stack(
    Bytes data, int max_labels = kMaxMplsLabels) noexcept {
  MplsStack s;
  for (;;) {
    if (data.size() < s.length + 4) return std::unexpected(DecodeError::kTruncatedLink);
    if (s.labels == max_labels) return std::unexpected(DecodeError::kTooManyLayers);
    const bool bottom = (data[s.length + 2] & 0x01) != 0;
    s.length += 4;
    ++s.labels;
    if (bottom) break;
  }
  if (data.size() <= s.length) return std::unexpected(DecodeError::kTruncatedLink);
  const std::uint8_t nibble = data[s.length] >> 4;
  if (nibble != 4 && nibble != 6) return std::unexpected(DecodeError::kNotIp);
  s.ip_version = nibble;
  return s;
}

}  // namespace conntrail::capture
