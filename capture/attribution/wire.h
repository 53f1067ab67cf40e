// capture/attribution/wire.h — big-endian field reads for the attribution parsers.
//
// Every read here is unchecked by design: callers check the span length first
// (each parser states the length it checked next to the read), so these stay
// branch-free on the packet path. memcpy-free byte arithmetic keeps them free
// of alignment assumptions.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace conntrail::capture::wire {

inline std::uint16_t be16(const std::uint8_t* p) noexcept {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

inline std::uint32_t be24(const std::uint8_t* p) noexcept {
  return (std::uint32_t{p[0]} << 16) | (std::uint32_t{p[1]} << 8) | p[2];
}

inline std::uint32_t be32(const std::uint8_t* p) noexcept {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         p[3];
}

// Lower-case hex without separators, the form tshark prints DUIDs in.
inline std::string hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0x0F];
  }
  return out;
}

inline std::string text(std::span<const std::uint8_t> bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

}  // namespace conntrail::capture::wire
