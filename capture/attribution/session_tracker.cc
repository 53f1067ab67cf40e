#include "capture/attribution/session_tracker.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <tuple>

namespace conntrail::capture {

namespace {

constexpr char kSep = '\x1f';  // cannot appear in an address; keeps key parts apart

std::string join_key(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto p : parts) {
    if (!out.empty()) out += kSep;
    out += p;
  }
  return out;
}

// Calling-Station-Id often carries the subscriber MAC ("00-11-22-33-44-55",
// "0011.2233.4455", "001122334455"). Returns it when exactly 12 hex digits
// and only the usual separators are present.
std::optional<MacAddress> mac_from_text(std::string_view text) {
  MacAddress mac{};
  std::size_t digits = 0;
  for (char c : text) {
    if (c == ':' || c == '-' || c == '.') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c)) || digits == 12) return std::nullopt;
    const int v = std::isdigit(static_cast<unsigned char>(c))
                      ? c - '0'
                      : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10;
    mac[digits / 2] = static_cast<std::uint8_t>((mac[digits / 2] << 4) | v);
    ++digits;
  }
  if (digits != 12) return std::nullopt;
  return mac;
}

std::string mac_text(const std::optional<MacAddress>& mac) {
  return mac ? format_mac(*mac) : std::string();
}

TimestampNs seconds(std::uint32_t s) { return static_cast<TimestampNs>(s) * kNsPerSecond; }

IpPrefix host_prefix(const IpAddress& a) { return *IpPrefix::make(a, a.is_v4() ? 32 : 128); }

}  // namespace

std::string_view to_string(SubscriberIdKind kind) noexcept {
  switch (kind) {
    case SubscriberIdKind::kUserName: return "user-name";
    case SubscriberIdKind::kCircuitId: return "circuit-id";
    case SubscriberIdKind::kRemoteId: return "remote-id";
    case SubscriberIdKind::kSubscriberId: return "subscriber-id";
    case SubscriberIdKind::kCallingStationId: return "calling-station-id";
    case SubscriberIdKind::kMac: return "mac";
    case SubscriberIdKind::kDuid: return "duid";
  }
  return "mac";
}

Result<SubscriberIdKind> parse_subscriber_id_kind(std::string_view text) {
  for (auto k : {SubscriberIdKind::kUserName, SubscriberIdKind::kCircuitId,
                 SubscriberIdKind::kRemoteId, SubscriberIdKind::kSubscriberId,
                 SubscriberIdKind::kCallingStationId, SubscriberIdKind::kMac,
                 SubscriberIdKind::kDuid}) {
    if (to_string(k) == text) return k;
  }
  return fail(ErrorCode::kInvalidArgument,
              "unknown subscriber id '" + std::string(text) +
                  "' (want user-name, circuit-id, remote-id, subscriber-id, calling-station-id, "
                  "mac or duid)");
}

Result<std::vector<SubscriberIdKind>> parse_subscriber_id_order(std::string_view text) {
  std::vector<SubscriberIdKind> out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    auto kind = parse_subscriber_id_kind(text.substr(0, comma));
    if (!kind) return std::unexpected(kind.error());
    out.push_back(*kind);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  if (out.empty()) return fail(ErrorCode::kInvalidArgument, "empty subscriber id order");
  return out;
}

SessionTracker::SessionTracker(SessionTrackerConfig config, Sink sink)
    : config_(std::move(config)), sink_(std::move(sink)) {}

SessionTracker::Chosen SessionTracker::choose_subscriber(
    const std::string& user_name, const std::string& circuit, const std::string& remote,
    const std::string& subscriber_id, const std::string& calling, const std::string& mac,
    const std::string& duid) const {
  const auto& order = config_.subscriber_id_order;
  for (std::size_t i = 0; i < order.size(); ++i) {
    const std::string* v = nullptr;
    switch (order[i]) {
      case SubscriberIdKind::kUserName: v = &user_name; break;
      case SubscriberIdKind::kCircuitId: v = &circuit; break;
      case SubscriberIdKind::kRemoteId: v = &remote; break;
      case SubscriberIdKind::kSubscriberId: v = &subscriber_id; break;
      case SubscriberIdKind::kCallingStationId: v = &calling; break;
      case SubscriberIdKind::kMac: v = &mac; break;
      case SubscriberIdKind::kDuid: v = &duid; break;
    }
    if (v != nullptr && !v->empty()) return {*v, static_cast<int>(i)};
  }
  return {std::string(), static_cast<int>(order.size())};
}

int SessionTracker::index_slot(const IpPrefix& p) noexcept {
  return p.network().is_v4() ? p.length() : 1000 + p.length();
}

std::uint64_t SessionTracker::live_id(const std::string& key) const {
  const auto it = by_key_.find(key);
  if (it == by_key_.end()) return 0;
  return bindings_.at(it->second).live ? it->second : 0;
}

std::vector<std::uint64_t> SessionTracker::group_ids(const std::string& group) const {
  std::vector<std::uint64_t> ids;
  const auto [first, last] = by_group_.equal_range(group);
  for (auto it = first; it != last; ++it) ids.push_back(it->second);
  std::sort(ids.begin(), ids.end());  // oldest binding first: deterministic output order
  return ids;
}

TimestampNs SessionTracker::deadline_of(const Binding& b) const noexcept {
  if (b.expiry != kNever) return b.expiry;
  return b.bounded ? b.last_refresh + config_.open_bound : kNever;
}

void SessionTracker::set_deadline(std::uint64_t id, Binding& b, TimestampNs deadline) {
  deadlines_.erase({b.deadline, id});
  b.deadline = deadline;
  deadlines_.insert({deadline, id});
}

void SessionTracker::advance(TimestampNs now) {
  now_ = std::max(now_, now);
  while (!deadlines_.empty() && deadlines_.begin()->first <= now_) {
    const auto [when, id] = *deadlines_.begin();
    Binding& b = bindings_.at(id);
    if (!b.live) {
      purge(id);
      continue;
    }
    if (b.expiry != kNever && when >= b.expiry) {
      ++counters_.closed_expired;
    } else {
      ++counters_.closed_bound;
      b.resumable = true;
    }
    close(id, when, /*assumed=*/true);
  }
}

void SessionTracker::close(std::uint64_t id, TimestampNs t, bool assumed) {
  Binding& b = bindings_.at(id);
  if (!b.live) return;
  b.live = false;
  b.record.end_ts = std::max(t, b.record.start_ts);
  b.record.end_assumed = assumed;
  if (!assumed) ++counters_.closed_observed;
  sink_(b.record);
  // A retained binding is purged closed_retention after the later of its end and now.
  set_deadline(id, b, std::max(b.record.end_ts, now_) + config_.closed_retention);
}

void SessionTracker::purge(std::uint64_t id) {
  const auto it = bindings_.find(id);
  if (it == bindings_.end()) return;
  Binding& b = it->second;
  deadlines_.erase({b.deadline, id});
  if (auto k = by_key_.find(b.key); k != by_key_.end() && k->second == id) by_key_.erase(k);
  for (auto [g, end] = by_group_.equal_range(b.group); g != end; ++g) {
    if (g->second == id) {
      by_group_.erase(g);
      break;
    }
  }
  const int slot = index_slot(b.record.address);
  auto& table = by_prefix_[slot];
  if (auto a = table.find(b.record.address.network()); a != table.end()) {
    std::erase(a->second, id);
    if (a->second.empty()) table.erase(a);
  }
  if (table.empty()) by_prefix_.erase(slot);
  bindings_.erase(it);
}

void SessionTracker::make_room() {
  while (!bindings_.empty() && bindings_.size() >= config_.max_bindings) {
    const std::uint64_t id = deadlines_.begin()->second;
    if (bindings_.at(id).live) {
      ++counters_.evicted;
      close(id, now_, /*assumed=*/true);
    }
    purge(id);
  }
}

void SessionTracker::open_or_refresh(Opening&& o, TimestampNs t) {
  if (const std::uint64_t id = live_id(o.key); id != 0) {
    Binding& b = bindings_.at(id);
    // The same client renewing is the same binding, even when this copy of the
    // message names it less precisely (a relay strips option 82 from the copy it
    // forwards to the client, RFC 3046 §2.2): the better-ranked id already held stays.
    if (b.group == o.group &&
        (b.record.subscriber == o.record.subscriber || o.id_rank > b.id_rank)) {
      b.last_refresh = std::max(b.last_refresh, t);
      b.expiry = o.expiry;
      if (b.record.mac == MacAddress{}) b.record.mac = o.record.mac;
      if (b.record.duid.empty()) b.record.duid = o.record.duid;
      b.bounded = o.bounded;
      set_deadline(id, b, deadline_of(b));
      return;
    }
    // The same key now names another holder (a DHCP address leased to a new client).
    ++counters_.superseded;
    close(id, t, /*assumed=*/true);
  }
  // Other bindings of exactly this address: the same authority reassigning it
  // ends the old one; another authority claiming it is an overlap, kept.
  const int slot = index_slot(o.record.address);
  if (auto s = by_prefix_.find(slot); s != by_prefix_.end()) {
    if (auto a = s->second.find(o.record.address.network()); a != s->second.end()) {
      const auto ids = a->second;  // close() does not touch the index, but copy for clarity
      for (std::uint64_t other : ids) {
        Binding& ob = bindings_.at(other);
        if (!ob.live) continue;
        if (ob.authority == o.authority && ob.record.source == o.record.source) {
          ++counters_.superseded;
          close(other, t, /*assumed=*/true);
        } else {
          ++counters_.overlaps;
        }
      }
    }
  }
  make_room();

  const std::uint64_t id = next_id_++;
  Binding b;
  b.record = std::move(o.record);
  b.key = std::move(o.key);
  b.group = std::move(o.group);
  b.authority = std::move(o.authority);
  b.last_refresh = t;
  b.expiry = o.expiry;
  b.bounded = o.bounded;
  b.id_rank = o.id_rank;
  const TimestampNs deadline = deadline_of(b);
  auto [it, inserted] = bindings_.emplace(id, std::move(b));
  Binding& placed = it->second;  // map nodes never move: the indexes may view its strings
  // A retained closed binding may still own this key: the key now names the new one.
  by_key_.erase(placed.key);
  by_key_.emplace(placed.key, id);
  by_group_.emplace(placed.group, id);
  by_prefix_[slot][placed.record.address.network()].push_back(id);
  placed.deadline = deadline;
  deadlines_.insert({deadline, id});
  ++counters_.opened;
}

void SessionTracker::close_nas(const std::string& authority, TimestampNs t, bool assumed) {
  std::vector<std::uint64_t> ids;
  for (const auto& [id, b] : bindings_) {
    if (b.live && b.record.source == SessionSource::kRadius && b.authority == authority) {
      ids.push_back(id);
    }
  }
  std::sort(ids.begin(), ids.end());
  for (auto id : ids) {
    bindings_.at(id).stopped = true;
    if (assumed) ++counters_.closed_reset;
    close(id, t, assumed);
  }
}

// ---- RADIUS ---------------------------------------------------------------

void SessionTracker::on_radius(const RadiusAccounting& a, const PacketContext& ctx) {
  TimestampNs t = ctx.ts;
  if (config_.apply_acct_delay && a.acct_delay_time && *a.acct_delay_time <= 24 * 3600) {
    t -= seconds(*a.acct_delay_time);
  }
  advance(ctx.ts);
  const IpAddress nas = a.nas_ip ? *a.nas_ip : ctx.src;
  const std::string authority =
      a.nas_ip ? a.nas_ip->to_string()
               : (!a.nas_identifier.empty() ? "id:" + a.nas_identifier : ctx.src.to_string());

  if (a.is(AcctStatus::kAccountingOn) || a.is(AcctStatus::kAccountingOff)) {
    ++counters_.radius_nas_resets;
    // On: the NAS rebooted; its sessions ended at some unseen moment before.
    close_nas(authority, t, /*assumed=*/a.is(AcctStatus::kAccountingOn));
    return;
  }
  const bool start = a.is(AcctStatus::kStart);
  const bool interim = a.is(AcctStatus::kInterimUpdate);
  const bool stop = a.is(AcctStatus::kStop);
  if (!start && !interim && !stop) {
    ++counters_.radius_ignored_status;
    return;
  }
  if (start) ++counters_.radius_starts;
  if (interim) ++counters_.radius_interims;
  if (stop) ++counters_.radius_stops;

  // Without Acct-Session-Id (RFC 2866 requires one) the User-Name stands in.
  const std::string session = a.acct_session_id.empty() ? "user:" + a.user_name : a.acct_session_id;
  const std::string group = join_key({"r", authority, session});
  const auto calling_mac = mac_from_text(a.calling_station_id);

  std::vector<IpPrefix> addresses;
  if (a.framed_ip) addresses.push_back(host_prefix(*a.framed_ip));
  for (const auto& p : a.framed_ipv6_prefixes) addresses.push_back(p);
  for (const auto& p : a.delegated_ipv6_prefixes) addresses.push_back(p);
  for (const auto& x : a.framed_ipv6_addresses) addresses.push_back(host_prefix(x));

  const auto ids = group_ids(group);
  if (stop) {
    bool any_live = false;
    for (auto id : ids) {
      Binding& b = bindings_.at(id);
      if (!b.live) continue;
      any_live = true;
      b.stopped = true;
      close(id, t, /*assumed=*/false);
    }
    bool all_stopped = !ids.empty();
    for (auto id : ids) all_stopped = all_stopped && bindings_.at(id).stopped;
    if (!any_live && all_stopped) {
      ++counters_.radius_duplicate_stop;
      return;
    }
    if (ids.empty() && !addresses.empty()) ++counters_.radius_stop_unseen;
  } else if (interim && !addresses.empty() && !ids.empty()) {
    bool stopped = true;
    for (auto id : ids) stopped = stopped && bindings_.at(id).stopped;
    if (stopped) {
      ++counters_.radius_late_update;
      return;
    }
  }
  if (addresses.empty()) {
    if (!stop) ++counters_.radius_no_address;
    return;
  }

  // Start opens at t; a session first seen later began Acct-Session-Time earlier.
  TimestampNs first_seen = t;
  if (!start && config_.backdate_from_session_time && a.acct_session_time) {
    first_seen = t - seconds(*a.acct_session_time);
  }
  const Chosen subscriber =
      choose_subscriber(a.user_name, a.nas_port_id, std::string(), std::string(),
                        a.calling_station_id, mac_text(calling_mac), std::string());
  for (const auto& prefix : addresses) {
    const std::string key = join_key({group, prefix.to_string()});
    // A binding the open bound closed, whose session the NAS now shows alive:
    // it continues from that assumed end, so no false gap appears.
    std::optional<TimestampNs> resumed;
    if (const auto k = by_key_.find(key); k != by_key_.end()) {
      const Binding& old = bindings_.at(k->second);
      if (!old.live && old.resumable) resumed = old.record.end_ts;
    }
    // A Stop only adds what no earlier message of the session named.
    if (stop && by_key_.contains(key) && !resumed) continue;
    SessionRecord r;
    r.address = prefix;
    r.subscriber = subscriber.id;
    r.mac = calling_mac.value_or(MacAddress{});
    r.source = SessionSource::kRadius;
    // An address that appears in an Interim of a session we already track was
    // assigned since the last message; otherwise trust the NAS's session time.
    r.start_ts = resumed ? *resumed : start || (interim && !ids.empty()) ? t : first_seen;
    r.precision = ctx.precision;
    r.server = nas;
    r.session_id = a.acct_session_id;
    if (resumed) ++counters_.resumed;
    open_or_refresh({std::move(r), key, group, authority, kNever, /*bounded=*/true, subscriber.rank},
                    t);
    if (stop) close(by_key_.at(key), t, /*assumed=*/false);
  }
}

// ---- DHCPv4 ---------------------------------------------------------------

void SessionTracker::on_dhcpv4(const Dhcpv4Message& m, const PacketContext& ctx) {
  const TimestampNs t = ctx.ts;
  advance(t);
  // The client is its hardware address, as servers key leases; the client
  // identifier (61) only when there is no chaddr, since many servers do not
  // echo option 61 in their replies and the ACK would then not match the RELEASE.
  const std::string client =
      !m.chaddr_hex.empty() ? "hw:" + m.chaddr_hex : "cid:" + m.client_id_hex;
  const std::string group = join_key({"4", client});

  switch (m.type) {
    case Dhcpv4Type::kAck: {
      if (m.op != 2) return;
      if (m.yiaddr == IpAddress()) {
        ++counters_.dhcp_ack_no_address;  // ACK to INFORM: configuration only
        return;
      }
      ++counters_.dhcp_acks;
      const IpPrefix prefix = host_prefix(m.yiaddr);
      const std::string key = join_key({"4", prefix.to_string()});
      // A client holds one IPv4 lease per hardware address: a new address ends the old one.
      for (auto id : group_ids(group)) {
        Binding& b = bindings_.at(id);
        if (b.live && b.key != key) {
          ++counters_.superseded;
          close(id, t, /*assumed=*/true);
        }
      }
      const bool infinite = m.lease_seconds && *m.lease_seconds == kInfiniteLifetime;
      const TimestampNs expiry =
          !m.lease_seconds || infinite ? kNever : t + seconds(*m.lease_seconds);
      const std::string mac = mac_text(m.mac);
      SessionRecord r;
      r.address = prefix;
      const Chosen chosen = choose_subscriber(std::string(), m.circuit_id, m.remote_id,
                                              m.subscriber_id, std::string(), mac, m.client_id_hex);
      r.subscriber = chosen.id.empty() ? m.chaddr_hex : chosen.id;
      r.mac = m.mac.value_or(MacAddress{});
      r.source = SessionSource::kDhcp;
      r.start_ts = t;
      r.precision = ctx.precision;
      r.server = m.server_id ? *m.server_id : ctx.src;
      r.session_id = fmt::format("xid:{:08x}", m.xid);
      if (live_id(key) != 0) ++counters_.dhcp_renewals;
      // A lease without option 51 is held to the open bound like RADIUS; an
      // infinite one ends only by RELEASE, NAK, reassignment or eviction.
      open_or_refresh(
          {std::move(r), key, group, "dhcp", expiry, /*bounded=*/!infinite, chosen.rank}, t);
      return;
    }
    case Dhcpv4Type::kRelease:
    case Dhcpv4Type::kDecline: {
      const bool release = m.type == Dhcpv4Type::kRelease;
      ++(release ? counters_.dhcp_releases : counters_.dhcp_declines);
      const auto address = release ? std::optional<IpAddress>(m.ciaddr) : m.requested_ip;
      const auto id = address ? live_id(join_key({"4", host_prefix(*address).to_string()})) : 0;
      if (id == 0 || bindings_.at(id).group != group) {
        ++counters_.dhcp_release_unmatched;
        return;
      }
      close(id, t, /*assumed=*/false);
      return;
    }
    case Dhcpv4Type::kNak: {
      if (m.op != 2) return;
      ++counters_.dhcp_naks;
      // RFC 2131 §4.4.5: a NAKed client stops using its address and starts over.
      for (auto id : group_ids(group)) {
        if (bindings_.at(id).live) close(id, t, /*assumed=*/false);
      }
      return;
    }
    default: return;  // DISCOVER, OFFER, REQUEST, INFORM: no binding yet
  }
}

// ---- DHCPv6 ---------------------------------------------------------------

void SessionTracker::on_dhcpv6(const Dhcpv6Message& m, const PacketContext& ctx) {
  const TimestampNs t = ctx.ts;
  advance(t);
  counters_.dhcpv6_bindings_dropped += m.bindings_dropped;
  const bool reply = m.type == Dhcpv6Type::kReply;
  const bool release = m.type == Dhcpv6Type::kRelease || m.type == Dhcpv6Type::kDecline;
  if (!reply && !release) return;  // Advertise offers, it does not bind
  ++(reply ? counters_.dhcpv6_replies : counters_.dhcpv6_releases);

  const std::string mac = mac_text(m.client_mac);
  const Chosen subscriber = choose_subscriber(std::string(), m.interface_id, m.remote_id,
                                              m.subscriber_id, std::string(), mac,
                                              m.client_duid_hex);
  for (const auto& binding : m.bindings) {
    const std::string group =
        join_key({"6", m.client_duid_hex, fmt::format("{:08x}", binding.iaid)});
    const std::string key = join_key({"6", binding.prefix.to_string()});
    if (release || binding.valid_lifetime == 0) {
      // RFC 8415 §18.2.10.1: valid lifetime 0 in a Reply withdraws the binding.
      const auto id = live_id(key);
      if (id != 0 && bindings_.at(id).group == group) {
        close(id, t, /*assumed=*/false);
      } else if (release) {
        ++counters_.dhcp_release_unmatched;
      }
      continue;
    }
    SessionRecord r;
    r.address = binding.prefix;
    r.subscriber = subscriber.id.empty() ? m.client_duid_hex : subscriber.id;
    r.mac = m.client_mac.value_or(MacAddress{});
    r.duid = m.client_duid_hex;
    r.source = SessionSource::kDhcp;
    r.start_ts = t;
    r.precision = ctx.precision;
    r.server = ctx.src;
    r.session_id = fmt::format("iaid:{:08x}", binding.iaid);
    const TimestampNs expiry =
        binding.valid_lifetime == kInfiniteLifetime ? kNever : t + seconds(binding.valid_lifetime);
    open_or_refresh({std::move(r), key, group, "dhcp", expiry, /*bounded=*/false, subscriber.rank},
                    t);
  }
}

// ---- queries ----------------------------------------------------------------

std::vector<SessionRecord> SessionTracker::open_sessions() const {
  std::vector<SessionRecord> out;
  for (const auto& [id, b] : bindings_) {
    if (b.live) out.push_back(b.record);
  }
  std::sort(out.begin(), out.end(), [](const SessionRecord& x, const SessionRecord& y) {
    if (x.start_ts != y.start_ts) return x.start_ts < y.start_ts;
    if (x.address.network() != y.address.network()) return x.address.network() < y.address.network();
    return x.address.length() < y.address.length();
  });
  return out;
}

std::vector<SessionRecord> SessionTracker::covering(const IpAddress& address, TimestampNs t) const {
  std::vector<SessionRecord> out;
  for (const auto& [slot, table] : by_prefix_) {
    if ((slot < 1000) != address.is_v4()) continue;
    auto prefix = IpPrefix::make(address, slot % 1000);
    if (!prefix) continue;
    const auto it = table.find(prefix->network());
    if (it == table.end()) continue;
    for (auto id : it->second) {
      const auto& r = bindings_.at(id).record;
      if (r.covers(t)) out.push_back(r);
    }
  }
  return out;
}

void sort_sessions(std::vector<SessionRecord>& sessions) {
  auto key = [](const SessionRecord& r) {
    const TimestampNs end = r.is_open() ? std::numeric_limits<TimestampNs>::max() : r.end_ts;
    return std::make_tuple(r.start_ts, r.address.network(), r.address.length(), end,
                           r.subscriber);
  };
  std::stable_sort(sessions.begin(), sessions.end(),
                   [&](const SessionRecord& a, const SessionRecord& b) { return key(a) < key(b); });
}

}  // namespace conntrail::capture
