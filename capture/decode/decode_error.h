// capture/decode/decode_error.h — the kinds of malformed or unusable input.
//
// Decoders never throw or log per packet (house style, after Zeek's "weird"):
// they return a DecodeError, and the meter counts it by kind. Kinds marked
// "dropped" mean the packet belonged to no flow; the others ("anomalies") are
// counted but the packet still made a flow (e.g. a TCP header cut by the
// snaplen gives ports 0/0, exactly as the ground truth's oracle does).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace conntrail::capture {

enum class DecodeError : std::uint8_t {
  kNone = 0,
  // dropped: the packet belongs to no flow
  kNotIp,                // ARP, STP, LLDP, CDP, PPPoE discovery, LCP/IPCP, ...
  kTruncatedLink,        // Ethernet / SLL / VLAN / PPPoE / MPLS / GRE header cut
  kTooManyLayers,        // more VLAN tags, MPLS labels or tunnels than we follow
  kTruncatedIp,          // IP header cut by the snaplen
  kBadIpVersion,         // version nibble is neither 4 nor 6 where IP was promised
  kBadIpv4HeaderLength,  // IHL < 5, or IHL beyond the total length
  kBadIpTotalLength,     // IPv4 total length smaller than its header
  // anomalies: counted, the packet still makes a flow
  kTruncatedTransport,  // TCP/UDP/ICMP header cut: ports 0/0
  kBadIpv6Extension,    // extension header chain cut or malformed: ports 0/0
  kBadTunnel,           // tunnel payload unusable: the flow keys on the outer header
  kOrphanFragment,      // a fragment whose first fragment never came: ports 0/0
  kFragmentTableFull,   // a fragment not tracked because of the memory cap
  kCount,
};

inline constexpr std::size_t kDecodeErrorKinds = static_cast<std::size_t>(DecodeError::kCount);

// True for the kinds after which the packet belongs to no flow.
constexpr bool is_dropped(DecodeError e) noexcept {
  return e != DecodeError::kNone && e < DecodeError::kTruncatedTransport;
}

std::string_view to_string(DecodeError e) noexcept;

// Packets per kind; index 0 (kNone) stays zero.
struct DecodeErrorCounts {
  std::array<std::uint64_t, kDecodeErrorKinds> by_kind{};

  void add(DecodeError e) noexcept { ++by_kind[static_cast<std::size_t>(e)]; }
  std::uint64_t operator[](DecodeError e) const noexcept {
    return by_kind[static_cast<std::size_t>(e)];
  }
  std::uint64_t dropped() const noexcept;
  DecodeErrorCounts& operator+=(const DecodeErrorCounts& o) noexcept {
    for (std::size_t i = 0; i < kDecodeErrorKinds; ++i) by_kind[i] += o.by_kind[i];
    return *this;
  }
  friend bool operator==(const DecodeErrorCounts&, const DecodeErrorCounts&) = default;
};

}  // namespace conntrail::capture
