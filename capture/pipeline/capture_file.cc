#include "capture/pipeline/capture_file.h"

#include <algorithm>

#include "capture/source/file_precision.h"
#include "capture/source/pcap_handle.h"

namespace conntrail::capture {
namespace {

constexpr int kBatch = 4096;

void on_packet(void* context, const RawPacket& p) {
  static_cast<FlowMeter*>(context)->on_frame(p.ts, Bytes(p.data, p.captured_length), p.wire_length);
}

}  // namespace

Result<CaptureCounters> read_capture_file(const std::string& path, const CaptureOptions& options,
                                          const std::function<void(FlowRecord&&)>& on_flow,
                                          CaptureFileReport* report) {
  return read_capture_file(path, options, on_flow, {}, report);
}

Result<CaptureCounters> read_capture_file(
    const std::string& path, const CaptureOptions& options,
    const std::function<void(FlowRecord&&)>& on_flow,
    const std::function<void(const SessionRecord&)>& on_session, CaptureFileReport* report) {
  auto handle = PcapHandle::open_offline(path);
  if (!handle) return std::unexpected(handle.error());
  const auto link = handle->link_type();
  if (!link) return fail(link.error().code, path + ": " + link.error().message);

  MeterOptions meter_options = options.meter;
  meter_options.flows.precision = detect_file_precision(path);
  if (options.flow_memory_bytes != 0) {
    meter_options.flows.max_flows = FlowTable::flows_for_memory(options.flow_memory_bytes);
  }
  const TimePrecision precision = meter_options.flows.precision;
  AttributionOptions attribution = options.attribution;
  attribution.tracker.closed_retention = std::max(
      attribution.tracker.closed_retention, closed_retention_for(meter_options.flows.timeouts));
  AttributionStage stage(std::move(attribution), precision, on_session);
  const bool attributing = options.attribution.enabled;
  FlowMeter meter(*link, std::move(meter_options), [&](FlowRecord&& flow) {
    if (attributing) stage.fill(flow);
    on_flow(std::move(flow));
  });
  if (attributing) meter.set_udp_tap(&stage);

  std::size_t peak_memory = 0;
  Result<int> n;
  do {
    n = handle->dispatch(kBatch, &on_packet, &meter);
    meter.sync();
    peak_memory = std::max(peak_memory, meter.flow_table().memory_bytes());
  } while (n && *n > 0);
  meter.finish(EndReason::kShutdown);
  if (attributing) stage.finish();
  if (report != nullptr) {
    report->attribution = stage.report();
    report->decode_errors = meter.decode_errors();
    report->precision = precision;
    report->peak_flow_memory_bytes = peak_memory;
  }
  if (!n) return fail(n.error().code, path + ": " + n.error().message);
  return meter.counters();
}

}  // namespace conntrail::capture
