// storage/store/store_options.cc — see store_options.h.
#include "storage/store/store_options.h"

#include <fmt/format.h>

#include "storage/shard/shard_name.h"

namespace conntrail::storage {

TimestampNs system_now() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<void> StoreOptions::validate() const {
  if (data_dir.empty()) return fail(ErrorCode::kInvalidArgument, "storage data_dir: empty");
  if (auto r = validate_period_seconds(shard_period.count()); !r) return r;
  if (active_timeout.count() < 0 || active_timeout > std::chrono::hours(24)) {
    return fail(ErrorCode::kInvalidArgument, "storage active_timeout: must be 0..86400 s");
  }
  if (seal_margin.count() < 0)
    return fail(ErrorCode::kInvalidArgument, "storage seal_margin: negative");
  if (queue_capacity < 1 || queue_capacity > (1u << 26)) {
    return fail(ErrorCode::kInvalidArgument, "storage queue_capacity: must be 1..67108864");
  }
  if (batch_max_records < 1)
    return fail(ErrorCode::kInvalidArgument, "storage batch_max_records: 0");
  if (batch_max_delay.count() < 1 || batch_max_delay > std::chrono::seconds(60)) {
    return fail(ErrorCode::kInvalidArgument, "storage batch_max_delay: must be 1 ms..60 s");
  }
  if (retention_months < kMinRetentionMonths || retention_months > kMaxRetentionMonths) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("storage retention: {} months, must be {}..{}", retention_months,
                            kMinRetentionMonths, kMaxRetentionMonths));
  }
  if (open_zstd_level < 1 || open_zstd_level > 19 || sealed_zstd_level < 1 ||
      sealed_zstd_level > 19) {
    return fail(ErrorCode::kInvalidArgument, "storage zstd level: must be 1..19");
  }
  if (sweep_interval.count() < 1) {
    return fail(ErrorCode::kInvalidArgument, "storage sweep_interval: must be at least 1 s");
  }
  if (retry_interval.count() < 1) {
    return fail(ErrorCode::kInvalidArgument, "storage retry_interval: must be at least 1 ms");
  }
  if (query_threads < 1 || query_threads > 64) {
    return fail(ErrorCode::kInvalidArgument, "storage query_threads: must be 1..64");
  }
  return {};
}

}  // namespace conntrail::storage
