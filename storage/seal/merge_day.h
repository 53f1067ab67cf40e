// storage/seal/merge_day.h — a finished day's sealed shards become one sealed day shard.
//
// Why: a query opens every shard it cannot rule out, and over 30 days of
// hourly shards that is up to 720 SQLite files for a subscriber who is active
// every hour. Once a day can no longer change, its shards are merged into one
// sealed shard of period P1D (`20260901T000000Z_P1D.sealed.sqlite`, the name
// a store with shard_period = day writes): 30 opens for 30 days, and the
// fixed per-file cost (SQLite pages of the tables and indexes, ≈ 20 B/flow at
// 2,000 flows/hour) is paid once a day. Measured figures: docs/PERFORMANCE.md.
//
// When: a day is merged once every shard of it is sealed, none is open, and
// its end + active timeout + margin has passed (the writer closes its periods
// by then) — and only while it holds at most SealOptions::merge_max_rows
// (50 M) flows: busier days gain little and would cost the sealer's core.
// The sealer tries after sealing the last period of a day and the day before
// a sealed period's; `conntrail shards seal` and seal-on-stop merge every due
// day.
//
// What stays true:
//  - rows: the day shard holds exactly the sources' flows, sessions and summed
//    counters; its row counts are checked before any source is deleted;
//  - tamper evidence: every source's SHA-256 must equal its manifest `seal`
//    entry before it is read (a modified shard is refused, not laundered into
//    a fresh hash); the day shard gets a `seal` entry whose reason names its
//    sources, then each source a `merge` entry (its hash and rows) before it
//    is deleted — so the chain shows where every sealed row went;
//  - retention: a shard is deleted when its whole period is older than the
//    retention, so a day shard goes at the end of its day: records of its
//    first hour are kept up to 23 hours longer than in hourly form, never
//    shorter (periods up to one day are the issue's own range);
//  - queries: a day shard hides exactly the files its meta `merged_from`
//    names (visible only between its rename and their deletion, or after a
//    crash there); any other shard of the day stays visible.
//  - the writer never writes a period of a merged day again (flow_writer.h).
// Crash safety: the day shard is installed like a seal (tmp, fsync, rename,
// manifest); recover_interrupted_merges() finishes what a crash interrupted.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/result.h"
#include "storage/manifest/manifest.h"
#include "storage/seal/seal_shard.h"
#include "storage/shard/shard_name.h"
#include "storage/store/store_options.h"

namespace conntrail::storage {

struct MergeResult {
  SealResult day;                    // the day shard as installed
  std::vector<ShardPeriod> sources;  // the shards it replaced
};

// Merges the sealed shards of the UTC day that starts at day_start.
// kNotFound: nothing to merge (fewer than two sealed shards shorter than a
// day, the day already has a day shard, or it holds more than
// SealOptions::merge_max_rows flows). kInvalidArgument: a shard of the
// day is still open. kCorrupt: a source's hash differs from its manifest entry
// (or it has none): nothing is merged, `conntrail shards verify` names it.
Result<MergeResult> merge_sealed_day(const std::filesystem::path& data_dir, TimestampNs day_start,
                                     const SealOptions& options, Manifest& manifest,
                                     TimestampNs now);

// Merges every day under data_dir whose end + active timeout + margin is at or
// before `now` and that merge_sealed_day accepts; other days are skipped.
Result<std::vector<MergeResult>> merge_due_days(const StoreOptions& options, Manifest& manifest,
                                                TimestampNs now);

// Startup / CLI recovery: for every sealed day shard that lists its sources
// (meta merged_from), each source still present gets its `merge` entry (once)
// and is deleted with its summary entry. Returns the number of repairs.
Result<std::size_t> recover_interrupted_merges(const std::filesystem::path& data_dir,
                                               Manifest& manifest, TimestampNs now);

// The files of a query's listing that a merged day shard among them replaces,
// removed (they hold the same rows): see "queries" above. `files` sorted by
// period as list_shard_files gives them.
std::vector<ShardFile> without_merged_sources(std::vector<ShardFile> files);

}  // namespace conntrail::storage
