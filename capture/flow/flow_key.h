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

  friend bool operator==(const FlowKey& x, const FlowKey& y) noexcept {
    return std::memcmp(&x, &y, sizeof(FlowKey)) == 0;
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
