// storage/shard/schema.h — the tables every shard holds, and their version.
//
// Schema version 1 (PRAGMA user_version and meta.schema_version):
//   meta(key, value)          period_start, period_seconds, form (open|sealed), schema_version
//   counters(single row)      capture completeness counters summed for the period
//   sessions(...)             attribution sessions whose record time falls in the period
//   flow_blocks(...)          open form: one compressed block per batch + Bloom filter
//   sealed form adds: blocks(id, min/max first_ts, rows, data) and the index
//   pages ip_pages / subscriber_pages (see storage/seal/sealed_format.h).
// A reader accepts every version <= kSchemaVersion (old shards stay readable
// after an upgrade) and refuses newer ones with kUnsupported.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/capture_counters.h"
#include "core/result.h"
#include "core/session_record.h"
#include "storage/shard/shard_name.h"
#include "storage/sqlite/sqlite.h"

namespace conntrail::storage {

inline constexpr std::int64_t kSchemaVersion = 1;

// Tables common to both forms (meta, counters, sessions).
extern const std::string_view kCommonSchemaSql;

// Writes meta rows and user_version (inside the caller's transaction).
Result<void> write_meta(sql::Db& db, const ShardPeriod& period, std::string_view form);

struct ShardMeta {
  ShardPeriod period;
  std::string form;
  std::int64_t schema_version = 0;
};
Result<ShardMeta> read_meta(sql::Db& db);

// meta `merged_from`: the file names (not paths) of the shards a merged day
// shard replaced, one per line (storage/seal/merge_day.h). read: empty when
// the shard is not a merge.
Result<void> write_merged_from(sql::Db& db, const std::vector<std::string>& names);
Result<std::vector<std::string>> read_merged_from(sql::Db& db);

// INSERT of one session; `stmt` prepared from kInsertSessionSql.
extern const std::string_view kInsertSessionSql;
Result<void> insert_session(sql::Statement& stmt, const SessionRecord& s);
// SELECT columns in the order read_session expects (prefix before FROM).
extern const std::string_view kSelectSessionColumns;
SessionRecord read_session(const sql::Statement& stmt);

// counters: read the period's sums; add to them (upsert).
Result<CaptureCounters> read_counters(sql::Db& db);
extern const std::string_view kAddCountersSql;
Result<void> add_counters(sql::Statement& stmt, const CaptureCounters& c);

// 16 bytes of an address as a blob, for index keys that sort like addresses.
std::span<const std::uint8_t> address_key(const IpAddress& a) noexcept;
IpAddress address_from_key(std::span<const std::uint8_t> key, bool v4) noexcept;

}  // namespace conntrail::storage
