// storage/query/query.cc — see query.h.
#include "storage/query/query.h"

namespace conntrail::storage {

Result<void> Query::validate() const {
  if (to <= from)
    return fail(ErrorCode::kInvalidArgument, "query window: 'to' must be after 'from'");
  if (ip && prefix && !prefix->contains(*ip)) {
    return fail(ErrorCode::kInvalidArgument, "query: ip is outside prefix, nothing can match");
  }
  if (subscriber && subscriber->empty()) {
    return fail(ErrorCode::kInvalidArgument, "query subscriber: empty");
  }
  return {};
}

bool Query::matches(const FlowRecord& f) const noexcept {
  if (f.first_ts >= to || f.last_ts < from) return false;
  if (proto && f.proto != *proto) return false;
  if (subscriber && f.subscriber != *subscriber) return false;
  if (prefix && !prefix->contains(f.src_ip) && !prefix->contains(f.dst_ip)) return false;
  if (ip) {
    const bool src = f.src_ip == *ip && (!port || f.src_port == *port);
    const bool dst = f.dst_ip == *ip && (!port || f.dst_port == *port);
    if (!src && !dst) return false;
  } else if (port && f.src_port != *port && f.dst_port != *port) {
    return false;
  }
  return true;
}

std::string_view to_string(GapReason reason) noexcept {
  switch (reason) {
    case GapReason::kBeforeRetention:
      return "before_retention";
    case GapReason::kNoData:
      return "no_data";
    case GapReason::kNotYetWritten:
      return "not_yet_written";
  }
  return "?";
}

}  // namespace conntrail::storage
