#include "capture/decode/mpls.h"

namespace conntrail::capture {

std::expected<MplsStack, DecodeError> parse_mpls_stack(Bytes data, int max_labels) noexcept {
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
