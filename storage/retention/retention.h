// storage/retention/retention.h — deleting shards on the day the law says, and holds that stop it.
//
// sweep_expired() makes the sealed → expired (and, for a shard that never got
// sealed, open → expired) transition. A shard is deleted only when its whole
// period is older than the retention (calendar.h: period.end() <=
// retention_cutoff(now)) and no active preservation hold overlaps the period.
// For each deletion the manifest first gets an `expire` entry (file, period,
// why), then the file goes; if a crash falls between the two, the next sweep
// deletes the file without a second entry. Nothing else in the store deletes
// shard files (disk full never triggers deletion).
//
// Holds are manifest entries too (hold / release), so they survive restarts
// and their history is part of the hash chain.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/result.h"
#include "storage/manifest/manifest.h"
#include "storage/shard/shard_name.h"

namespace conntrail::storage {

inline constexpr std::size_t kMaxHoldIdLength = 128;
inline constexpr std::size_t kMaxHoldReasonLength = 1024;

struct SweepResult {
  std::vector<ShardPeriod> expired;  // deleted now
  std::vector<ShardPeriod> held;     // expired by age but kept by a hold
};

Result<SweepResult> sweep_expired(const std::filesystem::path& data_dir, int retention_months,
                                  TimestampNs now);

// kInvalidArgument for an empty or over-long id/reason, an empty range, or an
// id that is already held.
Result<Hold> place_hold(const std::filesystem::path& data_dir, const std::string& id,
                        TimestampNs from, TimestampNs to, const std::string& reason,
                        TimestampNs now);
// kNotFound when no active hold has that id.
Result<void> release_hold(const std::filesystem::path& data_dir, const std::string& id,
                          const std::string& reason, TimestampNs now);
Result<std::vector<Hold>> list_holds(const std::filesystem::path& data_dir);

}  // namespace conntrail::storage
