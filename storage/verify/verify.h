// storage/verify/verify.h — proving the stored data is what was sealed.
//
// verify_store() checks, offline and read-only:
//  - the manifest chain (every entry's hash and link: a modified, removed or
//    reordered entry is named by line and seq);
//  - every sealed shard the manifest lists and has not expired: present
//    ("removed" otherwise), SHA-256 equal to the manifest's ("modified"
//    otherwise), its meta period equal to its name ("renamed/reordered"
//    otherwise), row count equal, PRAGMA integrity_check = ok;
//  - every sealed file the manifest does not list ("unrecorded");
//  - each day summary file (storage/summary) reads back intact, and each of
//    its entries matches its shard: rows, counters, and a filter that holds
//    every record's addresses and subscriber (else queries would skip them);
//  - every open shard: meta matches its name, integrity_check = ok.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/result.h"

namespace conntrail::storage {

struct VerifyProblem {
  std::string subject;  // "manifest line 7" or a shard path relative to data_dir
  std::string what;
};

struct VerifyReport {
  std::size_t manifest_entries = 0;
  std::size_t sealed_checked = 0;
  std::size_t open_checked = 0;
  std::vector<VerifyProblem> problems;
  bool ok() const noexcept { return problems.empty(); }
};

Result<VerifyReport> verify_store(const std::filesystem::path& data_dir);

// One line per shard for `conntrail shards list`.
struct ShardListing {
  std::string file;   // relative to data_dir
  std::string state;  // open | sealed
  std::int64_t period_start = 0;
  std::int64_t period_seconds = 0;
  std::uint64_t rows = 0;
  std::uint64_t sessions = 0;
  std::uint64_t bytes = 0;
  std::string sha256;  // sealed only, from the manifest
};
Result<std::vector<ShardListing>> list_shards(const std::filesystem::path& data_dir);

}  // namespace conntrail::storage
