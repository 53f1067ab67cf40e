#include "capture/attribution/address_attributor.h"

#include <algorithm>

namespace conntrail::capture {

std::string_view to_string(AttributionStatus status) noexcept {
  switch (status) {
    case AttributionStatus::kNone: return "none";
    case AttributionStatus::kUnique: return "unique";
    case AttributionStatus::kAmbiguous: return "ambiguous";
  }
  return "none";
}

Attribution attribute_from(std::vector<SessionRecord> covering) {
  Attribution a;
  std::vector<std::string> ids;
  for (const auto& r : covering) ids.push_back(r.subscriber);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  if (ids.empty()) return a;
  a.status = ids.size() == 1 ? AttributionStatus::kUnique : AttributionStatus::kAmbiguous;
  for (const auto& id : ids) {
    if (!a.subscriber.empty()) a.subscriber += '|';
    a.subscriber += id;
  }
  a.sessions = std::move(covering);
  return a;
}

Attribution AddressAttributor::attribute(const IpAddress& address, TimestampNs t) const {
  return attribute_from(tracker_.covering(address, t));
}

AttributionStatus AddressAttributor::fill(FlowRecord& flow) const {
  Attribution a;
  switch (flow.subscriber_side) {
    case SubscriberSide::kSrc: a = attribute(flow.src_ip, flow.first_ts); break;
    case SubscriberSide::kDst: a = attribute(flow.dst_ip, flow.first_ts); break;
    case SubscriberSide::kUnknown:
      a = attribute(flow.src_ip, flow.first_ts);
      if (a.status == AttributionStatus::kNone) a = attribute(flow.dst_ip, flow.first_ts);
      break;
  }
  flow.subscriber = a.subscriber;
  return a.status;
}

}  // namespace conntrail::capture
