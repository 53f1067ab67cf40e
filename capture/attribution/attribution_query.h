// capture/attribution/attribution_query.h — the answer to "who used address X (port P) at T?".
//
// Job: a pure function from a query and the candidate sessions (and, when a
// port is asked, the candidate flows) to an answer that never hides a doubt.
// The same function serves `conntrail attribute`, the query engine and the
// lawful API, whatever store the sessions and flows come from.
//
// Rules (docs/ATTRIBUTION.md, "Answering"):
//  - The query instant may be widened to a window [at - window, at + window];
//    a session answers when its [start, end) interval overlaps it (an
//    instant: when it covers `at`). An open session (end 0) runs to +inf.
//  - Sessions of more than one distinct subscriber: kAmbiguous, all listed.
//  - No session: kNone, with the nearest session before and after the
//    instant for the same address (the edges of the gap), when known.
//  - A port confirms when a flow has the address and that port on the same
//    endpoint and its [first_ts, last_ts] overlaps the window (an instant:
//    contains `at`); otherwise the answer says the port matched no flow.
//  - Ended-by-assumption sessions are flagged in notes, since their end is
//    inferred (lease expiry, refresh bound, NAS reboot).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "capture/attribution/address_attributor.h"
#include "core/flow_record.h"
#include "core/session_record.h"

namespace conntrail::capture {

struct AttributionQuery {
  IpAddress address;
  std::optional<std::uint16_t> port;
  TimestampNs at = 0;
  TimestampNs window = 0;  // half-width; 0 asks about the instant `at`
};

enum class PortCheck : std::uint8_t { kNotAsked, kConfirmed, kNoFlow };
std::string_view to_string(PortCheck check) noexcept;

struct AttributionAnswer {
  AttributionStatus status = AttributionStatus::kNone;
  std::string subscriber;                  // as AddressAttributor: "a" or "a|b"
  std::vector<SessionRecord> sessions;     // the covering sessions, by start
  std::optional<SessionRecord> previous;   // kNone only: last session of the address before
  std::optional<SessionRecord> next;       // kNone only: first session of the address after
  PortCheck port = PortCheck::kNotAsked;
  std::vector<FlowRecord> flows;           // flows that confirm the port
  std::vector<std::string> notes;          // every reason for doubt, in words
};

// `sessions` may hold sessions of any address: those whose prefix does not
// contain query.address are ignored. `flows` is only read when a port is asked.
AttributionAnswer answer_attribution(const AttributionQuery& query,
                                     std::span<const SessionRecord> sessions,
                                     std::span<const FlowRecord> flows);

}  // namespace conntrail::capture
