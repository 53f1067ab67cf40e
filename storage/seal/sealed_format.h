// storage/seal/sealed_format.h — the compact, indexed, read-only form of a shard.
//
// Chosen by measurement (docs/STORAGE.md "Choosing the sealed form"):
//  - Records are sorted by (subscriber-side address, first_ts) — the
//    initiator when the side is unknown — and cut into blocks of
//    SealOptions::block_rows, stored as compressed columns (codec/flow_block.h).
//    One subscriber's hour then sits in one or two blocks, and the sorted
//    address column compresses to almost nothing.
//  - blocks(key_lo, key_hi) — the range of sort-key addresses in each block —
//    with an index on (key_hi, key_lo) answers "which blocks hold address A as
//    sort key" without touching block data.
//  - The other endpoint (and subscriber ids) are indexed by posting lists
//    packed into pages: ip_pages / subscriber_pages (first_key PRIMARY KEY,
//    data = zstd(prefix-compressed keys, block-id deltas)). One B-tree seek
//    finds the page; one small decode finds the key. A row per key would cost
//    ~25 bytes of SQLite record overhead per distinct address.
//
// Invariant: every (address, block) pair where the address is either endpoint
// of a record in the block is findable through the key range or ip_pages;
// every non-empty subscriber id through subscriber_pages. A query never needs
// a full scan of the blocks to answer an address, address+port or subscriber
// selector.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "storage/codec/zstd_codec.h"

namespace conntrail::storage {

extern const std::string_view kSealedSchemaSql;
extern const std::string_view kSealedIndexSql;  // run after the blocks are written

// One key's posting list.
struct PostingEntry {
  std::string key;                    // 16 address bytes, or subscriber id text
  std::vector<std::uint32_t> blocks;  // ascending block ids
};

// Encodes entries (sorted by key, unique) as one page; appends to out.
Result<void> encode_index_page(std::span<const PostingEntry> entries, codec::Compressor& zstd,
                               std::vector<std::uint8_t>& out);
// Appends to `blocks` the block ids of every key k of the page with
// lo <= k <= hi, without materialising the other entries (the query path).
Result<void> scan_index_page(std::span<const std::uint8_t> page, codec::Decompressor& zstd,
                             std::string_view lo, std::string_view hi,
                             std::vector<std::int64_t>& blocks);
// Decodes a page; entries replaced.
Result<void> decode_index_page(std::span<const std::uint8_t> page, codec::Decompressor& zstd,
                               std::vector<PostingEntry>& entries);

}  // namespace conntrail::storage
