// fuzz/capture/fuzz_input.h — the byte format the capture fuzzer reads.
//
//   byte 0           link type (value % 6, LinkType order) | 0x40: outer tunnel
//                    layer | 0x80: VLAN-keyed flows
//   then records:    u8 time step, u16 little-endian frame length, frame bytes
// Time step t: t < 200 advances packet time t ms; 200..254 advances (t-199)*10 s,
// so idle (60 s), linger (5 s), fragment (30 s) and active (300 s) timeouts are
// all reachable; 255 steps back 100 s (time going backwards). make_seeds writes
// this format from real captures; the fuzzer tolerates any bytes.
#pragma once

#include <cstdint>

namespace conntrail::fuzz {

inline constexpr std::uint8_t kOuterLayerBit = 0x40;
inline constexpr std::uint8_t kKeyVlanBit = 0x80;

inline std::int64_t time_step_ns(std::uint8_t t) {
  constexpr std::int64_t kMs = 1'000'000;
  if (t < 200) return t * kMs;
  if (t < 255) return (t - 199) * 10'000 * kMs;
  return -100'000 * kMs;
}

}  // namespace conntrail::fuzz
