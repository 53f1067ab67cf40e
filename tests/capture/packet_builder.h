// tests/capture/packet_builder.h — small frames built byte by byte for decoder
// and flow tests. Each function returns one header (or a header with its
// payload, for IP), and frames are concatenated with `+`. IP total/payload
// lengths are computed from what follows unless overridden.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/flow_record.h"

namespace conntrail::testing {

using Frame = std::vector<std::uint8_t>;

Frame operator+(Frame a, const Frame& b);

inline const MacAddress kMacA{0x02, 0, 0, 0, 0, 0x0a};
inline const MacAddress kMacB{0x02, 0, 0, 0, 0, 0x0b};

Frame ethernet(std::uint16_t ethertype, const MacAddress& src = kMacA,
               const MacAddress& dst = kMacB);
Frame vlan_tag(std::uint16_t vid, std::uint16_t ethertype);
Frame mpls_label(std::uint32_t label, bool bottom);
Frame pppoe_session(std::uint16_t session, std::uint16_t ppp_protocol,
                    std::uint16_t payload_length);
Frame linux_sll(std::uint16_t protocol);
Frame linux_sll2(std::uint16_t protocol);

struct Ipv4Extras {
  std::uint16_t id = 0x1234;
  std::uint16_t fragment_offset = 0;  // 8-byte units
  bool more_fragments = false;
  int option_words = 0;   // 4-byte option words (IHL = 5 + this)
  int total_length = -1;  // override the computed total length
  int ihl_override = -1;  // write this IHL instead
};
Frame ipv4(const std::string& src, const std::string& dst, std::uint8_t proto, const Frame& payload,
           const Ipv4Extras& extras = {});
Frame ipv6(const std::string& src, const std::string& dst, std::uint8_t next_header,
           const Frame& payload);
// Hop-by-Hop / Routing / Destination Options: `length` bytes (multiple of 8, >= 8).
Frame ipv6_option_header(std::uint8_t next_header, std::size_t length = 8);
Frame ipv6_fragment_header(std::uint8_t next_header, std::uint16_t offset, bool more,
                           std::uint32_t id);
Frame ipv6_ah(std::uint8_t next_header);  // 24 bytes (payload len field 4)

Frame tcp(std::uint16_t sport, std::uint16_t dport, std::uint8_t flags, std::size_t payload = 0);
Frame udp(std::uint16_t sport, std::uint16_t dport, std::size_t payload = 0);
Frame icmp(std::uint8_t type, std::uint8_t code, std::size_t payload = 0);
Frame gre(std::uint16_t protocol, bool key = false, bool sequence = false, bool checksum = false);
Frame pptp_gre(bool sequence, bool ack);  // enhanced GRE v1, protocol PPP
Frame ppp(std::uint16_t protocol, bool address_control, bool compressed);

inline constexpr std::uint8_t kFin = 0x01;
inline constexpr std::uint8_t kSyn = 0x02;
inline constexpr std::uint8_t kRst = 0x04;
inline constexpr std::uint8_t kPsh = 0x08;
inline constexpr std::uint8_t kAck = 0x10;

}  // namespace conntrail::testing
