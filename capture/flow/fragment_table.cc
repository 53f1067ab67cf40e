#include "capture/flow/fragment_table.h"

#include <algorithm>
#include <cstring>
#include <string_view>

namespace conntrail::capture {

std::size_t FragmentTable::KeyHash::operator()(const Key& k) const noexcept {
  std::size_t h = std::hash<std::string_view>{}(
      std::string_view(reinterpret_cast<const char*>(k.src.data()), k.src.size()));
  h ^= std::hash<std::string_view>{}(
           std::string_view(reinterpret_cast<const char*>(k.dst.data()), k.dst.size())) +
       0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h ^ (std::size_t{k.id} * 0x9e3779b97f4a7c15ULL) ^ (std::size_t{k.proto} << 56) ^ k.v6;
}

FragmentTable::Key FragmentTable::key_of(const PacketInfo& p) noexcept {
  return Key{p.src, p.dst, p.fragment_id, p.proto, p.is_v6};
}

void FragmentTable::on_first(const PacketInfo& first, const Release& release) {
  const Key key = key_of(first);
  auto it = datagrams_.find(key);
  if (it == datagrams_.end()) {
    if (datagrams_.size() >= options_.max_datagrams) return;  // later fragments: untracked
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
  pending_ -= d.waiting.size();
  d.waiting.clear();
  d.waiting.shrink_to_fit();
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
  if (pending_ >= options_.max_pending ||
      (it == datagrams_.end() && datagrams_.size() >= options_.max_datagrams)) {
    *untracked = true;
    return true;  // ports stay 0/0
  }
  if (it == datagrams_.end()) {
    it = datagrams_.emplace(key, Datagram{}).first;
    it->second.created = fragment.ts;
  }
  it->second.waiting.push_back(fragment);
  ++pending_;
  return false;
}

void FragmentTable::expire(TimestampNs now, const Release& release) {
  for (auto it = datagrams_.begin(); it != datagrams_.end();) {
    if (now - it->second.created <= options_.timeout) {
      ++it;
      continue;
    }
    for (const PacketInfo& f : it->second.waiting) release(f, true);
    pending_ -= it->second.waiting.size();
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
}

}  // namespace conntrail::capture
