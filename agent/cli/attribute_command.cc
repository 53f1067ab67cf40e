// `conntrail attribute --ip X [--port P] --at T`: which subscriber held an address at an instant.
//
// The evidence (sessions, and flows when a port is asked) comes from one of
// three places: --data-dir, the agent's shard store (storage::QueryEngine);
// --pcap, a capture decoded on the spot with the agent's pipeline; or
// --sessions-csv, an operator's session export (no flows: a port is "not checked"). The answer is capture::answer_attribution()'s, printed as text for
// people or NDJSON for programs; it states ambiguity, gaps, inferred ends and
// unconfirmed ports instead of choosing for the reader.
//
// Exit codes: 0 answered (whatever the status), 1 the evidence could not be
// read, 2 usage error.
#include <boost/program_options.hpp>

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "agent/cli/command.h"
#include "capture/attribution/attribution_query.h"
#include "capture/pipeline/capture_file.h"
#include "capture/attribution/session_import.h"
#include "capture/attribution/session_format.h"
#include "core/flow_format.h"
#include "storage/query/query_engine.h"

namespace conntrail::cli {
namespace {

namespace po = boost::program_options;

struct Evidence {
  std::vector<SessionRecord> sessions;
  std::vector<FlowRecord> flows;
  bool flows_available = false;  // false: a port cannot be checked from this source
};

// Flows read for the port check are bounded: an address with more flows than this in
// the window is reported as such (the port answer is then built from the first ones).
constexpr std::uint64_t kMaxPortFlows = 100'000;

// The shard store (storage::QueryEngine): the sessions whose prefix contains the
// address and that overlap [at - window - lookaround, at + window + lookaround) —
// the covering ones and the nearest on each side, for the gap edges — and, when a
// port is asked, the flows of that address and port active in the window.
Result<Evidence> evidence_from_data_dir(const std::string& dir, const capture::AttributionQuery& q) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return fail(ErrorCode::kNotFound, "--data-dir " + dir + ": no such directory");
  }
  storage::StoreOptions store;
  store.data_dir = dir;
  const storage::QueryEngine engine(store);
  const TimestampNs around =
      std::chrono::duration_cast<std::chrono::nanoseconds>(store.session_lookaround).count();
  storage::SessionQuery sq;
  sq.address = q.address;
  sq.from = q.at - q.window - around;
  sq.to = q.at + q.window + around + 1;
  auto sessions = engine.sessions(sq);
  if (!sessions) return fail(sessions.error().code, dir + ": " + sessions.error().message);
  Evidence e;
  e.sessions = std::move(*sessions);
  e.flows_available = true;
  if (q.port) {
    storage::Query fq;
    fq.ip = q.address;
    fq.port = *q.port;
    fq.from = q.at - q.window;
    fq.to = q.at + q.window + 1;  // [from, to): an instant is [at, at + 1 ns)
    auto summary = engine.run(fq, [&](const FlowRecord& f) {
      e.flows.push_back(f);
      return e.flows.size() < kMaxPortFlows;
    });
    if (!summary) return fail(summary.error().code, dir + ": " + summary.error().message);
    if (summary->stopped_early) {
      std::fprintf(stderr, "conntrail attribute: more than %llu flows match; the port check "
                           "uses the first of them\n",
                   static_cast<unsigned long long>(kMaxPortFlows));
    }
  }
  return e;
}

// A capture decoded on the spot with the agent's pipeline: its sessions, and (when a
// port is asked) its flows of the address, bounded like the data-dir path.
Result<Evidence> evidence_from_pcap(const std::string& pcap, const capture::AttributionQuery& q) {
  Evidence e;
  e.flows_available = true;
  std::uint64_t dropped = 0;
  auto counters = capture::read_capture_file(
      pcap, capture::CaptureOptions{},
      [&](FlowRecord&& f) {
        if (!q.port || (f.src_ip != q.address && f.dst_ip != q.address)) return;
        if (e.flows.size() < kMaxPortFlows) {
          e.flows.push_back(std::move(f));
        } else {
          ++dropped;
        }
      },
      [&](const SessionRecord& s) { e.sessions.push_back(s); });
  if (!counters) return std::unexpected(counters.error());
  if (dropped > 0) {
    std::fprintf(stderr, "conntrail attribute: %llu flows of the address beyond %llu not checked\n",
                 static_cast<unsigned long long>(dropped),
                 static_cast<unsigned long long>(kMaxPortFlows));
  }
  return e;
}

// An operator's session export (see capture/attribution/session_import.h); bad rows are
// reported on stderr with their line numbers, and the answer is built from the good ones.
Result<Evidence> evidence_from_csv(const std::string& path, capture::ImportFormat format) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorCode::kIo, "cannot open sessions file " + path);
  auto imported = capture::import_sessions(in, format);
  if (!imported) return fail(imported.error().code, path + ": " + imported.error().message);
  for (const auto& e : imported->errors) {
    std::fprintf(stderr, "conntrail attribute: %s: skipped %s\n", path.c_str(), e.c_str());
  }
  Evidence e;
  e.sessions = std::move(imported->sessions);
  return e;
}

std::string text_answer(const capture::AttributionQuery& q, const capture::AttributionAnswer& a,
                        const Evidence& e, TimeFormat tf) {
  const capture::SessionFormatter rows(OutputFormat::kCsv, tf);
  auto when = [&](TimestampNs t) { return format_time(t, TimePrecision::kMicro, tf); };
  std::string out = fmt::format("address {}{} at {}{}: {}", q.address.to_string(),
                                q.port ? fmt::format(" port {}", *q.port) : std::string(),
                                when(q.at),
                                q.window ? fmt::format(" ±{}s", q.window / kNsPerSecond) : "",
                                to_string(a.status));
  if (!a.subscriber.empty()) out += " — subscriber " + capture::printable(a.subscriber);
  out += "\n";
  auto session_line = [&](std::string_view label, const SessionRecord& s) {
    auto row = rows.row(s);
    out += fmt::format("{} {}", label, row);
  };
  if (!a.sessions.empty()) out += "sessions: " + rows.header();
  for (const auto& s : a.sessions) session_line("session", s);
  if (a.previous) session_line("before", *a.previous);
  if (a.next) session_line("after", *a.next);
  if (q.port) {
    if (!e.flows_available) {
      out += "port: not checked (this source has no flows)\n";
    } else {
      out += fmt::format("port: {} ({} flow(s))\n", to_string(a.port), a.flows.size());
      const FlowFormatter flows(OutputFormat::kCsv, tf);
      for (const auto& f : a.flows) out += "flow " + flows.row(f);
    }
  }
  for (const auto& n : a.notes) {
    if (q.port && !e.flows_available && n.rfind("port ", 0) == 0) continue;
    out += "note: " + n + "\n";
  }
  return out;
}

std::string json_answer(const capture::AttributionQuery& q, const capture::AttributionAnswer& a,
                        const Evidence& e, TimeFormat tf) {
  using Json = nlohmann::ordered_json;
  const capture::SessionFormatter rows(OutputFormat::kNdjson, tf);
  auto session_json = [&](const SessionRecord& s) { return Json::parse(rows.row(s)); };
  Json j;
  j["address"] = q.address.to_string();
  j["port"] = q.port ? Json(*q.port) : Json();
  j["at"] = format_time(q.at, TimePrecision::kMicro, tf);
  j["window_s"] = q.window / kNsPerSecond;
  j["status"] = std::string(to_string(a.status));
  j["subscriber"] = capture::printable(a.subscriber);
  j["sessions"] = Json::array();
  for (const auto& s : a.sessions) j["sessions"].push_back(session_json(s));
  j["previous"] = a.previous ? session_json(*a.previous) : Json();
  j["next"] = a.next ? session_json(*a.next) : Json();
  j["port_check"] = !q.port ? "not-asked" : !e.flows_available ? "not-checked"
                                                                : std::string(to_string(a.port));
  j["flows"] = Json::array();
  const FlowFormatter flows(OutputFormat::kNdjson, tf);
  for (const auto& f : a.flows) j["flows"].push_back(Json::parse(flows.row(f)));
  j["notes"] = Json::array();
  for (const auto& n : a.notes) {
    if (q.port && !e.flows_available && n.rfind("port ", 0) == 0) continue;
    j["notes"].push_back(n);
  }
  return j.dump() + "\n";
}

int run(std::span<const std::string> args) {
  std::string ip_text, at_text, data_dir, pcap, sessions_csv, format_text = "text", time_text = "rfc3339";
  std::string sessions_format_text;
  std::optional<unsigned> port;
  double window_s = 0;
  po::options_description desc(
      "conntrail attribute --ip X --at T (--data-dir DIR | --pcap FILE | --sessions-csv FILE)");
  desc.add_options()
      ("help,h", "this help")
      ("ip", po::value(&ip_text)->required(), "the address asked about (IPv4 or IPv6)")
      ("port", po::value<unsigned>(), "its port, to be confirmed by a flow")
      ("at", po::value(&at_text)->required(), "the instant: epoch seconds or RFC 3339")
      ("window", po::value(&window_s)->default_value(0), "half-width of a window around --at, seconds")
      ("data-dir", po::value(&data_dir), "the agent's data directory")
      ("pcap", po::value(&pcap), "decode the sessions from this capture instead")
      ("sessions-csv", po::value(&sessions_csv),
       "or read them from a sessions file (by default a CSV with the `conntrail sessions` columns)")
      ("sessions-format", po::value(&sessions_format_text)->default_value("conntrail-csv"),
       "that file's format: conntrail-csv, freeradius-detail, isc-dhcpd-leases, kea-lease4, kea-lease6")
      ("format", po::value(&format_text)->default_value("text"), "text or ndjson")
      ("time-format", po::value(&time_text)->default_value("rfc3339"), "epoch or rfc3339");
  po::variables_map vm;
  try {
    const std::vector<std::string> argv(args.begin(), args.end());
    po::store(po::command_line_parser(argv).options(desc).run(), vm);
    if (vm.count("help")) {
      std::cout << desc << "\n";
      return 0;
    }
    po::notify(vm);
    if (vm.count("port")) port = vm["port"].as<unsigned>();
  } catch (const po::error& e) {
    std::fprintf(stderr, "conntrail attribute: %s\n", e.what());
    return 2;
  }
  auto usage = [](const std::string& message) {
    std::fprintf(stderr, "conntrail attribute: %s\n", message.c_str());
    return 2;
  };
  const auto address = IpAddress::parse(ip_text);
  if (!address) return usage("--ip: " + address.error().message);
  const auto at = parse_time(at_text);
  if (!at) return usage("--at: " + at.error().message);
  if (port && *port > 65535) return usage("--port must be 0..65535");
  if (!(window_s >= 0) || window_s > 7 * 24 * 3600) return usage("--window must be 0..604800 seconds");
  if (int{!data_dir.empty()} + int{!pcap.empty()} + int{!sessions_csv.empty()} != 1) {
    return usage("give exactly one of --data-dir, --pcap and --sessions-csv");
  }
  if (format_text != "text" && format_text != "ndjson") return usage("--format must be text or ndjson");
  const auto time_format = parse_time_format(time_text);
  if (!time_format) return usage(time_format.error().message);

  capture::AttributionQuery q;
  q.address = *address;
  if (port) q.port = static_cast<std::uint16_t>(*port);
  q.at = *at;
  q.window = static_cast<TimestampNs>(window_s * 1e9);

  const auto sessions_format = capture::parse_import_format(sessions_format_text);
  if (!sessions_format) return usage("--sessions-format: " + sessions_format.error().message);
  auto evidence = !pcap.empty()           ? evidence_from_pcap(pcap, q)
                  : !sessions_csv.empty() ? evidence_from_csv(sessions_csv, *sessions_format)
                                          : evidence_from_data_dir(data_dir, q);
  if (!evidence) {
    std::fprintf(stderr, "conntrail attribute: %s\n", evidence.error().message.c_str());
    return 1;
  }
  const auto answer = capture::answer_attribution(q, evidence->sessions, evidence->flows);
  const std::string out = format_text == "text" ? text_answer(q, answer, *evidence, *time_format)
                                                : json_answer(q, answer, *evidence, *time_format);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

static RegisterCommand reg({"attribute", "which subscriber held an address (and port) at an instant",
                            &run});

}  // namespace
}  // namespace conntrail::cli
