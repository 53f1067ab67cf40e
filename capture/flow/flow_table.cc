#include "capture/flow/flow_table.h"

#include <algorithm>
#include <array>
#include <bit>
#include <limits>
#include <utility>

#include "capture/decode/transport.h"

// The per-packet steps are inlined into add()/add_batch(): one call per packet
// instead of six, and the table's vectors stay in registers.
#define CONNTRAIL_HOT [[gnu::always_inline]] inline

namespace conntrail::capture {
namespace {

constexpr std::uint8_t kInitiatorIsA = 0x1;
constexpr std::uint8_t kFinA = 0x2;
constexpr std::uint8_t kFinB = 0x4;
constexpr std::uint8_t kClosed = 0x8;

constexpr std::uint8_t kTcpFin = 0x01;
constexpr std::uint8_t kTcpSyn = 0x02;
constexpr std::uint8_t kTcpRst = 0x04;
constexpr std::uint8_t kTcpAck = 0x10;

constexpr std::size_t kInitialSlots = 1024;

IpAddress to_ip(const Address16& a, bool v6) noexcept {
  if (v6) return IpAddress::v6_from_bytes(std::span<const std::uint8_t, 16>(a));
  return IpAddress::v4_from_bytes(std::span<const std::uint8_t, 4>(a.data() + 12, 4));
}

}  // namespace

TimestampNs max_export_delay(const FlowTimeouts& t) noexcept {
  TimestampNs longest = 0;
  for (const ProtocolTimeouts& p : {t.tcp, t.udp, t.icmp, t.other}) {
    longest = std::max(longest, p.active + p.idle);
  }
  return longest + t.tcp_close_linger + kNsPerSecond;  // + the meter's 1 s sweep interval
}

static_assert(sizeof(FlowKey) + 68 == 112, "flow entry budget");

std::size_t FlowTable::flows_for_memory(std::size_t bytes) noexcept {
  return std::max<std::size_t>(1, bytes / kBytesPerFlow);
}

FlowTable::FlowTable(FlowTableOptions options, ExportFn on_export)
    : options_(std::move(options)),
      timeouts_{options_.timeouts.tcp, options_.timeouts.udp, options_.timeouts.icmp,
                options_.timeouts.other},
      on_export_(std::move(on_export)) {
  static_assert(sizeof(Entry) == 112, "flow entry must stay 112 bytes");
  options_.max_flows = std::clamp<std::size_t>(options_.max_flows, 1, kNil - 1);
  slots_.assign(std::min(kInitialSlots, std::bit_ceil(options_.max_flows * 2)), 0);
}

std::size_t FlowTable::memory_bytes() const noexcept {
  return entries_.capacity() * sizeof(Entry) + slots_.capacity() * sizeof(std::uint32_t);
}

namespace {
// The LRU list of each IP protocol number (a table: the protocol mix of
// consecutive packets is unpredictable, so a switch would mispredict).
constexpr std::array<std::uint8_t, 256> kListOfProto = [] {
  std::array<std::uint8_t, 256> l{};
  l.fill(3);  // kListOther
  l[kProtoTcp] = 0;
  l[kProtoUdp] = 1;
  l[kProtoIcmp] = 2;
  l[kProtoIcmpv6] = 2;
  return l;
}();
}  // namespace

CONNTRAIL_HOT FlowTable::List FlowTable::list_for(std::uint8_t proto) noexcept {
  static_assert(kListTcp == 0 && kListUdp == 1 && kListIcmp == 2 && kListOther == 3);
  return static_cast<List>(kListOfProto[proto]);
}

TimestampNs FlowTable::list_timeout(List list) const noexcept {
  switch (list) {
    case kListTcp:
      return options_.timeouts.tcp.idle;
    case kListUdp:
      return options_.timeouts.udp.idle;
    case kListIcmp:
      return options_.timeouts.icmp.idle;
    case kListOther:
      return options_.timeouts.other.idle;
    default:
      return options_.timeouts.tcp_close_linger;
  }
}

void FlowTable::add(const PacketInfo& p) {
  bool from_a = true;
  FlowKey key;
  const auto hash = static_cast<std::uint32_t>(make_flow_key(p, options_.key_vlan, &key, &from_a));
  add_keyed(p, key, hash, from_a);
}

void FlowTable::add_batch(std::span<const PacketInfo> packets) {
  while (packets.size() > kMaxBatch) {
    add_batch(packets.first(kMaxBatch));
    packets = packets.subspan(kMaxBatch);
  }
  FlowKey keys[kMaxBatch];
  std::uint32_t hashes[kMaxBatch];
  bool from_a[kMaxBatch];
  const std::size_t n = packets.size();
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = 0; i < n; ++i) {
    hashes[i] = static_cast<std::uint32_t>(
        make_flow_key(packets[i], options_.key_vlan, &keys[i], &from_a[i]));
    __builtin_prefetch(&slots_[hashes[i] & mask]);
  }
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint32_t slot = slots_[hashes[i] & mask];
    if (slot != 0) __builtin_prefetch(&entries_[slot - 1]);
  }
  // In order, with the table as it is at each packet: the prefetches are hints only.
  for (std::size_t i = 0; i < n; ++i) add_keyed(packets[i], keys[i], hashes[i], from_a[i]);
}

CONNTRAIL_HOT void FlowTable::add_keyed(const PacketInfo& p, const FlowKey& key, std::uint32_t hash,
                          bool from_a) {
  std::uint32_t index = find(key, hash);
  if (index != kNil) {
    EndReason reason;
    if (split_reason(entries_[index], p, from_a, &reason)) {
      export_flow(index, reason);
      index = kNil;
    }
  }
  if (index == kNil) index = create(key, hash, p, from_a);
  update(index, p, from_a);
}

CONNTRAIL_HOT bool FlowTable::split_reason(const Entry& e, const PacketInfo& p, bool from_a,
                             EndReason* reason) const noexcept {
  const TimestampNs since_last = p.ts - e.last_ts;  // negative when time went backwards
  if ((e.state & kClosed) != 0) {
    const bool bare_syn = (p.tcp_flags & (kTcpSyn | kTcpAck | kTcpRst)) == kTcpSyn;
    if (bare_syn || since_last > options_.timeouts.tcp_close_linger) {
      *reason = EndReason::kTcpClose;
      return true;
    }
    return false;
  }
  const ProtocolTimeouts& t = timeouts_[list_for(p.proto)];
  if (since_last > t.idle) {
    *reason = EndReason::kIdle;
    return true;
  }
  // One branch (rarely taken) for both active-split conditions.
  const bool full = e.packets[from_a ? 0 : 1] == std::numeric_limits<std::uint32_t>::max();
  if ((p.ts - e.first_ts >= t.active) | full) {
    *reason = EndReason::kActive;
    return true;
  }
  return false;
}

CONNTRAIL_HOT std::uint32_t FlowTable::find(const FlowKey& key, std::uint32_t hash) const noexcept {
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t s = hash & mask;; s = (s + 1) & mask) {
    const std::uint32_t slot = slots_[s];
    if (slot == 0) return kNil;
    const Entry& e = entries_[slot - 1];
    if (e.hash == hash && e.key == key) return slot - 1;
  }
}

std::uint32_t FlowTable::create(const FlowKey& key, std::uint32_t hash, const PacketInfo& p,
                                bool from_a) {
  if (active_ >= options_.max_flows) {
    expire(p.ts);
    if (active_ >= options_.max_flows) evict_oldest();
  }
  if ((active_ + 1) * 2 > slots_.size()) grow_index();
  std::uint32_t index;
  if (free_head_ != kNil) {
    index = free_head_;
    free_head_ = entries_[index].next;
    entries_[index] = Entry{};
  } else {
    index = static_cast<std::uint32_t>(entries_.size());
    if (entries_.size() == entries_.capacity()) {
      // Double, but never past the cap: memory_bytes() stays within max_flows * kBytesPerFlow.
      entries_.reserve(
          std::min(options_.max_flows, std::max<std::size_t>(64, entries_.capacity() * 2)));
    }
    entries_.emplace_back();
  }
  Entry& e = entries_[index];
  e.key = key;
  e.hash = hash;
  e.state = from_a ? kInitiatorIsA : 0;
  e.first_ts = p.ts;
  e.last_ts = p.ts;
  e.vlan_outer = p.vlan_outer;
  e.vlan_inner = p.vlan_inner;
  e.pppoe_session = p.pppoe_session;
  if (!options_.subscriber_prefixes.empty()) {
    const IpAddress src = to_ip(p.src, p.is_v6);
    const IpAddress dst = to_ip(p.dst, p.is_v6);
    // The initiator is tested against every prefix first, then the responder.
    const auto inside = [this](const IpAddress& ip) {
      for (const IpPrefix& prefix : options_.subscriber_prefixes) {
        if (prefix.contains(ip)) return true;
      }
      return false;
    };
    if (inside(src)) {
      e.subscriber_side = static_cast<std::uint8_t>(SubscriberSide::kSrc);
      if (p.has_mac) e.subscriber_mac = p.src_mac;
    } else if (inside(dst)) {
      e.subscriber_side = static_cast<std::uint8_t>(SubscriberSide::kDst);
      if (p.has_mac) e.subscriber_mac = p.dst_mac;
    }
  }
  insert_slot(index, hash);
  link_tail(index, list_for(p.proto));
  ++active_;
  return index;
}

CONNTRAIL_HOT void FlowTable::update(std::uint32_t index, const PacketInfo& p, bool from_a) noexcept {
  Entry& e = entries_[index];
  const int side = from_a ? 0 : 1;
  ++e.packets[side];
  e.bytes[side] += p.ip_bytes;
  e.tcp_flags[side] |= p.tcp_flags;
  e.first_ts = std::min(e.first_ts, p.ts);
  e.last_ts = std::max(e.last_ts, p.ts);
  auto list = static_cast<List>(e.state >> 4);
  if (p.proto == kProtoTcp && (e.state & kClosed) == 0) {
    if ((p.tcp_flags & kTcpFin) != 0) e.state |= from_a ? kFinA : kFinB;
    if ((p.tcp_flags & kTcpRst) != 0 || (e.state & (kFinA | kFinB)) == (kFinA | kFinB)) {
      e.state |= kClosed;
      list = kListClosed;
    }
  }
  // Most packets belong to the flow that is already the newest on its list.
  if (e.next == kNil && list == static_cast<List>(e.state >> 4)) return;
  unlink(index);
  link_tail(index, list);
}

void FlowTable::expire(TimestampNs now) {
  for (int l = 0; l < kLists; ++l) {
    const TimestampNs timeout = list_timeout(static_cast<List>(l));
    const EndReason reason = l == kListClosed ? EndReason::kTcpClose : EndReason::kIdle;
    while (lists_[l].head != kNil && now - entries_[lists_[l].head].last_ts > timeout) {
      export_flow(lists_[l].head, reason);
    }
  }
}

void FlowTable::flush(EndReason reason) {
  for (int l = 0; l < kLists; ++l) {
    const EndReason r = l == kListClosed ? EndReason::kTcpClose : reason;
    while (lists_[l].head != kNil) export_flow(lists_[l].head, r);
  }
}

void FlowTable::evict_oldest() {
  std::uint32_t oldest = kNil;
  for (const ListEnds& list : lists_) {
    if (list.head == kNil) continue;
    if (oldest == kNil || entries_[list.head].last_ts < entries_[oldest].last_ts)
      oldest = list.head;
  }
  if (oldest == kNil) return;
  ++evicted_;
  export_flow(oldest, EndReason::kEvicted);
}

void FlowTable::export_flow(std::uint32_t index, EndReason reason) {
  const Entry& e = entries_[index];
  const bool v6 = (e.key.flags & FlowKey::kV6) != 0;
  const bool a_first = (e.state & kInitiatorIsA) != 0;
  FlowRecord r;
  r.proto = e.key.proto;
  r.src_ip = to_ip(a_first ? e.key.a : e.key.b, v6);
  r.dst_ip = to_ip(a_first ? e.key.b : e.key.a, v6);
  r.src_port = a_first ? e.key.port_a : e.key.port_b;
  r.dst_port = a_first ? e.key.port_b : e.key.port_a;
  const int fwd = a_first ? 0 : 1;
  r.packets_fwd = e.packets[fwd];
  r.packets_rev = e.packets[1 - fwd];
  r.bytes_fwd = e.bytes[fwd];
  r.bytes_rev = e.bytes[1 - fwd];
  r.tcp_flags_fwd = e.tcp_flags[fwd];
  r.tcp_flags_rev = e.tcp_flags[1 - fwd];
  r.first_ts = e.first_ts;
  r.last_ts = e.last_ts;
  r.precision = options_.precision;
  r.end_reason = reason;
  r.vlan_outer = e.vlan_outer;
  r.vlan_inner = e.vlan_inner;
  r.pppoe_session = e.pppoe_session;
  r.interface_id = options_.interface_id;
  r.subscriber_mac = e.subscriber_mac;
  r.subscriber_side = static_cast<SubscriberSide>(e.subscriber_side);
  remove(index);
  ++exported_;
  on_export_(std::move(r));
}

void FlowTable::remove(std::uint32_t index) noexcept {
  unlink(index);
  // Backward-shift deletion: pull later members of the probe run into the hole.
  const std::size_t mask = slots_.size() - 1;
  std::size_t hole = entries_[index].hash & mask;
  while (slots_[hole] != index + 1) hole = (hole + 1) & mask;
  for (std::size_t s = (hole + 1) & mask; slots_[s] != 0; s = (s + 1) & mask) {
    const std::size_t home = entries_[slots_[s] - 1].hash & mask;
    // Move the slot at s into the hole unless its home lies cyclically in (hole, s].
    const bool stays = hole <= s ? (hole < home && home <= s) : (hole < home || home <= s);
    if (!stays) {
      slots_[hole] = slots_[s];
      hole = s;
    }
  }
  slots_[hole] = 0;
  entries_[index].next = free_head_;
  free_head_ = index;
  --active_;
}

void FlowTable::grow_index() {
  std::vector<std::uint32_t> old(slots_.size() * 2, 0);
  old.swap(slots_);
  for (std::uint32_t slot : old) {
    if (slot != 0) insert_slot(slot - 1, entries_[slot - 1].hash);
  }
}

void FlowTable::insert_slot(std::uint32_t index, std::uint32_t hash) noexcept {
  const std::size_t mask = slots_.size() - 1;
  std::size_t s = hash & mask;
  while (slots_[s] != 0) s = (s + 1) & mask;
  slots_[s] = index + 1;
}

CONNTRAIL_HOT void FlowTable::link_tail(std::uint32_t index, List list) noexcept {
  Entry& e = entries_[index];
  e.state = static_cast<std::uint8_t>((e.state & 0x0f) | (list << 4));
  e.prev = lists_[list].tail;
  e.next = kNil;
  if (lists_[list].tail != kNil) {
    entries_[lists_[list].tail].next = index;
  } else {
    lists_[list].head = index;
  }
  lists_[list].tail = index;
}

CONNTRAIL_HOT void FlowTable::unlink(std::uint32_t index) noexcept {
  Entry& e = entries_[index];
  ListEnds& list = lists_[e.state >> 4];
  if (e.prev != kNil) {
    entries_[e.prev].next = e.next;
  } else {
    list.head = e.next;
  }
  if (e.next != kNil) {
    entries_[e.next].prev = e.prev;
  } else {
    list.tail = e.prev;
  }
  e.prev = kNil;
  e.next = kNil;
}

}  // namespace conntrail::capture
