// storage/seal/seal_shard.cc — see seal_shard.h.
#include "storage/seal/seal_shard.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <numeric>
#include <set>
#include <unordered_map>

#include "core/handle.h"
#include "storage/codec/flow_block.h"
#include "storage/hash/sha256.h"
#include "storage/seal/sealed_format.h"
#include "storage/shard/schema.h"
#include "storage/shard/shard_counts.h"
#include "storage/sqlite/sqlite.h"

namespace conntrail::storage {
namespace {

using Key16 = std::array<std::uint8_t, 16>;

struct Key16Hash {
  std::size_t operator()(const Key16& k) const noexcept {
    std::uint64_t a, b;
    std::memcpy(&a, k.data(), 8);
    std::memcpy(&b, k.data() + 8, 8);
    return static_cast<std::size_t>((a * 0x9e3779b97f4a7c15ULL) ^
                                    (b + 0x632be59bd9b4e019ULL + (a << 6)));
  }
};

const IpAddress& sort_address(const FlowRecord& f) noexcept {
  return f.subscriber_side == SubscriberSide::kDst ? f.dst_ip : f.src_ip;
}
const IpAddress& other_address(const FlowRecord& f) noexcept {
  return f.subscriber_side == SubscriberSide::kDst ? f.src_ip : f.dst_ip;
}

Result<void> fsync_path(const std::filesystem::path& p, bool directory) {
  UniqueFd fd(::open(p.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC));
  if (!fd.valid() || ::fsync(fd.get()) != 0) {
    return fail(errno == ENOSPC ? ErrorCode::kNoSpace : ErrorCode::kIo,
                "fsync " + p.string() + ": " + std::strerror(errno));
  }
  return {};
}

void remove_with_side_files(const std::filesystem::path& p) {
  std::error_code ec;
  for (const char* suffix : {"-wal", "-shm", ""}) std::filesystem::remove(p.string() + suffix, ec);
}

struct OpenContents {
  std::vector<FlowRecord> flows;
  std::vector<SessionRecord> sessions;
  CaptureCounters counters;
};

Result<OpenContents> read_open_contents(const std::filesystem::path& path,
                                        const ShardPeriod& period) {
  // Read-write so that SQLite may replay a WAL left by a crashed writer.
  auto db = sql::Db::open(path, sql::OpenMode::kReadWrite);
  if (!db) return std::unexpected(db.error());
  auto meta = read_meta(*db);
  if (!meta) return std::unexpected(meta.error());
  if (meta->period != period || meta->form != "open") {
    return fail(ErrorCode::kCorrupt, path.string() + ": meta does not match its name");
  }
  OpenContents c;
  auto blocks = db->prepare("SELECT data FROM flow_blocks ORDER BY id");
  if (!blocks) return std::unexpected(blocks.error());
  codec::FlowBlockDecoder dec;
  std::vector<FlowRecord> part;
  for (;;) {
    auto row = blocks->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    if (auto r = dec.decode(blocks->column_blob(0), part); !r) {
      return fail(r.error().code, path.string() + ": " + r.error().message);
    }
    std::move(part.begin(), part.end(), std::back_inserter(c.flows));
  }
  auto ses = db->prepare(std::string(kSelectSessionColumns) + " FROM sessions ORDER BY id");
  if (!ses) return std::unexpected(ses.error());
  for (;;) {
    auto row = ses->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    c.sessions.push_back(read_session(*ses));
  }
  auto counters = read_counters(*db);
  if (!counters) return std::unexpected(counters.error());
  c.counters = *counters;
  return c;
}

template <class Map>
Result<void> write_pages(sql::Db& db, std::string_view table, Map& postings, std::size_t per_page,
                         codec::Compressor& zstd) {
  std::vector<PostingEntry> entries;
  entries.reserve(postings.size());
  for (auto& [k, blocks] : postings) {
    PostingEntry e;
    e.key.assign(reinterpret_cast<const char*>(k.data()), k.size());
    e.blocks = std::move(blocks);
    entries.push_back(std::move(e));
  }
  std::sort(entries.begin(), entries.end(),
            [](const PostingEntry& a, const PostingEntry& b) { return a.key < b.key; });
  auto ins = db.prepare(fmt::format("INSERT INTO {}(first_key, data) VALUES(?, ?)", table));
  if (!ins) return std::unexpected(ins.error());
  std::vector<std::uint8_t> page;
  for (std::size_t off = 0; off < entries.size(); off += per_page) {
    const auto part = std::span(entries).subspan(off, std::min(per_page, entries.size() - off));
    page.clear();
    if (auto r = encode_index_page(part, zstd, page); !r) return r;
    const auto& first = part.front().key;
    ins->bind_blob(1, {reinterpret_cast<const std::uint8_t*>(first.data()), first.size()})
        .bind_blob(2, page);
    if (auto r = ins->run(); !r) return r;
  }
  return {};
}

}  // namespace

TimestampNs seal_deadline(const ShardPeriod& period, std::chrono::seconds active_timeout,
                          std::chrono::seconds margin) noexcept {
  return period.end() + (active_timeout.count() + margin.count()) * kNsPerSecond;
}

Result<void> write_sealed_file(const std::filesystem::path& path, const ShardPeriod& period,
                               std::vector<FlowRecord>& flows,
                               const std::vector<SessionRecord>& sessions,
                               const CaptureCounters& counters, const SealOptions& options) {
  remove_with_side_files(path);
  // Sort a permutation, not the records: a record is ~150 bytes, an index 4.
  std::vector<std::uint32_t> order(flows.size());
  std::iota(order.begin(), order.end(), 0u);
  if (options.sort_by_subscriber_address) {
    std::stable_sort(order.begin(), order.end(), [&](std::uint32_t x, std::uint32_t y) {
      const FlowRecord& a = flows[x];
      const FlowRecord& b = flows[y];
      const auto& ka = sort_address(a).bytes();
      const auto& kb = sort_address(b).bytes();
      if (ka != kb) return ka < kb;
      return a.first_ts < b.first_ts;
    });
  } else {
    std::stable_sort(order.begin(), order.end(), [&](std::uint32_t x, std::uint32_t y) {
      return flows[x].first_ts < flows[y].first_ts;
    });
  }
  auto db = sql::Db::open(path, sql::OpenMode::kCreate);
  if (!db) return std::unexpected(db.error());
  if (auto r = db->exec(fmt::format("PRAGMA page_size = {}; PRAGMA journal_mode = OFF;"
                                    " PRAGMA synchronous = OFF;",
                                    options.page_size));
      !r) {
    return r;
  }
  auto txn = sql::Transaction::begin(*db);
  if (!txn) return std::unexpected(txn.error());
  if (auto r = db->exec(kCommonSchemaSql); !r) return r;
  if (auto r = db->exec(kSealedSchemaSql); !r) return r;
  if (auto r = write_meta(*db, period, "sealed"); !r) return r;

  auto ins = db->prepare(
      "INSERT INTO blocks(id, key_lo, key_hi, min_first_ts, max_first_ts, rows, data)"
      " VALUES(?,?,?,?,?,?,?)");
  if (!ins) return std::unexpected(ins.error());
  codec::FlowBlockEncoder enc(options.zstd_level);
  std::unordered_map<Key16, std::vector<std::uint32_t>, Key16Hash> ip_postings;
  std::unordered_map<std::string, std::vector<std::uint32_t>> sub_postings;
  std::vector<std::uint8_t> block;
  const std::size_t rows_per_block = std::max<std::size_t>(1, options.block_rows);
  std::uint32_t id = 0;
  std::vector<FlowRecord> part_buf;
  part_buf.reserve(rows_per_block);
  for (std::size_t off = 0; off < flows.size(); off += rows_per_block) {
    ++id;
    part_buf.clear();
    const std::size_t end = std::min(flows.size(), off + rows_per_block);
    for (std::size_t k = off; k < end; ++k) part_buf.push_back(std::move(flows[order[k]]));
    const std::span<const FlowRecord> part(part_buf);
    TimestampNs lo = part.front().first_ts, hi = lo;
    Key16 key_lo = sort_address(part.front()).bytes(), key_hi = key_lo;
    for (const auto& f : part) {
      lo = std::min(lo, f.first_ts);
      hi = std::max(hi, f.first_ts);
      const auto& k = sort_address(f).bytes();
      key_lo = std::min(key_lo, k);
      key_hi = std::max(key_hi, k);
      auto& ip = ip_postings[other_address(f).bytes()];
      if (ip.empty() || ip.back() != id) ip.push_back(id);
      if (!f.subscriber.empty()) {
        auto& sub = sub_postings[f.subscriber];
        if (sub.empty() || sub.back() != id) sub.push_back(id);
      }
    }
    block.clear();
    if (auto r = enc.encode(part, block); !r) return r;
    ins->bind(1, static_cast<std::int64_t>(id))
        .bind_blob(2, key_lo)
        .bind_blob(3, key_hi)
        .bind(4, lo)
        .bind(5, hi)
        .bind(6, static_cast<std::int64_t>(part.size()))
        .bind_blob(7, block);
    if (auto r = ins->run(); !r) return r;
  }
  if (auto r = db->exec(kSealedIndexSql); !r) return r;
  codec::Compressor zstd(options.zstd_level);
  if (auto r = write_pages(*db, "ip_pages", ip_postings, options.page_entries, zstd); !r) return r;
  if (auto r = write_pages(*db, "subscriber_pages", sub_postings, options.page_entries, zstd); !r) {
    return r;
  }
  auto ses = db->prepare(kInsertSessionSql);
  if (!ses) return std::unexpected(ses.error());
  std::vector<const SessionRecord*> sorted;
  for (const auto& s : sessions) sorted.push_back(&s);
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) {
    return a->address.network().bytes() < b->address.network().bytes();
  });
  for (const auto* s : sorted) {
    if (auto r = insert_session(*ses, *s); !r) return r;
  }
  auto cnt = db->prepare(kAddCountersSql);
  if (!cnt) return std::unexpected(cnt.error());
  if (auto r = add_counters(*cnt, counters); !r) return r;
  if (auto r = db->exec("ANALYZE"); !r) return r;
  return txn->commit();
}

Result<SealResult> seal_shard(const std::filesystem::path& data_dir, const ShardPeriod& period,
                              const SealOptions& options, Manifest& manifest, TimestampNs now) {
  const auto open_path = shard_path(data_dir, period, ShardForm::kOpen);
  const auto sealed_path = shard_path(data_dir, period, ShardForm::kSealed);
  std::error_code ec;
  if (!std::filesystem::exists(open_path, ec)) {
    return fail(ErrorCode::kNotFound, "no open shard " + open_path.string());
  }
  if (std::filesystem::exists(sealed_path, ec)) {
    return fail(ErrorCode::kInvalidArgument, "already sealed: " + sealed_path.string());
  }
  auto contents = read_open_contents(open_path, period);
  if (!contents) return std::unexpected(contents.error());
  SealResult result;
  result.period = period;
  result.path = sealed_path;
  result.rows = contents->flows.size();
  result.sessions = contents->sessions.size();

  const std::filesystem::path tmp = sealed_path.string() + ".tmp";
  auto written = write_sealed_file(tmp, period, contents->flows, contents->sessions,
                                   contents->counters, options);
  if (!written) {
    remove_with_side_files(tmp);
    return std::unexpected(written.error());
  }
  contents->flows = {};  // release the memory before hashing
  // Check what was written before it replaces the open shard.
  auto counted = count_shard_rows(tmp);
  if (!counted || counted->flows != result.rows || counted->sessions != result.sessions) {
    remove_with_side_files(tmp);
    return fail(ErrorCode::kInternal, "sealed copy of " + open_path.string() + " lost rows");
  }
  if (auto r = fsync_path(tmp, false); !r) {
    remove_with_side_files(tmp);
    return std::unexpected(r.error());
  }
  if (::chmod(tmp.c_str(), 0444) != 0) {
    remove_with_side_files(tmp);
    return fail(ErrorCode::kIo, "chmod " + tmp.string() + ": " + std::strerror(errno));
  }
  std::filesystem::rename(tmp, sealed_path, ec);
  if (ec) {
    remove_with_side_files(tmp);
    return fail(ErrorCode::kIo, "rename " + tmp.string() + ": " + ec.message());
  }
  if (auto r = fsync_path(sealed_path.parent_path(), true); !r) return std::unexpected(r.error());
  auto digest = sha256_file(sealed_path);
  if (!digest) return std::unexpected(digest.error());
  result.sha256 = to_hex(*digest);
  result.bytes = std::filesystem::file_size(sealed_path, ec);

  ManifestEntry e;
  e.kind = ManifestKind::kSeal;
  e.time = now;
  e.period = period;
  e.file = relative_shard_path(period, ShardForm::kSealed);
  e.sha256 = result.sha256;
  e.bytes = result.bytes;
  e.rows = result.rows;
  e.sessions = result.sessions;
  e.counters = contents->counters;
  // If this append fails the sealed file stays without an entry;
  // recover_interrupted_seals appends it later (the open file is kept until then).
  if (auto r = manifest.append(std::move(e)); !r) return std::unexpected(r.error());
  remove_with_side_files(open_path);
  return result;
}

Result<std::size_t> recover_interrupted_seals(const std::filesystem::path& data_dir,
                                              Manifest& manifest, TimestampNs now) {
  std::size_t repairs = 0;
  std::error_code ec;
  if (!std::filesystem::exists(data_dir, ec)) return repairs;
  // 1. Leftover temporaries of an interrupted seal.
  for (auto it = std::filesystem::recursive_directory_iterator(data_dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    const auto name = it->path().filename().string();
    if (name.ends_with(".sealed.sqlite.tmp")) {
      remove_with_side_files(it->path());
      ++repairs;
    }
  }
  auto files = list_shard_files(data_dir);
  if (!files) return std::unexpected(files.error());
  auto entries = manifest.read_all();
  if (!entries) return std::unexpected(entries.error());
  std::set<std::string> in_manifest;
  for (const auto& e : *entries) {
    if (e.kind == ManifestKind::kSeal) in_manifest.insert(e.file);
  }
  for (const auto& f : *files) {
    if (f.form != ShardForm::kSealed) continue;
    const auto rel = relative_shard_path(f.period, ShardForm::kSealed);
    if (in_manifest.count(rel) == 0) {
      // 2. Sealed, renamed, but the manifest append did not happen.
      auto digest = sha256_file(f.path);
      if (!digest) return std::unexpected(digest.error());
      auto counts = count_shard_rows(f.path);
      if (!counts) return std::unexpected(counts.error());
      CaptureCounters counters;
      if (auto db = sql::Db::open(f.path, sql::OpenMode::kReadOnly)) {
        counters = read_counters(*db).value_or(CaptureCounters{});
      }
      ManifestEntry e;
      e.kind = ManifestKind::kSeal;
      e.time = now;
      e.period = f.period;
      e.file = rel;
      e.sha256 = to_hex(*digest);
      e.bytes = std::filesystem::file_size(f.path, ec);
      e.rows = counts->flows;
      e.sessions = counts->sessions;
      e.counters = counters;
      if (auto r = manifest.append(std::move(e)); !r) return std::unexpected(r.error());
      in_manifest.insert(rel);
      ++repairs;
    }
    // 3. The open twin of a sealed shard is a leftover.
    const auto open_twin = shard_path(data_dir, f.period, ShardForm::kOpen);
    if (std::filesystem::exists(open_twin, ec)) {
      remove_with_side_files(open_twin);
      ++repairs;
    }
  }
  return repairs;
}

}  // namespace conntrail::storage
