// `conntrail ingest --pcap FILE --data-dir DIR`: store a capture file's flows and sessions.
//
// Runs the agent's capture pipeline (capture::read_capture_file with the same
// flags as `conntrail flows`, shared through CaptureCliOptions) and hands every
// flow record — with its subscriber filled from the RADIUS accounting / DHCP in
// the same file — and every attribution session to storage::FlowWriter, then
// stops the writer with seal_on_stop, so the shards whose periods have passed
// are sealed when the command returns. The data directory lock is taken first:
// a running agent on the same directory makes the command fail, never
// interleave. A capture older than the retention is deleted by the store's
// retention sweep (as it would be in the agent's store): give the agent's
// --retention-months, or a longer one to keep an old capture.
//
// Unlike the live capture thread, an offline import may wait for the writer:
// a full queue is retried, never shed, so the store holds exactly what
// `conntrail flows`/`sessions` print. Exit codes: 0 stored, 1 runtime failure
// (including records the writer could not write), 2 usage error.
#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "agent/cli/capture_cli_options.h"
#include "agent/cli/command.h"
#include "agent/runtime/module_options.h"
#include "capture/pipeline/capture_file.h"
#include "storage/store/data_dir_lock.h"
#include "storage/store/flow_writer.h"

namespace conntrail::cli {
namespace {

namespace po = boost::program_options;

// Offline producers may wait: retry a full queue instead of shedding.
template <class Record>
void push_waiting(storage::FlowWriter& writer, Record&& record, std::uint64_t& refused) {
  for (int attempt = 0; !writer.try_push(Record(record)); ++attempt) {
    if (attempt == 10000) {  // ~10 s without room: the writer is stuck; count, go on
      ++refused;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

int run(std::span<const std::string> args) {
  std::string pcap, data_dir, period_text = "hour";
  int retention_months = 12;
  CaptureCliOptions capture_flags;
  po::options_description desc("conntrail ingest --pcap FILE --data-dir DIR [options]");
  desc.add_options()("help,h", "show this help")("pcap", po::value(&pcap)->required(),
                                                 "capture file (pcap or pcapng)")(
      "data-dir", po::value(&data_dir)->required(), "the store's data directory")(
      "shard-period", po::value(&period_text), "hour (default) or day")(
      "retention-months", po::value(&retention_months),
      "retention of the store, as the agent's storage.retention_months (default 12): data "
      "older than that is deleted by the store's retention sweep");
  capture_flags.add_to(desc);
  po::variables_map vm;
  if (auto done = parse_options("ingest", desc, args, vm)) return *done;
  const auto options = capture_flags.build();
  if (!options) {
    std::fprintf(stderr, "conntrail ingest: %s\n", options.error().message.c_str());
    return 2;
  }
  if (period_text != "hour" && period_text != "day") {
    std::fprintf(stderr, "conntrail ingest: --shard-period must be hour or day\n");
    return 2;
  }

  if (retention_months < storage::kMinRetentionMonths ||
      retention_months > storage::kMaxRetentionMonths) {
    std::fprintf(stderr, "conntrail ingest: --retention-months must be %d..%d\n",
                 storage::kMinRetentionMonths, storage::kMaxRetentionMonths);
    return 2;
  }

  auto lock = storage::DataDirLock::acquire(data_dir);
  if (!lock) {
    std::fprintf(stderr, "conntrail ingest: %s\n", lock.error().message.c_str());
    return 1;
  }
  storage::StoreOptions store;
  store.data_dir = data_dir;
  store.shard_period = std::chrono::seconds(period_text == "day" ? 86400 : 3600);
  store.active_timeout = agent::store_lateness(options->meter.flows.timeouts);
  store.seal_on_stop = true;
  store.retention_months = retention_months;
  auto writer = storage::FlowWriter::start(store);
  if (!writer) {
    std::fprintf(stderr, "conntrail ingest: %s\n", writer.error().message.c_str());
    return 1;
  }

  std::uint64_t flows = 0, sessions = 0, refused = 0;
  TimestampNs last_seen = 0;
  capture::CaptureFileReport report;
  const auto counters = capture::read_capture_file(
      pcap, *options,
      [&](FlowRecord&& flow) {
        ++flows;
        last_seen = std::max(last_seen, flow.last_ts);
        push_waiting(**writer, std::move(flow), refused);
      },
      [&](const SessionRecord& session) {
        ++sessions;
        push_waiting(**writer, SessionRecord(session), refused);
      },
      &report);
  if (counters) (*writer)->add_counters(last_seen, *counters);
  (*writer)->stop();
  const auto stats = (*writer)->stats();
  if (!counters) {
    std::fprintf(stderr, "conntrail ingest: %s\n", counters.error().message.c_str());
    return 1;
  }
  std::fprintf(stderr,
               "conntrail ingest: %s: %llu packets, %llu flows, %llu sessions → %s: %llu flows "
               "and %llu sessions written, %llu failed, %llu shards sealed\n",
               pcap.c_str(), static_cast<unsigned long long>(counters->packets),
               static_cast<unsigned long long>(flows), static_cast<unsigned long long>(sessions),
               data_dir.c_str(), static_cast<unsigned long long>(stats.rows_written),
               static_cast<unsigned long long>(stats.sessions_written),
               static_cast<unsigned long long>(stats.rows_failed + refused),
               static_cast<unsigned long long>(stats.shards_sealed));
  if (report.attribution.parsing.truncated_payloads > 0) {
    std::fprintf(stderr,
                 "conntrail ingest: warning: %llu RADIUS/DHCP message(s) cut by the snaplen were "
                 "not used\n",
                 static_cast<unsigned long long>(report.attribution.parsing.truncated_payloads));
  }
  if (stats.rows_failed + refused > 0) {
    std::fprintf(
        stderr, "conntrail ingest: %s\n",
        stats.last_error.empty() ? "records could not be written" : stats.last_error.c_str());
    return 1;
  }
  return 0;
}

static RegisterCommand reg({"ingest",
                            "store a capture file's flows and sessions in a data directory", &run});

}  // namespace
}  // namespace conntrail::cli
