// capture/flow/flow_key.h — the bidirectional flow key and its hash.
//
// The two endpoints are stored in canonical order (lower (address, port)
// first) so both directions of a conversation find the same key. One-way
// flows (ICMP errors and other ICMP types without a counterpart) keep the
// sender first and set kOneWay, so they never merge with the reverse
// direction. VLAN ids are zero unless the table keys on VLANs. The struct has
// no implicit padding, so keys compare and hash as plain bytes.
#pragma once

#include <cstdint>
#include <cstring>

#include "capture/decode/packet_info.h"

namespace conntrail::capture {

struct FlowKey {
  Address16 a{};
  Address16 b{};
  std::uint16_t port_a = 0;
  std::uint16_t port_b = 0;
  std::uint16_t vlan_outer = 0;
  std::uint16_t vlan_inner = 0;
  std::uint8_t proto = 0;
  std::uint8_t flags = 0;  // kOneWay | kV6
  std::uint16_t reserved = 0;

  static constexpr std::uint8_t kOneWay = 1;
  static constexpr std::uint8_t kV6 = 2;

  // Field-wise: a memcmp call costs more than the compare, and wide loads
  // over the small fields just written would stall on store forwarding.
  friend bool operator==(const FlowKey& x, const FlowKey& y) noexcept {
    std::uint64_t xa[2], ya[2], xb[2], yb[2];
    std::memcpy(xa, x.a.data(), 16);
    std::memcpy(ya, y.a.data(), 16);
    std::memcpy(xb, x.b.data(), 16);
    std::memcpy(yb, y.b.data(), 16);
    return ((xa[0] ^ ya[0]) | (xa[1] ^ ya[1]) | (xb[0] ^ yb[0]) | (xb[1] ^ yb[1])) == 0 &&
           x.port_a == y.port_a && x.port_b == y.port_b && x.proto == y.proto &&
           x.flags == y.flags && x.vlan_outer == y.vlan_outer && x.vlan_inner == y.vlan_inner;
  }
};
static_assert(sizeof(FlowKey) == 44, "FlowKey must have no padding");

// Builds the key of a packet whose ports are final (after fragment
// attribution). Sets *from_a to whether the packet was sent by endpoint a.
FlowKey make_flow_key(const PacketInfo& p, bool key_vlan, bool* from_a) noexcept;

// A fast 64-bit mix over the key's 44 bytes (not cryptographic: the table's
// probe length is bounded by its load factor, and eviction caps memory).
std::uint64_t hash_flow_key(const FlowKey& key) noexcept;

}  // namespace conntrail::capture
