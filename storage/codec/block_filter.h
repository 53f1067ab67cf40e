// storage/codec/block_filter.h — a Bloom filter over one block's addresses and subscribers.
//
// Open-shard blocks carry one so that an address or subscriber query decodes
// only the blocks that may hold it (the sealed form has an exact index
// instead). Sized at 15 bits per record (>= ~8 bits per distinct key) and 4 probes: a few % false
// positives; never a false negative. Keys are the 16 address bytes of either
// endpoint and the subscriber string (domain-separated so they cannot collide).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/flow_record.h"

namespace conntrail::storage::codec {

std::uint64_t hash_bytes(std::span<const std::uint8_t> bytes, std::uint64_t seed) noexcept;

// Serialized filter for `records`; appends to out.
void build_block_filter(std::span<const FlowRecord> records, std::vector<std::uint8_t>& out);

// A filter over a known number of distinct keys — a sealed shard's summary
// (storage/summary/shard_summary.h) — with the layout and probes above, so
// BlockFilterView reads it: 8–16 bits per key (a power of two in total), a
// few % false positives at worst.
class KeyFilterBuilder {
 public:
  explicit KeyFilterBuilder(std::size_t distinct_keys);
  void add_address(const std::array<std::uint8_t, 16>& address_bytes) noexcept;
  void add_subscriber(std::string_view subscriber) noexcept;
  std::vector<std::uint8_t> take() noexcept { return std::move(bits_); }

 private:
  std::vector<std::uint8_t> bits_;
};

// A filter as stored; an empty or malformed filter matches everything (so
// damage costs speed, never answers).
class BlockFilterView {
 public:
  explicit BlockFilterView(std::span<const std::uint8_t> bytes) noexcept : bytes_(bytes) {}
  bool may_contain(const IpAddress& address) const noexcept;
  bool may_contain_subscriber(std::string_view subscriber) const noexcept;

 private:
  bool probe(std::uint64_t h) const noexcept;
  std::span<const std::uint8_t> bytes_;
};

}  // namespace conntrail::storage::codec
