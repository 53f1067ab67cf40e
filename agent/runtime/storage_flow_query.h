// agent/runtime/storage_flow_query.h — the lawful API's FlowQueryFn, answered by storage.
//
// A request's selectors are alternatives (a record matches when ANY matches),
// while a storage::Query ANDs its fields. So the adapter runs one storage
// query per selector, in order, and drops a row that an earlier selector
// already delivered (Selector::matches) — each flow is delivered once, and
// memory stays bounded because nothing is collected.
#pragma once

#include "agent/api/flow_query.h"
#include "storage/store/store_options.h"

namespace conntrail::agent {

FlowQueryFn make_storage_flow_query(storage::StoreOptions options);

}  // namespace conntrail::agent
