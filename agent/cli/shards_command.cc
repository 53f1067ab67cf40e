// agent/cli/shards_command.cc — `conntrail shards list|verify|seal|expire|summarize|holds|hold|release`.
//
// Operator maintenance of a data directory: list shards with state and size,
// verify hashes / manifest chain / integrity (exit 1 and one line per problem
// when anything is wrong), seal due shards and apply retention at --now (the
// agent does both by itself; these are for offline stores and tests), and
// manage preservation holds.
#include <fmt/format.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

#include "agent/cli/command.h"
#include "core/timestamp.h"
#include "storage/retention/retention.h"
#include "storage/seal/merge_day.h"
#include "storage/seal/sealer.h"
#include "storage/summary/shard_summary.h"
#include "storage/verify/verify.h"

namespace conntrail::cli {
namespace {

namespace po = boost::program_options;

constexpr const char* kUsage =
    "usage: conntrail shards <list|verify|seal|expire|summarize|holds|hold|release> --data-dir DIR "
    "[options]\n"
    "  list                       shards with state, period, rows, bytes, SHA-256\n"
    "  verify                     recompute hashes and the manifest chain, integrity_check\n"
    "  seal   [--now T] [--no-merge]  seal open shards whose period (+ active timeout) has\n"
    "                             passed, then merge each finished day into one day shard\n"
    "  expire [--now T] [--retention-months N]   delete shards past retention (holds respected)\n"
    "  summarize                  add day-summary entries for sealed shards without one\n"
    "                             (shards sealed by a version before summaries)\n"
    "  holds                      list preservation holds\n"
    "  hold --id ID --from T --to T --reason TEXT [--now T]\n"
    "  release --id ID --reason TEXT [--now T]\n";

std::string when(TimestampNs t) { return format_rfc3339(t, TimePrecision::kMicro); }

int run_shards(std::span<const std::string> args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  const std::string action = args[0];
  po::options_description desc("options");
  std::string data_dir, now_text, id, from_text, to_text, reason;
  int retention = 12, active_timeout = 300, margin = 60;
  bool no_merge = false;
  desc.add_options()("data-dir", po::value(&data_dir)->required(), "data directory")(
      "now", po::value(&now_text), "the time to act at (default: now)")(
      "retention-months", po::value(&retention), "retention in months (default 12)")(
      "active-timeout", po::value(&active_timeout), "capture active timeout, s (default 300)")(
      "seal-margin", po::value(&margin), "extra wait before sealing, s (default 60)")(
      "no-merge", po::bool_switch(&no_merge), "seal: keep finished days as hourly shards")(
      "id", po::value(&id), "hold id")("from", po::value(&from_text), "hold start")(
      "to", po::value(&to_text), "hold end (exclusive)")("reason", po::value(&reason), "why");
  try {
    po::variables_map vm;
    std::vector<std::string> argv(args.begin() + 1, args.end());
    po::store(po::command_line_parser(argv).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::fprintf(stderr, "conntrail shards: %s\n%s", e.what(), kUsage);
    return 2;
  }
  if (std::error_code ec; !std::filesystem::is_directory(data_dir, ec)) {
    std::fprintf(stderr, "conntrail shards: --data-dir %s: no such directory\n", data_dir.c_str());
    return 1;
  }
  TimestampNs now = storage::system_now();
  if (!now_text.empty()) {
    auto t = parse_time(now_text);
    if (!t) {
      std::fprintf(stderr, "conntrail shards: --now: %s\n", t.error().message.c_str());
      return 2;
    }
    now = *t;
  }
  auto fail_with = [](const Error& e) {
    std::fprintf(stderr, "conntrail shards: %s\n", e.message.c_str());
    return e.code == ErrorCode::kInvalidArgument ? 2 : 1;
  };

  if (action == "list") {
    auto shards = storage::list_shards(data_dir);
    if (!shards) return fail_with(shards.error());
    std::printf("state,period_start,period_seconds,rows,sessions,bytes,sha256,file\n");
    for (const auto& s : *shards) {
      std::printf("%s,%s,%lld,%llu,%llu,%llu,%s,%s\n", s.state.c_str(),
                  when(s.period_start).c_str(), static_cast<long long>(s.period_seconds),
                  static_cast<unsigned long long>(s.rows),
                  static_cast<unsigned long long>(s.sessions),
                  static_cast<unsigned long long>(s.bytes), s.sha256.c_str(), s.file.c_str());
    }
    return 0;
  }
  if (action == "verify") {
    auto report = storage::verify_store(data_dir);
    if (!report) return fail_with(report.error());
    for (const auto& p : report->problems) {
      std::printf("FAIL %s: %s\n", p.subject.c_str(), p.what.c_str());
    }
    std::printf("%s: %zu manifest entries, %zu sealed and %zu open shards checked, %zu problems\n",
                report->ok() ? "OK" : "FAILED", report->manifest_entries, report->sealed_checked,
                report->open_checked, report->problems.size());
    return report->ok() ? 0 : 1;
  }
  if (action == "seal") {
    storage::StoreOptions o;
    o.data_dir = data_dir;
    o.active_timeout = std::chrono::seconds(active_timeout);
    o.seal_margin = std::chrono::seconds(margin);
    o.merge_sealed_days = !no_merge;
    if (auto v = o.validate(); !v) return fail_with(v.error());
    std::vector<storage::MergeResult> merged;
    auto sealed = storage::seal_due_shards(o, now, &merged);
    if (!sealed) return fail_with(sealed.error());
    for (const auto& s : *sealed) {
      std::printf("sealed %s: %llu flows, %llu bytes, sha256 %s\n", s.path.filename().c_str(),
                  static_cast<unsigned long long>(s.rows), static_cast<unsigned long long>(s.bytes),
                  s.sha256.c_str());
    }
    for (const auto& m : merged) {
      std::printf("merged %zu shards into %s: %llu flows, %llu bytes, sha256 %s\n",
                  m.sources.size(), m.day.path.filename().c_str(),
                  static_cast<unsigned long long>(m.day.rows),
                  static_cast<unsigned long long>(m.day.bytes), m.day.sha256.c_str());
    }
    std::printf("%zu shards sealed\n", sealed->size());
    return 0;
  }
  if (action == "expire") {
    auto swept = storage::sweep_expired(data_dir, retention, now);
    if (!swept) return fail_with(swept.error());
    for (const auto& p : swept->expired)
      std::printf("expired %s\n", storage::period_stem(p).c_str());
    for (const auto& p : swept->held) std::printf("held %s\n", storage::period_stem(p).c_str());
    std::printf("%zu shards expired, %zu kept by holds\n", swept->expired.size(),
                swept->held.size());
    return 0;
  }
  if (action == "summarize") {
    auto added = storage::backfill_summaries(data_dir);
    if (!added) return fail_with(added.error());
    std::printf("%zu shard summaries added\n", *added);
    return 0;
  }
  if (action == "holds") {
    auto holds = storage::list_holds(data_dir);
    if (!holds) return fail_with(holds.error());
    std::printf("id,from,to,placed_at,reason\n");
    for (const auto& h : *holds) {
      std::printf("%s,%s,%s,%s,%s\n", h.id.c_str(), when(h.from).c_str(), when(h.to).c_str(),
                  when(h.placed_at).c_str(), h.reason.c_str());
    }
    return 0;
  }
  if (action == "hold") {
    auto f = parse_time(from_text);
    auto t = parse_time(to_text);
    if (!f || !t) {
      std::fprintf(stderr, "conntrail shards hold: --from and --to are required times\n");
      return 2;
    }
    auto h = storage::place_hold(data_dir, id, *f, *t, reason, now);
    if (!h) return fail_with(h.error());
    std::printf("hold %s placed over %s .. %s\n", h->id.c_str(), when(h->from).c_str(),
                when(h->to).c_str());
    return 0;
  }
  if (action == "release") {
    auto r = storage::release_hold(data_dir, id, reason, now);
    if (!r) return fail_with(r.error());
    std::printf("hold %s released\n", id.c_str());
    return 0;
  }
  std::fprintf(stderr, "conntrail shards: unknown action '%s'\n%s", action.c_str(), kUsage);
  return 2;
}

static RegisterCommand reg({"shards", "list, verify, seal and expire shards; preservation holds",
                            &run_shards});

}  // namespace
}  // namespace conntrail::cli
