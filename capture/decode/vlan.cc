#include "capture/decode/vlan.h"

#include "capture/decode/link.h"

namespace conntrail::capture {

bool is_vlan_ethertype(std::uint16_t t) noexcept {
  return t == ethertype::kVlan || t == ethertype::kQinq || t == ethertype::kQinqOld1 ||
         t == ethertype::kQinqOld2;
}

std::optional<VlanTag> parse_vlan_tag(Bytes tag) noexcept {
  if (tag.size() < kVlanTagLength) return std::nullopt;
  return VlanTag{static_cast<std::uint16_t>(load_be16(tag, 0) & 0x0fff), load_be16(tag, 2)};
}

}  // namespace conntrail::capture
