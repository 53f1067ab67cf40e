// agent/cli/query_command.cc — `conntrail query`: flows from the store, as CSV or NDJSON.
//
// Reads shards directly (read-only, beside a running agent), streams rows to
// stdout as they are found, and prints the completeness summary (shards read,
// capture counters, windows without data) to stderr, so stdout stays pure data.
#include <fmt/format.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

#include "agent/cli/command.h"
#include "core/flow_format.h"
#include "storage/query/query_engine.h"

namespace conntrail::cli {
namespace {

namespace po = boost::program_options;

int run_query(std::span<const std::string> args) {
  po::options_description desc("conntrail query --data-dir DIR [selectors] --from T --to T");
  std::string data_dir, ip, prefix, subscriber, from, to, format = "csv", time_format = "epoch";
  int port = -1, proto = -1, retention = 12, active_timeout = 300;
  desc.add_options()("help,h", "this help")("data-dir", po::value(&data_dir)->required(),
                                            "the store's data directory")(
      "ip", po::value(&ip), "address, either endpoint")("prefix", po::value(&prefix),
                                                        "CIDR prefix, either endpoint")(
      "port", po::value(&port), "port (with --ip: the port on that address's side)")(
      "proto", po::value(&proto), "IP protocol number")("subscriber", po::value(&subscriber),
                                                        "subscriber id")(
      "from", po::value(&from)->required(), "window start (epoch seconds or RFC 3339)")(
      "to", po::value(&to)->required(), "window end, exclusive")("format", po::value(&format),
                                                                 "csv (default) or ndjson")(
      "time-format", po::value(&time_format), "epoch (default) or rfc3339")(
      "retention-months", po::value(&retention),
      "retention, for the completeness report (default 12)")(
      "active-timeout", po::value(&active_timeout), "capture's active timeout in s (default 300)");
  po::variables_map vm;
  if (auto done = parse_options("query", desc, args, vm)) return *done;
  storage::Query q;
  auto bad = [](const std::string& what) {
    std::fprintf(stderr, "conntrail query: %s\n", what.c_str());
    return 2;
  };
  auto f = parse_time(from);
  if (!f) return bad("--from: " + f.error().message);
  auto t = parse_time(to);
  if (!t) return bad("--to: " + t.error().message);
  q.from = *f;
  q.to = *t;
  if (!ip.empty()) {
    auto a = IpAddress::parse(ip);
    if (!a) return bad("--ip: " + a.error().message);
    q.ip = *a;
  }
  if (!prefix.empty()) {
    auto p = IpPrefix::parse(prefix);
    if (!p) return bad("--prefix: " + p.error().message);
    q.prefix = *p;
  }
  if (vm.count("port")) {
    if (port < 0 || port > 65535) return bad("--port: must be 0..65535");
    q.port = static_cast<std::uint16_t>(port);
  }
  if (vm.count("proto")) {
    if (proto < 0 || proto > 255) return bad("--proto: must be 0..255");
    q.proto = static_cast<std::uint8_t>(proto);
  }
  if (!subscriber.empty()) q.subscriber = subscriber;
  if (!q.ip && !q.prefix && !q.subscriber && !q.proto && !q.port) {
    return bad("give at least one selector (--ip, --prefix, --port, --proto, --subscriber)");
  }
  auto out_format = parse_output_format(format);
  if (!out_format) return bad("--format: " + out_format.error().message);
  auto tf = parse_time_format(time_format);
  if (!tf) return bad("--time-format: " + tf.error().message);

  if (std::error_code ec; !std::filesystem::is_directory(data_dir, ec)) {
    std::fprintf(stderr, "conntrail query: --data-dir %s: no such directory\n", data_dir.c_str());
    return 1;
  }
  storage::StoreOptions options;
  options.data_dir = data_dir;
  options.retention_months = retention;
  options.active_timeout = std::chrono::seconds(active_timeout);
  if (auto v = options.validate(); !v) return bad(v.error().message);
  storage::QueryEngine engine(options);
  const FlowFormatter formatter(*out_format, *tf);
  std::fputs(formatter.header().c_str(), stdout);
  auto summary = engine.run(q, [&](const FlowRecord& rec) {
    const auto line = formatter.row(rec);
    return std::fwrite(line.data(), 1, line.size(), stdout) == line.size();
  });
  std::fflush(stdout);
  if (!summary) {
    std::fprintf(stderr, "conntrail query: %s\n", summary.error().message.c_str());
    return 1;
  }
  const auto& s = *summary;
  std::fprintf(stderr,
               "rows %llu; shards read: %zu sealed, %zu open; capture: %llu packets, %llu kernel "
               "drops, %llu interface drops, %llu queue drops, %llu evictions\n",
               static_cast<unsigned long long>(s.rows), s.shards_sealed, s.shards_open,
               static_cast<unsigned long long>(s.counters.packets),
               static_cast<unsigned long long>(s.counters.kernel_drops),
               static_cast<unsigned long long>(s.counters.interface_drops),
               static_cast<unsigned long long>(s.counters.queue_drops),
               static_cast<unsigned long long>(s.counters.flows_evicted));
  for (const auto& g : s.gaps) {
    std::fprintf(stderr, "no data %s .. %s: %s\n",
                 format_rfc3339(g.from, TimePrecision::kMicro).c_str(),
                 format_rfc3339(g.to, TimePrecision::kMicro).c_str(),
                 std::string(storage::to_string(g.reason)).c_str());
  }
  return 0;
}

static RegisterCommand reg({"query", "flows from a data directory matching selectors (CSV/NDJSON)",
                            &run_query});

}  // namespace
}  // namespace conntrail::cli
