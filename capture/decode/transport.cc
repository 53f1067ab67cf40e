#include "capture/decode/transport.h"

namespace conntrail::capture {
namespace {

// Counterpart of a request/reply type, or -1. ICMPv4: echo 8/0, timestamp
// 13/14, information 15/16, address mask 17/18, router solicit/advert 10/9.
int icmp4_counterpart(std::uint8_t type) noexcept {
  switch (type) {
    case 8:
      return 0;
    case 0:
      return 8;
    case 13:
      return 14;
    case 14:
      return 13;
    case 15:
      return 16;
    case 16:
      return 15;
    case 17:
      return 18;
    case 18:
      return 17;
    case 10:
      return 9;
    case 9:
      return 10;
    default:
      return -1;
  }
}

// ICMPv6: echo 128/129, RS/RA 133/134, NS/NA 135/136, MLD query/report
// 130/131, node information 139/140, home agent discovery 144/145.
int icmp6_counterpart(std::uint8_t type) noexcept {
  switch (type) {
    case 128:
      return 129;
    case 129:
      return 128;
    case 133:
      return 134;
    case 134:
      return 133;
    case 135:
      return 136;
    case 136:
      return 135;
    case 130:
      return 131;
    case 131:
      return 130;
    case 139:
      return 140;
    case 140:
      return 139;
    case 144:
      return 145;
    case 145:
      return 144;
    default:
      return -1;
  }
}

}  // namespace

TransportPorts icmp_ports(bool icmpv6, std::uint8_t type, std::uint8_t code) noexcept {
  const int counterpart = icmpv6 ? icmp6_counterpart(type) : icmp4_counterpart(type);
  TransportPorts p;
  p.src_port = type;
  if (counterpart >= 0) {
    p.dst_port = static_cast<std::uint16_t>(counterpart);
  } else {
    p.dst_port = code;
    p.one_way = true;
  }
  return p;
}

}  // namespace conntrail::capture
