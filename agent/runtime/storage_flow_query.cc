#include "agent/runtime/storage_flow_query.h"

#include <algorithm>

#include "storage/query/query_engine.h"

namespace conntrail::agent {
namespace {

storage::Query to_storage_query(const Selector& s, TimestampNs from, TimestampNs to) {
  storage::Query q;
  q.from = from;
  q.to = to;
  switch (s.kind) {
    case Selector::Kind::kAddress:
      q.ip = s.address;
      q.port = s.port;
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

// Adds the window parts storage reported as empty, merging what several
// selector queries each reported for the same window.
void add_gaps(const std::vector<storage::Gap>& gaps, std::vector<TimeRange>& out) {
  for (const auto& g : gaps) {
    const bool known = std::any_of(out.begin(), out.end(), [&](const TimeRange& r) {
      return r.from == g.from && r.to == g.to;
    });
    if (!known) out.push_back({g.from, g.to});
  }
}

}  // namespace

FlowQueryFn make_storage_flow_query(storage::StoreOptions options) {
  return [engine = storage::QueryEngine(std::move(options))](
             const QuerySpec& spec, const FlowRowFn& on_row) -> Result<QueryCompleteness> {
    QueryCompleteness completeness;
    bool stopped = false;
    for (std::size_t i = 0; i < spec.selectors.size() && !stopped; ++i) {
      const auto query = to_storage_query(spec.selectors[i], spec.from, spec.to);
      auto summary = engine.run(query, [&](const FlowRecord& flow) {
        for (std::size_t j = 0; j < i; ++j) {
          if (spec.selectors[j].matches(flow)) return true;  // delivered by selector j already
        }
        if (!on_row(flow)) {
          stopped = true;
          return false;
        }
        return true;
      });
      if (!summary) return std::unexpected(summary.error());
      // Every selector reads the same shards; count them once, from the first.
      if (i == 0) {
        completeness.shards_searched = summary->shards_open + summary->shards_sealed;
        completeness.packets_dropped = summary->counters.kernel_drops +
                                       summary->counters.interface_drops +
                                       summary->counters.queue_drops;
      }
      add_gaps(summary->gaps, completeness.uncovered);
    }
    std::sort(completeness.uncovered.begin(), completeness.uncovered.end(),
              [](const TimeRange& a, const TimeRange& b) { return a.from < b.from; });
    return completeness;
  };
}

}  // namespace conntrail::agent
