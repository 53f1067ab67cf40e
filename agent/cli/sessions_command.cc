// `conntrail sessions --pcap FILE`: the attribution sessions a capture holds.
// `conntrail sessions import [--data-dir DIR] --format F FILE`: sessions from an
// operator's file (FreeRADIUS detail, dhcpd leases, Kea lease CSV, conntrail CSV).
//
// Prints one row per binding (address or prefix ↔ subscriber, interval) from
// the RADIUS accounting and DHCP messages in the file, exactly as the agent
// would derive them (same tracker, same defaults). Counters that qualify the
// answer — malformed messages, overlapping claims, truncated payloads — go
// to stderr, so an operator never takes an incomplete answer for a full one.
//
// `import` reads the file with capture::import_sessions (the records become
// RADIUS/DHCP messages replayed through the same tracker; bad records are
// listed on stderr with their line numbers) and either prints the sessions
// (no --data-dir: a dry run to check a file) or hands them, source=import, to
// storage::FlowWriter under the data directory lock — the store's one writer,
// so they are filed in the shards of their start, sealed, manifested and
// retained like decoded sessions. Exit codes: 0 imported (bad records, if
// any, listed), 1 unreadable file / fatal limit / --strict with bad records /
// records the writer could not write, 2 usage error.
#include <boost/program_options.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "agent/cli/command.h"
#include "capture/attribution/pcap_sessions.h"
#include "capture/attribution/session_format.h"
#include "capture/attribution/session_import.h"
#include "core/flow_format.h"
#include "storage/store/data_dir_lock.h"
#include "storage/store/flow_writer.h"

namespace conntrail::cli {
namespace {

namespace po = boost::program_options;

// The session tracker's counters, one line on stderr (--stats of both modes).
void print_tracker_stats(const capture::SessionTrackerCounters& t) {
  std::fprintf(stderr,
               "sessions opened %llu | closed observed %llu expired %llu bound %llu reset %llu "
               "superseded %llu evicted %llu | overlaps %llu | unmatched releases %llu\n",
               static_cast<unsigned long long>(t.opened),
               static_cast<unsigned long long>(t.closed_observed),
               static_cast<unsigned long long>(t.closed_expired),
               static_cast<unsigned long long>(t.closed_bound),
               static_cast<unsigned long long>(t.closed_reset),
               static_cast<unsigned long long>(t.superseded),
               static_cast<unsigned long long>(t.evicted),
               static_cast<unsigned long long>(t.overlaps),
               static_cast<unsigned long long>(t.dhcp_release_unmatched));
}

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
  print_tracker_stats(t);
}

// The tracker settings shared by --pcap and import: subscriber-id order and bounds.
bool tracker_config(const std::string& order_text, double open_bound_s, std::size_t max_bindings,
                    capture::SessionTrackerConfig& config) {
  if (!order_text.empty()) {
    auto order = capture::parse_subscriber_id_order(order_text);
    if (!order) {
      std::fprintf(stderr, "conntrail sessions: --subscriber-id: %s\n",
                   order.error().message.c_str());
      return false;
    }
    config.subscriber_id_order = *order;
  }
  if (!(open_bound_s > 0) || open_bound_s > 366.0 * 24 * 3600 || max_bindings == 0) {
    std::fprintf(stderr, "conntrail sessions: --open-bound must be in (0, 1 year] and "
                         "--max-bindings > 0\n");
    return false;
  }
  config.open_bound = static_cast<TimestampNs>(open_bound_s * 1e9);
  config.max_bindings = max_bindings;
  return true;
}

// Offline producers may wait for the writer: a full queue is retried, never shed.
bool push_waiting(storage::FlowWriter& writer, const SessionRecord& session) {
  for (int attempt = 0; !writer.try_push(SessionRecord(session)); ++attempt) {
    if (attempt == 10000) return false;  // ~10 s without room: the writer is stuck
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

int store_sessions(const std::vector<SessionRecord>& sessions, const std::string& data_dir,
                   const std::string& period_text, int retention_months) {
  auto lock = storage::DataDirLock::acquire(data_dir);
  if (!lock) {
    std::fprintf(stderr, "conntrail sessions import: %s\n", lock.error().message.c_str());
    return 1;
  }
  storage::StoreOptions store;
  store.data_dir = data_dir;
  store.shard_period = std::chrono::seconds(period_text == "day" ? 86400 : 3600);
  store.seal_on_stop = true;
  store.retention_months = retention_months;
  auto writer = storage::FlowWriter::start(store);
  if (!writer) {
    std::fprintf(stderr, "conntrail sessions import: %s\n", writer.error().message.c_str());
    return 1;
  }
  std::uint64_t refused = 0;
  for (const auto& s : sessions) {
    if (!push_waiting(**writer, s)) ++refused;
  }
  (*writer)->stop();
  const auto stats = (*writer)->stats();
  std::fprintf(stderr,
               "conntrail sessions import: %s: %llu sessions written, %llu failed, %llu shards "
               "sealed\n",
               data_dir.c_str(), static_cast<unsigned long long>(stats.sessions_written),
               static_cast<unsigned long long>(stats.rows_failed + refused),
               static_cast<unsigned long long>(stats.shards_sealed));
  if (stats.rows_failed + refused > 0) {
    std::fprintf(stderr, "conntrail sessions import: %s\n",
                 stats.last_error.empty() ? "sessions could not be written"
                                          : stats.last_error.c_str());
    return 1;
  }
  return 0;
}

int run_import(std::span<const std::string> args) {
  std::string file, format_text = "auto", data_dir, output_text = "csv", time_text = "epoch",
                    order_text, server_text, period_text = "hour";
  double open_bound_s = 24 * 3600;
  std::size_t max_bindings = 1'000'000;
  capture::ImportOptions options;
  int retention_months = 12;
  bool strict = false, stats = false;
  po::options_description desc(
      "conntrail sessions import [--data-dir DIR] --format FORMAT FILE [options]");
  desc.add_options()
      ("help,h", "this help")
      ("file", po::value(&file), "the file to import (also the one positional argument)")
      ("format", po::value(&format_text)->default_value("auto"),
       "conntrail-csv, freeradius-detail, isc-dhcpd-leases, kea-lease4, kea-lease6, or auto "
       "(only when the file's opening fits exactly one)")
      ("data-dir", po::value(&data_dir),
       "store the sessions in this data directory (source=import); without it, print them")
      ("output-format", po::value(&output_text)->default_value("csv"), "printing: csv or ndjson")
      ("time-format", po::value(&time_text)->default_value("epoch"), "printing: epoch or rfc3339")
      ("subscriber-id", po::value(&order_text),
       "which field names the subscriber, first present wins — give the agent's "
       "[attribution] subscriber_id so imported and decoded ids agree (default "
       "user-name,circuit-id,remote-id,subscriber-id,mac,duid)")
      ("open-bound", po::value(&open_bound_s)->default_value(24 * 3600),
       "seconds after its last refresh that a session without a lease is assumed ended")
      ("max-bindings", po::value(&max_bindings)->default_value(1'000'000),
       "bound on bindings tracked at once")
      ("server", po::value(&server_text),
       "address of the DHCP server (lease files do not name it) / NAS of detail records that "
       "name none")
      ("max-records", po::value(&options.limits.max_records)->default_value(2'000'000),
       "refuse files with more records than this")
      ("max-errors", po::value(&options.limits.max_errors)->default_value(1000),
       "give up after this many bad records")
      ("strict", po::bool_switch(&strict), "any bad record fails the import (nothing stored)")
      ("shard-period", po::value(&period_text)->default_value("hour"), "hour or day (the store's)")
      ("retention-months", po::value(&retention_months)->default_value(12),
       "the store's retention: sessions older than that are deleted by its sweep")
      ("stats", po::bool_switch(&stats), "print the tracker's counters to stderr");
  po::positional_options_description positional;
  positional.add("file", 1);
  po::variables_map vm;
  try {
    const std::vector<std::string> argv(args.begin(), args.end());
    po::store(po::command_line_parser(argv).options(desc).positional(positional).run(), vm);
    if (vm.count("help") != 0) {
      std::cout << desc << "\n";
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::fprintf(stderr, "conntrail sessions import: %s\n", e.what());
    return 2;
  }
  auto usage = [](const std::string& message) {
    std::fprintf(stderr, "conntrail sessions import: %s\n", message.c_str());
    return 2;
  };
  if (file.empty()) return usage("no file to import");
  const auto output = parse_output_format(output_text);
  if (!output) return usage(output.error().message);
  const auto time_format = parse_time_format(time_text);
  if (!time_format) return usage(time_format.error().message);
  if (period_text != "hour" && period_text != "day") {
    return usage("--shard-period must be hour or day");
  }
  if (retention_months < storage::kMinRetentionMonths ||
      retention_months > storage::kMaxRetentionMonths) {
    return usage("--retention-months out of range");
  }
  if (options.limits.max_records == 0) return usage("--max-records must be > 0");
  if (!tracker_config(order_text, open_bound_s, max_bindings, options.tracker)) return 2;
  if (!server_text.empty()) {
    auto server = IpAddress::parse(server_text);
    if (!server) return usage("--server: " + server.error().message);
    options.server = *server;
  }

  capture::ImportFormat format{};
  if (format_text != "auto") {
    auto parsed = capture::parse_import_format(format_text);
    if (!parsed) return usage("--format: " + parsed.error().message);
    format = *parsed;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "conntrail sessions import: cannot open %s\n", file.c_str());
    return 1;
  }
  if (format_text == "auto") {
    std::string head(4096, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<std::size_t>(in.gcount()));
    in.clear();
    in.seekg(0);
    const auto detected = capture::detect_import_format(head);
    if (!detected) {
      return usage(file + ": cannot tell the format from its opening; give --format");
    }
    format = *detected;
  }

  auto imported = capture::import_sessions(in, format, options);
  if (!imported) {
    std::fprintf(stderr, "conntrail sessions import: %s: %s\n", file.c_str(),
                 imported.error().message.c_str());
    return 1;
  }
  for (const auto& e : imported->errors) {
    std::fprintf(stderr, "conntrail sessions import: %s: skipped %s\n", file.c_str(), e.c_str());
  }
  std::fprintf(stderr,
               "conntrail sessions import: %s (%s): %zu records, %zu bad, %zu sessions\n",
               file.c_str(), std::string(capture::to_string(format)).c_str(), imported->records,
               imported->errors.size(), imported->sessions.size());
  if (stats) {
    print_tracker_stats(imported->tracker);
  }
  if (imported->tracker.overlaps > 0) {
    std::fprintf(stderr,
                 "conntrail sessions import: warning: %llu binding(s) opened while another NAS "
                 "held the same address; attribution there is ambiguous\n",
                 static_cast<unsigned long long>(imported->tracker.overlaps));
  }
  if (strict && !imported->errors.empty()) {
    std::fprintf(stderr,
                 "conntrail sessions import: --strict: %zu bad record(s), nothing imported\n",
                 imported->errors.size());
    return 1;
  }
  if (data_dir.empty()) {
    const capture::SessionFormatter formatter(*output, *time_format);
    std::string out = formatter.header();
    for (const auto& s : imported->sessions) out += formatter.row(s);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  }
  return store_sessions(imported->sessions, data_dir, period_text, retention_months);
}

int run(std::span<const std::string> args) {
  if (!args.empty() && args.front() == "import") return run_import(args.subspan(1));
  std::string pcap, format_text = "csv", time_text = "epoch", order_text;
  double open_bound_s = 24 * 3600;
  std::vector<std::uint16_t> radius_ports;
  std::size_t max_bindings = 1'000'000;
  bool stats = false;
  po::options_description desc(
      "conntrail sessions --pcap FILE [options]  (or: conntrail sessions import --help)");
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
  if (!tracker_config(order_text, open_bound_s, max_bindings, config)) return 2;
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

static RegisterCommand reg({"sessions",
                            "attribution sessions decoded from a capture; `sessions import`: "
                            "from RADIUS detail / DHCP lease files",
                            &run});

}  // namespace
}  // namespace conntrail::cli
