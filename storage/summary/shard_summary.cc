// storage/summary/shard_summary.cc — see shard_summary.h.
#include "storage/summary/shard_summary.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string_view>

#include "core/handle.h"
#include "storage/codec/block_filter.h"
#include "storage/codec/byte_io.h"
#include "storage/codec/flow_block.h"
#include "storage/hash/sha256.h"
#include "storage/shard/schema.h"
#include "storage/sqlite/sqlite.h"

namespace conntrail::storage {
namespace {

constexpr std::string_view kMagic = "CTSUM1\n";
constexpr std::size_t kMaxEntryBytes = kMaxFilterBytes + 256;

void encode_entry(const ShardSummary& s, std::vector<std::uint8_t>& out) {
  std::vector<std::uint8_t> payload;
  codec::ByteWriter w(payload);
  w.svarint(s.period.start);
  w.varint(static_cast<std::uint64_t>(s.period.seconds));
  w.varint(s.rows);
  const auto& c = s.counters;
  for (const std::uint64_t v : {c.packets, c.bytes, c.decode_errors, c.kernel_drops,
                                c.interface_drops, c.queue_drops, c.flows_exported,
                                c.flows_evicted}) {
    w.varint(v);
  }
  w.varint(s.filter.size());
  w.bytes(s.filter);
  codec::ByteWriter(out).varint(payload.size());
  out.insert(out.end(), payload.begin(), payload.end());
}

Result<ShardSummary> decode_entry(std::span<const std::uint8_t> payload) {
  codec::ByteReader r(payload);
  ShardSummary s;
  s.period.start = r.svarint();
  s.period.seconds = static_cast<std::int64_t>(r.varint());
  s.rows = r.varint();
  auto& c = s.counters;
  for (std::uint64_t* v : {&c.packets, &c.bytes, &c.decode_errors, &c.kernel_drops,
                           &c.interface_drops, &c.queue_drops, &c.flows_exported,
                           &c.flows_evicted}) {
    *v = r.varint();
  }
  const std::uint64_t filter_bytes = r.varint();
  if (!r.ok() || filter_bytes > kMaxFilterBytes || filter_bytes != r.remaining()) {
    return fail(ErrorCode::kCorrupt, "summary entry: malformed");
  }
  const auto f = r.bytes(filter_bytes);
  s.filter.assign(f.begin(), f.end());
  return s;
}

Result<std::vector<std::uint8_t>> slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::vector<std::uint8_t>{};
  std::vector<std::uint8_t> bytes;
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::size_t>(std::max<std::streamoff>(0, in.tellg()));
  if (size > kMaxSummaryFileBytes) {
    return fail(ErrorCode::kCorrupt, path.string() + ": larger than any summary file");
  }
  in.seekg(0);
  bytes.resize(size);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size))) {
    return fail(ErrorCode::kIo, path.string() + ": read failed");
  }
  return bytes;
}

Result<void> write_file_durably(const std::filesystem::path& path,
                                std::span<const std::uint8_t> bytes) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  auto io_fail = [&](const char* what) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return fail(err == ENOSPC ? ErrorCode::kNoSpace : ErrorCode::kIo,
                tmp.string() + ": " + what + ": " + std::strerror(err));
  };
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return io_fail("open");
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_fail("write");
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return io_fail("fsync");
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) return io_fail("rename");
  return {};
}

}  // namespace

bool ShardSummary::may_hold(const std::optional<IpAddress>& ip,
                            const std::optional<std::string>& subscriber) const noexcept {
  if (filter.empty()) return true;
  const codec::BlockFilterView view(filter);
  if (ip && !view.may_contain(*ip)) return false;
  if (subscriber && !view.may_contain_subscriber(*subscriber)) return false;
  return true;
}

std::filesystem::path summary_path_for(const std::filesystem::path& shard_path) {
  return shard_path.parent_path() / "summary.bin";
}

Result<std::vector<ShardSummary>> read_summary_file(const std::filesystem::path& path) {
  auto bytes = slurp(path);
  if (!bytes) return std::unexpected(bytes.error());
  std::vector<ShardSummary> out;
  if (bytes->empty()) return out;
  const std::size_t digest_bytes = std::tuple_size_v<Sha256Digest>;
  if (bytes->size() < kMagic.size() + digest_bytes ||
      !std::equal(kMagic.begin(), kMagic.end(), bytes->begin())) {
    return fail(ErrorCode::kCorrupt, path.string() + ": not a summary file");
  }
  const std::span<const std::uint8_t> body(bytes->data(), bytes->size() - digest_bytes);
  const auto digest = sha256(body);
  if (!std::equal(digest.begin(), digest.end(), bytes->end() - digest_bytes)) {
    return fail(ErrorCode::kCorrupt, path.string() + ": checksum mismatch");
  }
  codec::ByteReader r(body.subspan(kMagic.size()));
  while (!r.at_end()) {
    const std::uint64_t size = r.varint();
    if (!r.ok() || size > kMaxEntryBytes || size > r.remaining()) {
      return fail(ErrorCode::kCorrupt, path.string() + ": malformed entry length");
    }
    auto entry = decode_entry(r.bytes(size));
    if (!entry) return fail(ErrorCode::kCorrupt, path.string() + ": " + entry.error().message);
    out.push_back(std::move(*entry));
  }
  return out;
}

namespace {

Result<void> write_entries(const std::filesystem::path& path, std::vector<ShardSummary>& kept) {
  std::sort(kept.begin(), kept.end(), [](const ShardSummary& a, const ShardSummary& b) {
    return a.period.start < b.period.start;
  });
  std::vector<std::uint8_t> bytes(kMagic.begin(), kMagic.end());
  for (const auto& s : kept) encode_entry(s, bytes);
  const auto digest = sha256(bytes);
  bytes.insert(bytes.end(), digest.begin(), digest.end());
  return write_file_durably(path, bytes);
}

}  // namespace

Result<ShardSummary> summarize_sealed_shard(const std::filesystem::path& sealed_path,
                                            const ShardPeriod& period) {
  auto db = sql::Db::open(sealed_path, sql::OpenMode::kImmutable);
  if (!db) return std::unexpected(db.error());
  ShardSummary out;
  out.period = period;
  auto counters = read_counters(*db);
  if (!counters) return std::unexpected(counters.error());
  out.counters = *counters;
  auto blocks = db->prepare("SELECT data FROM blocks ORDER BY id");
  if (!blocks) return std::unexpected(blocks.error());
  // The key set sealing uses: both endpoints of every record, every subscriber.
  std::set<std::array<std::uint8_t, 16>> addresses;
  std::set<std::string> subscribers;
  codec::FlowBlockDecoder decoder;
  std::vector<FlowRecord> rows;
  for (;;) {
    auto row = blocks->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    if (auto r = decoder.decode(blocks->column_blob(0), rows); !r) {
      return fail(r.error().code, sealed_path.string() + ": " + r.error().message);
    }
    out.rows += rows.size();
    for (const auto& f : rows) {
      addresses.insert(f.src_ip.bytes());
      addresses.insert(f.dst_ip.bytes());
      if (!f.subscriber.empty()) subscribers.insert(f.subscriber);
    }
  }
  const std::size_t keys = addresses.size() + subscribers.size();
  if (keys <= kMaxFilterBytes) {
    codec::KeyFilterBuilder filter(keys);
    for (const auto& a : addresses) filter.add_address(a);
    for (const auto& s : subscribers) filter.add_subscriber(s);
    out.filter = filter.take();
  }
  return out;
}

const ShardSummary* SummaryIndex::find(const std::filesystem::path& shard_path,
                                       const ShardPeriod& period) {
  const auto path = summary_path_for(shard_path);
  auto it = by_file_.find(path);
  if (it == by_file_.end()) {
    auto entries = read_summary_file(path);
    if (!entries) unreadable_.emplace_back(path, entries.error());
    it = by_file_.emplace(path, entries ? std::move(*entries) : std::vector<ShardSummary>{}).first;
  }
  for (const auto& s : it->second) {
    if (s.period == period) return &s;
  }
  return nullptr;
}

Result<std::size_t> backfill_summaries(const std::filesystem::path& data_dir) {
  auto files = list_shard_files(data_dir);
  if (!files) return std::unexpected(files.error());
  SummaryIndex index;  // as the files were before: each shard is visited once
  std::size_t added = 0;
  for (const auto& f : *files) {
    if (f.form != ShardForm::kSealed || index.find(f.path, f.period) != nullptr) continue;
    auto entry = summarize_sealed_shard(f.path, f.period);
    if (!entry) return std::unexpected(entry.error());
    if (auto r = record_shard_summary(f.path, *entry); !r) return std::unexpected(r.error());
    ++added;
  }
  return added;
}

void forget_shard_summary(const std::filesystem::path& shard_path, const ShardPeriod& period) {
  const auto path = summary_path_for(shard_path);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return;
  auto entries = read_summary_file(path);
  if (entries) {
    std::erase_if(*entries, [&](const ShardSummary& s) { return s.period == period; });
    if (!entries->empty() && write_entries(path, *entries)) return;
  }
  std::filesystem::remove(path, ec);
}

Result<void> record_shard_summary(const std::filesystem::path& shard_path,
                                  const ShardSummary& summary) {
  const auto path = summary_path_for(shard_path);
  auto entries = read_summary_file(path);
  // A damaged file is replaced: the shards it described are then opened by
  // queries until their entries are rewritten (an accelerator, never data).
  std::vector<ShardSummary> kept = entries ? std::move(*entries) : std::vector<ShardSummary>{};
  std::erase_if(kept, [&](const ShardSummary& s) { return s.period == summary.period; });
  kept.push_back(summary);
  if (kept.back().filter.size() > kMaxFilterBytes) kept.back().filter.clear();
  return write_entries(path, kept);
}

}  // namespace conntrail::storage
