// agent/api/attribution_result.h — the answer to an approved attribution request.
//
// "Which subscriber used 100.64.1.7 (port 51000) at 10:02:17?" The evidence
// comes through the API's two storage seams, never from shards directly:
//  - sessions: the SessionQueryFn, for the address (port ignored) over the
//    window widened by `lookaround` on each side — the covering sessions and
//    the nearest ones before and after, which bound a gap;
//  - flows: the FlowQueryFn, for the address and port over the window itself
//    [at - w, at + w] — the flows that confirm the port. It runs also when no
//    port is asked, since it is what says whether the appliance was capturing
//    then (its completeness is the answer's completeness).
// capture::answer_attribution() decides (unique / ambiguous / none, port
// check, notes); this module adds the request's identity, the completeness
// and, when the data is incomplete or the flow list was cut, a note saying so,
// and writes one JSON document (one line) with the field names of
// `conntrail attribute --format ndjson` plus request_id, flows_truncated and
// completeness. Ambiguity is reported, never resolved: every covering session
// is listed.
//
// Bounds: at most kMaxAttributionFlows confirming flows are listed (the rest
// are counted); more than kMaxAttributionSessions sessions for one address in
// the widened window is an error (it cannot be a real subscriber line).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "agent/api/flow_query.h"
#include "agent/api/session_query.h"
#include "agent/workflow/new_request.h"
#include "core/flow_format.h"

namespace conntrail::agent {

inline constexpr std::size_t kMaxAttributionFlows = 1000;
inline constexpr std::size_t kMaxAttributionSessions = 10'000;

struct AttributionDocument {
  std::string json;            // one JSON object and '\n'
  std::uint64_t sessions = 0;  // covering sessions named (0: nobody — "answered empty")
  QueryCompleteness completeness;
};

Result<AttributionDocument> answer_attribution_request(
    const std::string& request_id, const AttributionTarget& target, const SessionQueryFn& sessions,
    const FlowQueryFn& flows, TimestampNs lookaround, TimeFormat time_format);

}  // namespace conntrail::agent
