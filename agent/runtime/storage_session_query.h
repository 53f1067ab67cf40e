// agent/runtime/storage_session_query.h — the lawful API's SessionQueryFn, answered by storage.
//
// As for flows (storage_flow_query.h), selectors are alternatives: one
// storage session query per selector (storage::QueryEngine::sessions_report),
// in order, dropping a session an earlier selector already delivered
// (session_matches), so each session is delivered once. Memory: the sessions
// one selector matches in the window (storage merges the versions of a
// session filed in different shards, which needs them all at once), bounded
// by kMaxSessionsPerSelector — beyond it storage stops reading and the result
// ends with an error (a request that broad is no targeted request); rows are
// streamed out, never collected across selectors. Completeness: shards
// searched, capture drops and uncovered parts of the window, as for flows.
#pragma once

#include <cstddef>

#include "agent/api/session_query.h"
#include "storage/store/store_options.h"

namespace conntrail::agent {

inline constexpr std::size_t kMaxSessionsPerSelector = 200'000;

SessionQueryFn make_storage_session_query(storage::StoreOptions options);

}  // namespace conntrail::agent
