// `conntrail sessions --pcap FILE`: the attribution sessions a capture holds.
//
// Prints one row per binding (address or prefix ↔ subscriber, interval) from
// the RADIUS accounting and DHCP messages in the file, exactly as the agent
// would derive them (same tracker, same defaults). Counters that qualify the
// answer — malformed messages, overlapping claims, truncated payloads — go
// to stderr, so an operator never takes an incomplete answer for a full one.
#include <boost/program_options.hpp>

#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string>

#include "agent/cli/command.h"
#include "capture/attribution/pcap_sessions.h"
#include "capture/attribution/session_format.h"
#include "core/flow_format.h"

namespace conntrail::cli {
namespace {

namespace po = boost::program_options;

void print_stats(const capture::PcapSessions& r) {
  const auto& t = r.tracker;
  const auto& p = r.parsing;
  std::uint64_t radius_errors = 0, dhcpv4_errors = 0, dhcpv6_errors = 0;
  for (auto n : p.radius_errors) radius_errors += n;
  for (auto n : p.dhcpv4_errors) dhcpv4_errors += n;
  for (auto n : p.dhcpv6_errors) dhcpv6_errors += n;
  std::fprintf(stderr,
               "frames %llu udp %llu | radius accounting %llu other %llu malformed %llu | "
               "dhcpv4 %llu bootp %llu malformed %llu | dhcpv6 %llu malformed %llu | "
               "truncated %llu\n",
               static_cast<unsigned long long>(r.frames),
               static_cast<unsigned long long>(r.udp_datagrams),
               static_cast<unsigned long long>(p.radius_accounting),
               static_cast<unsigned long long>(p.radius_other_codes),
               static_cast<unsigned long long>(radius_errors),
               static_cast<unsigned long long>(p.dhcpv4_messages),
               static_cast<unsigned long long>(p.dhcpv4_bootp),
               static_cast<unsigned long long>(dhcpv4_errors),
               static_cast<unsigned long long>(p.dhcpv6_messages),
               static_cast<unsigned long long>(dhcpv6_errors),
               static_cast<unsigned long long>(p.truncated_payloads));
  std::fprintf(stderr,
               "sessions opened %llu | closed observed %llu expired %llu bound %llu reset %llu "
               "superseded %llu evicted %llu | overlaps %llu\n",
               static_cast<unsigned long long>(t.opened),
               static_cast<unsigned long long>(t.closed_observed),
               static_cast<unsigned long long>(t.closed_expired),
               static_cast<unsigned long long>(t.closed_bound),
               static_cast<unsigned long long>(t.closed_reset),
               static_cast<unsigned long long>(t.superseded),
               static_cast<unsigned long long>(t.evicted),
               static_cast<unsigned long long>(t.overlaps));
}

int run(std::span<const std::string> args) {
  std::string pcap, format_text = "csv", time_text = "epoch", order_text;
  double open_bound_s = 24 * 3600;
  std::vector<std::uint16_t> radius_ports;
  std::size_t max_bindings = 1'000'000;
  bool stats = false;
  po::options_description desc("conntrail sessions --pcap FILE [options]");
  desc.add_options()
      ("help,h", "this help")
      ("pcap", po::value(&pcap)->required(), "capture file (pcap or pcapng)")
      ("format", po::value(&format_text)->default_value("csv"), "csv or ndjson")
      ("time-format", po::value(&time_text)->default_value("epoch"), "epoch or rfc3339")
      ("subscriber-id", po::value(&order_text),
       "which field names the subscriber, first present wins (default "
       "user-name,circuit-id,remote-id,subscriber-id,mac,duid)")
      ("open-bound", po::value(&open_bound_s)->default_value(24 * 3600),
       "seconds after its last refresh that a session without a lease is assumed ended")
      ("radius-port", po::value(&radius_ports)->multitoken(),
       "RADIUS accounting UDP port (repeatable; default 1813 1646)")
      ("max-bindings", po::value(&max_bindings)->default_value(1'000'000),
       "bound on tracked bindings; the earliest deadline is evicted beyond it")
      ("stats", po::bool_switch(&stats), "print parsing and session counters to stderr");
  po::variables_map vm;
  if (auto done = parse_options("sessions", desc, args, vm)) return *done;
  const auto format = parse_output_format(format_text);
  const auto time_format = parse_time_format(time_text);
  if (!format || !time_format) {
    std::fprintf(stderr, "conntrail sessions: %s\n",
                 (!format ? format.error() : time_format.error()).message.c_str());
    return 2;
  }
  capture::SessionTrackerConfig config;
  if (!order_text.empty()) {
    auto order = capture::parse_subscriber_id_order(order_text);
    if (!order) {
      std::fprintf(stderr, "conntrail sessions: --subscriber-id: %s\n", order.error().message.c_str());
      return 2;
    }
    config.subscriber_id_order = *order;
  }
  if (!(open_bound_s > 0) || open_bound_s > 366.0 * 24 * 3600 || max_bindings == 0) {
    std::fprintf(stderr, "conntrail sessions: --open-bound must be in (0, 1 year] and "
                         "--max-bindings > 0\n");
    return 2;
  }
  config.open_bound = static_cast<TimestampNs>(open_bound_s * 1e9);
  config.max_bindings = max_bindings;
  capture::AttributionDispatchConfig dispatch;
  if (!radius_ports.empty()) dispatch.radius_accounting_ports = radius_ports;

  auto result = capture::sessions_from_pcap(pcap, config, dispatch);
  if (!result) {
    std::fprintf(stderr, "conntrail sessions: %s\n", result.error().message.c_str());
    return 1;
  }
  const capture::SessionFormatter formatter(*format, *time_format);
  std::string out = formatter.header();
  for (const auto& s : result->sessions) out += formatter.row(s);
  std::fwrite(out.data(), 1, out.size(), stdout);
  if (stats) print_stats(*result);
  if (result->tracker.overlaps > 0) {
    std::fprintf(stderr,
                 "conntrail sessions: warning: %llu binding(s) opened while another NAS or "
                 "source held the same address; attribution there is ambiguous\n",
                 static_cast<unsigned long long>(result->tracker.overlaps));
  }
  if (result->parsing.truncated_payloads > 0) {
    std::fprintf(stderr,
                 "conntrail sessions: warning: %llu RADIUS/DHCP message(s) cut by the snaplen "
                 "were not used\n",
                 static_cast<unsigned long long>(result->parsing.truncated_payloads));
  }
  return 0;
}

static RegisterCommand reg({"sessions", "attribution sessions (RADIUS/DHCP) decoded from a capture",
                            &run});

}  // namespace
}  // namespace conntrail::cli
