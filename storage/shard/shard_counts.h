// storage/shard/shard_counts.h — row counts of one shard file, either form.
#pragma once

#include <cstdint>
#include <filesystem>

#include "core/result.h"

namespace conntrail::storage {

struct ShardCounts {
  std::uint64_t flows = 0;
  std::uint64_t sessions = 0;
};

// Opens read-only; works while the writer is appending (WAL snapshot).
Result<ShardCounts> count_shard_rows(const std::filesystem::path& path);

// Bytes of the shard file plus its -wal and -shm side files.
std::uint64_t shard_bytes_on_disk(const std::filesystem::path& path);

}  // namespace conntrail::storage
