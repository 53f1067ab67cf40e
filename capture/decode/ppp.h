// capture/decode/ppp.h — PPPoE session headers (RFC 2516) and PPP framing.
//
// PPPoE session: ver/type(1) code(1) session id(2) length(2), then the 2-byte
// PPP protocol. Over GRE (PPTP, RFC 2637) PPP may keep the HDLC address and
// control bytes (FF 03) and may compress the protocol field to one byte
// (RFC 1661 §6.5, protocol-field compression); parse_ppp handles both.
// Only PPP protocols 0x0021 (IPv4) and 0x0057 (IPv6) carry flows; LCP, IPCP,
// CHAP etc. are control traffic and are "not IP".
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "capture/decode/bytes.h"

namespace conntrail::capture {

inline constexpr std::size_t kPppoeSessionHeaderLength = 8;  // incl. PPP protocol
inline constexpr std::uint16_t kPppIpv4 = 0x0021;
inline constexpr std::uint16_t kPppIpv6 = 0x0057;

struct PppoeSession {
  std::uint16_t session_id = 0;
  std::uint16_t ppp_protocol = 0;
};

struct PppHeader {
  std::size_t length = 0;
  std::uint16_t protocol = 0;
};

inline std::optional<PppoeSession> parse_pppoe_session(Bytes data) noexcept {
  if (data.size() < kPppoeSessionHeaderLength) return std::nullopt;
  return PppoeSession{load_be16(data, 2), load_be16(data, 6)};
}

inline std::optional<PppHeader> parse_ppp(Bytes data) noexcept {
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
