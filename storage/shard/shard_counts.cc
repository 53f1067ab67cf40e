// storage/shard/shard_counts.cc — see shard_counts.h.
#include "storage/shard/shard_counts.h"

#include "storage/shard/schema.h"
#include "storage/sqlite/sqlite.h"

namespace conntrail::storage {

Result<ShardCounts> count_shard_rows(const std::filesystem::path& path) {
  auto db = sql::Db::open(path, sql::OpenMode::kReadOnly);
  if (!db) return std::unexpected(db.error());
  auto meta = read_meta(*db);
  if (!meta) return std::unexpected(meta.error());
  ShardCounts c;
  const char* flows_sql = meta->form == "sealed" ? "SELECT coalesce(sum(rows), 0) FROM blocks"
                                                 : "SELECT coalesce(sum(rows), 0) FROM flow_blocks";
  auto flows = db->query_int(flows_sql);
  if (!flows) return std::unexpected(flows.error());
  auto sessions = db->query_int("SELECT count(*) FROM sessions");
  if (!sessions) return std::unexpected(sessions.error());
  c.flows = static_cast<std::uint64_t>(*flows);
  c.sessions = static_cast<std::uint64_t>(*sessions);
  return c;
}

std::uint64_t shard_bytes_on_disk(const std::filesystem::path& path) {
  std::uint64_t total = 0;
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const auto size = std::filesystem::file_size(path.string() + suffix, ec);
    if (!ec) total += size;
  }
  return total;
}

}  // namespace conntrail::storage
