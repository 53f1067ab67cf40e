// core/session_record.h — subscriber attribution: who held an address, when.
//
// A session binds an address or prefix to a subscriber for a time interval.
// Sources are RADIUS accounting, DHCPv4/DHCPv6 leases, or an operator import.
// end_ts == 0 means the session is still open; end_assumed marks an end the
// agent inferred (lease expiry without renewal, refresh bound) rather than saw.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/flow_record.h"
#include "core/ip_address.h"
#include "core/timestamp.h"

namespace conntrail {

enum class SessionSource : std::uint8_t { kRadius = 0, kDhcp = 1, kImport = 2 };

std::string_view to_string(SessionSource source) noexcept;
std::optional<SessionSource> session_source_from_string(std::string_view text) noexcept;

struct SessionRecord {
  IpPrefix address;         // a full-length prefix for a single address
  std::string subscriber;   // User-Name, circuit-id/remote-id, MAC or DUID, as configured
  MacAddress mac{};         // all zero: unknown
  std::string duid;         // DHCPv6 client DUID, hex; empty otherwise
  SessionSource source = SessionSource::kRadius;
  TimestampNs start_ts = 0;
  TimestampNs end_ts = 0;   // 0: open
  bool end_assumed = false;
  TimePrecision precision = TimePrecision::kMicro;
  IpAddress server;         // NAS-IP-Address or DHCP server
  std::string session_id;   // Acct-Session-Id, DHCP xid/IAID, import row id

  bool is_open() const noexcept { return end_ts == 0; }
  // True when the session held its address at instant t (start inclusive, end exclusive).
  bool covers(TimestampNs t) const noexcept {
    return t >= start_ts && (end_ts == 0 || t < end_ts);
  }

  friend bool operator==(const SessionRecord&, const SessionRecord&) = default;
};

}  // namespace conntrail
