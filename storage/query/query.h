// storage/query/query.h — what a query asks and what its answer says about completeness.
//
// Selectors are ANDed: ip (either endpoint), prefix (either endpoint inside),
// port (with ip: the port on that address's side; alone: either port),
// proto, subscriber. The window [from, to) selects flows that were active in
// it: first_ts < to and last_ts >= from. (A flow starts at most active_timeout
// before it is exported, so shards from period_of(from - active_timeout) on
// are read.)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/capture_counters.h"
#include "core/flow_record.h"
#include "core/ip_address.h"
#include "core/result.h"
#include "core/timestamp.h"

namespace conntrail::storage {

struct Query {
  std::optional<IpAddress> ip = std::nullopt;
  std::optional<IpPrefix> prefix = std::nullopt;
  std::optional<std::uint16_t> port = std::nullopt;
  std::optional<std::uint8_t> proto = std::nullopt;
  std::optional<std::string> subscriber = std::nullopt;
  TimestampNs from = 0;
  TimestampNs to = 0;

  // kInvalidArgument for an empty/inverted window or port without anything to pin it.
  Result<void> validate() const;
  bool matches(const FlowRecord& f) const noexcept;
};

enum class GapReason {
  kBeforeRetention,  // older than the retention cutoff: deleted (or never kept)
  kNoData,           // inside retention, in the past, but no shard exists
  kNotYetWritten,    // after the store's clock: no data can exist yet
};
std::string_view to_string(GapReason reason) noexcept;

struct Gap {
  TimestampNs from = 0;
  TimestampNs to = 0;
  GapReason reason = GapReason::kNoData;
};

struct QuerySummary {
  std::uint64_t rows = 0;         // rows handed to the callback
  bool stopped_early = false;     // the callback returned false
  std::size_t shards_open = 0;    // open shards read
  std::size_t shards_sealed = 0;  // sealed shards read (including those skipped)
  std::size_t shards_skipped = 0; // sealed shards their summary proved empty: not opened
  std::uint64_t blocks_read = 0;  // blocks decoded
  CaptureCounters counters;       // completeness counters summed over the shards read
  std::vector<Gap> gaps;          // parts of the window without data, in time order
};

}  // namespace conntrail::storage
