// storage/codec/flow_block.h — a block of flow records as compressed columns.
//
// Both shard forms keep flows as blocks: the open shard appends one block per
// batch (fast zstd level), the sealed shard re-cuts time-sorted blocks of
// kSealedBlockRows (stronger level). Columns are laid out one after another
// (all first_ts deltas, then all durations, then all source addresses, ...)
// before zstd, because values of one field resemble each other and compress
// far better side by side than interleaved per record (docs/STORAGE.md has
// the measurements).
//
// Invariants: decode(encode(records)) == records for every field of
// FlowRecord; decode never reads outside its input and never allocates more
// than kMaxBlockRows records, whatever the bytes say (kCorrupt instead).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "core/flow_record.h"
#include "core/result.h"
#include "storage/codec/zstd_codec.h"

namespace conntrail::storage::codec {

inline constexpr std::size_t kMaxBlockRows = 65536;
inline constexpr std::uint8_t kFlowBlockVersion = 1;

// Raw column layout (no compression); appends to `out`.
void encode_flow_columns(std::span<const FlowRecord> records, std::vector<std::uint8_t>& out);
// Keeps a row (by its endpoints) during decoding; rows it refuses are never
// materialised as FlowRecords (queries decode a block to find a few rows).
using RowFilter = std::function<bool(const IpAddress& src, const IpAddress& dst)>;

// Appends the decoded records (those `keep` accepts, all when null) to `out`;
// on error `out` holds nothing new.
Result<void> decode_flow_columns(std::span<const std::uint8_t> raw, std::vector<FlowRecord>& out,
                                 const RowFilter* keep = nullptr);

// encode_flow_columns + zstd, re-using the caller's buffers.
class FlowBlockEncoder {
 public:
  explicit FlowBlockEncoder(int zstd_level) : zstd_(zstd_level) {}
  Result<void> encode(std::span<const FlowRecord> records, std::vector<std::uint8_t>& out);

 private:
  Compressor zstd_;
  std::vector<std::uint8_t> raw_;
};

class FlowBlockDecoder {
 public:
  // Replaces `out` with the block's records (those `keep` accepts).
  Result<void> decode(std::span<const std::uint8_t> block, std::vector<FlowRecord>& out,
                      const RowFilter* keep = nullptr);

 private:
  Decompressor zstd_;
  std::vector<std::uint8_t> raw_;
};

}  // namespace conntrail::storage::codec
