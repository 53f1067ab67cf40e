// capture/attribution/pcap_sessions.h — every attribution session in one capture file.
//
// Job: read a capture, feed each UDP datagram to the AttributionDispatcher,
// and return the sessions it yields (closed ones, then those still open at
// the end of the file, all sorted by start, address, end), with the counters
// that say how complete the answer is. This is what `conntrail sessions
// --pcap` prints and what the golden tests compare.
//
// It runs the capture pipeline itself (read_capture_file: capture/source's
// reader, capture/decode's decoder, the FlowMeter's UDP tap), so the sessions
// are exactly those the agent derives; the flows are discarded. Errors are
// read_capture_file's (kNotFound, kIo, kUnsupported link type).
#pragma once

#include <string>
#include <vector>

#include "capture/attribution/attribution_dispatcher.h"
#include "capture/attribution/session_tracker.h"
#include "core/result.h"
#include "core/session_record.h"

namespace conntrail::capture {

struct PcapSessions {
  std::vector<SessionRecord> sessions;
  SessionTrackerCounters tracker;
  AttributionCounters parsing;
  std::uint64_t frames = 0;
  std::uint64_t udp_datagrams = 0;  // on the RADIUS accounting / DHCP ports
};

Result<PcapSessions> sessions_from_pcap(const std::string& path,
                                        const SessionTrackerConfig& tracker_config,
                                        const AttributionDispatchConfig& dispatch_config);

// sort_sessions (the output order) is declared in session_tracker.h.

}  // namespace conntrail::capture
