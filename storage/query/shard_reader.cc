// storage/query/shard_reader.cc — see shard_reader.h.
#include "storage/query/shard_reader.h"

#include <fmt/format.h>

#include <algorithm>

#include "storage/codec/block_filter.h"
#include "storage/seal/sealed_format.h"
#include "storage/shard/schema.h"

namespace conntrail::storage {
namespace {

std::string_view as_chars(std::span<const std::uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
std::string_view key_of(const IpAddress& a) { return as_chars(a.bytes()); }

// Per-thread scratch, re-used by every shard this thread reads.
struct Scratch {
  codec::FlowBlockDecoder decoder;
  codec::Decompressor index_zstd;
  std::vector<FlowRecord> block;
};
Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

}  // namespace

Result<ShardReader> ShardReader::open(const ShardFile& file) {
  auto db = sql::Db::open(file.path, file.form == ShardForm::kSealed ? sql::OpenMode::kImmutable
                                                                     : sql::OpenMode::kReadOnly);
  if (!db) return std::unexpected(db.error());
  auto meta = read_meta(*db);
  if (!meta) return std::unexpected(meta.error());
  const char* expected = file.form == ShardForm::kSealed ? "sealed" : "open";
  if (meta->period != file.period || meta->form != expected) {
    return fail(ErrorCode::kCorrupt, file.path.string() + ": meta does not match the file name");
  }
  return ShardReader(std::move(*db), file.form, file.period);
}

Result<CaptureCounters> ShardReader::counters() { return read_counters(db_); }

Result<void> ShardReader::postings(std::string_view table, std::string_view lo, std::string_view hi,
                                   std::vector<std::int64_t>& out) {
  // The page holding `lo` is the last one whose first key is <= lo; then every
  // following page whose first key is <= hi.
  auto first = db_.prepare(fmt::format(
      "SELECT first_key FROM {} WHERE first_key <= ? ORDER BY first_key DESC LIMIT 1", table));
  if (!first) return std::unexpected(first.error());
  first->bind_blob(1, as_bytes(lo));
  auto row = first->step();
  if (!row) return std::unexpected(row.error());
  std::string start_key = *row ? std::string(as_chars(first->column_blob(0))) : std::string();
  auto pages = db_.prepare(fmt::format(
      "SELECT first_key, data FROM {} WHERE first_key >= ? AND first_key <= ? ORDER BY first_key",
      table));
  if (!pages) return std::unexpected(pages.error());
  pages->bind_blob(1, as_bytes(start_key)).bind_blob(2, as_bytes(hi));
  for (;;) {
    auto more = pages->step();
    if (!more) return std::unexpected(more.error());
    if (!*more) break;
    if (auto r = scan_index_page(pages->column_blob(1), scratch().index_zstd, lo, hi, out); !r) {
      return fail(r.error().code, db_.path().string() + ": " + r.error().message);
    }
  }
  return {};
}

Result<std::vector<std::int64_t>> ShardReader::sealed_candidates(const Query& q) {
  std::vector<std::int64_t> ids;
  auto key_range = [&](std::string_view lo, std::string_view hi) -> Result<void> {
    // Blocks are sorted by key, so key_hi and key_lo rise with the block id:
    // walk the covering index from the first block whose key_hi >= lo, stop
    // at the first whose key_lo > hi.
    auto st = db_.prepare("SELECT id, key_lo FROM blocks WHERE key_hi >= ? ORDER BY key_hi");
    if (!st) return std::unexpected(st.error());
    st->bind_blob(1, as_bytes(lo));
    for (;;) {
      auto row = st->step();
      if (!row) return std::unexpected(row.error());
      if (!*row || as_chars(st->column_blob(1)) > hi) break;
      ids.push_back(st->column_int(0));
    }
    return {};
  };
  Result<void> r;
  if (q.ip) {
    r = key_range(key_of(*q.ip), key_of(*q.ip));
    if (r) r = postings("ip_pages", key_of(*q.ip), key_of(*q.ip), ids);
  } else if (q.subscriber) {
    r = postings("subscriber_pages", *q.subscriber, *q.subscriber, ids);
  } else if (q.prefix) {
    const IpAddress last = q.prefix->last();
    r = key_range(key_of(q.prefix->network()), key_of(last));
    if (r) r = postings("ip_pages", key_of(q.prefix->network()), key_of(last), ids);
  } else {
    auto st = db_.prepare("SELECT id FROM blocks ORDER BY id");
    if (!st) return std::unexpected(st.error());
    for (;;) {
      auto row = st->step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      ids.push_back(st->column_int(0));
    }
  }
  if (!r) return std::unexpected(r.error());
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

Result<bool> ShardReader::scan(const Query& q, TimestampNs earliest_start,
                               const std::function<bool(FlowRecord&&)>& sink,
                               std::uint64_t& blocks_read) {
  // Rows whose endpoints cannot match are never built.
  codec::RowFilter by_address;
  if (q.ip) {
    by_address = [&](const IpAddress& s, const IpAddress& d) { return s == *q.ip || d == *q.ip; };
  } else if (q.prefix) {
    by_address = [&](const IpAddress& s, const IpAddress& d) {
      return q.prefix->contains(s) || q.prefix->contains(d);
    };
  }
  const codec::RowFilter* keep = by_address ? &by_address : nullptr;
  Scratch& sc = scratch();
  auto emit_block = [&](std::span<const std::uint8_t> data) -> Result<bool> {
    if (auto r = sc.decoder.decode(data, sc.block, keep); !r) {
      return fail(r.error().code, db_.path().string() + ": " + r.error().message);
    }
    ++blocks_read;
    for (auto& f : sc.block) {
      if (f.first_ts < earliest_start || !q.matches(f)) continue;
      if (!sink(std::move(f))) return false;
    }
    return true;
  };
  if (form_ == ShardForm::kSealed) {
    auto ids = sealed_candidates(q);
    if (!ids) return std::unexpected(ids.error());
    auto st = db_.prepare("SELECT min_first_ts, max_first_ts, data FROM blocks WHERE id = ?");
    if (!st) return std::unexpected(st.error());
    for (auto id : *ids) {
      st->reset();
      st->bind(1, id);
      auto row = st->step();
      if (!row) return std::unexpected(row.error());
      if (!*row)
        return fail(ErrorCode::kCorrupt, db_.path().string() + ": index names a missing block");
      if (st->column_int(0) >= q.to || st->column_int(1) < earliest_start) continue;
      auto go = emit_block(st->column_blob(2));
      if (!go) return go;
      if (!*go) return false;
    }
    return true;
  }
  // Open shard: time range and Bloom filter first, block data only for candidates.
  auto meta = db_.prepare(
      "SELECT id, filter FROM flow_blocks WHERE min_first_ts < ? AND max_first_ts >= ? ORDER BY "
      "id");
  if (!meta) return std::unexpected(meta.error());
  meta->bind(1, q.to).bind(2, earliest_start);
  std::vector<std::int64_t> ids;
  for (;;) {
    auto row = meta->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    const codec::BlockFilterView filter(meta->column_blob(1));
    if (q.ip && !filter.may_contain(*q.ip)) continue;
    if (q.subscriber && !filter.may_contain_subscriber(*q.subscriber)) continue;
    ids.push_back(meta->column_int(0));
  }
  auto data = db_.prepare("SELECT data FROM flow_blocks WHERE id = ?");
  if (!data) return std::unexpected(data.error());
  for (auto id : ids) {
    data->reset();
    data->bind(1, id);
    auto row = data->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) continue;
    auto go = emit_block(data->column_blob(0));
    if (!go) return go;
    if (!*go) return false;
  }
  return true;
}

Result<std::vector<SessionRecord>> ShardReader::sessions_for_address(const IpAddress& address) {
  auto st = db_.prepare(std::string(kSelectSessionColumns) +
                        " FROM sessions WHERE addr_lo <= ?1 AND addr_hi >= ?1");
  if (!st) return std::unexpected(st.error());
  st->bind_blob(1, address.bytes());
  std::vector<SessionRecord> out;
  for (;;) {
    auto row = st->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back(read_session(*st));
  }
  return out;
}

Result<std::vector<SessionRecord>> ShardReader::sessions_for_subscriber(
    std::string_view subscriber) {
  auto st = db_.prepare(std::string(kSelectSessionColumns) + " FROM sessions WHERE subscriber = ?");
  if (!st) return std::unexpected(st.error());
  st->bind(1, subscriber);
  std::vector<SessionRecord> out;
  for (;;) {
    auto row = st->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back(read_session(*st));
  }
  return out;
}

Result<std::vector<SessionRecord>> ShardReader::sessions_overlapping(const IpPrefix& prefix) {
  // Two ranges overlap when each starts before the other ends.
  auto st = db_.prepare(std::string(kSelectSessionColumns) +
                        " FROM sessions WHERE addr_lo <= ?1 AND addr_hi >= ?2");
  if (!st) return std::unexpected(st.error());
  const IpAddress last = prefix.last();
  st->bind_blob(1, last.bytes());
  st->bind_blob(2, prefix.network().bytes());
  std::vector<SessionRecord> out;
  for (;;) {
    auto row = st->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back(read_session(*st));
  }
  return out;
}

}  // namespace conntrail::storage
