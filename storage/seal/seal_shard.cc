// storage/seal/seal_shard.cc — see seal_shard.h.
#include "storage/seal/seal_shard.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <numeric>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "core/handle.h"
#include "storage/codec/block_filter.h"
#include "storage/codec/flow_block.h"
#include "storage/hash/sha256.h"
#include "storage/seal/flow_sorter.h"
#include "storage/seal/sealed_format.h"
#include "storage/summary/shard_summary.h"
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

const IpAddress& other_address(const FlowRecord& f) noexcept {
  return f.subscriber_side == SubscriberSide::kDst ? f.src_ip : f.dst_ip;
}

}  // namespace

Result<std::uint64_t> read_shard_contents(sql::Db& db, const ShardFile& file, FlowSorter& sorter,
                                          SealedContents& into) {
  const std::string& path = file.path.string();
  auto meta = read_meta(db);
  if (!meta) return std::unexpected(meta.error());
  const bool sealed = file.form == ShardForm::kSealed;
  if (meta->period != file.period || meta->form != (sealed ? "sealed" : "open")) {
    return fail(ErrorCode::kCorrupt, path + ": meta does not match its name");
  }
  auto blocks = db.prepare(sealed ? "SELECT data FROM blocks ORDER BY id"
                                  : "SELECT data FROM flow_blocks ORDER BY id");
  if (!blocks) return std::unexpected(blocks.error());
  codec::FlowBlockDecoder dec;
  std::vector<FlowRecord> part;
  std::uint64_t flows = 0;
  for (;;) {
    auto row = blocks->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    if (auto r = dec.decode(blocks->column_blob(0), part); !r) {
      return fail(r.error().code, path + ": " + r.error().message);
    }
    flows += part.size();
    for (auto& f : part) {
      if (auto r = sorter.add(std::move(f)); !r) return std::unexpected(r.error());
    }
  }
  auto ses = db.prepare(std::string(kSelectSessionColumns) + " FROM sessions ORDER BY id");
  if (!ses) return std::unexpected(ses.error());
  for (;;) {
    auto row = ses->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    into.sessions.push_back(read_session(*ses));
  }
  auto counters = read_counters(db);
  if (!counters) return std::unexpected(counters.error());
  into.counters += *counters;
  return flows;
}

Result<void> fsync_path(const std::filesystem::path& p, bool directory) {
  UniqueFd fd(::open(p.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC));
  if (!fd.valid() || ::fsync(fd.get()) != 0) {
    return fail(errno == ENOSPC ? ErrorCode::kNoSpace : ErrorCode::kIo,
                "fsync " + p.string() + ": " + std::strerror(errno));
  }
  return {};
}

namespace {

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

void remove_with_side_files(const std::filesystem::path& p) {
  std::error_code ec;
  for (const char* suffix : {"-wal", "-shm", ""}) std::filesystem::remove(p.string() + suffix, ec);
}

std::string merged_from_reason(const std::vector<std::string>& merged_from) {
  if (merged_from.empty()) return {};
  return fmt::format("merged from {} sealed shards: {}", merged_from.size(),
                     fmt::join(merged_from, " "));
}

TimestampNs seal_deadline(const ShardPeriod& period, std::chrono::seconds active_timeout,
                          std::chrono::seconds margin) noexcept {
  return period.end() + (active_timeout.count() + margin.count()) * kNsPerSecond;
}

namespace {

// Writes a sealed file from records fed in sealed order (FlowSorter's
// output): cuts them into blocks, collects the posting lists, and at finish()
// writes the indexes, sessions, counters and statistics, in one transaction.
class SealedFileWriter {
 public:
  static Result<std::unique_ptr<SealedFileWriter>> create(
      const std::filesystem::path& path, const ShardPeriod& period, const SealOptions& options,
      const std::vector<std::string>& merged_from) {
    remove_with_side_files(path);
    auto db = sql::Db::open(path, sql::OpenMode::kCreate);
    if (!db) return std::unexpected(db.error());
    std::unique_ptr<SealedFileWriter> w(new SealedFileWriter(std::move(*db), options));
    if (auto r = w->db_.exec(fmt::format("PRAGMA page_size = {}; PRAGMA journal_mode = OFF;"
                                         " PRAGMA synchronous = OFF;",
                                         options.page_size));
        !r) {
      return std::unexpected(r.error());
    }
    auto txn = sql::Transaction::begin(w->db_);
    if (!txn) return std::unexpected(txn.error());
    w->txn_.emplace(std::move(*txn));
    if (auto r = w->db_.exec(kCommonSchemaSql); !r) return std::unexpected(r.error());
    if (auto r = w->db_.exec(kSealedSchemaSql); !r) return std::unexpected(r.error());
    if (auto r = write_meta(w->db_, period, "sealed"); !r) return std::unexpected(r.error());
    if (!merged_from.empty()) {
      if (auto r = write_merged_from(w->db_, merged_from); !r) return std::unexpected(r.error());
    }
    auto ins = w->db_.prepare(
        "INSERT INTO blocks(id, key_lo, key_hi, min_first_ts, max_first_ts, rows, data)"
        " VALUES(?,?,?,?,?,?,?)");
    if (!ins) return std::unexpected(ins.error());
    w->insert_block_.emplace(std::move(*ins));
    return w;
  }

  Result<void> add(FlowRecord&& f) {
    part_.push_back(std::move(f));
    if (part_.size() >= rows_per_block_) return flush_block();
    return {};
  }

  // `key_filter` receives the shard's summary filter (empty when the shard has
  // more distinct keys than a summary keeps, shard_summary.h).
  Result<void> finish(const std::vector<SessionRecord>& sessions, const CaptureCounters& counters,
                      std::vector<std::uint8_t>* key_filter) {
    if (auto r = flush_block(); !r) return r;
    if (key_filter != nullptr) *key_filter = build_key_filter();
    if (auto r = db_.exec(kSealedIndexSql); !r) return r;
    codec::Compressor zstd(options_.zstd_level);
    if (auto r = write_pages(db_, "ip_pages", ip_postings_, options_.page_entries, zstd); !r) {
      return r;
    }
    if (auto r = write_pages(db_, "subscriber_pages", sub_postings_, options_.page_entries, zstd);
        !r) {
      return r;
    }
    auto ses = db_.prepare(kInsertSessionSql);
    if (!ses) return std::unexpected(ses.error());
    std::vector<const SessionRecord*> sorted;
    for (const auto& s : sessions) sorted.push_back(&s);
    std::stable_sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) {
      return a->address.network().bytes() < b->address.network().bytes();
    });
    for (const auto* s : sorted) {
      if (auto r = insert_session(*ses, *s); !r) return r;
    }
    auto cnt = db_.prepare(kAddCountersSql);
    if (!cnt) return std::unexpected(cnt.error());
    if (auto r = add_counters(*cnt, counters); !r) return r;
    if (auto r = db_.exec("ANALYZE"); !r) return r;
    insert_block_.reset();
    return txn_->commit();
  }

 private:
  SealedFileWriter(sql::Db db, const SealOptions& options)
      : db_(std::move(db)),
        options_(options),
        rows_per_block_(std::clamp<std::size_t>(options.block_rows, 1, codec::kMaxBlockRows)),
        encoder_(options.zstd_level) {
    part_.reserve(rows_per_block_);
  }

  Result<void> flush_block() {
    if (part_.empty()) return {};
    ++id_;
    TimestampNs lo = part_.front().first_ts, hi = lo;
    Key16 key_lo = sort_address(part_.front()).bytes(), key_hi = key_lo;
    for (const auto& f : part_) {
      lo = std::min(lo, f.first_ts);
      hi = std::max(hi, f.first_ts);
      const auto& k = sort_address(f).bytes();
      key_lo = std::min(key_lo, k);
      key_hi = std::max(key_hi, k);
      if (last_sort_key_ != k) sort_keys_.insert(k);  // sorted input: runs of one key
      last_sort_key_ = k;
      auto& ip = ip_postings_[other_address(f).bytes()];
      if (ip.empty() || ip.back() != id_) ip.push_back(id_);
      if (!f.subscriber.empty()) {
        auto& sub = sub_postings_[f.subscriber];
        if (sub.empty() || sub.back() != id_) sub.push_back(id_);
      }
    }
    block_.clear();
    if (auto r = encoder_.encode(part_, block_); !r) return r;
    insert_block_->bind(1, static_cast<std::int64_t>(id_))
        .bind_blob(2, key_lo)
        .bind_blob(3, key_hi)
        .bind(4, lo)
        .bind(5, hi)
        .bind(6, static_cast<std::int64_t>(part_.size()))
        .bind_blob(7, block_);
    if (auto r = insert_block_->run(); !r) return r;
    part_.clear();
    return {};
  }

  std::vector<std::uint8_t> build_key_filter() const {
    // Distinct keys (an address can be a sort key in one record and the other
    // end in another): the count summarize_sealed_shard() arrives at too.
    std::size_t keys = sort_keys_.size() + sub_postings_.size();
    for (const auto& [k, blocks] : ip_postings_) keys += sort_keys_.count(k) == 0 ? 1 : 0;
    // 8 bits per key, rounded up to a power of two: at most kMaxFilterBytes.
    if (keys > kMaxFilterBytes) return {};
    codec::KeyFilterBuilder filter(keys);
    for (const auto& k : sort_keys_) filter.add_address(k);
    for (const auto& [k, blocks] : ip_postings_) filter.add_address(k);
    for (const auto& [sub, blocks] : sub_postings_) filter.add_subscriber(sub);
    return filter.take();
  }

  sql::Db db_;  // before txn_ and the statement, which refer to it
  std::optional<sql::Transaction> txn_;
  std::optional<sql::Statement> insert_block_;
  SealOptions options_;
  std::size_t rows_per_block_;
  codec::FlowBlockEncoder encoder_;
  std::vector<FlowRecord> part_;
  std::vector<std::uint8_t> block_;
  std::uint32_t id_ = 0;
  std::unordered_map<Key16, std::vector<std::uint32_t>, Key16Hash> ip_postings_;
  std::unordered_map<std::string, std::vector<std::uint32_t>> sub_postings_;
  std::unordered_set<Key16, Key16Hash> sort_keys_;  // for the summary filter
  std::optional<Key16> last_sort_key_;
};

SealOrder seal_order(const SealOptions& options) {
  return SealOrder{.by_subscriber_address = options.sort_by_subscriber_address};
}

Result<void> write_sorted(const std::filesystem::path& path, const ShardPeriod& period,
                          FlowSorter& sorter, const std::vector<SessionRecord>& sessions,
                          const CaptureCounters& counters, const SealOptions& options,
                          std::vector<std::uint8_t>* key_filter = nullptr,
                          const std::vector<std::string>& merged_from = {}) {
  auto writer = SealedFileWriter::create(path, period, options, merged_from);
  if (!writer) return std::unexpected(writer.error());
  if (auto r = sorter.drain([&](FlowRecord&& f) { return (*writer)->add(std::move(f)); }); !r) {
    return r;
  }
  return (*writer)->finish(sessions, counters, key_filter);
}

}  // namespace

Result<void> write_sealed_file(const std::filesystem::path& path, const ShardPeriod& period,
                               std::vector<FlowRecord>& flows,
                               const std::vector<SessionRecord>& sessions,
                               const CaptureCounters& counters, const SealOptions& options) {
  // The caller already holds every record: sort them in memory.
  FlowSorter sorter(seal_order(options),
                    {.memory_rows = flows.size() + 1, .block_rows = options.block_rows},
                    path.parent_path());
  for (auto& f : flows) {
    if (auto r = sorter.add(std::move(f)); !r) return r;
  }
  flows.clear();
  return write_sorted(path, period, sorter, sessions, counters, options);
}

Result<SealResult> install_sealed_shard(const std::filesystem::path& data_dir,
                                        const ShardPeriod& period, FlowSorter& sorter,
                                        const SealedContents& contents, const SealOptions& options,
                                        Manifest& manifest, TimestampNs now) {
  const auto sealed_path = shard_path(data_dir, period, ShardForm::kSealed);
  SealResult result;
  result.period = period;
  result.path = sealed_path;
  result.rows = sorter.rows();
  result.sessions = contents.sessions.size();

  const std::filesystem::path tmp = sealed_path.string() + ".tmp";
  std::vector<std::uint8_t> key_filter;
  auto written = write_sorted(tmp, period, sorter, contents.sessions, contents.counters, options,
                              &key_filter, contents.merged_from);
  if (!written) {
    remove_with_side_files(tmp);
    return std::unexpected(written.error());
  }
  result.runs_spilled = sorter.runs_spilled();
  // Check what was written before it replaces its sources.
  auto counted = count_shard_rows(tmp);
  if (!counted || counted->flows != result.rows || counted->sessions != result.sessions) {
    remove_with_side_files(tmp);
    return fail(ErrorCode::kInternal, "sealed copy of " + sealed_path.string() + " lost rows");
  }
  if (auto r = fsync_path(tmp, false); !r) {
    remove_with_side_files(tmp);
    return std::unexpected(r.error());
  }
  if (::chmod(tmp.c_str(), 0444) != 0) {
    remove_with_side_files(tmp);
    return fail(ErrorCode::kIo, "chmod " + tmp.string() + ": " + std::strerror(errno));
  }
  std::error_code ec;
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
  e.counters = contents.counters;
  e.reason = merged_from_reason(contents.merged_from);
  // If this append fails the sealed file stays without an entry;
  // recover_interrupted_seals appends it later (the sources are kept until then).
  if (auto r = manifest.append(std::move(e)); !r) return std::unexpected(r.error());
  // Best effort: without its summary entry the shard is simply opened by queries.
  const ShardSummary summary{.period = period,
                             .rows = result.rows,
                             .counters = contents.counters,
                             .filter = std::move(key_filter)};
  if (auto r = record_shard_summary(sealed_path, summary); !r) result.summary_error = r.error();
  return result;
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
  FlowSorter sorter(seal_order(options),
                    {.memory_rows = options.memory_rows, .block_rows = options.block_rows},
                    open_path.parent_path());
  // Read-write so that SQLite may replay a WAL left by a crashed writer.
  auto db = sql::Db::open(open_path, sql::OpenMode::kReadWrite);
  if (!db) return std::unexpected(db.error());
  SealedContents contents;
  if (auto r = read_shard_contents(*db, {period, ShardForm::kOpen, open_path}, sorter, contents);
      !r) {
    return std::unexpected(r.error());
  }
  auto result = install_sealed_shard(data_dir, period, sorter, contents, options, manifest, now);
  if (!result) return result;
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
      ManifestEntry e;
      if (auto db = sql::Db::open(f.path, sql::OpenMode::kImmutable)) {
        e.counters = read_counters(*db).value_or(CaptureCounters{});
        e.reason = merged_from_reason(read_merged_from(*db).value_or(std::vector<std::string>{}));
      }
      e.kind = ManifestKind::kSeal;
      e.time = now;
      e.period = f.period;
      e.file = rel;
      e.sha256 = to_hex(*digest);
      e.bytes = std::filesystem::file_size(f.path, ec);
      e.rows = counts->flows;
      e.sessions = counts->sessions;
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
