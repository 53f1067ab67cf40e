// storage/manifest/manifest.h — the hash-chained, append-only record of what the store did.
//
// File: data_dir/manifest.jsonl, one JSON object per line. Every entry holds
// seq (1, 2, ...), prev (hash of the previous entry, 64 zeros for the first)
// and hash = SHA-256(prev + "\n" + the entry's canonical JSON without "hash").
// Kinds:
//   seal     a shard became sealed: period, file, sha256, bytes, rows,
//            sessions, completeness counters; a day shard merged from shorter
//            ones also has a reason naming them (storage/seal/merge_day.h)
//   merge    a sealed shard was replaced by the sealed shard of its whole
//            day, which holds all its rows (nothing deleted): period, file,
//            sha256 and rows of the replaced file, reason naming the day shard
//   expire   a shard was deleted by retention: period, file, reason
//   hold     a preservation hold was placed: hold_id, from, to, reason
//   release  a hold was released: hold_id, reason
// So a deletion on time, a hold and a seal can all be proven afterwards, and
// changing, removing or reordering an entry breaks the chain at that line.
//
// Concurrency: append() takes flock(LOCK_EX) on the file, reads the tail
// under the lock, writes one line with O_APPEND and fsyncs before returning;
// several processes (agent, `conntrail shards`) may append safely.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/capture_counters.h"
#include "core/result.h"
#include "core/timestamp.h"
#include "storage/shard/shard_name.h"

namespace conntrail::storage {

enum class ManifestKind { kSeal, kExpire, kHold, kRelease, kMerge };
std::string_view to_string(ManifestKind kind) noexcept;

struct ManifestEntry {
  std::uint64_t seq = 0;
  ManifestKind kind = ManifestKind::kSeal;
  TimestampNs time = 0;  // when the action happened (store clock)
  // seal / expire / merge
  ShardPeriod period{};
  std::string file;    // relative to data_dir
  std::string sha256;  // hex, seal and merge
  std::uint64_t bytes = 0;
  std::uint64_t rows = 0;
  std::uint64_t sessions = 0;
  CaptureCounters counters;
  // expire / hold / release / merge (and a merged seal)
  std::string reason;
  std::string hold_id;
  TimestampNs hold_from = 0;
  TimestampNs hold_to = 0;
  // chain
  std::string prev;
  std::string hash;
};

struct Hold {
  std::string id;
  TimestampNs from = 0;
  TimestampNs to = 0;
  std::string reason;
  TimestampNs placed_at = 0;
};

// One problem found by verify_chain, with the 1-based line it concerns.
struct ChainProblem {
  std::size_t line = 0;
  std::string what;
};

class Manifest {
 public:
  explicit Manifest(std::filesystem::path data_dir)
      : path_(std::move(data_dir) / "manifest.jsonl") {}

  const std::filesystem::path& path() const noexcept { return path_; }

  // Fills seq, prev, hash; appends durably; returns the stored entry.
  Result<ManifestEntry> append(ManifestEntry entry);

  // All entries as stored (no verification); empty when no manifest exists.
  Result<std::vector<ManifestEntry>> read_all() const;
  // Recomputes every hash and link; empty vector = intact.
  Result<std::vector<ChainProblem>> verify_chain() const;

  // Holds placed and not released, from the entries.
  static std::vector<Hold> active_holds(const std::vector<ManifestEntry>& entries);

 private:
  std::filesystem::path path_;
};

// The hash an entry must carry (exposed for tests and verify).
std::string manifest_entry_hash(const ManifestEntry& e);

}  // namespace conntrail::storage
