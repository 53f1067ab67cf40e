#include "agent/api/flow_query.h"

namespace conntrail::agent {

bool Selector::matches(const FlowRecord& f) const {
  switch (kind) {
    case Kind::kAddress:
      if (f.src_ip == address && (!port || f.src_port == *port)) return true;
      return f.dst_ip == address && (!port || f.dst_port == *port);
    case Kind::kPrefix:
      return prefix.contains(f.src_ip) || prefix.contains(f.dst_ip);
    case Kind::kSubscriber:
      return !subscriber.empty() && f.subscriber == subscriber;
  }
  return false;
}

}  // namespace conntrail::agent
