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
// Appends the decoded records to `out`.
Result<void> decode_flow_columns(std::span<const std::uint8_t> raw, std::vector<FlowRecord>& out);

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
  // Replaces `out` with the block's records.
  Result<void> decode(std::span<const std::uint8_t> block, std::vector<FlowRecord>& out);

 private:
  Decompressor zstd_;
  std::vector<std::uint8_t> raw_;
};

}  // namespace conntrail::storage::codec
