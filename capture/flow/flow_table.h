// capture/flow/flow_table.h — bidirectional flows, built packet by packet.
//
// Single-writer (the capture thread of one interface), so no locks.
//
// Layout (for speed and a memory bound): flows live in one vector of 112-byte
// entries, found through an open-addressing index of 4-byte slots (linear
// probing, load <= 1/2, backward-shift deletion, so no tombstones). Every
// flow is on exactly one of five LRU lists — TCP, UDP, ICMP, other, and
// closed TCP — ordered by last packet, so the oldest flow of each list is at
// its head and expiry is O(expired flows). Nothing allocates per packet: the
// vectors grow by doubling up to max_flows and are reused through a free list.
//
// Rules (docs/FLOWS.md is the contract; all times are packet times):
//  | state of the flow for a new packet            | effect                            |
//  |-----------------------------------------------|-----------------------------------|
//  | none                                          | new flow, src = packet sender     |
//  | open, ts - last > idle(proto)                 | export (idle), new flow           |
//  | open, ts - first >= active(proto)             | export (active), new flow         |
//  | a packet counter would overflow 2^32-1        | export (active), new flow         |
//  | closed (RST, or FIN both ways), bare SYN      | export (tcp-close), new flow      |
//  | closed, ts - last > tcp_close_linger          | export (tcp-close), new flow      |
//  | closed, otherwise (late ACK, retransmission)  | counted in the closed flow        |
//  | table full (max_flows) and a new flow needed  | export oldest (evicted), counted  |
// expire(now) exports open flows idle past their timeout (end reason idle)
// and closed flows past the linger (tcp-close). A timestamp that goes
// backwards never splits a flow: first/last are min/max packet times.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "capture/decode/packet_info.h"
#include "capture/flow/flow_key.h"
#include "core/flow_record.h"
#include "core/ip_address.h"

namespace conntrail::capture {

struct ProtocolTimeouts {
  TimestampNs idle = 60 * kNsPerSecond;
  TimestampNs active = 300 * kNsPerSecond;
};

// Defaults are Zeek's inactivity timeouts (tcp 5 min, udp/icmp/other 1 min)
// and a 5-minute active timeout; the close linger is Zeek's tcp_close_delay.
struct FlowTimeouts {
  ProtocolTimeouts tcp{300 * kNsPerSecond, 300 * kNsPerSecond};
  ProtocolTimeouts udp{60 * kNsPerSecond, 300 * kNsPerSecond};
  ProtocolTimeouts icmp{60 * kNsPerSecond, 300 * kNsPerSecond};  // ICMP and ICMPv6
  ProtocolTimeouts other{60 * kNsPerSecond, 300 * kNsPerSecond};
  TimestampNs tcp_close_linger = 5 * kNsPerSecond;
};

// The longest a record can take to be exported after its first packet: its
// active timeout, then at most one idle timeout of silence, the TCP close
// linger and one sweep interval. Storage keeps a shard open this long past its
// period, so no record arrives for a shard that is already sealed.
TimestampNs max_export_delay(const FlowTimeouts& timeouts) noexcept;

struct FlowTableOptions {
  FlowTimeouts timeouts;
  std::size_t max_flows = 1 << 20;  // hard cap; see flows_for_memory()
  bool key_vlan = false;            // VLAN ids become part of the key
  std::vector<IpPrefix> subscriber_prefixes;
  TimePrecision precision = TimePrecision::kMicro;  // copied into every record
  std::uint16_t interface_id = 0;                   // copied into every record
};

class FlowTable {
 public:
  using ExportFn = std::function<void(FlowRecord&&)>;

  // Bytes one flow of max_flows costs at most: its entry plus its share of the
  // index (at most 4 slots per flow: the slot count is the power of two at or
  // above 2 * max_flows). At a power-of-two max_flows it is 112 + 8.
  static constexpr std::size_t kBytesPerFlow = 112 + 4 * sizeof(std::uint32_t);
  // The largest max_flows whose entries and index fit in `bytes` (at least 1).
  static std::size_t flows_for_memory(std::size_t bytes) noexcept;

  FlowTable(FlowTableOptions options, ExportFn on_export);

  // Accounts one decoded packet (ports final, fragments attributed).
  void add(const PacketInfo& packet);
  // Accounts packets in order, exactly as add() one by one would, but first
  // computes every key and prefetches its index slot and entry, so the cache
  // misses of a batch overlap instead of queueing (the table is larger than
  // the CPU caches at a few 10k flows).
  void add_batch(std::span<const PacketInfo> packets);
  static constexpr std::size_t kMaxBatch = 32;
  // Exports every flow whose idle timeout (or close linger) has passed at `now`.
  void expire(TimestampNs now);
  // Exports every flow: closed TCP flows as tcp-close, the rest with `reason`.
  void flush(EndReason reason = EndReason::kShutdown);

  std::size_t active() const noexcept { return active_; }
  std::uint64_t exported() const noexcept { return exported_; }
  std::uint64_t evicted() const noexcept { return evicted_; }
  // Bytes held by the entries and the index (capacity, not just size).
  std::size_t memory_bytes() const noexcept;

 private:
  static constexpr std::uint32_t kNil = 0xffffffffu;
  enum List : std::uint8_t { kListTcp, kListUdp, kListIcmp, kListOther, kListClosed, kLists };

  // One flow. Statistics are per endpoint of the canonical key (a, b), indexed
  // by side (0: sent by a, 1: by b; indexed rather than branched on, since the
  // direction of consecutive packets is unpredictable); the kInitiatorIsA bit
  // orients them into fwd/rev on export.
  struct Entry {
    FlowKey key;             // 44
    std::uint8_t state = 0;  // low nibble: kInitiatorIsA|kFinA|kFinB|kClosed; high: List
    std::uint8_t tcp_flags[2] = {};  // [0] endpoint a, [1] endpoint b (as below)
    std::uint8_t subscriber_side = 0;  // 48
    std::uint16_t vlan_outer = kNoVlan;
    std::uint16_t vlan_inner = kNoVlan;
    std::uint16_t pppoe_session = 0;
    MacAddress subscriber_mac{};  // 60
    std::uint32_t hash = 0;       // 64
    std::uint32_t prev = kNil;    // LRU list links; `next` also chains the free list
    std::uint32_t next = kNil;    // 72
    std::uint32_t packets[2] = {};  // 80
    std::uint64_t bytes[2] = {};    // 96
    TimestampNs first_ts = 0;
    TimestampNs last_ts = 0;  // 112
  };
  struct ListEnds {
    std::uint32_t head = kNil;
    std::uint32_t tail = kNil;
  };

  void add_keyed(const PacketInfo& p, const FlowKey& key, std::uint32_t hash, bool from_a);
  std::uint32_t find(const FlowKey& key, std::uint32_t hash) const noexcept;
  std::uint32_t create(const FlowKey& key, std::uint32_t hash, const PacketInfo& p, bool from_a);
  void update(std::uint32_t index, const PacketInfo& p, bool from_a) noexcept;
  bool split_reason(const Entry& e, const PacketInfo& p, bool from_a,
                    EndReason* reason) const noexcept;
  void export_flow(std::uint32_t index, EndReason reason);
  void remove(std::uint32_t index) noexcept;
  void evict_oldest();
  void grow_index();
  void insert_slot(std::uint32_t index, std::uint32_t hash) noexcept;
  void link_tail(std::uint32_t index, List list) noexcept;
  void unlink(std::uint32_t index) noexcept;
  static List list_for(std::uint8_t proto) noexcept;
  TimestampNs list_timeout(List list) const noexcept;

  FlowTableOptions options_;
  // Timeouts by list (kListTcp..kListOther): looked up, not switched on, per packet.
  ProtocolTimeouts timeouts_[kListOther + 1];
  ExportFn on_export_;
  std::vector<Entry> entries_;
  std::vector<std::uint32_t> slots_;  // entry index + 1; 0 = empty
  std::uint32_t free_head_ = kNil;
  ListEnds lists_[kLists];
  std::size_t active_ = 0;
  std::uint64_t exported_ = 0;
  std::uint64_t evicted_ = 0;
};

}  // namespace conntrail::capture
