// agent/api/flow_query.h — the seam between the lawful API and the storage engine.
//
// The API never touches shards. It describes what an approved request may
// see (QuerySpec: the request's selectors and time window) and hands that to
// an injected FlowQueryFn, which the agent wires to storage's query engine.
// The function streams matching records to on_row (on the calling thread —
// the API calls it from a worker thread) and stops early when on_row returns
// false. It returns how complete the answer is: which parts of the window
// had no data to search (before retention, shards missing or unreadable),
// so an officer never mistakes "no data" for "no traffic".
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/flow_record.h"
#include "core/ip_address.h"
#include "core/result.h"
#include "core/timestamp.h"

namespace conntrail::agent {

// One target of a request. Exactly one of the three forms:
//  - kAddress: flows with `address` at either end (and `port` at that end, when set);
//  - kPrefix:  flows with an end inside `prefix` (bounded in breadth by the API);
//  - kSubscriber: flows attributed to this subscriber id.
struct Selector {
  enum class Kind { kAddress, kPrefix, kSubscriber };
  Kind kind = Kind::kAddress;
  IpAddress address;
  std::optional<std::uint16_t> port;
  IpPrefix prefix;
  std::string subscriber;

  // Whether the record matches this selector (a reference the storage adapter may reuse).
  bool matches(const FlowRecord& flow) const;
};

struct QuerySpec {
  std::string request_id;
  std::vector<Selector> selectors;  // a record matches when any selector matches
  TimestampNs from = 0;             // inclusive: flows with last_ts >= from
  TimestampNs to = 0;               // exclusive: flows with first_ts < to
};

struct TimeRange {
  TimestampNs from = 0;
  TimestampNs to = 0;
};

struct QueryCompleteness {
  std::uint64_t shards_searched = 0;    // shards that answered
  std::uint64_t shards_unreadable = 0;  // shards present but failed (corrupt, I/O)
  std::uint64_t packets_dropped = 0;    // capture drops recorded for the window (kernel + ours)
  std::vector<TimeRange> uncovered;     // parts of [from, to) with no shard to search

  bool complete() const noexcept {
    return shards_unreadable == 0 && packets_dropped == 0 && uncovered.empty();
  }
};

using FlowRowFn = std::function<bool(const FlowRecord&)>;
using FlowQueryFn =
    std::function<Result<QueryCompleteness>(const QuerySpec&, const FlowRowFn& on_row)>;

// What the storage manifest reports when it deletes data (retention or an
// operator's purge); the API journals it (LawfulApi::record_deletion).
struct DataDeletion {
  std::string what;  // e.g. the shard file name
  TimestampNs from = 0;
  TimestampNs to = 0;  // the time range the deleted data covered
  std::uint64_t records = 0;
  std::string reason;  // "retention", "operator", …
};

}  // namespace conntrail::agent
