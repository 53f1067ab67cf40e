// storage/seal/seal_shard.h — turning an open shard into its sealed form (open → sealed).
//
// seal_shard() is the one function that makes the transition:
//   1. read the open shard (read-only; the writer has closed it),
//   2. write `<stem>.sealed.sqlite.tmp`: records sorted (in bounded memory:
//      runs spilled to an anonymous file when the shard exceeds
//      SealOptions::memory_rows, flow_sorter.h) and re-cut into
//      blocks, indexes built (sealed_format.h), sessions and counters copied,
//      meta form=sealed, ANALYZE; one transaction, no journal (the file is
//      not a shard until renamed),
//   3. fsync, chmod 0444, rename to `<stem>.sealed.sqlite`, fsync the directory,
//   4. SHA-256 of the file, append a `seal` entry to the manifest,
//   5. delete the open file and its -wal/-shm.
// A crash at any step leaves either the open shard (tmp removed and the seal
// redone by recover_interrupted_seals) or the sealed file; a sealed file
// without a manifest entry gets its entry appended on recovery.
#pragma once

#include <filesystem>
#include <optional>
#include <vector>

#include "core/capture_counters.h"
#include "core/flow_record.h"
#include "core/result.h"
#include "core/session_record.h"
#include "storage/manifest/manifest.h"
#include "storage/seal/flow_sorter.h"
#include "storage/shard/shard_name.h"
#include "storage/sqlite/sqlite.h"

namespace conntrail::storage {

struct SealOptions {
  int zstd_level = 6;
  std::size_t block_rows = 1024;  // measured: vs 2048, +0.6 B/flow, -27 % CPU per point query
  std::size_t page_entries = 1024;
  // Measured (docs/STORAGE.md): 1 KiB pages make a sealed shard smaller at every density
  // (2 k flows: 57.3 → 38.4 B/flow; 200 k: 25.6 → 23.8; 2 M: 21.3 → 20.7) for ~5 µs more
  // per block read warm; 64 KiB pages waste up to 60 % on ~40 KB block blobs.
  int page_size = 1024;
  bool sort_by_subscriber_address = true;  // false: sort by first_ts (measured alternative)
  // Records seal_shard holds in memory (~150–200 bytes each) before it sorts
  // them in runs spilled to a temporary file and merged (flow_sorter.h).
  std::size_t memory_rows = 1 << 18;  // measured: 3 M-row shard 618 → 113 MB peak RSS, same CPU
  // merge_day.h: a day with more flows than this keeps its hourly shards. At
  // that density each hour holds ≥ 2 M flows, its fixed file cost is < 1 B/flow
  // and a query's time goes to the blocks it reads, not to opening files; and
  // merging (≈ 1.15 µs/flow on the sealer's core, measured) would compete with
  // sealing at sustained rates (≥ 500 k flows/s = 43 G flows/day), and its
  // posting lists grow with the day's distinct addresses.
  std::uint64_t merge_max_rows = 50'000'000;
};

struct SealResult {
  ShardPeriod period;
  std::filesystem::path path;
  std::uint64_t rows = 0;
  std::uint64_t sessions = 0;
  std::uint64_t bytes = 0;
  std::string sha256;
  std::size_t runs_spilled = 0;  // 0: the shard was sorted in memory
  std::optional<Error> summary_error;  // the day summary could not be updated (shard is fine)
};

// What a sealed shard holds besides its flows (which come through a FlowSorter).
struct SealedContents {
  std::vector<SessionRecord> sessions;
  CaptureCounters counters;
  // For a day shard merged from shorter ones (merge_day.h): their file names,
  // kept in its meta (`merged_from`) and in its manifest entry's reason.
  std::vector<std::string> merged_from;
};

// Steps 2–4 above for any source (an open shard, or a day's sealed shards):
// writes `<stem>.sealed.sqlite.tmp` for `period` from the sorter's records and
// `contents`, checks its row counts, fsyncs, makes it read-only, renames it,
// fsyncs the directory, hashes it, appends the `seal` manifest entry and
// records its day summary. The caller removes the sources afterwards.
Result<SealResult> install_sealed_shard(const std::filesystem::path& data_dir,
                                        const ShardPeriod& period, FlowSorter& sorter,
                                        const SealedContents& contents, const SealOptions& options,
                                        Manifest& manifest, TimestampNs now);

// Reads one shard, open or sealed (file.form), after checking its meta against
// its name: its flows go into `sorter` block by block (never all in memory
// unless they fit its limit), its sessions are appended to `into` and its
// counters added. Returns the number of flows. The source of seal_shard (an
// open shard) and of a day merge (sealed shards).
Result<std::uint64_t> read_shard_contents(sql::Db& db, const ShardFile& file, FlowSorter& sorter,
                                          SealedContents& into);

// fsync of a file, or of a directory (after a rename in it).
Result<void> fsync_path(const std::filesystem::path& p, bool directory);

// "merged from N sealed shards: a b c" (empty for an ordinary seal).
std::string merged_from_reason(const std::vector<std::string>& merged_from);

// Deletes a shard file and its -wal/-shm side files (missing ones are fine).
void remove_with_side_files(const std::filesystem::path& p);

// Writes the sealed form of the given contents at `path` (no manifest, no
// rename): the building block of seal_shard, used directly by the benchmark.
// `flows` is consumed: its records are moved into the blocks.
Result<void> write_sealed_file(const std::filesystem::path& path, const ShardPeriod& period,
                               std::vector<FlowRecord>& flows,
                               const std::vector<SessionRecord>& sessions,
                               const CaptureCounters& counters, const SealOptions& options);

// Seals the open shard of `period` under data_dir (steps above).
// kNotFound when there is no open shard for the period.
Result<SealResult> seal_shard(const std::filesystem::path& data_dir, const ShardPeriod& period,
                              const SealOptions& options, Manifest& manifest, TimestampNs now);

// Startup / CLI recovery: removes *.sealed.sqlite.tmp leftovers, appends the
// missing manifest entry of a sealed file, deletes an open file whose sealed
// twin exists. Returns the number of repairs.
Result<std::size_t> recover_interrupted_seals(const std::filesystem::path& data_dir,
                                              Manifest& manifest, TimestampNs now);

// The instant after which the period's shard may be sealed.
TimestampNs seal_deadline(const ShardPeriod& period, std::chrono::seconds active_timeout,
                          std::chrono::seconds margin) noexcept;

}  // namespace conntrail::storage
