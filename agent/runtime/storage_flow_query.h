// agent/runtime/storage_flow_query.h — the lawful API's FlowQueryFn, answered by storage.
//
// A request's selectors are alternatives (a record matches when ANY matches),
// while a storage::Query ANDs its fields. So the adapter runs one storage
// query per selector, in order, and drops a row that an earlier selector
// already delivered (Selector::matches) — each flow is delivered once, and
// memory stays bounded because nothing is collected.
#pragma once

#include <cstddef>
#include <vector>

#include "agent/api/flow_query.h"
#include "core/capture_counters.h"
#include "storage/query/query.h"
#include "storage/store/store_options.h"

namespace conntrail::agent {

FlowQueryFn make_storage_flow_query(storage::StoreOptions options);

// Adds what storage reported for selector `selector` (flows or sessions) to
// `c`. Every selector reads the same shards, so shards and capture drops are
// counted once, from the first; the uncovered window parts are merged.
void add_selector_completeness(std::size_t selector, std::size_t shards,
                               const CaptureCounters& counters,
                               const std::vector<storage::Gap>& gaps, QueryCompleteness& c);
// Puts the uncovered window parts in time order, once every selector ran.
void sort_uncovered(QueryCompleteness& c);

}  // namespace conntrail::agent
