// capture/attribution/attribution_dispatcher.h — UDP datagrams in, parsed messages to the tracker.
//
// Job: the one entry point the capture path calls for a UDP datagram that
// may be RADIUS accounting or DHCP. It picks the parser by port, counts every
// outcome by kind (Zeek's "weird" discipline: malformed input is counted,
// never logged per packet, never fatal) and hands good messages to the
// SessionTracker with the packet's time.
//
// Port rules: RADIUS accounting on any configured port (default 1813 and the
// pre-RFC 1646), as destination (requests go to the server); DHCPv4 when
// either port is 67 or 68; DHCPv6 when either port is 546 or 547. Payload
// never leaves this module: only the parsed facts do.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "capture/attribution/session_tracker.h"

namespace conntrail::capture {

struct AttributionDispatchConfig {
  std::vector<std::uint16_t> radius_accounting_ports = {1813, 1646};
};

struct AttributionCounters {
  std::uint64_t radius_accounting = 0;        // Accounting-Requests parsed
  std::uint64_t radius_other_codes = 0;       // Access-*, Accounting-Response: not ours
  std::array<std::uint64_t, 8> radius_errors{};  // by RadiusParseError
  std::uint64_t dhcpv4_messages = 0;
  std::uint64_t dhcpv4_bootp = 0;             // BOOTP without option 53
  std::array<std::uint64_t, 6> dhcpv4_errors{};  // by Dhcpv4ParseError
  std::uint64_t dhcpv6_messages = 0;
  std::array<std::uint64_t, 5> dhcpv6_errors{};  // by Dhcpv6ParseError
  std::uint64_t truncated_payloads = 0;       // cut by the snaplen: not parsed
};

class AttributionDispatcher {
 public:
  AttributionDispatcher(AttributionDispatchConfig config, SessionTracker& tracker)
      : config_(std::move(config)), tracker_(tracker) {}

  // Returns true when the datagram was an attribution protocol (parsed or counted).
  bool on_udp(const PacketContext& ctx, std::uint16_t src_port, std::uint16_t dst_port,
              std::span<const std::uint8_t> payload, bool payload_truncated);

  const AttributionCounters& counters() const noexcept { return counters_; }

 private:
  bool is_radius_port(std::uint16_t port) const noexcept;

  AttributionDispatchConfig config_;
  SessionTracker& tracker_;
  AttributionCounters counters_;
};

}  // namespace conntrail::capture
