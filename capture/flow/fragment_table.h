// capture/flow/fragment_table.h — gives IP fragments the ports of their datagram.
//
// Only a datagram's first fragment (offset 0) carries the transport header, so
// later fragments learn their ports here, keyed by (src, dst, protocol, IP id)
// as in RFC 791 / RFC 8200 reassembly — without reassembling: each fragment
// stays one packet with its own IP length. Fragments that arrive before their
// first fragment wait (bounded time and count) and are released, ports filled,
// when it comes; if it never does they are released with ports 0/0 as
// orphans. Memory is capped twice: by count (max_datagrams, max_pending) and
// by bytes (max_bytes, against memory_bytes(), the table's own accounting of
// its heap: hash nodes with their allocator headers, the bucket array reserved
// up front, and every waiting vector's capacity). A fragment that would pass
// either cap is handed on untracked (counted), never buffered.
// Not on the hot path: only fragments come here. Single-threaded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <unordered_map>
#include <vector>

#include "capture/decode/packet_info.h"

namespace conntrail::capture {

struct FragmentTableOptions {
  TimestampNs timeout = 30 * kNsPerSecond;  // Linux ipfrag_time: wait and remember this long
  std::size_t max_datagrams = 16384;        // datagrams remembered at once
  std::size_t max_pending = 4096;           // later fragments waiting for their first
  std::size_t max_bytes = 4 << 20;          // hard cap on memory_bytes()
};

class FragmentTable {
 public:
  // Receives fragments released to the flow table; `orphan` when the first
  // fragment never came (ports 0/0).
  using Release = std::function<void(const PacketInfo& fragment, bool orphan)>;

  explicit FragmentTable(FragmentTableOptions options);

  // What one remembered datagram costs at most in memory_bytes() terms: its
  // hash node (key, state, empty vector, link and cached hash) plus an
  // allocator header for the node and one for its waiting vector.
  static std::size_t bytes_per_datagram() noexcept;
  // What one waiting fragment's slot costs (a PacketInfo in a vector).
  static constexpr std::size_t kBytesPerWaiting = sizeof(PacketInfo);

  // A first fragment: remembers its ports and releases the fragments that
  // waited for it (before the caller accounts the first fragment itself).
  void on_first(const PacketInfo& first, const Release& release);
  // A later fragment: fills in the datagram's ports and returns true, or keeps
  // it waiting and returns false. Sets *untracked when the cap was hit (the
  // fragment is then returned with ports 0/0 and true).
  bool on_later(PacketInfo& fragment, bool* untracked);
  // Forgets datagrams older than the timeout; waiting fragments become orphans.
  void expire(TimestampNs now, const Release& release);
  // Releases every waiting fragment as an orphan and forgets everything.
  void flush(const Release& release);

  std::size_t datagrams() const noexcept { return datagrams_.size(); }
  std::size_t pending() const noexcept { return pending_; }
  // The table's heap by its own accounting; never above options.max_bytes
  // (the bucket array, reserved at construction, is counted from the start).
  std::size_t memory_bytes() const noexcept;

 private:
  struct Key {
    Address16 src;
    Address16 dst;
    std::uint32_t id;
    std::uint8_t proto;
    bool v6;
    friend bool operator==(const Key&, const Key&) = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const noexcept;
  };
  struct Datagram {
    TimestampNs created = 0;
    bool have_first = false;
    std::uint16_t src_port = 0;
    std::uint16_t dst_port = 0;
    bool one_way = false;
    std::vector<PacketInfo> waiting;
  };
  static Key key_of(const PacketInfo& p) noexcept;
  bool room_for_datagram() const noexcept;
  // Appends to d.waiting unless that passes a cap; keeps waiting_slots_ exact.
  bool wait(Datagram& d, const PacketInfo& fragment);
  void forget_waiting(Datagram& d) noexcept;

  FragmentTableOptions options_;
  std::size_t datagram_cap_ = 0;  // max_datagrams, lowered to what max_bytes allows
  std::unordered_map<Key, Datagram, KeyHash> datagrams_;
  std::size_t pending_ = 0;
  std::size_t waiting_slots_ = 0;  // sum of waiting.capacity() over all datagrams
};

}  // namespace conntrail::capture
