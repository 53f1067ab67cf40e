#include "capture/decode/link.h"

#include <algorithm>

namespace conntrail::capture {
namespace {
MacAddress mac_at(Bytes b, std::size_t at) noexcept {
  MacAddress m;
  std::copy_n(b.begin() + static_cast<std::ptrdiff_t>(at), 6, m.begin());
  return m;
}
}  // namespace

std::optional<LinkHeader> parse_ethernet(Bytes frame) noexcept {
  if (frame.size() < kEthernetHeaderLength) return std::nullopt;
  LinkHeader h;
  h.length = kEthernetHeaderLength;
  h.dst_mac = mac_at(frame, 0);
  h.src_mac = mac_at(frame, 6);
  h.has_mac = true;
  h.ethertype = load_be16(frame, 12);
  return h;
}

// https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html: packet type(2),
// ARPHRD type(2), address length(2), address(8), protocol(2).
std::optional<LinkHeader> parse_linux_sll(Bytes frame) noexcept {
  if (frame.size() < kSllHeaderLength) return std::nullopt;
  LinkHeader h;
  h.length = kSllHeaderLength;
  h.ethertype = load_be16(frame, 14);
  if (load_be16(frame, 2) == 1 && load_be16(frame, 4) == 6) {  // ARPHRD_ETHER
    h.src_mac = mac_at(frame, 6);
  }
  return h;
}

// https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html: protocol(2),
// reserved(2), ifindex(4), ARPHRD type(2), packet type(1), address length(1),
// address(8).
std::optional<LinkHeader> parse_linux_sll2(Bytes frame) noexcept {
  if (frame.size() < kSll2HeaderLength) return std::nullopt;
  LinkHeader h;
  h.length = kSll2HeaderLength;
  h.ethertype = load_be16(frame, 0);
  if (load_be16(frame, 8) == 1 && frame[11] == 6) h.src_mac = mac_at(frame, 12);
  return h;
}

}  // namespace conntrail::capture
