// storage/retention/calendar.h — retention arithmetic in calendar months, UTC.
//
// "Keep 12 months" means: a record of instant t may be deleted once
// now >= t + 12 calendar months (same day of month and time of day; a day
// that the target month lacks is clamped to its last day, so 31 March minus
// one month is 28/29 February). A shard expires when its whole period is
// older than that: period.end() <= retention_cutoff(now).
#pragma once

#include "core/timestamp.h"
#include "storage/shard/shard_name.h"

namespace conntrail::storage {

// t moved `months` calendar months back (months >= 0), day clamped.
TimestampNs subtract_months(TimestampNs t, int months) noexcept;

// The oldest instant still inside retention at `now`.
inline TimestampNs retention_cutoff(TimestampNs now, int months) noexcept {
  return subtract_months(now, months);
}

inline bool is_expired(const ShardPeriod& p, TimestampNs now, int months) noexcept {
  return p.end() <= retention_cutoff(now, months);
}

}  // namespace conntrail::storage
