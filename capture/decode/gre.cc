#include "capture/decode/gre.h"

namespace conntrail::capture {

std::optional<GreHeader> parse_gre(Bytes data) noexcept {
  if (data.size() < 4) return std::nullopt;
  const std::uint16_t flags = load_be16(data, 0);
  GreHeader h;
  h.version = flags & 0x7;
  h.protocol = load_be16(data, 2);
  const bool checksum = (flags & 0x8000) != 0;
  const bool routing = (flags & 0x4000) != 0;
  const bool key = (flags & 0x2000) != 0;
  const bool sequence = (flags & 0x1000) != 0;
  std::size_t at = 4;
  if (h.version == 0) {
    if (checksum || routing) at += 4;
    if (key) at += 4;
    if (sequence) at += 4;
    if (routing) {
      // Source route entries: family(2) offset(1) length(1) data; a NULL entry ends them.
      for (int n = 0;; ++n) {
        if (n == 64 || data.size() < at + 4) return std::nullopt;
        const std::size_t len = data[at + 3];
        const bool last = load_be16(data, at) == 0 && len == 0;
        at += 4 + len;
        if (last) break;
      }
    }
  } else if (h.version == 1) {
    // Enhanced GRE: key (payload length + call id) always, sequence and
    // acknowledgement (flag 0x0080) optional.
    if (!key || h.protocol != 0x880b) return std::nullopt;
    at += 4;
    if (sequence) at += 4;
    if ((flags & 0x0080) != 0) at += 4;
  } else {
    return std::nullopt;
  }
  if (data.size() < at) return std::nullopt;
  if (h.protocol == kGreCiscoMetadata) {
    // EtherType(2), version(1)=1, length(1)=1, option type(2), SGT(2) — the
    // layout of Wireshark's packet-cmd.c and of tcpdump's various_gre.pcap.
    if (data.size() < at + 8 || data[at + 2] != 1 || data[at + 3] != 1) return std::nullopt;
    h.protocol = load_be16(data, at);
    at += 8;
  }
  h.length = at;
  return h;
}

}  // namespace conntrail::capture
