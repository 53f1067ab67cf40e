// libFuzzer target over the whole per-packet path: decode_frame, the fragment
// table and the flow table (FlowMeter), with tiny caps so eviction, orphaning
// and timeouts all happen. Besides ASan/UBSan findings it traps on a broken
// invariant: a record with last < first or no packet, more active flows than
// the cap, or packets lost between the meter's input and its records.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "capture/pipeline/flow_meter.h"
#include "fuzz/capture/fuzz_input.h"

using namespace conntrail;
using namespace conntrail::capture;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t head = data[0];
  MeterOptions options;
  options.decode.tunnel_layer =
      (head & fuzz::kOuterLayerBit) != 0 ? TunnelLayer::kOuter : TunnelLayer::kInner;
  options.flows.key_vlan = (head & fuzz::kKeyVlanBit) != 0;
  options.flows.max_flows = 16;
  options.fragments.max_datagrams = 8;
  options.fragments.max_pending = 8;
  options.flows.subscriber_prefixes = {*IpPrefix::parse("10.0.0.0/8"),
                                       *IpPrefix::parse("2001:db8::/32")};

  std::uint64_t packets_in_records = 0;
  const auto link = static_cast<LinkType>((head & 0x3f) % 6);
  FlowMeter meter(link, options, [&](FlowRecord&& r) {
    if (r.last_ts < r.first_ts || r.packets_fwd + r.packets_rev == 0) __builtin_trap();
    packets_in_records += r.packets_fwd + r.packets_rev;
  });

  TimestampNs ts = 1'700'000'000LL * kNsPerSecond;
  std::size_t at = 1;
  while (at + 3 <= size) {
    ts += fuzz::time_step_ns(data[at]);
    std::size_t len = data[at + 1] | (std::size_t{data[at + 2]} << 8);
    at += 3;
    if (len > size - at) len = size - at;
    meter.on_frame(ts, Bytes(data + at, len), static_cast<std::uint32_t>(len));
    at += len;
    if (meter.active_flows() > options.flows.max_flows) __builtin_trap();
  }
  meter.finish();
  const CaptureCounters c = meter.counters();
  if (packets_in_records != c.packets - c.decode_errors) __builtin_trap();
  return 0;
}
