// storage/shard/open_shard.h — the writer's handle on a shard that is still being written.
//
// Form: WAL journal, synchronous=NORMAL (a committed batch survives a process
// kill; power loss may lose the last batches but never corrupts — SQLite WAL
// guarantee), flows appended as compressed blocks with a Bloom filter each,
// no secondary index on flows (they are built at seal). Readers open the same
// file read-only and see committed batches without blocking the writer.
//
// Invariants: only the writer thread holds an OpenShard; every mutation
// happens inside begin()..commit(); a failed commit leaves the file as of the
// previous commit (the batch is retried or counted by the caller).
#pragma once

#include <filesystem>
#include <optional>
#include <span>
#include <vector>

#include "core/capture_counters.h"
#include "core/flow_record.h"
#include "core/result.h"
#include "core/session_record.h"
#include "storage/codec/flow_block.h"
#include "storage/shard/shard_name.h"
#include "storage/sqlite/sqlite.h"

namespace conntrail::storage {

// Rows per open-shard block (a batch larger than this is cut into several).
inline constexpr std::size_t kOpenBlockRows = 4096;

extern const std::string_view kOpenSchemaSql;

class OpenShard {
 public:
  // Opens the shard at `path` for `period`, creating file, directories and
  // schema when missing. kCorrupt/kInvalidArgument when an existing file's meta
  // names another period or is not an open shard.
  static Result<OpenShard> open(const std::filesystem::path& path, const ShardPeriod& period);

  const ShardPeriod& period() const noexcept { return period_; }
  const std::filesystem::path& path() const noexcept { return db_.path(); }

  Result<void> begin();
  Result<void> commit();
  void rollback() noexcept;

  // Inside begin()..commit():
  Result<void> append_flows(std::span<const FlowRecord> flows, codec::FlowBlockEncoder& encoder);
  Result<void> add_session(const SessionRecord& session);
  Result<void> add_counters(const CaptureCounters& counters);

  // Folds the WAL back into the main file (before sealing or closing).
  Result<void> checkpoint();

 private:
  OpenShard(sql::Db db, ShardPeriod period, sql::Statement insert_block,
            sql::Statement insert_session, sql::Statement add_counters) noexcept
      : db_(std::move(db)),
        period_(period),
        insert_block_(std::move(insert_block)),
        insert_session_(std::move(insert_session)),
        add_counters_(std::move(add_counters)) {}

  sql::Db db_;
  ShardPeriod period_;
  sql::Statement insert_block_;
  sql::Statement insert_session_;
  sql::Statement add_counters_;
  std::optional<sql::Transaction> txn_;
  std::vector<std::uint8_t> block_buf_;
  std::vector<std::uint8_t> filter_buf_;
};

}  // namespace conntrail::storage
