// capture/decode/link.h — link-layer headers: Ethernet, Linux cooked v1/v2.
//
// Pure functions over the start of a frame. Each returns the header facts and
// the EtherType of the payload, or nullopt when the frame is too short. An
// 802.3 length field (< 0x0600) is returned as-is: the dispatcher treats it as
// "not IP" (STP, CDP and other LLC frames).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "capture/decode/bytes.h"
#include "core/flow_record.h"

namespace conntrail::capture {

// The link types conntrail decodes; anything else is refused at start-up.
enum class LinkType : std::uint8_t { kEthernet, kLinuxSll, kLinuxSll2, kRawIp, kIpv4, kIpv6 };

struct LinkHeader {
  std::size_t length = 0;       // bytes before the payload
  std::uint16_t ethertype = 0;  // payload protocol
  bool has_mac = false;
  MacAddress src_mac{};
  MacAddress dst_mac{};
};

inline constexpr std::size_t kEthernetHeaderLength = 14;
inline constexpr std::size_t kSllHeaderLength = 16;   // DLT_LINUX_SLL
inline constexpr std::size_t kSll2HeaderLength = 20;  // DLT_LINUX_SLL2

// Linux cooked headers carry only the sender's address; src_mac is set when it
// is a 6-byte (Ethernet) address.

namespace ethertype {
inline constexpr std::uint16_t kIpv4 = 0x0800;
inline constexpr std::uint16_t kArp = 0x0806;
inline constexpr std::uint16_t kVlan = 0x8100;      // 802.1Q C-tag
inline constexpr std::uint16_t kQinq = 0x88a8;      // 802.1ad S-tag
inline constexpr std::uint16_t kQinqOld1 = 0x9100;  // pre-standard QinQ
inline constexpr std::uint16_t kQinqOld2 = 0x9200;
inline constexpr std::uint16_t kIpv6 = 0x86dd;
inline constexpr std::uint16_t kMplsUnicast = 0x8847;
inline constexpr std::uint16_t kMplsMulticast = 0x8848;
inline constexpr std::uint16_t kPppoeDiscovery = 0x8863;
inline constexpr std::uint16_t kPppoeSession = 0x8864;
inline constexpr std::uint16_t kPpp = 0x880b;                  // GRE payload type of PPTP
inline constexpr std::uint16_t kTransparentEthernet = 0x6558;  // GRE bridging (NVGRE)
inline constexpr std::uint16_t kErspan2 = 0x88be;
inline constexpr std::uint16_t kErspan3 = 0x22eb;
}  // namespace ethertype

namespace detail {
inline MacAddress mac_at(Bytes b, std::size_t at) noexcept {
  MacAddress m;
  std::copy_n(b.begin() + static_cast<std::ptrdiff_t>(at), 6, m.begin());
  return m;
}
}  // namespace detail

inline std::optional<LinkHeader> parse_ethernet(Bytes frame) noexcept {
  if (frame.size() < kEthernetHeaderLength) return std::nullopt;
  LinkHeader h;
  h.length = kEthernetHeaderLength;
  h.dst_mac = detail::mac_at(frame, 0);
  h.src_mac = detail::mac_at(frame, 6);
  h.has_mac = true;
  h.ethertype = load_be16(frame, 12);
  return h;
}

// https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html: packet type(2),
// ARPHRD type(2), address length(2), address(8), protocol(2).
inline std::optional<LinkHeader> parse_linux_sll(Bytes frame) noexcept {
  if (frame.size() < kSllHeaderLength) return std::nullopt;
  LinkHeader h;
  h.length = kSllHeaderLength;
  h.ethertype = load_be16(frame, 14);
  if (load_be16(frame, 2) == 1 && load_be16(frame, 4) == 6) {  // ARPHRD_ETHER
    h.src_mac = detail::mac_at(frame, 6);
  }
  return h;
}

// https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html: protocol(2),
// reserved(2), ifindex(4), ARPHRD type(2), packet type(1), address length(1),
// address(8).
inline std::optional<LinkHeader> parse_linux_sll2(Bytes frame) noexcept {
  if (frame.size() < kSll2HeaderLength) return std::nullopt;
  LinkHeader h;
  h.length = kSll2HeaderLength;
  h.ethertype = load_be16(frame, 0);
  if (load_be16(frame, 8) == 1 && frame[11] == 6) h.src_mac = detail::mac_at(frame, 12);
  return h;
}

}  // namespace conntrail::capture
