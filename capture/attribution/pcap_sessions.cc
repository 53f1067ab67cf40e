#include "capture/attribution/pcap_sessions.h"

#include <algorithm>
#include <limits>
#include <tuple>

#include "capture/pipeline/capture_file.h"

namespace conntrail::capture {

Result<PcapSessions> sessions_from_pcap(const std::string& path,
                                        const SessionTrackerConfig& tracker_config,
                                        const AttributionDispatchConfig& dispatch_config) {
  CaptureOptions options;
  options.attribution.tracker = tracker_config;
  options.attribution.dispatch = dispatch_config;
  PcapSessions out;
  CaptureFileReport report;
  auto counters = read_capture_file(
      path, options, [](FlowRecord&&) {},
      [&](const SessionRecord& r) { out.sessions.push_back(r); }, &report);
  if (!counters) return std::unexpected(counters.error());
  sort_sessions(out.sessions);
  out.tracker = report.attribution.tracker;
  out.parsing = report.attribution.parsing;
  out.frames = counters->packets;
  out.udp_datagrams = report.attribution.datagrams;
  return out;
}

}  // namespace conntrail::capture
