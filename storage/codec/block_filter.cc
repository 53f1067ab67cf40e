// storage/codec/block_filter.cc — see block_filter.h.
#include "storage/codec/block_filter.h"

#include <algorithm>
#include <bit>

namespace conntrail::storage::codec {
namespace {

constexpr int kProbes = 4;
constexpr std::uint64_t kAddressSeed = 0x9e3779b97f4a7c15ULL;
constexpr std::uint64_t kSubscriberSeed = 0xc2b2ae3d27d4eb4fULL;

std::uint64_t mix(std::uint64_t x) noexcept {  // splitmix64 finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

std::uint64_t address_hash(const std::array<std::uint8_t, 16>& bytes) noexcept {
  return hash_bytes(bytes, kAddressSeed);
}
std::uint64_t address_hash(const IpAddress& a) noexcept { return address_hash(a.bytes()); }

std::uint64_t subscriber_hash(std::string_view s) noexcept {
  return hash_bytes({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}, kSubscriberSeed);
}

// Sets the probe bits of `h` in a filter of `bits` bits (a power of two).
void set_bits(std::uint8_t* p, std::size_t bits, std::uint64_t h) noexcept {
  const std::uint64_t h2 = (h >> 32) | 1;
  for (int k = 0; k < kProbes; ++k) {
    const std::uint64_t bit = (h + k * h2) & (bits - 1);
    p[bit >> 3] |= static_cast<std::uint8_t>(1u << (bit & 7));
  }
}

}  // namespace

std::uint64_t hash_bytes(std::span<const std::uint8_t> bytes, std::uint64_t seed) noexcept {
  std::uint64_t h = seed ^ (bytes.size() * 0xff51afd7ed558ccdULL);
  std::size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    std::uint64_t w = 0;
    for (int k = 0; k < 8; ++k) w |= static_cast<std::uint64_t>(bytes[i + k]) << (8 * k);
    h = mix(h ^ w);
  }
  // The tail is shorter than 8 bytes; `k < 8` says so to the optimiser too
  // (GCC 12 -O3 otherwise warns of a shift past 64 bits it cannot rule out).
  std::uint64_t w = 0;
  const std::size_t rest = bytes.size() - i;
  for (std::size_t k = 0; k < rest && k < 8; ++k) {
    w |= static_cast<std::uint64_t>(bytes[i + k]) << (8 * k);
  }
  return mix(h ^ w ^ 0x5555);
}

KeyFilterBuilder::KeyFilterBuilder(std::size_t distinct_keys)
    : bits_(std::bit_ceil(std::max<std::size_t>(64, distinct_keys * 8)) / 8, 0) {}

void KeyFilterBuilder::add_address(const std::array<std::uint8_t, 16>& address_bytes) noexcept {
  set_bits(bits_.data(), bits_.size() * 8, address_hash(address_bytes));
}

void KeyFilterBuilder::add_subscriber(std::string_view subscriber) noexcept {
  set_bits(bits_.data(), bits_.size() * 8, subscriber_hash(subscriber));
}

void build_block_filter(std::span<const FlowRecord> records, std::vector<std::uint8_t>& out) {
  // Sized for every key occurrence (duplicates set the same bits): no set of
  // distinct keys is needed, which keeps this off the ingest profile.
  const std::size_t keys = records.size() * 3;
  const std::size_t bits = std::bit_ceil(std::max<std::size_t>(64, keys * 5));
  const std::size_t base = out.size();
  out.resize(base + bits / 8, 0);
  auto* p = out.data() + base;
  auto set = [&](std::uint64_t h) { set_bits(p, bits, h); };
  const std::string* last_subscriber = nullptr;
  for (const auto& f : records) {
    set(address_hash(f.src_ip));
    set(address_hash(f.dst_ip));
    if (!f.subscriber.empty() && (last_subscriber == nullptr || *last_subscriber != f.subscriber)) {
      set(subscriber_hash(f.subscriber));
      last_subscriber = &f.subscriber;
    }
  }
}

bool BlockFilterView::probe(std::uint64_t h) const noexcept {
  const std::size_t bits = bytes_.size() * 8;
  if (bits < 64 || !std::has_single_bit(bits)) return true;
  const std::uint64_t h2 = (h >> 32) | 1;
  for (int k = 0; k < kProbes; ++k) {
    const std::uint64_t bit = (h + k * h2) & (bits - 1);
    if ((bytes_[bit >> 3] & (1u << (bit & 7))) == 0) return false;
  }
  return true;
}

bool BlockFilterView::may_contain(const IpAddress& address) const noexcept {
  return probe(address_hash(address));
}

bool BlockFilterView::may_contain_subscriber(std::string_view subscriber) const noexcept {
  return probe(subscriber_hash(subscriber));
}

}  // namespace conntrail::storage::codec
