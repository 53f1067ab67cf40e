// capture/decode/bytes.h — bounds-checked big-endian reads over a byte span.
//
// Every decoder reads packet bytes only through these helpers, after checking
// the span is long enough; they compile to one load and a byte swap. Spans are
// views into libpcap's buffer and are never retained past the callback.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace conntrail::capture {

using Bytes = std::span<const std::uint8_t>;

// Preconditions for all: at + width <= b.size() (callers check first).
inline std::uint16_t load_be16(Bytes b, std::size_t at) noexcept {
  return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]);
}
inline std::uint32_t load_be32(Bytes b, std::size_t at) noexcept {
  return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) |
         (std::uint32_t{b[at + 2]} << 8) | std::uint32_t{b[at + 3]};
}

}  // namespace conntrail::capture
