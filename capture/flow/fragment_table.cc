#include "capture/flow/fragment_table.h"

#include <algorithm>
#include <cstring>
#include <string_view>
#include <utility>

namespace conntrail::capture {

std::size_t FragmentTable::KeyHash::operator()(const Key& k) const noexcept {
  std::size_t h = std::hash<std::string_view>{}(
      std::string_view(reinterpret_cast<const char*>(k.src.data()), k.src.size()));
  h ^= std::hash<std::string_view>{}(
           std::string_view(reinterpret_cast<const char*>(k.dst.data()), k.dst.size())) +
       0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h ^ (std::size_t{k.id} * 0x9e3779b97f4a7c15ULL) ^ (std::size_t{k.proto} << 56) ^ k.v6;
}

namespace {
constexpr std::size_t kAllocatorHeader = 16;  // glibc malloc: size word, 16-byte alignment
}  // namespace

std::size_t FragmentTable::bytes_per_datagram() noexcept {
  // libstdc++ node: next pointer, the value, the cached hash (KeyHash is not
  // marked fast); rounded up to the allocator's 16-byte granule.
  const std::size_t node = sizeof(void*) + sizeof(std::pair<const Key, Datagram>) + sizeof(std::size_t);
  return (node + kAllocatorHeader + 15) / 16 * 16 + kAllocatorHeader;
}

FragmentTable::FragmentTable(FragmentTableOptions options) : options_(options) {
  // The bucket array is reserved once for every datagram the caps allow, so it
  // never grows (a rehash would briefly hold two arrays).
  std::size_t cap = options_.max_datagrams;
  const std::size_t per = bytes_per_datagram() + sizeof(void*);
  cap = std::min(cap, options_.max_bytes / per);
  datagrams_.reserve(cap);
  datagram_cap_ = cap;
}

std::size_t FragmentTable::memory_bytes() const noexcept {
  return datagrams_.bucket_count() * sizeof(void*) + datagrams_.size() * bytes_per_datagram() +
         waiting_slots_ * kBytesPerWaiting;
}

bool FragmentTable::room_for_datagram() const noexcept {
  return datagrams_.size() < datagram_cap_ &&
         memory_bytes() + bytes_per_datagram() <= options_.max_bytes;
}

bool FragmentTable::wait(Datagram& d, const PacketInfo& fragment) {
  if (pending_ >= options_.max_pending) return false;
  const std::size_t capacity = d.waiting.capacity();
  if (d.waiting.size() == capacity) {
    // Grow by doubling (amortized), but only within the byte cap; at the cap,
    // grow by one slot if that still fits.
    std::size_t grown = std::max<std::size_t>(1, capacity * 2);
    const std::size_t used = memory_bytes();
    if (used + (grown - capacity) * kBytesPerWaiting > options_.max_bytes) grown = capacity + 1;
    if (used + (grown - capacity) * kBytesPerWaiting > options_.max_bytes) return false;
    d.waiting.reserve(grown);
    waiting_slots_ += d.waiting.capacity() - capacity;
  }
  d.waiting.push_back(fragment);
  ++pending_;
  return true;
}

void FragmentTable::forget_waiting(Datagram& d) noexcept {
  pending_ -= d.waiting.size();
  waiting_slots_ -= d.waiting.capacity();
  std::vector<PacketInfo>().swap(d.waiting);
}

FragmentTable::Key FragmentTable::key_of(const PacketInfo& p) noexcept {
  return Key{p.src, p.dst, p.fragment_id, p.proto, p.is_v6};
}

void FragmentTable::on_first(const PacketInfo& first, const Release& release) {
  const Key key = key_of(first);
  auto it = datagrams_.find(key);
  if (it == datagrams_.end()) {
    if (!room_for_datagram()) return;  // later fragments: untracked
    it = datagrams_.emplace(key, Datagram{}).first;
    it->second.created = first.ts;
  }
  Datagram& d = it->second;
  d.have_first = true;
  d.src_port = first.src_port;
  d.dst_port = first.dst_port;
  d.one_way = first.one_way;
  for (PacketInfo& f : d.waiting) {
    f.src_port = d.src_port;
    f.dst_port = d.dst_port;
    f.one_way = d.one_way;
    release(f, false);
  }
  forget_waiting(d);
}

bool FragmentTable::on_later(PacketInfo& fragment, bool* untracked) {
  *untracked = false;
  const Key key = key_of(fragment);
  auto it = datagrams_.find(key);
  if (it != datagrams_.end() && it->second.have_first) {
    fragment.src_port = it->second.src_port;
    fragment.dst_port = it->second.dst_port;
    fragment.one_way = it->second.one_way;
    return true;
  }
  if (pending_ >= options_.max_pending || (it == datagrams_.end() && !room_for_datagram())) {
    *untracked = true;
    return true;  // ports stay 0/0
  }
  if (it == datagrams_.end()) {
    it = datagrams_.emplace(key, Datagram{}).first;
    it->second.created = fragment.ts;
  }
  if (!wait(it->second, fragment)) {
    // No room for one more waiting fragment. A datagram just made for it and
    // left empty is forgotten again, so it cannot hold memory for nothing.
    if (it->second.waiting.empty() && !it->second.have_first) datagrams_.erase(it);
    *untracked = true;
    return true;
  }
  return false;
}

void FragmentTable::expire(TimestampNs now, const Release& release) {
  for (auto it = datagrams_.begin(); it != datagrams_.end();) {
    if (now - it->second.created <= options_.timeout) {
      ++it;
      continue;
    }
    for (const PacketInfo& f : it->second.waiting) release(f, true);
    forget_waiting(it->second);
    it = datagrams_.erase(it);
  }
}

void FragmentTable::flush(const Release& release) {
  // Orphans in arrival order, so flows keep their first packet's direction.
  std::vector<const PacketInfo*> all;
  all.reserve(pending_);
  for (const auto& [key, d] : datagrams_) {
    for (const PacketInfo& f : d.waiting) all.push_back(&f);
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const PacketInfo* a, const PacketInfo* b) { return a->ts < b->ts; });
  for (const PacketInfo* f : all) release(*f, true);
  datagrams_.clear();
  pending_ = 0;
  waiting_slots_ = 0;
}

}  // namespace conntrail::capture
