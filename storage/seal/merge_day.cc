// storage/seal/merge_day.cc — see merge_day.h.
#include "storage/seal/merge_day.h"

#include <fmt/format.h>

#include <map>
#include <set>

#include "storage/hash/sha256.h"
#include "storage/seal/sealer.h"
#include "storage/shard/schema.h"
#include "storage/sqlite/sqlite.h"
#include "storage/summary/shard_summary.h"

namespace conntrail::storage {
namespace {

bool is_day(const ShardPeriod& p) noexcept { return p.seconds == kDaySeconds; }

// The newest `seal` entry of each file, and the files already given a `merge` entry.
struct ManifestView {
  std::map<std::string, ManifestEntry> sealed;
  std::set<std::string> merged;
};

Result<ManifestView> view_of(const Manifest& manifest) {
  auto entries = manifest.read_all();
  if (!entries) return std::unexpected(entries.error());
  ManifestView v;
  for (auto& e : *entries) {
    if (e.kind == ManifestKind::kSeal) v.sealed[e.file] = e;
    if (e.kind == ManifestKind::kMerge) v.merged.insert(e.file);
  }
  return v;
}

// Records that `source` now lives in the day shard, then deletes it.
Result<void> retire_source(const ShardFile& source, const std::string& day_file,
                           const ManifestView& view, Manifest& manifest, TimestampNs now) {
  const auto rel = relative_shard_path(source.period, ShardForm::kSealed);
  if (view.merged.count(rel) == 0) {
    ManifestEntry e;
    e.kind = ManifestKind::kMerge;
    e.time = now;
    e.period = source.period;
    e.file = rel;
    if (auto it = view.sealed.find(rel); it != view.sealed.end()) {
      e.sha256 = it->second.sha256;
      e.rows = it->second.rows;
    } else {
      auto digest = sha256_file(source.path);
      if (!digest) return std::unexpected(digest.error());
      e.sha256 = to_hex(*digest);
    }
    e.reason = "merged into " + day_file;
    if (auto r = manifest.append(std::move(e)); !r) return std::unexpected(r.error());
  }
  forget_shard_summary(source.path, source.period);
  remove_with_side_files(source.path);
  return {};
}

}  // namespace

Result<MergeResult> merge_sealed_day(const std::filesystem::path& data_dir, TimestampNs day_start,
                                     const SealOptions& options, Manifest& manifest,
                                     TimestampNs now) {
  const ShardPeriod day = period_of(day_start, kDaySeconds);
  auto listed = list_shard_files_between(data_dir, day.start, day.end());
  if (!listed) return std::unexpected(listed.error());
  std::vector<ShardFile> sources;
  for (auto& f : *listed) {
    if (!day.contains(f.period.start)) continue;
    if (f.form == ShardForm::kOpen) {
      return fail(ErrorCode::kInvalidArgument, "day still has an open shard: " + f.path.string());
    }
    if (is_day(f.period))
      return fail(ErrorCode::kNotFound, "already a day shard: " + f.path.string());
    sources.push_back(std::move(f));
  }
  if (sources.size() < 2) {
    return fail(ErrorCode::kNotFound, "fewer than two sealed shards on " + period_stem(day));
  }
  auto view = view_of(manifest);
  if (!view) return std::unexpected(view.error());
  // Every source must be exactly what was sealed: merging a modified shard
  // would give its changes a fresh, valid hash. The row limit is checked
  // first, from the entries, so a day too large is never hashed.
  std::vector<const ManifestEntry*> entries;
  std::uint64_t day_rows = 0;
  for (const auto& s : sources) {
    const auto rel = relative_shard_path(s.period, ShardForm::kSealed);
    auto it = view->sealed.find(rel);
    if (it == view->sealed.end()) {
      return fail(ErrorCode::kCorrupt, rel + ": no manifest entry, not merged");
    }
    entries.push_back(&it->second);
    day_rows += it->second.rows;
  }
  if (day_rows > options.merge_max_rows) {
    return fail(ErrorCode::kNotFound,
                fmt::format("{} has {} flows, more than {}: its shards stay as they are",
                            period_stem(day), day_rows, options.merge_max_rows));
  }
  for (std::size_t i = 0; i < sources.size(); ++i) {
    auto digest = sha256_file(sources[i].path);
    if (!digest) return std::unexpected(digest.error());
    if (to_hex(*digest) != entries[i]->sha256) {
      return fail(ErrorCode::kCorrupt,
                  entries[i]->file + ": SHA-256 differs from its manifest entry, not merged");
    }
  }
  FlowSorter sorter(SealOrder{.by_subscriber_address = options.sort_by_subscriber_address},
                    {.memory_rows = options.memory_rows, .block_rows = options.block_rows},
                    sources.front().path.parent_path());
  SealedContents contents;
  for (const auto& s : sources) {
    auto db = sql::Db::open(s.path, sql::OpenMode::kImmutable);
    if (!db) return std::unexpected(db.error());
    if (auto r = read_shard_contents(*db, s, sorter, contents); !r) {
      return std::unexpected(r.error());
    }
    contents.merged_from.push_back(s.path.filename().string());
  }
  auto installed = install_sealed_shard(data_dir, day, sorter, contents, options, manifest, now);
  if (!installed) return std::unexpected(installed.error());
  MergeResult result{.day = std::move(*installed), .sources = {}};
  const auto day_file = relative_shard_path(day, ShardForm::kSealed);
  for (const auto& s : sources) {
    if (auto r = retire_source(s, day_file, *view, manifest, now); !r) {
      return std::unexpected(r.error());  // recover_interrupted_merges finishes it
    }
    result.sources.push_back(s.period);
  }
  // Best effort: the manifest already says what happened; recovery repeats a
  // deletion that did not reach the disk.
  (void)fsync_path(result.day.path.parent_path(), true);
  return result;
}

Result<std::vector<MergeResult>> merge_due_days(const StoreOptions& options, Manifest& manifest,
                                                TimestampNs now) {
  auto files = list_shard_files(options.data_dir);
  if (!files) return std::unexpected(files.error());
  std::set<TimestampNs> days;
  for (const auto& f : *files) {
    if (f.form != ShardForm::kSealed || is_day(f.period)) continue;
    const ShardPeriod d = period_of(f.period.start, kDaySeconds);
    if (seal_deadline(d, options.active_timeout, options.seal_margin) <= now) days.insert(d.start);
  }
  const SealOptions seal = seal_options_from(options);
  std::vector<MergeResult> merged;
  for (const TimestampNs d : days) {
    auto r = merge_sealed_day(options.data_dir, d, seal, manifest, now);
    if (r) {
      merged.push_back(std::move(*r));
    } else if (r.error().code != ErrorCode::kNotFound &&
               r.error().code != ErrorCode::kInvalidArgument) {
      return std::unexpected(r.error());
    }
  }
  return merged;
}

Result<std::size_t> recover_interrupted_merges(const std::filesystem::path& data_dir,
                                               Manifest& manifest, TimestampNs now) {
  std::size_t repairs = 0;
  std::error_code ec;
  if (!std::filesystem::exists(data_dir, ec)) return repairs;
  auto files = list_shard_files(data_dir);
  if (!files) return std::unexpected(files.error());
  std::optional<ManifestView> view;
  for (const auto& f : *files) {
    if (f.form != ShardForm::kSealed || !is_day(f.period)) continue;
    auto db = sql::Db::open(f.path, sql::OpenMode::kImmutable);
    if (!db) return std::unexpected(db.error());
    auto names = read_merged_from(*db);
    if (!names) return std::unexpected(names.error());
    for (const auto& name : *names) {
      auto source = parse_shard_file_name(name);
      const auto path = f.path.parent_path() / name;
      if (!source || source->form != ShardForm::kSealed || !std::filesystem::exists(path, ec)) {
        continue;
      }
      source->path = path;
      if (!view) {
        auto v = view_of(manifest);
        if (!v) return std::unexpected(v.error());
        view = std::move(*v);
      }
      const auto day_file = relative_shard_path(f.period, ShardForm::kSealed);
      if (auto r = retire_source(*source, day_file, *view, manifest, now); !r) {
        return std::unexpected(r.error());
      }
      ++repairs;
    }
  }
  return repairs;
}

std::vector<ShardFile> without_merged_sources(std::vector<ShardFile> files) {
  // Only a day shard that shares its day with other files needs a look (the
  // normal case, a day shard alone, costs nothing here).
  std::set<std::filesystem::path> hidden;
  for (const auto& f : files) {
    if (f.form != ShardForm::kSealed || !is_day(f.period)) continue;
    bool shares_day = false;
    for (const auto& g : files) shares_day |= &g != &f && f.period.contains(g.period.start);
    if (!shares_day) continue;
    auto db = sql::Db::open(f.path, sql::OpenMode::kImmutable);
    if (!db) continue;  // the query's own open reports it
    auto names = read_merged_from(*db);
    if (!names) continue;
    for (const auto& name : *names) hidden.insert(f.path.parent_path() / name);
  }
  if (hidden.empty()) return files;
  std::erase_if(files, [&](const ShardFile& f) { return hidden.count(f.path) != 0; });
  return files;
}

}  // namespace conntrail::storage
