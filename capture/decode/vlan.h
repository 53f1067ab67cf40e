// capture/decode/vlan.h — 802.1Q / 802.1ad tags.
//
// A tag is 4 bytes: TCI (PCP, DEI, 12-bit VLAN id) then the inner EtherType.
#pragma once

#include <cstdint>
#include <optional>

#include "capture/decode/bytes.h"

namespace conntrail::capture {

inline constexpr std::size_t kVlanTagLength = 4;

struct VlanTag {
  std::uint16_t vid = 0;
  std::uint16_t ethertype = 0;  // of what follows the tag
};

bool is_vlan_ethertype(std::uint16_t ethertype) noexcept;
std::optional<VlanTag> parse_vlan_tag(Bytes tag) noexcept;

}  // namespace conntrail::capture
