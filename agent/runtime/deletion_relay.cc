#include "agent/runtime/deletion_relay.h"

#include <fmt/format.h>

#include <fstream>
#include <map>
#include <string>
#include <system_error>

#include "storage/manifest/manifest.h"

namespace conntrail::agent {
namespace {
constexpr const char* kCursorFile = "audit-relay.seq";
}  // namespace

DeletionRelay::DeletionRelay(std::filesystem::path data_dir, RecordFn record)
    : data_dir_(std::move(data_dir)), record_(std::move(record)) {}

Result<std::uint64_t> DeletionRelay::load_cursor() const {
  std::ifstream in(data_dir_ / kCursorFile);
  if (!in) return 0;  // nothing relayed yet
  std::uint64_t seq = 0;
  if (!(in >> seq)) {
    return fail(ErrorCode::kCorrupt, (data_dir_ / kCursorFile).string() + ": not a number");
  }
  return seq;
}

Result<void> DeletionRelay::store_cursor(std::uint64_t seq) const {
  const auto path = data_dir_ / kCursorFile;
  const auto tmp = data_dir_ / (std::string(kCursorFile) + ".tmp");
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << seq << '\n';
    out.flush();
    if (!out) return fail(ErrorCode::kIo, "write " + tmp.string());
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return fail(ErrorCode::kIo, "rename " + tmp.string() + ": " + ec.message());
  return {};
}

Result<std::size_t> DeletionRelay::relay_new() {
  auto cursor = load_cursor();
  if (!cursor) return std::unexpected(cursor.error());
  auto entries = storage::Manifest(data_dir_).read_all();
  if (!entries) return std::unexpected(entries.error());
  // An expire entry names the file; the row count is in the file's seal entry.
  std::map<std::string, std::uint64_t> sealed_rows;
  for (const auto& e : *entries) {
    if (e.kind == storage::ManifestKind::kSeal) sealed_rows[e.file] = e.rows;
  }
  std::size_t relayed = 0;
  for (const auto& e : *entries) {
    if (e.kind != storage::ManifestKind::kExpire || e.seq <= *cursor) continue;
    DataDeletion d;
    d.what = fmt::format("{} (manifest entry {})", e.file, e.seq);
    d.from = e.period.start;
    d.to = e.period.end();
    const auto sealed = sealed_rows.find(e.file);
    d.records = sealed != sealed_rows.end() ? sealed->second : e.rows;
    d.reason = e.reason.empty() ? "retention" : e.reason;
    if (auto r = record_(d); !r) return std::unexpected(r.error());
    if (auto r = store_cursor(e.seq); !r) return std::unexpected(r.error());
    ++relayed;
  }
  return relayed;
}

}  // namespace conntrail::agent
