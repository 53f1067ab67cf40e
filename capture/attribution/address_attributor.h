// capture/attribution/address_attributor.h — "which subscriber held address X at instant t?"
//
// Job: answer that question from a SessionTracker's live and recently closed
// bindings, for the capture's flow export (FlowRecord::subscriber) and for
// anything else that holds a tracker. Storage-backed answers over 12 months
// are the query engine's job; this one covers the tracker's window
// (live bindings + closed_retention).
//
// Ambiguity is reported, never hidden: when bindings of different
// subscribers cover the address at t, the status is kAmbiguous and the
// subscriber text is every distinct id, sorted, joined by '|', so a flow
// row shows the conflict instead of a guess. Two bindings naming the same
// subscriber (RADIUS and DHCP agreeing) are not ambiguous.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "capture/attribution/session_tracker.h"
#include "core/flow_record.h"

namespace conntrail::capture {

enum class AttributionStatus : std::uint8_t { kNone, kUnique, kAmbiguous };

std::string_view to_string(AttributionStatus status) noexcept;

struct Attribution {
  AttributionStatus status = AttributionStatus::kNone;
  std::string subscriber;                // "" | "alice" | "alice|bob"
  std::vector<SessionRecord> sessions;   // every covering binding
};

// Pure function over a set of candidate records: the rule above.
Attribution attribute_from(std::vector<SessionRecord> covering);

class AddressAttributor {
 public:
  explicit AddressAttributor(const SessionTracker& tracker) noexcept : tracker_(tracker) {}

  Attribution attribute(const IpAddress& address, TimestampNs t) const;

  // Sets flow.subscriber from the subscriber-side address at flow.first_ts.
  // With an unknown side, the source is tried first, then the destination.
  AttributionStatus fill(FlowRecord& flow) const;

 private:
  const SessionTracker& tracker_;
};

}  // namespace conntrail::capture
