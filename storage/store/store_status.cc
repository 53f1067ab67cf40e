// storage/store/store_status.cc — see store_status.h.
#include "storage/store/store_status.h"

#include <map>

#include "storage/manifest/manifest.h"
#include "storage/shard/shard_counts.h"
#include "storage/shard/shard_name.h"

namespace conntrail::storage {

Result<StoreStatus> status(const std::filesystem::path& data_dir) {
  auto files = list_shard_files(data_dir);
  if (!files) return std::unexpected(files.error());
  StoreStatus s;
  // Sealed shards' counts are in the manifest: no need to open thousands of files.
  std::map<std::string, const ManifestEntry*> sealed_entries;
  Manifest manifest(data_dir);
  auto entries = manifest.read_all();
  if (entries) {
    for (const auto& e : *entries) {
      if (e.kind == ManifestKind::kSeal) sealed_entries[e.file] = &e;
      if (e.kind == ManifestKind::kExpire) ++s.shards_expired;
    }
  }
  std::error_code ec;
  const auto manifest_size = std::filesystem::file_size(manifest.path(), ec);
  if (!ec) s.bytes_on_disk += manifest_size;
  for (std::size_t i = 0; i < files->size(); ++i) {
    const ShardFile& f = (*files)[i];
    // A crash between sealing's rename and the removal of the open file leaves
    // both; the sealed one is the shard (list order puts it right after).
    if (f.form == ShardForm::kOpen && i + 1 < files->size() && (*files)[i + 1].period == f.period &&
        (*files)[i + 1].form == ShardForm::kSealed) {
      continue;
    }
    if (f.form == ShardForm::kOpen) {
      ++s.shards_open;
    } else {
      ++s.shards_sealed;
    }
    s.bytes_on_disk += shard_bytes_on_disk(f.path);
    auto known = f.form == ShardForm::kSealed
                     ? sealed_entries.find(relative_shard_path(f.period, ShardForm::kSealed))
                     : sealed_entries.end();
    if (known != sealed_entries.end()) {
      s.flows_stored += known->second->rows;
      s.sessions_stored += known->second->sessions;
    } else if (auto c = count_shard_rows(f.path)) {
      s.flows_stored += c->flows;
      s.sessions_stored += c->sessions;
    }
    if (!s.oldest_period_start) s.oldest_period_start = f.period.start;
    s.newest_period_end = f.period.end();
  }
  return s;
}

}  // namespace conntrail::storage
