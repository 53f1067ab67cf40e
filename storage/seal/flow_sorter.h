// storage/seal/flow_sorter.h — flow records in sealed order, in bounded memory.
//
// Job: sealing re-orders a shard's records by (subscriber-side address,
// first_ts) (sealed_format.h). An hourly shard of a busy appliance holds
// millions of records, a daily one tens of millions; holding them all would
// make sealing's memory grow with traffic. FlowSorter keeps at most
// `memory_rows` records in memory: when its buffer fills, it sorts it and
// spills it as a run of compressed blocks (codec/flow_block.h, fast zstd
// level) to an anonymous temporary file beside the shard; drain() then merges
// the runs. A shard that fits is sorted in memory, as before, with no file.
//
// Invariants:
//  - drain() emits exactly the records add()ed, in the order a stable sort of
//    the whole input by the seal order would give: ties keep arrival order
//    (within a run by the stable sort, across runs because an earlier run
//    wins a tie and runs are cut in arrival order). Spilled or not, the
//    sealed file is therefore the same.
//  - Memory: memory_rows records, plus one decoded block per run while
//    merging (block_rows records each).
//  - The spill file is unlinked as soon as it is created (O_TMPFILE where the
//    file system has it): a crash never leaves it behind. Disk full while
//    spilling is kNoSpace; the caller's seal fails and is retried later,
//    the open shard untouched.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <vector>

#include "core/flow_record.h"
#include "core/handle.h"
#include "core/result.h"
#include "storage/codec/flow_block.h"

namespace conntrail::storage {

// The sealed order: subscriber-side address (the initiator when the side is
// unknown), then first_ts; or first_ts alone (the measured alternative).
struct SealOrder {
  bool by_subscriber_address = true;
  bool less(const FlowRecord& a, const FlowRecord& b) const noexcept;
};

// The address a record is sorted (and its block keyed) by.
const IpAddress& sort_address(const FlowRecord& f) noexcept;

class FlowSorter {
 public:
  struct Limits {
    std::size_t memory_rows = 1 << 18;  // records held before a run is spilled
    std::size_t block_rows = 1024;      // records per spilled block
  };

  // Spills (if it must) into an anonymous file in `spill_dir`.
  FlowSorter(SealOrder order, Limits limits, std::filesystem::path spill_dir);

  Result<void> add(FlowRecord&& record);

  // Emits every record in sealed order to `sink` (stops at its first error)
  // and leaves the sorter empty.
  using Sink = std::function<Result<void>(FlowRecord&&)>;
  Result<void> drain(const Sink& sink);

  std::size_t rows() const noexcept { return rows_; }
  // Runs written so far (kept after drain(): 0 means it sorted in memory).
  std::size_t runs_spilled() const noexcept { return runs_written_; }

 private:
  struct Run {
    std::uint64_t offset = 0;  // first byte of the run in the spill file
    std::uint64_t end = 0;     // one past its last byte
  };
  class RunCursor;

  Result<void> spill_buffer();
  Result<void> merge_runs(const Sink& sink);
  std::vector<std::uint32_t> sorted_order() const;

  SealOrder order_;
  Limits limits_;
  std::filesystem::path spill_dir_;
  std::vector<FlowRecord> buffer_;
  std::size_t rows_ = 0;
  UniqueFd spill_;
  std::uint64_t spill_bytes_ = 0;
  std::vector<Run> runs_;
  std::size_t runs_written_ = 0;
  codec::FlowBlockEncoder encoder_{1};  // fast: runs are read once and thrown away
};

}  // namespace conntrail::storage
