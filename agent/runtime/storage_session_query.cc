// agent/runtime/storage_session_query.cc — see storage_session_query.h.
#include "agent/runtime/storage_session_query.h"

#include <fmt/format.h>

#include "agent/runtime/storage_flow_query.h"
#include "storage/query/query_engine.h"

namespace conntrail::agent {
namespace {

storage::SessionQuery to_storage_query(const Selector& s, TimestampNs from, TimestampNs to) {
  storage::SessionQuery q;
  q.from = from;
  q.to = to;
  q.max_sessions = kMaxSessionsPerSelector;
  switch (s.kind) {
    case Selector::Kind::kAddress:
      q.address = s.address;
      break;
    case Selector::Kind::kPrefix:
      q.prefix = s.prefix;
      break;
    case Selector::Kind::kSubscriber:
      q.subscriber = s.subscriber;
      break;
  }
  return q;
}

}  // namespace

SessionQueryFn make_storage_session_query(storage::StoreOptions options) {
  return [engine = storage::QueryEngine(std::move(options))](
             const QuerySpec& spec, const SessionRowFn& on_row) -> Result<QueryCompleteness> {
    QueryCompleteness completeness;
    for (std::size_t i = 0; i < spec.selectors.size(); ++i) {
      auto report = engine.sessions_report(to_storage_query(spec.selectors[i], spec.from, spec.to));
      if (!report && report.error().code == ErrorCode::kLimit) {
        return fail(ErrorCode::kLimit,
                    fmt::format("selector {}: {}; narrow the request", i, report.error().message));
      }
      if (!report) return std::unexpected(report.error());
      add_selector_completeness(i, report->shards_open + report->shards_sealed,
                                report->counters, report->gaps, completeness);
      for (const auto& s : report->sessions) {
        bool earlier = false;
        for (std::size_t j = 0; j < i && !earlier; ++j) {
          earlier = session_matches(spec.selectors[j], s);
        }
        if (earlier) continue;  // delivered by selector j already
        if (!on_row(s)) return completeness;
      }
    }
    sort_uncovered(completeness);
    return completeness;
  };
}

}  // namespace conntrail::agent
