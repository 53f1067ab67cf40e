// capture/flow/fragment_table.h — gives IP fragments the ports of their datagram.
//
// Only a datagram's first fragment (offset 0) carries the transport header, so
// later fragments learn their ports here, keyed by (src, dst, protocol, IP id)
// as in RFC 791 / RFC 8200 reassembly — without reassembling: each fragment
// stays one packet with its own IP length. Fragments that arrive before their
// first fragment wait (bounded time and count) and are released, ports filled,
// when it comes; if it never does they are released with ports 0/0 as
// orphans. Memory is capped: at max_datagrams / max_pending a fragment is
// passed through untracked (counted), never buffered.
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
};

class FragmentTable {
 public:
  // Receives fragments released to the flow table; `orphan` when the first
  // fragment never came (ports 0/0).
  using Release = std::function<void(const PacketInfo& fragment, bool orphan)>;

  explicit FragmentTable(FragmentTableOptions options) : options_(options) {}

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

  FragmentTableOptions options_;
  std::unordered_map<Key, Datagram, KeyHash> datagrams_;
  std::size_t pending_ = 0;
};

}  // namespace conntrail::capture
