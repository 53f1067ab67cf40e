// storage/summary/shard_summary.h — what a sealed shard holds, in a few bytes per key.
//
// Job: let a query over many shards open only those that may hold its
// address or subscriber. A 30-day query touches 720 hourly shards; opening
// each cold costs several random reads, while one subscriber appears in a
// fraction of them unless the network is busy. At sealing, the shard's
// distinct endpoint addresses and subscriber ids go into a Bloom filter
// (codec::KeyFilterBuilder), stored with the shard's row count and capture
// counters in one file per day directory (`YYYY/MM/DD/summary.bin`) beside the
// shards, so a query reads one small file per day instead of 24 shards.
//
// Retention: the entry leaves with its shard (forget_shard_summary, called by
// the sweeper before the shard is deleted); an empty file is deleted.
//
// Trust and failure: the summary is an accelerator, never a source of
// answers. A shard without an entry (sealed before summaries existed, or the
// update failed) or a summary file that is missing or fails its checksum is
// simply opened. Entries of shards no longer listed are ignored. A filter
// never has false negatives as built; a tampered one could hide a shard from
// queries, so `conntrail shards verify` checks every entry against its shard
// (storage/verify). Only filters up to kMaxFilterBytes are kept: at high
// density almost every subscriber is in every shard and a filter would cost
// more to read than it saves.
//
// File format (version 1): "CTSUM1\n", then entries, each a LEB128 length and
// a payload (period start ns, period seconds, rows, the eight capture
// counters as LEB128, filter length and bytes), then the SHA-256 of all the
// bytes before it. Rewritten whole (tmp, fsync, rename) by the one sealer.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/capture_counters.h"
#include "core/ip_address.h"
#include "core/result.h"
#include "storage/shard/shard_name.h"

namespace conntrail::storage {

inline constexpr std::size_t kMaxFilterBytes = 64 * 1024;  // 65,536 keys at 8 bits
inline constexpr std::size_t kMaxSummaryFileBytes = 64 << 20;

struct ShardSummary {
  ShardPeriod period;
  std::uint64_t rows = 0;
  CaptureCounters counters;
  std::vector<std::uint8_t> filter;  // empty: no filter, the shard may hold anything

  // False only when the shard certainly holds no flow with `ip` at either end
  // (when given) or no flow of `subscriber` (when given).
  bool may_hold(const std::optional<IpAddress>& ip,
                const std::optional<std::string>& subscriber) const noexcept;
  friend bool operator==(const ShardSummary&, const ShardSummary&) = default;
};

// The entries of the day files a set of shards lives in, each file read once
// (a query, verify and backfill walk many shards of few days).
class SummaryIndex {
 public:
  // The entry of this shard, or null: no entry, or its file is missing or damaged.
  const ShardSummary* find(const std::filesystem::path& shard_path, const ShardPeriod& period);
  // Files that could not be read (damaged), with why; each once.
  const std::vector<std::pair<std::filesystem::path, Error>>& unreadable() const noexcept {
    return unreadable_;
  }

 private:
  std::map<std::filesystem::path, std::vector<ShardSummary>> by_file_;
  std::vector<std::pair<std::filesystem::path, Error>> unreadable_;
};

// The summary file of the day directory that holds `shard_path`.
std::filesystem::path summary_path_for(const std::filesystem::path& shard_path);

// Adds (or replaces, by period) the entry of one sealed shard in its day's file.
Result<void> record_shard_summary(const std::filesystem::path& shard_path,
                                  const ShardSummary& summary);

// Removes the entry of a shard about to be deleted (retention): a Bloom
// filter of its addresses is personal data too and goes with the shard. The
// file is deleted when no entry remains, and also when it cannot be
// rewritten (a missing summary only costs speed) — so this never fails.
void forget_shard_summary(const std::filesystem::path& shard_path, const ShardPeriod& period);

// Computes a sealed shard's entry from its contents (every block decoded):
// the same entry sealing writes. For shards sealed before summaries existed
// (`conntrail shards summarize`).
Result<ShardSummary> summarize_sealed_shard(const std::filesystem::path& sealed_path,
                                            const ShardPeriod& period);

// Adds an entry, computed by summarize_sealed_shard(), for every sealed shard
// under data_dir that has none. Returns how many were added.
Result<std::size_t> backfill_summaries(const std::filesystem::path& data_dir);

// Entries of one summary file; an absent file is an empty list. kCorrupt when
// the file fails its checksum or its structure (callers then open shards).
Result<std::vector<ShardSummary>> read_summary_file(const std::filesystem::path& path);

}  // namespace conntrail::storage
