// fuzz/attribution/attribution_fuzzer.cc — libFuzzer target over the attribution parsers and tracker.
//
// The first input byte picks the entry point:
//   0 RADIUS payload, 1 DHCPv4 payload, 2 DHCPv6 payload (parsed, then fed to a tracker);
//   3 one Ethernet frame through capture's decode_frame() and the dispatcher;
//   4 a sequence of records [kind(1) time-step(2) length(2) bytes] through one dispatcher,
//     so the tracker's state machine (open, refresh, close, expiry, eviction) is explored;
//   5 the bytes as a session CSV through import_sessions_csv();
//   6 a FreeRADIUS detail file, 7 an ISC dhcpd lease file, 8 a Kea lease4 CSV, 9 a Kea
//     lease6 CSV, each through import_sessions() (reader, then the tracker replay).
// Invariants checked on every input (a violation traps, which libFuzzer reports):
//   the tracker never holds more than its cap; every emitted session ends at or after its
//   start; every open session has end_ts == 0.
#include <cstddef>
#include <cstdint>
#include <span>

#include <sstream>
#include <string>

#include "capture/attribution/attribution_dispatcher.h"
#include "capture/attribution/session_import.h"
#include "capture/attribution/session_tracker.h"
#include "capture/decode/decoder.h"
#include "capture/decode/transport.h"

namespace {

using namespace conntrail;
using namespace conntrail::capture;

constexpr std::size_t kCap = 16;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

SessionTrackerConfig small_config() {
  SessionTrackerConfig c;
  c.max_bindings = kCap;
  c.open_bound = 50 * kNsPerSecond;
  c.closed_retention = 20 * kNsPerSecond;
  return c;
}

void check_record(const SessionRecord& r) {
  check(r.end_ts == 0 || r.end_ts >= r.start_ts);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t selector = data[0] % 10;
  std::span<const std::uint8_t> in(data + 1, size - 1);

  SessionTracker tracker(small_config(), check_record);
  AttributionDispatcher dispatcher({}, tracker);
  PacketContext ctx{1'700'000'000 * kNsPerSecond, IpAddress::v4(0xC0000201), IpAddress::v4(0xC000020A),
                    TimePrecision::kMicro};

  switch (selector) {
    case 0:
      if (auto a = parse_radius_accounting(in)) tracker.on_radius(*a, ctx);
      break;
    case 1:
      if (auto m = parse_dhcpv4(in)) tracker.on_dhcpv4(*m, ctx);
      break;
    case 2:
      if (auto m = parse_dhcpv6(in)) tracker.on_dhcpv6(*m, ctx);
      break;
    case 3:
      {
        // capture's own decoder, as the capture pipeline's UDP tap uses it.
        PacketInfo packet;
        const DecodeError error = decode_frame(LinkType::kEthernet, in, {}, packet);
        if (!is_dropped(error) && packet.proto == kProtoUdp &&
            packet.fragment == FragmentKind::kNone) {
          check(packet.udp_payload.empty() ||
                (packet.udp_payload.data() >= in.data() &&
                 packet.udp_payload.data() + packet.udp_payload.size() <= in.data() + in.size()));
          dispatcher.on_udp(ctx, packet.src_port, packet.dst_port, packet.udp_payload,
                            packet.udp_payload_truncated);
        }
      }
      break;
    case 4:
      while (in.size() >= 5) {
        const std::uint8_t kind = in[0] % 3;
        const std::int64_t step = static_cast<std::int16_t>((in[1] << 8) | in[2]);  // may go back
        const std::size_t len = std::min<std::size_t>((in[3] << 8) | in[4], in.size() - 5);
        const auto payload = in.subspan(5, len);
        in = in.subspan(5 + len);
        ctx.ts += step * kNsPerSecond;
        const std::uint16_t port = kind == 0 ? 1813 : kind == 1 ? 67 : 547;
        dispatcher.on_udp(ctx, 40000, port, payload, false);
        check(tracker.size() <= kCap);
      }
      break;
    case 5: {
      std::istringstream csv(std::string(reinterpret_cast<const char*>(in.data()), in.size()));
      if (auto imported = import_sessions_csv(csv, {.max_rows = 1000, .max_errors = 1000})) {
        for (const auto& r : imported->sessions) check_record(r);
      }
      break;
    }
    case 6:
    case 7:
    case 8:
    case 9: {
      constexpr ImportFormat kFormats[] = {ImportFormat::kFreeradiusDetail,
                                           ImportFormat::kIscDhcpdLeases, ImportFormat::kKeaLease4,
                                           ImportFormat::kKeaLease6};
      std::istringstream file(std::string(reinterpret_cast<const char*>(in.data()), in.size()));
      ImportOptions options;
      options.tracker = small_config();
      options.limits = {.max_records = 1000, .max_errors = 1000, .max_line_bytes = 512,
                        .max_record_lines = 64};
      if (auto imported = import_sessions(file, kFormats[selector - 6], options)) {
        check(imported->errors.size() <= options.limits.max_errors);
        for (const auto& r : imported->sessions) {
          check_record(r);
          check(r.source == SessionSource::kImport);
        }
      }
      break;
    }
  }
  check(tracker.size() <= kCap);
  for (const auto& r : tracker.open_sessions()) check(r.end_ts == 0);
  tracker.advance(ctx.ts + 3600 * kNsPerSecond);
  check(tracker.size() <= kCap);
  return 0;
}
