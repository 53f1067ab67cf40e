// storage/query/query_engine.h — answering flow and session queries over all shards.
//
// run(): prunes shards by period (only the day directories of the window are
// listed), reads the survivors in period order — open and sealed alike,
// never blocking the writer — and streams matching rows to the callback.
// Within a shard, rows are sorted by first_ts when the shard's matches fit the
// sort buffer (kSortBufferRows); beyond it they are streamed in storage order
// so memory stays bounded whatever the result size. The summary carries the
// completeness counters of every shard read and the parts of the window
// without data, each with its reason.
//
// sessions_covering(): the attribution question "who held address A at t":
// sessions are filed in the shard of their start (while open) or their end
// (once closed), so the shards within StoreOptions::session_lookaround of t
// are read, versions of one session merged (closed wins), and the sessions
// whose interval holds t returned.
//
// A QueryEngine is immutable after construction and may be used from several
// threads at once (each run() opens its own connections).
#pragma once

#include <functional>
#include <vector>

#include "core/flow_record.h"
#include "core/result.h"
#include "core/session_record.h"
#include "storage/query/query.h"
#include "storage/store/store_options.h"

namespace conntrail::storage {

inline constexpr std::size_t kSortBufferRows = 65536;

struct SessionQuery {
  std::optional<IpAddress> address = std::nullopt;  // sessions whose address/prefix holds it
  std::optional<std::string> subscriber = std::nullopt;
  std::optional<IpPrefix> prefix = std::nullopt;  // sessions whose address/prefix overlaps it
  TimestampNs from = 0;
  TimestampNs to = 0;  // sessions overlapping [from, to)
  // sessions_report(): more distinct sessions than this (0: no bound) is kLimit,
  // found while reading, so memory stays bounded by it.
  std::size_t max_sessions = 0;
};

// sessions_report(): the sessions and how complete the search was, for the
// lawful API (which must say when "no session" may only mean "no data").
struct SessionReport {
  std::vector<SessionRecord> sessions;  // sorted by start
  std::size_t shards_open = 0;          // shards read (the window's and the look-around's)
  std::size_t shards_sealed = 0;
  CaptureCounters counters;  // summed over the shards whose period overlaps [from, to)
  std::vector<Gap> gaps;     // parts of [from, to) without a shard, in time order
};

class QueryEngine {
 public:
  explicit QueryEngine(StoreOptions options) : options_(std::move(options)) {}

  // on_row returns false to stop early. Errors: kInvalidArgument (bad query),
  // kCorrupt / kIo (a shard could not be read; rows already delivered stand).
  Result<QuerySummary> run(const Query& query,
                           const std::function<bool(const FlowRecord&)>& on_row) const;

  Result<std::vector<SessionRecord>> sessions_covering(const IpAddress& address,
                                                       TimestampNs t) const;
  // Sessions by address, prefix or subscriber (ANDed when several are set)
  // overlapping the window, sorted by start.
  Result<std::vector<SessionRecord>> sessions(const SessionQuery& query) const;
  // The same, with the completeness of the search. Memory: the matching
  // session rows of the window and its look-around (versions of one session
  // are merged across shards, so they are held together), at most
  // query.max_sessions when set.
  Result<SessionReport> sessions_report(const SessionQuery& query) const;

 private:
  StoreOptions options_;
};

}  // namespace conntrail::storage
