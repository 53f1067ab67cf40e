// agent/api/session_query.h — the seam between the lawful API and storage, for sessions.
//
// Like FlowQueryFn (flow_query.h), the API never touches shards: it hands a
// QuerySpec (an approved request's selectors and window) to an injected
// SessionQueryFn, which the agent wires to storage's query engine
// (agent/runtime/storage_session_query.h). The function hands each matching
// attribution session to on_row once (on the calling thread — a worker
// thread), stops when on_row returns false, and returns how complete the
// search was, exactly as for flows.
//
// Which sessions a selector selects (session_matches):
//  - address (port ignored: sessions have no ports): the session's address or
//    prefix contains it;
//  - prefix: the session's address or prefix overlaps it;
//  - subscriber: the session's subscriber id is equal;
// and a session is selected when it also overlaps the window [from, to)
// (session_overlaps; an open session runs on).
#pragma once

#include <functional>

#include "agent/api/flow_query.h"
#include "core/session_record.h"

namespace conntrail::agent {

// Whether a session matches a selector (as above); the window is not checked here.
bool session_matches(const Selector& selector, const SessionRecord& session);
// Whether a session's interval [start, end) (end 0: open, +inf) overlaps [from, to).
bool session_overlaps(const SessionRecord& session, TimestampNs from, TimestampNs to);

using SessionRowFn = std::function<bool(const SessionRecord&)>;
using SessionQueryFn =
    std::function<Result<QueryCompleteness>(const QuerySpec&, const SessionRowFn& on_row)>;

}  // namespace conntrail::agent
