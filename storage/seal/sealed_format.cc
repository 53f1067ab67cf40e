// storage/seal/sealed_format.cc — see sealed_format.h.
#include "storage/seal/sealed_format.h"

#include <algorithm>
#include <cstdint>

#include "storage/codec/byte_io.h"

namespace conntrail::storage {

const std::string_view kSealedSchemaSql = R"sql(
CREATE TABLE blocks(
  id INTEGER PRIMARY KEY,
  key_lo BLOB NOT NULL, key_hi BLOB NOT NULL,
  min_first_ts INTEGER NOT NULL, max_first_ts INTEGER NOT NULL,
  rows INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE ip_pages(first_key BLOB PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE subscriber_pages(first_key BLOB PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;
)sql";

// Built after the blocks are in, so that its pages lie together at the end of
// the file instead of between block pages (fewer distinct reads when cold).
const std::string_view kSealedIndexSql = "CREATE INDEX blocks_by_key ON blocks(key_hi, key_lo);";

namespace {
// Bound of a decoded page, far above any page the sealer writes.
constexpr std::size_t kMaxRawPageBytes = 32u << 20;
}  // namespace

Result<void> encode_index_page(std::span<const PostingEntry> entries, codec::Compressor& zstd,
                               std::vector<std::uint8_t>& out) {
  std::vector<std::uint8_t> raw;
  codec::ByteWriter w(raw);
  w.varint(entries.size());
  std::string_view prev;
  for (const auto& e : entries) {
    std::size_t common = 0;
    while (common < prev.size() && common < e.key.size() && prev[common] == e.key[common]) ++common;
    w.varint(common);
    w.text(std::string_view(e.key).substr(common));
    w.varint(e.blocks.size());
    std::uint32_t last = 0;
    for (auto b : e.blocks) {
      w.varint(b - last);
      last = b;
    }
    prev = e.key;
  }
  return zstd.compress(raw, out);
}

Result<void> scan_index_page(std::span<const std::uint8_t> page, codec::Decompressor& zstd,
                             std::string_view lo, std::string_view hi,
                             std::vector<std::int64_t>& blocks) {
  thread_local std::vector<std::uint8_t> raw;
  thread_local std::string key;
  if (auto r = zstd.decompress(page, raw, kMaxRawPageBytes); !r) return r;
  codec::ByteReader r(raw);
  const auto n = r.varint();
  if (!r.ok() || n > raw.size()) return fail(ErrorCode::kCorrupt, "index page: bad count");
  key.clear();
  for (std::uint64_t e = 0; e < n; ++e) {
    const auto common = r.varint();
    const auto suffix = r.text();
    if (!r.ok() || common > key.size()) return fail(ErrorCode::kCorrupt, "index page: bad key");
    key.resize(common);
    key.append(suffix);
    const auto count = r.varint();
    if (!r.ok() || count > r.remaining()) return fail(ErrorCode::kCorrupt, "index page: bad list");
    const bool wanted = std::string_view(key) >= lo && std::string_view(key) <= hi;
    std::uint64_t last = 0;
    for (std::uint64_t b = 0; b < count; ++b) {
      last += r.varint();
      if (wanted) blocks.push_back(static_cast<std::int64_t>(last));
    }
    if (std::string_view(key) > hi) break;  // keys are sorted
  }
  if (!r.ok()) return fail(ErrorCode::kCorrupt, "index page: truncated");
  return {};
}

Result<void> decode_index_page(std::span<const std::uint8_t> page, codec::Decompressor& zstd,
                               std::vector<PostingEntry>& entries) {
  std::vector<std::uint8_t> raw;
  if (auto r = zstd.decompress(page, raw, kMaxRawPageBytes); !r) return r;
  codec::ByteReader r(raw);
  const auto n = r.varint();
  if (!r.ok() || n > raw.size()) return fail(ErrorCode::kCorrupt, "index page: bad count");
  entries.resize(n);
  std::string prev;
  for (auto& e : entries) {
    const auto common = r.varint();
    const auto suffix = r.text();
    if (!r.ok() || common > prev.size()) return fail(ErrorCode::kCorrupt, "index page: bad key");
    e.key.assign(prev, 0, common);
    e.key.append(suffix);
    const auto count = r.varint();
    if (!r.ok() || count > r.remaining()) return fail(ErrorCode::kCorrupt, "index page: bad list");
    e.blocks.resize(count);
    std::uint64_t last = 0;
    for (auto& b : e.blocks) {
      last += r.varint();
      if (last > UINT32_MAX) return fail(ErrorCode::kCorrupt, "index page: bad block id");
      b = static_cast<std::uint32_t>(last);
    }
    prev = e.key;
  }
  if (!r.ok() || !r.at_end()) return fail(ErrorCode::kCorrupt, "index page: trailing bytes");
  return {};
}

}  // namespace conntrail::storage
