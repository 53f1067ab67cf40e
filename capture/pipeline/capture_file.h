// capture/pipeline/capture_file.h — the offline pipeline: a capture file to flow records.
//
// The public entry point the daemon (demo ingest) and `conntrail flows` use.
// It reads a pcap/pcapng file with libpcap, decodes every frame, meters flows
// exactly as live capture does (same FlowMeter), and hands each finished
// record to on_flow, in export order. At end of file every flow still open is
// exported with end reason `shutdown` (closed TCP flows as `tcp-close`).
// RADIUS accounting and DHCP datagrams are tapped on the way
// (AttributionStage) and each flow's subscriber is filled at export.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "capture/decode/decode_error.h"
#include "capture/pipeline/attribution_stage.h"
#include "capture/pipeline/flow_meter.h"
#include "core/capture_counters.h"
#include "core/flow_record.h"
#include "core/result.h"

namespace conntrail::capture {

struct CaptureOptions {
  MeterOptions meter;  // decode, flow table and fragment table settings
  // Memory cap of the flow table in bytes; 0 keeps meter.flows.max_flows.
  std::size_t flow_memory_bytes = 0;
  // Subscriber attribution from the RADIUS accounting / DHCP in the same file
  // (on by default: every flow's `subscriber` is filled from it). Its
  // closed_retention is raised to closed_retention_for(meter timeouts).
  AttributionOptions attribution;
};

// Optional detail beyond CaptureCounters.
struct CaptureFileReport {
  DecodeErrorCounts decode_errors;
  TimePrecision precision = TimePrecision::kMicro;
  std::size_t peak_flow_memory_bytes = 0;
  AttributionReport attribution;
};

// Errors: kNotFound (no such file), kIo (unreadable / truncated beyond libpcap's
// tolerance), kUnsupported (link type other than Ethernet, SLL, SLL2, raw IP).
// A file cut in the middle of a packet record is read up to the cut (libpcap
// reports it as an error: returned as kIo after the flows read so far were
// delivered).
Result<CaptureCounters> read_capture_file(const std::string& path, const CaptureOptions& options,
                                          const std::function<void(FlowRecord&&)>& on_flow,
                                          CaptureFileReport* report = nullptr);

// The same, and every attribution session of the file goes to on_session:
// each when it ends (in capture order), then those still open at the end of
// the file (end_ts 0, sorted by start), after the last flow.
Result<CaptureCounters> read_capture_file(
    const std::string& path, const CaptureOptions& options,
    const std::function<void(FlowRecord&&)>& on_flow,
    const std::function<void(const SessionRecord&)>& on_session,
    CaptureFileReport* report = nullptr);

}  // namespace conntrail::capture
