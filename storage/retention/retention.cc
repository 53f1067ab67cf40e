// storage/retention/retention.cc — see retention.h.
#include "storage/retention/retention.h"

#include <fmt/format.h>

#include <set>

#include "storage/retention/calendar.h"
#include "storage/store/store_options.h"
#include "storage/summary/shard_summary.h"

namespace conntrail::storage {
namespace {

void remove_shard_files(const std::filesystem::path& p) {
  std::error_code ec;
  for (const char* suffix : {"-wal", "-shm", ""}) std::filesystem::remove(p.string() + suffix, ec);
}

// Removes day, month and year directories left empty (never data_dir itself).
void prune_empty_dirs(const std::filesystem::path& data_dir, std::filesystem::path dir) {
  std::error_code ec;
  for (int i = 0; i < 3 && dir != data_dir && dir.has_parent_path(); ++i) {
    if (!std::filesystem::is_empty(dir, ec) || ec) return;
    std::filesystem::remove(dir, ec);
    dir = dir.parent_path();
  }
}

bool overlaps(const Hold& h, const ShardPeriod& p) { return h.from < p.end() && h.to > p.start; }

}  // namespace

Result<SweepResult> sweep_expired(const std::filesystem::path& data_dir, int retention_months,
                                  TimestampNs now) {
  if (retention_months < kMinRetentionMonths || retention_months > kMaxRetentionMonths) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("retention {} months outside {}..{}", retention_months,
                            kMinRetentionMonths, kMaxRetentionMonths));
  }
  Manifest manifest(data_dir);
  auto entries = manifest.read_all();
  if (!entries) return std::unexpected(entries.error());
  const auto holds = Manifest::active_holds(*entries);
  std::set<std::string> recorded;  // files whose expiry is already in the manifest
  for (const auto& e : *entries) {
    if (e.kind == ManifestKind::kExpire) recorded.insert(e.file);
  }
  auto files = list_shard_files(data_dir);
  if (!files) return std::unexpected(files.error());
  const TimestampNs cutoff = retention_cutoff(now, retention_months);
  SweepResult result;
  for (const auto& f : *files) {
    if (!is_expired(f.period, now, retention_months)) continue;
    bool held = false;
    for (const auto& h : holds) held = held || overlaps(h, f.period);
    if (held) {
      result.held.push_back(f.period);
      continue;
    }
    const auto rel = relative_shard_path(f.period, f.form);
    if (recorded.count(rel) == 0) {
      ManifestEntry e;
      e.kind = ManifestKind::kExpire;
      e.time = now;
      e.period = f.period;
      e.file = rel;
      e.reason = fmt::format("retention {} months: period ended {} <= cutoff {}", retention_months,
                             format_rfc3339(f.period.end(), TimePrecision::kMicro),
                             format_rfc3339(cutoff, TimePrecision::kMicro));
      if (auto r = manifest.append(std::move(e)); !r) return std::unexpected(r.error());
    }
    forget_shard_summary(f.path, f.period);  // before the shard: never an orphan entry
    remove_shard_files(f.path);
    prune_empty_dirs(data_dir, f.path.parent_path());
    result.expired.push_back(f.period);
  }
  return result;
}

Result<Hold> place_hold(const std::filesystem::path& data_dir, const std::string& id,
                        TimestampNs from, TimestampNs to, const std::string& reason,
                        TimestampNs now) {
  if (id.empty() || id.size() > kMaxHoldIdLength) {
    return fail(ErrorCode::kInvalidArgument, "hold id: must be 1..128 characters");
  }
  if (reason.empty() || reason.size() > kMaxHoldReasonLength) {
    return fail(ErrorCode::kInvalidArgument, "hold reason: must be 1..1024 characters");
  }
  if (to <= from) return fail(ErrorCode::kInvalidArgument, "hold range: 'to' must be after 'from'");
  Manifest manifest(data_dir);
  auto entries = manifest.read_all();
  if (!entries) return std::unexpected(entries.error());
  for (const auto& h : Manifest::active_holds(*entries)) {
    if (h.id == id) return fail(ErrorCode::kInvalidArgument, "hold '" + id + "' already exists");
  }
  ManifestEntry e;
  e.kind = ManifestKind::kHold;
  e.time = now;
  e.hold_id = id;
  e.hold_from = from;
  e.hold_to = to;
  e.reason = reason;
  if (auto r = manifest.append(std::move(e)); !r) return std::unexpected(r.error());
  return Hold{id, from, to, reason, now};
}

Result<void> release_hold(const std::filesystem::path& data_dir, const std::string& id,
                          const std::string& reason, TimestampNs now) {
  Manifest manifest(data_dir);
  auto entries = manifest.read_all();
  if (!entries) return std::unexpected(entries.error());
  bool found = false;
  for (const auto& h : Manifest::active_holds(*entries)) found = found || h.id == id;
  if (!found) return fail(ErrorCode::kNotFound, "no active hold '" + id + "'");
  if (reason.empty() || reason.size() > kMaxHoldReasonLength) {
    return fail(ErrorCode::kInvalidArgument, "release reason: must be 1..1024 characters");
  }
  ManifestEntry e;
  e.kind = ManifestKind::kRelease;
  e.time = now;
  e.hold_id = id;
  e.reason = reason;
  if (auto r = manifest.append(std::move(e)); !r) return std::unexpected(r.error());
  return {};
}

Result<std::vector<Hold>> list_holds(const std::filesystem::path& data_dir) {
  auto entries = Manifest(data_dir).read_all();
  if (!entries) return std::unexpected(entries.error());
  return Manifest::active_holds(*entries);
}

}  // namespace conntrail::storage
