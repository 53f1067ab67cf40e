#include "capture/decode/ipv6.h"

namespace conntrail::capture {

Ipv6Extensions walk_ipv6_extensions(Bytes data, std::uint8_t next_header) noexcept {
  Ipv6Extensions w;
  w.proto = next_header;
  for (int n = 0;; ++n) {
    const std::size_t at = w.length;
    std::size_t len = 0;
    switch (w.proto) {
      case 0:   // Hop-by-Hop Options
      case 43:  // Routing
      case 60:  // Destination Options
        if (data.size() < at + 2) {
          w.broken = true;
          return w;
        }
        len = (std::size_t{data[at + 1]} + 1) * 8;
        break;
      case 51:  // AH: payload length in 4-byte units minus 2
        if (data.size() < at + 2) {
          w.broken = true;
          return w;
        }
        len = (std::size_t{data[at + 1]} + 2) * 4;
        break;
      case 44: {  // Fragment
        if (data.size() < at + 8) {
          w.broken = true;
          return w;
        }
        len = 8;
        const std::uint16_t off = load_be16(data, at + 2);
        const std::uint16_t offset = off >> 3;
        const bool more = (off & 0x1) != 0;
        // An atomic fragment (offset 0, M=0, RFC 6946) is a whole datagram.
        if (offset != 0 || more) {
          w.fragment = true;
          w.fragment_offset = offset;
          w.more_fragments = more;
          w.fragment_id = load_be32(data, at + 4);
        }
        break;
      }
      default:
        return w;  // upper layer, ESP (50) or No Next Header (59)
    }
    if (n == kMaxIpv6Extensions || data.size() < at + len) {
      w.broken = true;
      return w;
    }
    w.proto = data[at];
    w.length = at + len;
    // Past a non-first fragment there is no header to walk: the fragment's
    // Next Header names the datagram's first header after the fragmentable
    // part, which is what the flow is keyed on.
    if (w.fragment && w.fragment_offset != 0) return w;
  }
}

}  // namespace conntrail::capture
