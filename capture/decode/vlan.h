// capture/decode/vlan.h — 802.1Q / 802.1ad tags.
//
// A tag is 4 bytes: TCI (PCP, DEI, 12-bit VLAN id) then the inner EtherType.
#pragma once

#include <cstdint>
#include <optional>

#include "capture/decode/bytes.h"
#include "capture/decode/link.h"

namespace conntrail::capture {

inline constexpr std::size_t kVlanTagLength = 4;

struct VlanTag {
  std::uint16_t vid = 0;
  std::uint16_t ethertype = 0;  // of what follows the tag
};

inline bool is_vlan_ethertype(std::uint16_t t) noexcept {
  return t == ethertype::kVlan || t == ethertype::kQinq || t == ethertype::kQinqOld1 ||
         t == ethertype::kQinqOld2;
}

inline std::optional<VlanTag> parse_vlan_tag(Bytes tag) noexcept {
  if (tag.size() < kVlanTagLength) return std::nullopt;
  return VlanTag{static_cast<std::uint16_t>(load_be16(tag, 0) & 0x0fff), load_be16(tag, 2)};
}

}  // namespace conntrail::capture
