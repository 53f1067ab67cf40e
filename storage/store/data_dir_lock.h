// storage/store/data_dir_lock.h — one writer process per data directory.
//
// The shards, the manifest and the audit journal each assume a single
// appending process: two agents (or an agent and `conntrail ingest`) on one
// directory would interleave sequence numbers and break the hash chains. The
// lock is an flock(2) on `<data_dir>/.lock`, held for the life of the
// DataDirLock and released by the kernel if the process dies, so a crash
// never leaves a stale lock behind.
#pragma once

#include <filesystem>

#include "core/handle.h"
#include "core/result.h"

namespace conntrail::storage {

class DataDirLock {
 public:
  // Creates data_dir if missing. kLimit when another process holds the lock
  // (the message says so and names the directory), kIo otherwise.
  static Result<DataDirLock> acquire(const std::filesystem::path& data_dir);

 private:
  explicit DataDirLock(UniqueFd fd) noexcept : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace conntrail::storage
