#include "capture/attribution/attribution_query.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

namespace conntrail::capture {

std::string_view to_string(PortCheck check) noexcept {
  switch (check) {
    case PortCheck::kNotAsked: return "not-asked";
    case PortCheck::kConfirmed: return "confirmed";
    case PortCheck::kNoFlow: return "no-flow";
  }
  return "not-asked";
}

namespace {

constexpr TimestampNs kForever = std::numeric_limits<TimestampNs>::max();

TimestampNs end_of(const SessionRecord& s) { return s.is_open() ? kForever : s.end_ts; }

bool overlaps(const SessionRecord& s, TimestampNs from, TimestampNs to) {
  if (from == to) return s.covers(from);
  return s.start_ts <= to && end_of(s) > from;
}

bool flow_matches(const FlowRecord& f, const AttributionQuery& q, TimestampNs from, TimestampNs to) {
  const bool endpoint = (f.src_ip == q.address && f.src_port == *q.port) ||
                        (f.dst_ip == q.address && f.dst_port == *q.port);
  return endpoint && f.first_ts <= to && f.last_ts >= from;
}

}  // namespace

AttributionAnswer answer_attribution(const AttributionQuery& q,
                                     std::span<const SessionRecord> sessions,
                                     std::span<const FlowRecord> flows) {
  const TimestampNs from = q.at - q.window;
  const TimestampNs to = q.at + q.window;
  AttributionAnswer answer;
  std::vector<SessionRecord> covering;
  for (const auto& s : sessions) {
    if (!s.address.contains(q.address)) continue;
    if (overlaps(s, from, to)) {
      covering.push_back(s);
    } else if (end_of(s) <= from) {
      if (!answer.previous || end_of(s) > end_of(*answer.previous)) answer.previous = s;
    } else if (!answer.next || s.start_ts < answer.next->start_ts) {
      answer.next = s;
    }
  }
  std::sort(covering.begin(), covering.end(),
            [](const SessionRecord& a, const SessionRecord& b) { return a.start_ts < b.start_ts; });
  Attribution a = attribute_from(covering);
  answer.status = a.status;
  answer.subscriber = a.subscriber;
  answer.sessions = std::move(covering);

  switch (answer.status) {
    case AttributionStatus::kNone:
      answer.notes.push_back(answer.previous || answer.next
                                 ? "gap: no session of this address covers the time"
                                 : "no session of this address is known");
      break;
    case AttributionStatus::kAmbiguous:
      answer.notes.push_back(fmt::format("ambiguous: {} sessions of different subscribers cover the time",
                                         answer.sessions.size()));
      break;
    case AttributionStatus::kUnique: break;
  }
  if (answer.status != AttributionStatus::kNone) {
    answer.previous.reset();
    answer.next.reset();
  }
  for (const auto& s : answer.sessions) {
    if (s.end_assumed) {
      answer.notes.push_back(fmt::format("session {} of {}: end inferred, not observed",
                                         s.session_id, s.subscriber));
    }
  }
  if (q.window > 0 && answer.sessions.size() > 1 && answer.status == AttributionStatus::kUnique) {
    answer.notes.push_back("the window spans more than one session of the same subscriber");
  }

  if (q.port) {
    for (const auto& f : flows) {
      if (flow_matches(f, q, from, to)) answer.flows.push_back(f);
    }
    answer.port = answer.flows.empty() ? PortCheck::kNoFlow : PortCheck::kConfirmed;
    if (answer.port == PortCheck::kNoFlow) {
      answer.notes.push_back(fmt::format("port {} matches no flow of this address at the time", *q.port));
    }
  }
  return answer;
}

}  // namespace conntrail::capture
