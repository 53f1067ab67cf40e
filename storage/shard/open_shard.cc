// storage/shard/open_shard.cc — see open_shard.h.
#include "storage/shard/open_shard.h"

#include <fmt/format.h>

#include <algorithm>

#include "storage/codec/block_filter.h"
#include "storage/shard/schema.h"

namespace conntrail::storage {

const std::string_view kOpenSchemaSql = R"sql(
CREATE TABLE IF NOT EXISTS flow_blocks(
  id INTEGER PRIMARY KEY,
  rows INTEGER NOT NULL, min_first_ts INTEGER NOT NULL, max_first_ts INTEGER NOT NULL,
  filter BLOB NOT NULL, data BLOB NOT NULL);
)sql";

namespace {

Result<void> create_initialised(const std::filesystem::path& path, const ShardPeriod& period) {
  auto tmp = path;
  tmp += ".new";
  std::error_code ec;
  std::filesystem::remove(tmp, ec);  // a leftover of a crash mid-creation
  {
    auto db = sql::Db::open(tmp, sql::OpenMode::kCreate);
    if (!db) return std::unexpected(db.error());
    // Page size before the first table exists. 4 KiB: blobs fill whole
    // overflow pages, larger pages waste more of the last one (see STORAGE.md).
    if (auto r = db->exec("PRAGMA page_size = 4096;"); !r) return std::unexpected(r.error());
    auto txn = sql::Transaction::begin(*db);
    if (!txn) return std::unexpected(txn.error());
    if (auto r = db->exec(kCommonSchemaSql); !r) return std::unexpected(r.error());
    if (auto r = db->exec(kOpenSchemaSql); !r) return std::unexpected(r.error());
    if (auto r = write_meta(*db, period, "open"); !r) return std::unexpected(r.error());
    if (auto r = txn->commit(); !r) return std::unexpected(r.error());
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    return fail(ec == std::errc::no_space_on_device ? ErrorCode::kNoSpace : ErrorCode::kIo,
                "rename " + tmp.string() + ": " + ec.message());
  }
  return {};
}

}  // namespace

Result<OpenShard> OpenShard::open(const std::filesystem::path& path, const ShardPeriod& period) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) {
    return fail(ec == std::errc::no_space_on_device ? ErrorCode::kNoSpace : ErrorCode::kIo,
                "create " + path.parent_path().string() + ": " + ec.message());
  }
  const bool existed = std::filesystem::exists(path, ec);
  if (!existed) {
    // A new shard is built under a temporary name and renamed into place, so
    // a concurrent query never finds a shard file without its schema (it
    // lists shards by name and would fail on "no such table: meta").
    if (auto r = create_initialised(path, period); !r) return std::unexpected(r.error());
  }
  auto db = sql::Db::open(path, sql::OpenMode::kCreate);
  if (!db) return std::unexpected(db.error());
  if (auto r = db->exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"); !r) {
    return std::unexpected(r.error());
  }
  if (db->query_int("SELECT count(*) FROM sqlite_schema WHERE name = 'meta'").value_or(0) == 0) {
    // A file left empty by an older build that crashed while creating it.
    auto txn = sql::Transaction::begin(*db);
    if (!txn) return std::unexpected(txn.error());
    if (auto r = db->exec(kCommonSchemaSql); !r) return std::unexpected(r.error());
    if (auto r = db->exec(kOpenSchemaSql); !r) return std::unexpected(r.error());
    if (auto r = write_meta(*db, period, "open"); !r) return std::unexpected(r.error());
    if (auto r = txn->commit(); !r) return std::unexpected(r.error());
  } else {
    auto meta = read_meta(*db);
    if (!meta) return std::unexpected(meta.error());
    if (meta->period != period || meta->form != "open") {
      return fail(ErrorCode::kCorrupt,
                  fmt::format("{}: holds period {} ({}), expected {} (open)", path.string(),
                              period_stem(meta->period), meta->form, period_stem(period)));
    }
  }
  auto ins = db->prepare(
      "INSERT INTO flow_blocks(rows, min_first_ts, max_first_ts, filter, data) VALUES(?,?,?,?,?)");
  if (!ins) return std::unexpected(ins.error());
  auto ses = db->prepare(kInsertSessionSql);
  if (!ses) return std::unexpected(ses.error());
  auto cnt = db->prepare(kAddCountersSql);
  if (!cnt) return std::unexpected(cnt.error());
  return OpenShard(std::move(*db), period, std::move(*ins), std::move(*ses), std::move(*cnt));
}

Result<void> OpenShard::begin() {
  if (txn_) return fail(ErrorCode::kInternal, "open shard: nested transaction");
  auto t = sql::Transaction::begin(db_);
  if (!t) return std::unexpected(t.error());
  txn_.emplace(std::move(*t));
  return {};
}

Result<void> OpenShard::commit() {
  if (!txn_) return fail(ErrorCode::kInternal, "open shard: commit without begin");
  auto r = txn_->commit();
  txn_.reset();  // rolls back if the commit failed
  return r;
}

void OpenShard::rollback() noexcept { txn_.reset(); }

Result<void> OpenShard::append_flows(std::span<const FlowRecord> flows,
                                     codec::FlowBlockEncoder& encoder) {
  for (std::size_t off = 0; off < flows.size(); off += kOpenBlockRows) {
    const auto part = flows.subspan(off, std::min(kOpenBlockRows, flows.size() - off));
    TimestampNs lo = part.front().first_ts, hi = lo;
    for (const auto& f : part) {
      lo = std::min(lo, f.first_ts);
      hi = std::max(hi, f.first_ts);
    }
    block_buf_.clear();
    if (auto r = encoder.encode(part, block_buf_); !r) return r;
    filter_buf_.clear();
    codec::build_block_filter(part, filter_buf_);
    insert_block_.bind(1, static_cast<std::int64_t>(part.size()))
        .bind(2, lo)
        .bind(3, hi)
        .bind_blob(4, filter_buf_)
        .bind_blob(5, block_buf_);
    if (auto r = insert_block_.run(); !r) return r;
  }
  return {};
}

Result<void> OpenShard::add_session(const SessionRecord& session) {
  return insert_session(insert_session_, session);
}

Result<void> OpenShard::add_counters(const CaptureCounters& counters) {
  return storage::add_counters(add_counters_, counters);
}

Result<void> OpenShard::checkpoint() { return db_.exec("PRAGMA wal_checkpoint(TRUNCATE)"); }

}  // namespace conntrail::storage
