// capture/flow/flow_key.h — the bidirectional flow key and its hash.
//
// The two endpoints are stored in canonical order (lower (address, port)
// first) so both directions of a conversation find the same key. One-way
// flows (ICMP errors and other ICMP types without a counterpart) keep the
// sender first and set kOneWay, so they never merge with the reverse
// direction. VLAN ids are zero unless the table keys on VLANs. The struct has
// no implicit padding, so keys compare and hash as plain bytes.
#pragma once

#include <bit>
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

// The 64-bit mix behind the key hash, over the key as its 4 address words,
// the small fields (ports, VLANs) and the tail (proto, flags). Not
// cryptographic: the table's probe length is bounded by its load factor, and
// eviction caps memory. Independent multiplies by distinct odd constants
// (instruction-level parallelism), rotated apart, then MurmurHash3's fmix64 so
// every input bit reaches the low bits used as the slot.
inline std::uint64_t hash_flow_words(std::uint64_t a0, std::uint64_t a1, std::uint64_t b0,
                                     std::uint64_t b1, std::uint64_t small,
                                     std::uint64_t tail) noexcept {
  std::uint64_t h = a0 * 0x9e3779b97f4a7c15ULL;
  h ^= std::rotl(a1 * 0xc2b2ae3d27d4eb4fULL, 17);
  h ^= std::rotl(b0 * 0x165667b19e3779f9ULL, 31);
  h ^= std::rotl(b1 * 0x27d4eb2f165667c5ULL, 43);
  h ^= std::rotl((small ^ tail) * 0xff51afd7ed558ccdULL, 53);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

inline std::uint64_t flow_key_small(std::uint16_t port_a, std::uint16_t port_b,
                                    std::uint16_t vlan_outer, std::uint16_t vlan_inner) noexcept {
  return std::uint64_t{port_a} | (std::uint64_t{port_b} << 16) |
         (std::uint64_t{vlan_outer} << 32) | (std::uint64_t{vlan_inner} << 48);
}

// The hash of a key: the value make_flow_key returned when it built the key.
inline std::uint64_t hash_flow_key(const FlowKey& key) noexcept {
  std::uint64_t w[4];
  std::memcpy(w, key.a.data(), 16);
  std::memcpy(w + 2, key.b.data(), 16);
  return hash_flow_words(w[0], w[1], w[2], w[3],
                         flow_key_small(key.port_a, key.port_b, key.vlan_outer, key.vlan_inner),
                         key.proto | (std::uint64_t{key.flags} << 8));
}

// Builds the key of a packet whose ports are final (after fragment
// attribution) into *key and returns its hash (== hash_flow_key(*key)). Sets
// *from_a to whether the packet was sent by endpoint a. The hash is mixed from
// the words while they are in registers: reloading the key just stored would
// read across several smaller stores, a store-forwarding stall per packet.
// Inline: it runs for every packet.
inline std::uint64_t make_flow_key(const PacketInfo& p, bool key_vlan, FlowKey* key,
                                   bool* from_a) noexcept {
  FlowKey& k = *key;
  k.proto = p.proto;
  k.flags =
      static_cast<std::uint8_t>((p.one_way ? FlowKey::kOneWay : 0) | (p.is_v6 ? FlowKey::kV6 : 0));
  k.vlan_outer = key_vlan ? p.vlan_outer : 0;
  k.vlan_inner = key_vlan ? p.vlan_inner : 0;
  k.reserved = 0;
  // Lexicographic byte order of the addresses, as two big-endian words, then
  // the ports. Computed with flag arithmetic and conditional moves, no
  // branches: which endpoint sorts first is a coin toss from packet to packet.
  std::uint64_t s[2], d[2];
  std::memcpy(s, p.src.data(), 16);
  std::memcpy(d, p.dst.data(), 16);
  const std::uint64_t s0 = __builtin_bswap64(s[0]), d0 = __builtin_bswap64(d[0]);
  const std::uint64_t s1 = __builtin_bswap64(s[1]), d1 = __builtin_bswap64(d[1]);
  const bool src_first =
      p.one_way | (s0 < d0) | ((s0 == d0) & ((s1 < d1) | ((s1 == d1) & (p.src_port <= p.dst_port))));
  const std::uint64_t a0 = src_first ? s[0] : d[0];
  const std::uint64_t a1 = src_first ? s[1] : d[1];
  const std::uint64_t b0 = src_first ? d[0] : s[0];
  const std::uint64_t b1 = src_first ? d[1] : s[1];
  // The stored key is copied from the packet (old, settled memory), not from
  // the words above: those would go through a stack temporary written in 8-byte
  // halves and read back in 16-byte pieces, another store-forwarding stall.
  k.a = src_first ? p.src : p.dst;
  k.b = src_first ? p.dst : p.src;
  k.port_a = src_first ? p.src_port : p.dst_port;
  k.port_b = src_first ? p.dst_port : p.src_port;
  *from_a = src_first;
  const std::uint64_t vlans = key_vlan ? flow_key_small(0, 0, p.vlan_outer, p.vlan_inner) : 0;
  const std::uint64_t ports = src_first ? flow_key_small(p.src_port, p.dst_port, 0, 0)
                                        : flow_key_small(p.dst_port, p.src_port, 0, 0);
  return hash_flow_words(a0, a1, b0, b1, ports | vlans,
                         p.proto | (std::uint64_t{k.flags} << 8));
}

}  // namespace conntrail::capture
