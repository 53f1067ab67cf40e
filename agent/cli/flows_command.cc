// `conntrail flows --pcap FILE`: print the flow records of a capture file,
// exactly as the agent would store them (same capture pipeline, same defaults),
// each with the subscriber that held its subscriber-side address at its first
// packet, from the RADIUS accounting / DHCP in the same capture.
#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "agent/cli/capture_cli_options.h"
#include "agent/cli/command.h"
#include "capture/pipeline/capture_file.h"
#include "core/flow_format.h"

namespace conntrail::cli {
namespace {

namespace po = boost::program_options;

void print_stats(const std::string& path, const CaptureCounters& c,
                 const capture::CaptureFileReport& report) {
  std::fprintf(
      stderr, "%s: %llu packets, %llu bytes, %llu flows (%llu evicted), %llu packets in no flow\n",
      path.c_str(), static_cast<unsigned long long>(c.packets),
      static_cast<unsigned long long>(c.bytes), static_cast<unsigned long long>(c.flows_exported),
      static_cast<unsigned long long>(c.flows_evicted),
      static_cast<unsigned long long>(c.decode_errors));
  const auto& a = report.attribution;
  std::fprintf(stderr, "  attribution: %llu control datagrams, %llu sessions, %llu truncated\n",
               static_cast<unsigned long long>(a.datagrams),
               static_cast<unsigned long long>(a.sessions),
               static_cast<unsigned long long>(a.parsing.truncated_payloads));
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
  bool stats = false;
  CaptureCliOptions capture_flags;

  po::options_description desc("conntrail flows --pcap FILE [options]");
  desc.add_options()("help,h", "show this help")("pcap", po::value(&pcap)->required(),
                                                 "capture file (pcap or pcapng)")(
      "format", po::value(&format_text), "csv (default) or ndjson")(
      "time-format", po::value(&time_text), "epoch (default; 6 or 9 decimals) or rfc3339")(
      "stats", po::bool_switch(&stats), "print packet, flow and decode-error counts to stderr");
  capture_flags.add_to(desc);

  po::variables_map vm;
  if (auto done = parse_options("flows", desc, args, vm)) return *done;

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
  const auto options = capture_flags.build();
  if (!options) {
    std::fprintf(stderr, "conntrail flows: %s\n", options.error().message.c_str());
    return 2;
  }

  const FlowFormatter formatter(*format, *time_format);
  std::fputs(formatter.header().c_str(), stdout);
  capture::CaptureFileReport report;
  const auto counters = capture::read_capture_file(
      pcap, *options,
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
  if (report.attribution.parsing.truncated_payloads > 0) {
    std::fprintf(stderr,
                 "conntrail flows: warning: %llu RADIUS/DHCP message(s) cut by the snaplen were "
                 "not used; subscribers may be missing\n",
                 static_cast<unsigned long long>(report.attribution.parsing.truncated_payloads));
  }
  return 0;
}

static RegisterCommand reg({"flows", "print the flow records of a capture file", &run});

}  // namespace
}  // namespace conntrail::cli
