// `conntrail flows --pcap FILE`: print the flow records of a capture file,
// exactly as the agent would store them (same capture pipeline, same defaults).
#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "agent/cli/command.h"
#include "capture/pipeline/capture_file.h"
#include "core/flow_format.h"

namespace conntrail::cli {
namespace {

namespace po = boost::program_options;

// Seconds (fraction allowed) to ns; rejects negative, non-finite and absurd values.
bool seconds_to_ns(double seconds, TimestampNs* out) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 365.0 * 86400) return false;
  *out = static_cast<TimestampNs>(std::llround(seconds * 1e9));
  return true;
}

void print_stats(const std::string& path, const CaptureCounters& c,
                 const capture::CaptureFileReport& report) {
  std::fprintf(
      stderr, "%s: %llu packets, %llu bytes, %llu flows (%llu evicted), %llu packets in no flow\n",
      path.c_str(), static_cast<unsigned long long>(c.packets),
      static_cast<unsigned long long>(c.bytes), static_cast<unsigned long long>(c.flows_exported),
      static_cast<unsigned long long>(c.flows_evicted),
      static_cast<unsigned long long>(c.decode_errors));
  for (std::size_t i = 1; i < capture::kDecodeErrorKinds; ++i) {
    const auto kind = static_cast<capture::DecodeError>(i);
    if (report.decode_errors[kind] == 0) continue;
    const auto name = capture::to_string(kind);
    std::fprintf(stderr, "  %-22.*s %llu%s\n", static_cast<int>(name.size()), name.data(),
                 static_cast<unsigned long long>(report.decode_errors[kind]),
                 capture::is_dropped(kind) ? " (dropped)" : "");
  }
}

int run(std::span<const std::string> args) {
  std::string pcap;
  std::string format_text = "csv";
  std::string time_text = "epoch";
  std::string tunnel_text = "inner";
  double idle = -1;
  double active = -1;
  double linger = -1;
  double tcp_idle = -1;
  double udp_idle = -1;
  double icmp_idle = -1;
  double other_idle = -1;
  std::vector<std::string> prefixes;
  std::size_t max_flows = 0;
  bool key_vlan = false;
  bool stats = false;

  po::options_description desc("conntrail flows --pcap FILE [options]");
  desc.add_options()("help,h", "show this help")("pcap", po::value(&pcap)->required(),
                                                 "capture file (pcap or pcapng)")(
      "format", po::value(&format_text), "csv (default) or ndjson")(
      "time-format", po::value(&time_text), "epoch (default; 6 or 9 decimals) or rfc3339")(
      "idle-timeout", po::value(&idle), "idle timeout of every protocol, seconds")(
      "active-timeout", po::value(&active),
      "active timeout of every protocol, seconds (default 300)")(
      "tcp-idle-timeout", po::value(&tcp_idle), "TCP idle timeout, seconds (default 300)")(
      "udp-idle-timeout", po::value(&udp_idle), "UDP idle timeout, seconds (default 60)")(
      "icmp-idle-timeout", po::value(&icmp_idle), "ICMP/ICMPv6 idle timeout, seconds (default 60)")(
      "other-idle-timeout", po::value(&other_idle),
      "other protocols' idle timeout, seconds (default 60)")(
      "tcp-close-linger", po::value(&linger),
      "how long a closed TCP flow takes late packets, seconds (default 5)")(
      "tunnel-layer", po::value(&tunnel_text),
      "inner (default): flows of the tunnelled conversation; outer: of the tunnel")(
      "flow-key-vlan", po::bool_switch(&key_vlan), "VLAN ids are part of the flow key")(
      "subscriber-prefix", po::value(&prefixes),
      "subscriber prefix (repeatable), e.g. 100.64.0.0/10")(
      "max-flows", po::value(&max_flows),
      "flow table cap (flows); at the cap the oldest are evicted")(
      "stats", po::bool_switch(&stats), "print packet, flow and decode-error counts to stderr");

  po::variables_map vm;
  try {
    const std::vector<std::string> argv(args.begin(), args.end());
    po::store(po::command_line_parser(argv).options(desc).run(), vm);
    if (vm.count("help") != 0) {
      std::cout << desc << "\n";
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::fprintf(stderr, "conntrail flows: %s\n", e.what());
    return 2;
  }

  const auto format = parse_output_format(format_text);
  const auto time_format = parse_time_format(time_text);
  if (!format) {
    std::fprintf(stderr, "conntrail flows: --format: %s\n", format.error().message.c_str());
    return 2;
  }
  if (!time_format) {
    std::fprintf(stderr, "conntrail flows: --time-format: %s\n",
                 time_format.error().message.c_str());
    return 2;
  }

  capture::CaptureOptions options;
  auto& t = options.meter.flows.timeouts;
  struct Setting {
    const char* name;
    double value;
    std::vector<TimestampNs*> targets;
  };
  const Setting settings[] = {
      {"--idle-timeout", idle, {&t.tcp.idle, &t.udp.idle, &t.icmp.idle, &t.other.idle}},
      {"--active-timeout", active, {&t.tcp.active, &t.udp.active, &t.icmp.active, &t.other.active}},
      {"--tcp-idle-timeout", tcp_idle, {&t.tcp.idle}},
      {"--udp-idle-timeout", udp_idle, {&t.udp.idle}},
      {"--icmp-idle-timeout", icmp_idle, {&t.icmp.idle}},
      {"--other-idle-timeout", other_idle, {&t.other.idle}},
      {"--tcp-close-linger", linger, {&t.tcp_close_linger}},
  };
  for (const Setting& s : settings) {
    if (s.value == -1) continue;
    TimestampNs ns = 0;
    if (!seconds_to_ns(s.value, &ns)) {
      std::fprintf(stderr, "conntrail flows: %s must be between 0 and 31536000 seconds\n", s.name);
      return 2;
    }
    for (TimestampNs* target : s.targets) *target = ns;
  }
  if (tunnel_text == "outer") {
    options.meter.decode.tunnel_layer = capture::TunnelLayer::kOuter;
  } else if (tunnel_text != "inner") {
    std::fprintf(stderr, "conntrail flows: --tunnel-layer must be inner or outer\n");
    return 2;
  }
  options.meter.flows.key_vlan = key_vlan;
  if (max_flows != 0) options.meter.flows.max_flows = max_flows;
  for (const std::string& text : prefixes) {
    auto prefix = IpPrefix::parse(text);
    if (!prefix) {
      std::fprintf(stderr, "conntrail flows: --subscriber-prefix %s: %s\n", text.c_str(),
                   prefix.error().message.c_str());
      return 2;
    }
    options.meter.flows.subscriber_prefixes.push_back(*prefix);
  }

  const FlowFormatter formatter(*format, *time_format);
  std::fputs(formatter.header().c_str(), stdout);
  capture::CaptureFileReport report;
  const auto counters = capture::read_capture_file(
      pcap, options,
      [&](FlowRecord&& flow) {
        const std::string line = formatter.row(flow);
        std::fwrite(line.data(), 1, line.size(), stdout);
      },
      &report);
  std::fflush(stdout);
  if (!counters) {
    std::fprintf(stderr, "conntrail flows: %s\n", counters.error().message.c_str());
    return 1;
  }
  if (stats) print_stats(pcap, *counters, report);
  return 0;
}

static RegisterCommand reg({"flows", "print the flow records of a capture file", &run});

}  // namespace
}  // namespace conntrail::cli
