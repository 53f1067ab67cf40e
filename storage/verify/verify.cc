// storage/verify/verify.cc — see verify.h.
#include "storage/verify/verify.h"

#include <fmt/format.h>

#include <map>
#include <optional>

#include "storage/codec/flow_block.h"
#include "storage/manifest/manifest.h"
#include "storage/hash/sha256.h"
#include "storage/shard/schema.h"
#include "storage/shard/shard_counts.h"
#include "storage/shard/shard_name.h"
#include "storage/sqlite/sqlite.h"
#include "storage/summary/shard_summary.h"

namespace conntrail::storage {
namespace {

std::string rel_name(const std::filesystem::path& data_dir, const std::filesystem::path& p) {
  return std::filesystem::relative(p, data_dir).generic_string();
}

// Integrity and meta of one shard file; problems appended.
void check_file(const std::filesystem::path& data_dir, const ShardFile& f,
                std::vector<VerifyProblem>& problems) {
  const auto subject = rel_name(data_dir, f.path);
  auto db = sql::Db::open(
      f.path, f.form == ShardForm::kSealed ? sql::OpenMode::kImmutable : sql::OpenMode::kReadOnly);
  if (!db) {
    problems.push_back({subject, "cannot open: " + db.error().message});
    return;
  }
  auto check = db->query_text("PRAGMA integrity_check");
  if (!check) {
    problems.push_back({subject, "integrity_check failed to run: " + check.error().message});
    return;
  }
  if (*check != "ok") problems.push_back({subject, "integrity_check: " + *check});
  auto meta = read_meta(*db);
  if (!meta) {
    problems.push_back({subject, "meta: " + meta.error().message});
    return;
  }
  if (meta->period != f.period) {
    problems.push_back(
        {subject, fmt::format("holds period {} but is named {} (renamed or reordered)",
                              period_stem(meta->period), period_stem(f.period))});
  }
  const char* form = f.form == ShardForm::kSealed ? "sealed" : "open";
  if (meta->form != form) {
    problems.push_back({subject, fmt::format("is a {} shard named as {}", meta->form, form)});
  }
}

// A sealed shard's summary entry must describe it: same row count and
// counters, and a filter that holds every address and subscriber of every
// record (a filter that misses one would hide that shard from queries).
void check_summary(const std::filesystem::path& data_dir, const ShardFile& f,
                   const ShardSummary& entry, std::vector<VerifyProblem>& problems) {
  const auto subject = rel_name(data_dir, summary_path_for(f.path));
  const auto shard = rel_name(data_dir, f.path);
  auto db = sql::Db::open(f.path, sql::OpenMode::kImmutable);
  if (!db) return;  // check_file reports it
  auto counters = read_counters(*db);
  if (counters && *counters != entry.counters) {
    problems.push_back({subject, "entry for " + shard + ": capture counters differ from the shard"});
  }
  auto blocks = db->prepare("SELECT data FROM blocks ORDER BY id");
  if (!blocks) return;
  codec::FlowBlockDecoder decoder;
  std::vector<FlowRecord> rows;
  std::uint64_t total = 0, missed = 0;
  for (;;) {
    auto row = blocks->step();
    if (!row || !*row) break;
    if (!decoder.decode(blocks->column_blob(0), rows)) return;  // check_file / hash report it
    total += rows.size();
    for (const auto& r : rows) {
      const std::optional<std::string> sub =
          r.subscriber.empty() ? std::nullopt : std::optional<std::string>(r.subscriber);
      if (!entry.may_hold(r.src_ip, sub) || !entry.may_hold(r.dst_ip, std::nullopt)) ++missed;
    }
  }
  if (total != entry.rows) {
    problems.push_back({subject, fmt::format("entry for {}: says {} flows, the shard holds {}",
                                             shard, entry.rows, total)});
  }
  if (missed != 0) {
    problems.push_back(
        {subject, fmt::format("entry for {}: its filter misses {} of {} flows (queries would "
                              "skip them)",
                              shard, missed, total)});
  }
}

}  // namespace

Result<VerifyReport> verify_store(const std::filesystem::path& data_dir) {
  VerifyReport report;
  Manifest manifest(data_dir);
  auto chain = manifest.verify_chain();
  if (!chain) return std::unexpected(chain.error());
  for (const auto& p : *chain) {
    report.problems.push_back({fmt::format("manifest line {}", p.line), p.what});
  }
  std::vector<ManifestEntry> entries;
  if (auto all = manifest.read_all()) {
    entries = std::move(*all);
  }  // unreadable lines were reported by verify_chain
  report.manifest_entries = entries.size();
  // The latest seal entry per file, minus files expired or merged into their
  // day shard afterwards.
  std::map<std::string, const ManifestEntry*> sealed;
  for (const auto& e : entries) {
    if (e.kind == ManifestKind::kSeal) sealed[e.file] = &e;
    if (e.kind == ManifestKind::kExpire || e.kind == ManifestKind::kMerge) sealed.erase(e.file);
  }
  auto files = list_shard_files(data_dir);
  if (!files) return std::unexpected(files.error());
  std::map<std::string, const ShardFile*> present;
  for (const auto& f : *files) present[rel_name(data_dir, f.path)] = &f;

  // Day summaries (storage/summary): read once per file, checked per shard.
  SummaryIndex summaries;
  auto check_summary_of = [&](const ShardFile& f) {
    const std::size_t damaged = summaries.unreadable().size();
    if (const ShardSummary* entry = summaries.find(f.path, f.period)) {
      check_summary(data_dir, f, *entry, report.problems);
    }
    for (std::size_t i = damaged; i < summaries.unreadable().size(); ++i) {
      const auto& [path, error] = summaries.unreadable()[i];
      report.problems.push_back({rel_name(data_dir, path), error.message});
    }
  };
  for (const auto& [file, e] : sealed) {
    auto it = present.find(file);
    if (it == present.end()) {
      report.problems.push_back(
          {file, fmt::format("removed: sealed in manifest seq {} ({} rows) but "
                             "missing, and no expire entry",
                             e->seq, e->rows)});
      continue;
    }
    ++report.sealed_checked;
    auto digest = sha256_file(it->second->path);
    if (!digest) {
      report.problems.push_back({file, "cannot hash: " + digest.error().message});
      continue;
    }
    if (to_hex(*digest) != e->sha256) {
      report.problems.push_back(
          {file, fmt::format("modified: SHA-256 {} differs from manifest seq {} ({})",
                             to_hex(*digest), e->seq, e->sha256)});
    }
    check_file(data_dir, *it->second, report.problems);
    check_summary_of(*it->second);
    auto counts = count_shard_rows(it->second->path);
    if (counts && (counts->flows != e->rows || counts->sessions != e->sessions)) {
      report.problems.push_back(
          {file, fmt::format("holds {} flows / {} sessions, manifest seq {} says {} / {}",
                             counts->flows, counts->sessions, e->seq, e->rows, e->sessions)});
    }
  }
  for (const auto& [file, f] : present) {
    if (f->form == ShardForm::kSealed) {
      if (sealed.count(file) == 0) {
        report.problems.push_back({file, "unrecorded: sealed file not in the manifest"});
      }
      continue;
    }
    ++report.open_checked;
    check_file(data_dir, *f, report.problems);
  }
  return report;
}

Result<std::vector<ShardListing>> list_shards(const std::filesystem::path& data_dir) {
  std::map<std::string, ManifestEntry> sealed;
  if (auto entries = Manifest(data_dir).read_all()) {
    for (auto& e : *entries) {
      if (e.kind == ManifestKind::kSeal) sealed[e.file] = e;
    }
  }
  auto files = list_shard_files(data_dir);
  if (!files) return std::unexpected(files.error());
  std::vector<ShardListing> out;
  for (const auto& f : *files) {
    ShardListing l;
    l.file = rel_name(data_dir, f.path);
    l.state = f.form == ShardForm::kSealed ? "sealed" : "open";
    l.period_start = f.period.start;
    l.period_seconds = f.period.seconds;
    l.bytes = shard_bytes_on_disk(f.path);
    auto it = sealed.find(l.file);
    if (f.form == ShardForm::kSealed && it != sealed.end()) {
      l.rows = it->second.rows;
      l.sessions = it->second.sessions;
      l.sha256 = it->second.sha256;
    } else if (auto c = count_shard_rows(f.path)) {
      l.rows = c->flows;
      l.sessions = c->sessions;
    }
    out.push_back(std::move(l));
  }
  return out;
}

}  // namespace conntrail::storage
