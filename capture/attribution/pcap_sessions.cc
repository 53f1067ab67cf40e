#include "capture/attribution/pcap_sessions.h"

#include <algorithm>
#include <limits>
#include <tuple>

#include "capture/attribution/pcap_reader_tmp.h"
#include "capture/attribution/udp_extract.h"

namespace conntrail::capture {

void sort_sessions(std::vector<SessionRecord>& sessions) {
  auto key = [](const SessionRecord& r) {
    const TimestampNs end = r.is_open() ? std::numeric_limits<TimestampNs>::max() : r.end_ts;
    return std::make_tuple(r.start_ts, r.address.network(), r.address.length(), end,
                           r.subscriber);
  };
  std::stable_sort(sessions.begin(), sessions.end(),
                   [&](const SessionRecord& a, const SessionRecord& b) { return key(a) < key(b); });
}

Result<PcapSessions> sessions_from_pcap(const std::string& path,
                                        const SessionTrackerConfig& tracker_config,
                                        const AttributionDispatchConfig& dispatch_config) {
  auto reader = PcapReaderTmp::open(path);
  if (!reader) return std::unexpected(reader.error());
  if (!udp_extract_supports(reader->link_type())) {
    return fail(ErrorCode::kUnsupported, path + ": link type " +
                                             std::to_string(reader->link_type()) +
                                             " is not supported (Ethernet, raw IP, Linux cooked)");
  }
  PcapSessions out;
  SessionTracker tracker(tracker_config,
                         [&](const SessionRecord& r) { out.sessions.push_back(r); });
  AttributionDispatcher dispatcher(dispatch_config, tracker);
  TimestampNs last = 0;
  while (true) {
    auto frame = reader->next();
    if (!frame) return std::unexpected(frame.error());
    if (!frame->has_value()) break;
    const PcapFrame& f = **frame;
    ++out.frames;
    last = std::max(last, f.ts);
    const auto udp = extract_udp(reader->link_type(), f.data);
    if (!udp) {
      tracker.advance(f.ts);
      continue;
    }
    ++out.udp_datagrams;
    const PacketContext ctx{f.ts, udp->src, udp->dst, reader->precision()};
    dispatcher.on_udp(ctx, udp->src_port, udp->dst_port, udp->payload, udp->payload_truncated);
  }
  tracker.advance(last);
  auto open = tracker.open_sessions();
  out.sessions.insert(out.sessions.end(), open.begin(), open.end());
  sort_sessions(out.sessions);
  out.tracker = tracker.counters();
  out.parsing = dispatcher.counters();
  return out;
}

}  // namespace conntrail::capture
