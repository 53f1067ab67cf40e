// storage/store/store_options.h — the immutable configuration of one store.
//
// A StoreOptions is validated once (validate()) and then copied into the
// writer, sealer, sweeper and query engine; none of them shares it mutably.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>

#include "core/result.h"
#include "core/timestamp.h"

namespace conntrail::storage {

// Wall-clock source; tests inject their own.
using Clock = std::function<TimestampNs()>;
TimestampNs system_now() noexcept;

inline constexpr int kMinRetentionMonths = 1;
inline constexpr int kMaxRetentionMonths = 120;

struct StoreOptions {
  std::filesystem::path data_dir;
  // Shard length: 5 min .. 1 day, dividing a day (UTC-aligned).
  std::chrono::seconds shard_period{3600};
  // How late after its first packet a record can arrive: capture's active
  // timeout plus an idle timeout, the close linger and a sweep
  // (capture::max_export_delay; the agent passes it, the default is for tests).
  std::chrono::seconds active_timeout{300};
  // Extra wait after period end + active_timeout before a shard is closed for sealing.
  std::chrono::seconds seal_margin{60};
  // Records (flows + sessions + counter updates) the queue holds; try_push fails beyond.
  std::size_t queue_capacity = 262144;
  // A batch is committed when it reaches this many records or batch_max_delay passed.
  std::size_t batch_max_records = 65536;
  std::chrono::milliseconds batch_max_delay{1000};
  // While the disk refuses writes, records wait in memory up to this many; more are
  // counted as failed (rows_failed) — never silently dropped.
  std::size_t retry_buffer_records = 1u << 20;
  std::chrono::milliseconds retry_interval{1000};
  // zstd level of open-shard blocks (speed) and sealed blocks (size).
  int open_zstd_level = 1;
  int sealed_zstd_level = 6;
  // Seal closed shards on a background thread while running.
  bool seal_in_background = true;
  // On stop(), seal every shard whose period (+ active timeout + margin) has passed.
  bool seal_on_stop = false;
  // Merge a finished day's sealed shards into one sealed day shard
  // (storage/seal/merge_day.h): 24× fewer files for long queries, smaller
  // stores at low density; deletion then happens by the day.
  bool merge_sealed_days = true;
  // Retention in calendar months (UTC), swept on the sealer thread this often.
  int retention_months = 12;
  std::chrono::seconds sweep_interval{600};
  // How far around an instant sessions_covering() looks for the session records
  // (a session is stored in the shard of its start, or of its end once closed).
  std::chrono::hours session_lookaround{24 * 7};
  // Shards a query reads at once (1: one after another). Cold reads are I/O
  // bound, so more threads than cores still help.
  int query_threads = 4;
  Clock clock;  // empty: system clock

  Result<void> validate() const;
  TimestampNs now() const { return clock ? clock() : system_now(); }
};

}  // namespace conntrail::storage
