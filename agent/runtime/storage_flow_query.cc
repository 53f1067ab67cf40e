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

}  // namespace

void add_selector_completeness(std::size_t selector, std::size_t shards,
                               const CaptureCounters& counters,
                               const std::vector<storage::Gap>& gaps, QueryCompleteness& c) {
  if (selector == 0) {
    c.shards_searched = shards;
    c.packets_dropped = counters.kernel_drops + counters.interface_drops + counters.queue_drops;
  }
  for (const auto& g : gaps) {
    const bool known = std::any_of(c.uncovered.begin(), c.uncovered.end(), [&](const TimeRange& r) {
      return r.from == g.from && r.to == g.to;
    });
    if (!known) c.uncovered.push_back({g.from, g.to});
  }
}

void sort_uncovered(QueryCompleteness& c) {
  std::sort(c.uncovered.begin(), c.uncovered.end(),
            [](const TimeRange& a, const TimeRange& b) { return a.from < b.from; });
}

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
      add_selector_completeness(i, summary->shards_open + summary->shards_sealed,
                                summary->counters, summary->gaps, completeness);
    }
    sort_uncovered(completeness);
    return completeness;
  };
}

}  // namespace conntrail::agent
