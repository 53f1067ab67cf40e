#include "capture/flow/flow_key.h"

#include <bit>

namespace conntrail::capture {

FlowKey make_flow_key(const PacketInfo& p, bool key_vlan, bool* from_a) noexcept {
  FlowKey k;
  k.proto = p.proto;
  k.flags =
      static_cast<std::uint8_t>((p.one_way ? FlowKey::kOneWay : 0) | (p.is_v6 ? FlowKey::kV6 : 0));
  if (key_vlan) {
    k.vlan_outer = p.vlan_outer;
    k.vlan_inner = p.vlan_inner;
  }
  bool src_first = true;
  if (!p.one_way) {
    // Lexicographic byte order of the addresses, as two big-endian words.
    std::uint64_t s[2], d[2];
    std::memcpy(s, p.src.data(), 16);
    std::memcpy(d, p.dst.data(), 16);
    const std::uint64_t s0 = __builtin_bswap64(s[0]), d0 = __builtin_bswap64(d[0]);
    const std::uint64_t s1 = __builtin_bswap64(s[1]), d1 = __builtin_bswap64(d[1]);
    src_first = s0 != d0 ? s0 < d0 : s1 != d1 ? s1 < d1 : p.src_port <= p.dst_port;
  }
  if (src_first) {
    k.a = p.src;
    k.b = p.dst;
    k.port_a = p.src_port;
    k.port_b = p.dst_port;
  } else {
    k.a = p.dst;
    k.b = p.src;
    k.port_a = p.dst_port;
    k.port_b = p.src_port;
  }
  *from_a = src_first;
  return k;
}

std::uint64_t hash_flow_key(const FlowKey& key) noexcept {
  std::uint64_t w[5];
  std::memcpy(w, key.a.data(), 16);
  std::memcpy(w + 2, key.b.data(), 16);
  // The small fields are combined in registers (see operator==).
  w[4] = std::uint64_t{key.port_a} | (std::uint64_t{key.port_b} << 16) |
         (std::uint64_t{key.vlan_outer} << 32) | (std::uint64_t{key.vlan_inner} << 48);
  const std::uint32_t tail = key.proto | (std::uint32_t{key.flags} << 8);
  // Independent multiplies (instruction-level parallelism), then MurmurHash3's
  // fmix64 so every input bit reaches the low bits used as the slot.
  std::uint64_t h = (w[0] ^ 0x243f6a8885a308d3ULL) * 0x9e3779b97f4a7c15ULL;
  h ^= std::rotl((w[1] ^ 0x13198a2e03707344ULL) * 0xc2b2ae3d27d4eb4fULL, 17);
  h ^= std::rotl((w[2] ^ 0xa4093822299f31d0ULL) * 0x165667b19e3779f9ULL, 31);
  h ^= std::rotl((w[3] ^ 0x082efa98ec4e6c89ULL) * 0x27d4eb2f165667c5ULL, 43);
  h ^= std::rotl((w[4] ^ tail) * 0x9e3779b97f4a7c15ULL, 53);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

}  // namespace conntrail::capture
