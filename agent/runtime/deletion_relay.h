// agent/runtime/deletion_relay.h — every data deletion reaches the audit journal.
//
// Storage deletes expired shards on its own (the sealer thread's retention
// sweep) and records each deletion in its hash-chained manifest. Oversight
// reads the audit journal, so the relay copies each manifest `expire` entry
// into the journal (LawfulApi::record_deletion) — once: the manifest sequence
// number of the last relayed entry is kept in `<data_dir>/audit-relay.seq`,
// replaced atomically after each journal append. A crash between the append
// and the replacement can repeat one entry (at least once, never lost); the
// journal entry names the manifest sequence number, so a repeat is visible.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>

#include "agent/api/flow_query.h"
#include "core/result.h"

namespace conntrail::agent {

class DeletionRelay {
 public:
  using RecordFn = std::function<Result<void>(const DataDeletion&)>;

  DeletionRelay(std::filesystem::path data_dir, RecordFn record);

  // Relays every manifest `expire` entry not relayed yet; returns how many.
  Result<std::size_t> relay_new();

 private:
  Result<std::uint64_t> load_cursor() const;
  Result<void> store_cursor(std::uint64_t seq) const;

  std::filesystem::path data_dir_;
  RecordFn record_;
};

}  // namespace conntrail::agent
