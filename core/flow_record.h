// core/flow_record.h — one bidirectional flow: who talked to whom, when, how much.
//
// This is the contract between capture (which builds records), storage (which
// keeps them for the retention period) and the agent (which answers lawful
// queries with them). docs/FLOWS.md defines every field's semantics; in short:
//  - src is the initiator, the sender of the flow's first packet; "fwd" is src→dst.
//  - bytes are IP-layer bytes (IPv4 total length, IPv6 40 + payload length).
//  - ICMP/ICMPv6 ports follow Community ID v1 (type as src_port; counterpart
//    type or code as dst_port).
//  - first_ts/last_ts are the min/max packet time, so last_ts >= first_ts always.
// Records carry header facts only — never payload.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/ip_address.h"
#include "core/timestamp.h"

namespace conntrail {

enum class EndReason : std::uint8_t {
  kIdle = 0,      // no packet for the protocol's idle timeout
  kActive = 1,    // the active timeout split a long flow
  kTcpClose = 2,  // RST, or FIN seen in both directions
  kEvicted = 3,   // exported early because the flow table hit its memory cap
  kShutdown = 4,  // still open when capture stopped (SIGTERM, end of file)
};

std::string_view to_string(EndReason reason) noexcept;
std::optional<EndReason> end_reason_from_string(std::string_view text) noexcept;

// Which endpoint is the subscriber, from the configured subscriber prefixes.
enum class SubscriberSide : std::uint8_t { kUnknown = 0, kSrc = 1, kDst = 2 };

std::string_view to_string(SubscriberSide side) noexcept;

inline constexpr std::uint16_t kNoVlan = 0xFFFF;

using MacAddress = std::array<std::uint8_t, 6>;
std::string format_mac(const MacAddress& mac);  // "aa:bb:cc:dd:ee:ff"

struct FlowRecord {
  IpAddress src_ip;
  IpAddress dst_ip;
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  std::uint8_t proto = 0;

  std::uint8_t tcp_flags_fwd = 0;  // OR of TCP flags sent by src
  std::uint8_t tcp_flags_rev = 0;  // OR of TCP flags sent by dst
  EndReason end_reason = EndReason::kShutdown;

  std::uint64_t packets_fwd = 0;
  std::uint64_t packets_rev = 0;
  std::uint64_t bytes_fwd = 0;
  std::uint64_t bytes_rev = 0;

  TimestampNs first_ts = 0;
  TimestampNs last_ts = 0;
  TimePrecision precision = TimePrecision::kMicro;

  // Link-layer context, recorded but not part of the key by default.
  std::uint16_t vlan_outer = kNoVlan;
  std::uint16_t vlan_inner = kNoVlan;
  std::uint16_t pppoe_session = 0;  // 0: not PPPoE (session id 0 is discovery-only)
  std::uint16_t interface_id = 0;   // capture interface index (pcapng IDB or live iface)
  MacAddress subscriber_mac{};      // all zero: unknown
  SubscriberSide subscriber_side = SubscriberSide::kUnknown;

  // Attribution: the subscriber id holding the subscriber-side address at
  // first_ts (empty when no session covers it).
  std::string subscriber;

  friend bool operator==(const FlowRecord&, const FlowRecord&) = default;
};

// Community ID v1 (https://github.com/corelight/community-id-spec), seed 0:
// "1:" + base64(SHA-1(seed, ordered endpoints, proto, pad, ports)).
std::string community_id(const FlowRecord& flow, std::uint16_t seed = 0);
// The same text written to `out` (room for kCommunityIdSize chars, no NUL);
// returns its length. No allocation: the row formatter calls it per row.
inline constexpr std::size_t kCommunityIdSize = 30;
std::size_t write_community_id(const FlowRecord& flow, char* out, std::uint16_t seed = 0) noexcept;

}  // namespace conntrail
