// agent/api/session_query.cc — see session_query.h.
#include "agent/api/session_query.h"

namespace conntrail::agent {

bool session_matches(const Selector& s, const SessionRecord& session) {
  switch (s.kind) {
    case Selector::Kind::kAddress:
      return session.address.contains(s.address);
    case Selector::Kind::kPrefix:
      // Two prefixes overlap exactly when one holds the other's network address.
      return s.prefix.contains(session.address.network()) ||
             session.address.contains(s.prefix.network());
    case Selector::Kind::kSubscriber:
      return !s.subscriber.empty() && session.subscriber == s.subscriber;
  }
  return false;
}

bool session_overlaps(const SessionRecord& session, TimestampNs from, TimestampNs to) {
  return session.start_ts < to && (session.is_open() || session.end_ts > from);
}

}  // namespace conntrail::agent
