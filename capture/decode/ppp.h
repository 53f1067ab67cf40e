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

std::optional<PppoeSession> parse_pppoe_session(Bytes data) noexcept;
std::optional<PppHeader> parse_ppp(Bytes data) noexcept;

}  // namespace conntrail::capture
