// capture/decode/packet_info.h — what the decoder learnt from one frame.
//
// A flat, fixed-size value filled by decode_frame() and read by the fragment
// and flow tables; it owns no memory, so decoding allocates nothing. Addresses
// are 16 bytes; IPv4 is stored IPv4-mapped (::ffff:a.b.c.d) like
// core/ip_address.h, so one comparison and one hash serve both families.
#pragma once

#include <array>
#include <cstdint>

#include "capture/decode/bytes.h"
#include "core/flow_record.h"
#include "core/timestamp.h"

namespace conntrail::capture {

using Address16 = std::array<std::uint8_t, 16>;

enum class FragmentKind : std::uint8_t {
  kNone,   // not a fragment (an atomic IPv6 fragment, offset 0 and M=0, is kNone)
  kFirst,  // offset 0 with more fragments: carries the transport header
  kLater,  // offset > 0: no transport header, ports come from the first fragment
};

struct PacketInfo {
  TimestampNs ts = 0;
  Address16 src{};
  Address16 dst{};
  std::uint32_t ip_bytes = 0;  // IPv4 total length / IPv6 40 + payload length
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  std::uint8_t proto = 0;
  std::uint8_t tcp_flags = 0;
  bool is_v6 = false;
  bool one_way = false;  // ICMP errors and other one-way ICMP types: never merged
  FragmentKind fragment = FragmentKind::kNone;
  std::uint32_t fragment_id = 0;  // IPv4 identification or IPv6 fragment identification

  // UDP only (unfragmented, or an atomic IPv6 fragment): the datagram's payload
  // after the innermost UDP header reached, cut to min(UDP length - 8, bytes
  // inside the IP length that were captured). A view into the frame, valid only
  // while the frame is (the capture callback); read by the attribution tap for
  // RADIUS/DHCP and by nothing else — flows never look at payload.
  Bytes udp_payload{};
  bool udp_payload_truncated = false;  // the snaplen cut it (UDP length claims more)

  // Link-layer context of the outermost headers (recorded, not keyed by default).
  std::uint16_t vlan_outer = kNoVlan;
  std::uint16_t vlan_inner = kNoVlan;
  std::uint16_t pppoe_session = 0;
  bool has_mac = false;
  MacAddress src_mac{};
  MacAddress dst_mac{};
};

}  // namespace conntrail::capture
