// capture/attribution/session_tracker.h — RADIUS/DHCP messages in, attribution sessions out.
//
// Job: keep the set of address bindings the wire has shown (RADIUS
// accounting sessions, DHCPv4 leases, DHCPv6 IA_NA addresses and IA_PD
// prefixes) and emit each one as a core SessionRecord when it ends. One
// binding = one address or prefix held by one subscriber: a RADIUS session
// with an IPv4 address, a Framed-IPv6-Prefix and a Delegated-IPv6-Prefix is
// three bindings sharing a session id.
//
// State machine of one binding (docs/ATTRIBUTION.md is the full contract):
//
//   from          event                                  to       end_assumed  function
//   -             RADIUS Start / Interim (unknown)       live     -            on_radius
//   -             DHCPv4 ACK, DHCPv6 Reply (valid > 0)   live     -            on_dhcpv4/6
//   live          Interim, renewing ACK/Reply            live     -            refresh()
//   live          RADIUS Stop                            closed   no           on_radius
//   live          Accounting-Off of its NAS              closed   no           close_nas()
//   live          Accounting-On of its NAS (reboot)      closed   yes          close_nas()
//   live          DHCP RELEASE/DECLINE/NAK, valid=0      closed   no           on_dhcpv4/6
//   live          lease expiry passes                    closed   yes          advance()
//   live          no refresh for open_bound (no lease)   closed   yes          advance()
//   closed(bound) Interim/Stop of the same session       live*    -            on_radius
//                 (* a new binding starting at the assumed end: no false gap)
//   live          same address bound anew by the same    closed   yes          open_binding()
//                 authority (NAS / DHCP) to another
//   live          table at max_bindings: earliest        closed   yes          make_room()
//                 deadline evicted (counted)
//   closed        closed_retention passes                gone     -            advance()
//
// Invariants:
//  - Time is the packet time handed in; nothing reads a clock. advance()
//    only moves forward (a packet older than the newest one seen never
//    un-expires anything), and an end is never before its start.
//  - Memory is bounded: at most max_bindings bindings (live + retained
//    closed) exist; at the cap the one with the earliest deadline goes,
//    and `evicted` counts it. Every string comes from a packet of at most a
//    few KB.
//  - Two bindings of the same address from different authorities (two NASes,
//    RADIUS and DHCP) are both kept: overlap is counted here and reported by
//    AddressAttributor as ambiguity, never resolved by guessing.
//  - by_key_ / by_group_ hold string_views into the Binding they point to; an
//    entry is erased before (or when) its Binding is, so no view outlives its string.
//  - Single owner: not thread-safe; the capture thread that feeds it owns it.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "capture/attribution/dhcpv4_parser.h"
#include "capture/attribution/dhcpv6_parser.h"
#include "capture/attribution/radius_parser.h"
#include "core/ip_address.h"
#include "core/result.h"
#include "core/session_record.h"
#include "core/timestamp.h"

namespace conntrail::capture {

// Which field names the subscriber. The tracker takes the first kind in the
// configured order that the message carries.
enum class SubscriberIdKind : std::uint8_t {
  kUserName,          // RADIUS User-Name
  kCircuitId,         // DHCPv4 82.1, DHCPv6 Interface-Id, RADIUS NAS-Port-Id
  kRemoteId,          // DHCPv4 82.2, DHCPv6 Remote-Id
  kSubscriberId,      // DHCPv4 82.6, DHCPv6 Subscriber-Id
  kCallingStationId,  // RADIUS Calling-Station-Id
  kMac,               // DHCPv4 chaddr, DHCPv6 DUID link-layer address, RADIUS Calling-Station-Id MAC
  kDuid,              // DHCPv6 client DUID (hex), DHCPv4 client-identifier (hex)
};

std::string_view to_string(SubscriberIdKind kind) noexcept;
Result<SubscriberIdKind> parse_subscriber_id_kind(std::string_view text);
// "user-name,circuit-id,mac" → the list; an error names the unknown word.
Result<std::vector<SubscriberIdKind>> parse_subscriber_id_order(std::string_view text);

struct SessionTrackerConfig {
  std::vector<SubscriberIdKind> subscriber_id_order = {
      SubscriberIdKind::kUserName, SubscriberIdKind::kCircuitId, SubscriberIdKind::kRemoteId,
      SubscriberIdKind::kSubscriberId, SubscriberIdKind::kMac, SubscriberIdKind::kDuid};
  // A binding with no lease time (RADIUS, DHCP without option 51) that is not
  // refreshed for this long is closed at last refresh + open_bound, assumed.
  TimestampNs open_bound = 24 * 3600 * kNsPerSecond;
  // Closed bindings stay queryable this long, so a flow exported minutes
  // after it began is still attributed at its first packet.
  TimestampNs closed_retention = 15 * 60 * kNsPerSecond;
  std::size_t max_bindings = 1'000'000;
  // RFC 2866 §5.2: the event happened Acct-Delay-Time seconds before arrival.
  bool apply_acct_delay = true;
  // A session first seen by an Interim-Update or Stop started Acct-Session-Time
  // seconds earlier, by the NAS's account.
  bool backdate_from_session_time = true;
};

struct SessionTrackerCounters {
  std::uint64_t radius_starts = 0, radius_interims = 0, radius_stops = 0, radius_nas_resets = 0;
  std::uint64_t radius_ignored_status = 0;  // tunnel/Failed status types
  std::uint64_t radius_no_address = 0;      // Start/Interim without any address attribute
  std::uint64_t radius_duplicate_stop = 0;
  std::uint64_t radius_late_update = 0;     // Interim for a session already stopped
  std::uint64_t radius_stop_unseen = 0;     // Stop for a session never seen: built from Stop alone
  std::uint64_t dhcp_acks = 0, dhcp_renewals = 0, dhcp_releases = 0, dhcp_declines = 0,
                dhcp_naks = 0;
  std::uint64_t dhcp_ack_no_address = 0;    // ACK to INFORM (yiaddr 0)
  std::uint64_t dhcp_release_unmatched = 0; // RELEASE/DECLINE for an address this client does not hold
  std::uint64_t dhcpv6_replies = 0, dhcpv6_releases = 0, dhcpv6_bindings_dropped = 0;
  std::uint64_t opened = 0;
  std::uint64_t closed_observed = 0;  // Stop, Accounting-Off, RELEASE, ...
  std::uint64_t closed_expired = 0;   // lease expiry
  std::uint64_t closed_bound = 0;     // open_bound without refresh
  std::uint64_t closed_reset = 0;     // Accounting-On
  std::uint64_t superseded = 0;       // same authority bound the address anew
  std::uint64_t overlaps = 0;         // opened while another authority held the address
  std::uint64_t evicted = 0;          // max_bindings reached
  std::uint64_t resumed = 0;          // a bound-closed RADIUS session shown alive again
};

// The packet a message came in: its time and addresses (the NAS when a
// RADIUS packet has no NAS-IP-Address; the DHCP server without option 54).
struct PacketContext {
  TimestampNs ts = 0;
  IpAddress src;
  IpAddress dst;
  TimePrecision precision = TimePrecision::kMicro;
};

class SessionTracker {
 public:
  using Sink = std::function<void(const SessionRecord&)>;

  // `sink` receives each binding once, when it closes (end_ts set).
  SessionTracker(SessionTrackerConfig config, Sink sink);

  void on_radius(const RadiusAccounting& acct, const PacketContext& ctx);
  void on_dhcpv4(const Dhcpv4Message& msg, const PacketContext& ctx);
  void on_dhcpv6(const Dhcpv6Message& msg, const PacketContext& ctx);

  // Closes what has expired by `now` (called with each packet's time by the
  // on_* functions; call it from a timer when traffic stops).
  void advance(TimestampNs now);

  // Live bindings as open records (end_ts 0), ordered by start then address:
  // what a capture that ends now still holds.
  std::vector<SessionRecord> open_sessions() const;

  // Every binding (live or retained closed) that covers `address` at `t`.
  // IPv6 addresses match delegated and framed prefixes.
  std::vector<SessionRecord> covering(const IpAddress& address, TimestampNs t) const;

  const SessionTrackerCounters& counters() const noexcept { return counters_; }
  std::size_t size() const noexcept { return bindings_.size(); }
  const SessionTrackerConfig& config() const noexcept { return config_; }

 private:
  struct Binding {
    SessionRecord record;   // end_ts == 0 while live
    std::string key;        // unique per binding: source, session/client, address
    std::string group;      // RADIUS NAS+session, DHCPv4 client, DHCPv6 DUID+IAID
    std::string authority;  // NAS or DHCP address space that assigned it
    TimestampNs last_refresh = 0;
    TimestampNs expiry = 0;    // lease end; kNever when none
    TimestampNs deadline = 0;  // when advance() acts: expiry, refresh bound or purge
    bool bounded = true;       // open_bound applies when there is no expiry
    bool live = true;
    bool stopped = false;      // closed by an observed end (duplicate Stop detection)
    bool resumable = false;    // closed by the open bound: a later Interim/Stop continues it
    int id_rank = 0;           // position of the subscriber id's kind in the configured order
  };
  struct Opening {
    SessionRecord record;
    std::string key, group, authority;
    TimestampNs expiry;
    bool bounded;
    int id_rank;
  };
  struct Chosen {
    std::string id;
    int rank;  // index in subscriber_id_order; order.size() when none was present
  };
  static constexpr TimestampNs kNever = std::numeric_limits<TimestampNs>::max();

  void open_or_refresh(Opening&& opening, TimestampNs t);
  void close(std::uint64_t id, TimestampNs t, bool assumed);
  void purge(std::uint64_t id);
  TimestampNs deadline_of(const Binding& b) const noexcept;
  void set_deadline(std::uint64_t id, Binding& b, TimestampNs deadline);
  void make_room();
  void close_nas(const std::string& authority, TimestampNs t, bool assumed);
  std::vector<std::uint64_t> group_ids(const std::string& group) const;
  std::uint64_t live_id(const std::string& key) const;  // 0: none
  Chosen choose_subscriber(const std::string& user_name, const std::string& circuit,
                                const std::string& remote, const std::string& subscriber_id,
                                const std::string& calling, const std::string& mac,
                                const std::string& duid) const;
  static int index_slot(const IpPrefix& p) noexcept;

  SessionTrackerConfig config_;
  Sink sink_;
  SessionTrackerCounters counters_;
  TimestampNs now_ = 0;
  std::uint64_t next_id_ = 1;
  std::unordered_map<std::uint64_t, Binding> bindings_;
  // Keys are views of the indexed binding's own key/group strings (one copy per binding).
  std::unordered_map<std::string_view, std::uint64_t> by_key_;
  std::unordered_multimap<std::string_view, std::uint64_t> by_group_;
  std::set<std::pair<TimestampNs, std::uint64_t>> deadlines_;
  // Address index: (family, prefix length) slot → network address → bindings.
  std::map<int, std::unordered_map<IpAddress, std::vector<std::uint64_t>, IpAddressHash>> by_prefix_;
};

// The output order of every session listing (`conntrail sessions`, imports,
// golden files): start, then address, then end (open last), then subscriber.
void sort_sessions(std::vector<SessionRecord>& sessions);

}  // namespace conntrail::capture
