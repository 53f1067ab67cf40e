#include "capture/decode/ppp.h"

namespace conntrail::capture {

std::optional<PppoeSession> parse_pppoe_session(Bytes data) noexcept {
  if (data.size() < kPppoeSessionHeaderLength) return std::nullopt;
  return PppoeSession{load_be16(data, 2), load_be16(data, 6)};
}

std::optional<PppHeader> parse_ppp(Bytes data) noexcept {
  std::size_t at = 0;
  if (data.size() >= 2 && data[0] == 0xff && data[1] == 0x03) at = 2;
  if (data.size() <= at) return std::nullopt;
  // Protocol numbers are odd in their low byte and even in their high byte, so
  // an odd first byte is a compressed one-byte protocol.
  if ((data[at] & 0x01) != 0) return PppHeader{at + 1, data[at]};
  if (data.size() < at + 2) return std::nullopt;
  return PppHeader{at + 2, load_be16(data, at)};
}

}  // namespace conntrail::capture
