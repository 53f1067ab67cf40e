// storage/store/store_status.h — what the store holds, for GET /v1/status and `shards list`.
//
// Reads the data directory without taking any lock the writer needs: open
// shards are read through read-only WAL connections, sealed shards' counts
// come from the manifest when it lists them (no file is opened for them).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>

#include "core/result.h"
#include "core/timestamp.h"

namespace conntrail::storage {

struct StoreStatus {
  std::uint64_t flows_stored = 0;
  std::uint64_t sessions_stored = 0;
  std::size_t shards_open = 0;
  std::size_t shards_sealed = 0;
  std::size_t shards_expired = 0;   // deletions recorded in the manifest
  std::uint64_t bytes_on_disk = 0;  // shard files incl. WAL, plus manifest
  std::optional<TimestampNs> oldest_period_start;
  std::optional<TimestampNs> newest_period_end;
};

// Call it qualified (storage::status): unqualified, ADL also finds std::filesystem::status.
Result<StoreStatus> status(const std::filesystem::path& data_dir);
inline Result<StoreStatus> store_status(const std::filesystem::path& data_dir) {
  return storage::status(data_dir);
}

}  // namespace conntrail::storage
