// storage/query/shard_reader.h — reading one shard, open or sealed, for a query.
//
// Open shards are opened read-only through WAL, so a reader sees the batches
// committed so far and never blocks the writer; candidate blocks are chosen by
// time range and each block's Bloom filter. Sealed shards are opened
// immutable (no locks); candidates come from the key ranges and posting-list
// pages (seal/sealed_format.h). Either way only candidate blocks are decoded,
// and each match is handed on one by one: memory is bounded by one block
// plus the caller's sort buffer. Decoders and buffers are per thread and
// re-used across shards (a zstd context costs more to create than a block
// costs to decode).
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "core/capture_counters.h"
#include "core/flow_record.h"
#include "core/result.h"
#include "core/session_record.h"
#include "storage/codec/flow_block.h"
#include "storage/query/query.h"
#include "storage/shard/shard_name.h"
#include "storage/sqlite/sqlite.h"

namespace conntrail::storage {

class ShardReader {
 public:
  static Result<ShardReader> open(const ShardFile& file);

  ShardForm form() const noexcept { return form_; }
  const ShardPeriod& period() const noexcept { return period_; }
  Result<CaptureCounters> counters();

  // Calls sink for each record of the shard that q.matches(), block by block
  // (storage order). Records with first_ts < earliest_start cannot match and
  // their blocks are skipped. Returns false when sink asked to stop.
  Result<bool> scan(const Query& q, TimestampNs earliest_start,
                    const std::function<bool(FlowRecord&&)>& sink, std::uint64_t& blocks_read);

  // Session rows whose address range holds `address` (any time); the caller filters.
  Result<std::vector<SessionRecord>> sessions_for_address(const IpAddress& address);
  Result<std::vector<SessionRecord>> sessions_for_subscriber(std::string_view subscriber);
  // Session rows whose address range overlaps `prefix` (any time); the caller filters.
  Result<std::vector<SessionRecord>> sessions_overlapping(const IpPrefix& prefix);

 private:
  ShardReader(sql::Db db, ShardForm form, ShardPeriod period) noexcept
      : db_(std::move(db)), form_(form), period_(period) {}
  Result<std::vector<std::int64_t>> sealed_candidates(const Query& q);
  Result<void> postings(std::string_view table, std::string_view lo, std::string_view hi,
                        std::vector<std::int64_t>& out);

  sql::Db db_;
  ShardForm form_;
  ShardPeriod period_;
};

}  // namespace conntrail::storage
