#include "capture/flow/flow_key.h"

#include <bit>

namespace conntrail::capture {

FlowKey make_flow_key(const PacketInfo& p, bool key_vlan, bool* from_a) noexcept {
  FlowKey k;
  k.proto = p.proto;
  k.flags = static_cast<std::uint8_t>((p.one_way ? FlowKey::kOneWay : 0) |
                                      (p.is_v6 ? FlowKey::kV6 : 0));
  if (key_vlan) {
    k.vlan_outer = p.vlan_outer;
    k.vlan_inner = p.vlan_inner;
  }
  bool src_first = true;
  if (!p.one_way) {
    const int c = std::memcmp(p.src.data(), p.dst.data(), p.src.size());
    src_first = c < 0 || (c == 0 && p.src_port <= p.dst_port);
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
  unsigned char bytes[sizeof(FlowKey)];
  std::memcpy(bytes, &key, sizeof(FlowKey));
  std::uint64_t h = 0x243f6a8885a308d3ULL;
  for (std::size_t i = 0; i + 8 <= sizeof(FlowKey); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, bytes + i, 8);
    h = std::rotl(h ^ w, 23) * 0x9e3779b97f4a7c15ULL;
  }
  std::uint32_t tail;
  std::memcpy(&tail, bytes + 40, 4);
  h = std::rotl(h ^ tail, 23) * 0x9e3779b97f4a7c15ULL;
  // MurmurHash3 fmix64: every input bit affects the low bits used as slot.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

}  // namespace conntrail::capture
