#include "capture/source/control_filter.h"

#include <algorithm>

namespace conntrail::capture {

std::vector<std::string> control_bpf_filters(const std::vector<std::uint16_t>& ports) {
  std::vector<std::uint16_t> unique;
  for (auto p : ports) {
    if (std::find(unique.begin(), unique.end(), p) == unique.end()) unique.push_back(p);
  }
  if (unique.empty()) return {};
  std::string udp = "(";
  for (std::size_t i = 0; i < unique.size(); ++i) {
    if (i != 0) udp += " or ";
    udp += "udp port " + std::to_string(unique[i]);
  }
  udp += ")";
  return {
      udp + " or (vlan and " + udp + ") or (vlan and " + udp + ")",
      "pppoes and " + udp,
      "vlan and pppoes and " + udp,
      "vlan and vlan and pppoes and " + udp,
      "mpls and " + udp,
      "vlan and mpls and " + udp,
      "vlan and vlan and mpls and " + udp,
  };
}

}  // namespace conntrail::capture
