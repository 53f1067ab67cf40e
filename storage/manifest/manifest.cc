// storage/manifest/manifest.cc — see manifest.h.
#include "storage/manifest/manifest.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/handle.h"
#include "storage/hash/sha256.h"

namespace conntrail::storage {
namespace {

const std::string kZeroHash(64, '0');

std::optional<ManifestKind> kind_from(std::string_view s) {
  if (s == "seal") return ManifestKind::kSeal;
  if (s == "expire") return ManifestKind::kExpire;
  if (s == "hold") return ManifestKind::kHold;
  if (s == "release") return ManifestKind::kRelease;
  if (s == "merge") return ManifestKind::kMerge;
  return std::nullopt;
}

nlohmann::ordered_json to_json(const ManifestEntry& e, bool with_hash) {
  nlohmann::ordered_json j;
  j["seq"] = e.seq;
  j["kind"] = std::string(to_string(e.kind));
  j["time"] = e.time;
  if (e.kind == ManifestKind::kSeal || e.kind == ManifestKind::kExpire ||
      e.kind == ManifestKind::kMerge) {
    j["period_start"] = e.period.start;
    j["period_seconds"] = e.period.seconds;
    j["file"] = e.file;
  }
  if (e.kind == ManifestKind::kMerge) {
    j["sha256"] = e.sha256;
    j["rows"] = e.rows;
  }
  if (e.kind == ManifestKind::kSeal) {
    j["sha256"] = e.sha256;
    j["bytes"] = e.bytes;
    j["rows"] = e.rows;
    j["sessions"] = e.sessions;
    const auto& c = e.counters;
    j["counters"] = {{"packets", c.packets},
                     {"bytes", c.bytes},
                     {"decode_errors", c.decode_errors},
                     {"kernel_drops", c.kernel_drops},
                     {"interface_drops", c.interface_drops},
                     {"queue_drops", c.queue_drops},
                     {"flows_exported", c.flows_exported},
                     {"flows_evicted", c.flows_evicted}};
  }
  if (e.kind == ManifestKind::kHold || e.kind == ManifestKind::kRelease) j["hold_id"] = e.hold_id;
  if (e.kind == ManifestKind::kHold) {
    j["from"] = e.hold_from;
    j["to"] = e.hold_to;
  }
  // A seal entry has a reason only when it is a merge (older entries hash as before).
  if (e.kind != ManifestKind::kSeal || !e.reason.empty()) j["reason"] = e.reason;
  j["prev"] = e.prev;
  if (with_hash) j["hash"] = e.hash;
  return j;
}

Result<ManifestEntry> from_json(const std::string& line) {
  auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return fail(ErrorCode::kCorrupt, "not a JSON object");
  ManifestEntry e;
  try {
    e.seq = j.at("seq").get<std::uint64_t>();
    auto kind = kind_from(j.at("kind").get<std::string>());
    if (!kind) return fail(ErrorCode::kCorrupt, "unknown kind");
    e.kind = *kind;
    e.time = j.at("time").get<TimestampNs>();
    if (e.kind == ManifestKind::kSeal || e.kind == ManifestKind::kExpire ||
        e.kind == ManifestKind::kMerge) {
      e.period.start = j.at("period_start").get<TimestampNs>();
      e.period.seconds = j.at("period_seconds").get<std::int64_t>();
      e.file = j.at("file").get<std::string>();
    }
    if (e.kind == ManifestKind::kMerge) {
      e.sha256 = j.at("sha256").get<std::string>();
      e.rows = j.at("rows").get<std::uint64_t>();
    }
    if (e.kind == ManifestKind::kSeal) {
      e.sha256 = j.at("sha256").get<std::string>();
      e.bytes = j.at("bytes").get<std::uint64_t>();
      e.rows = j.at("rows").get<std::uint64_t>();
      e.sessions = j.at("sessions").get<std::uint64_t>();
      const auto& c = j.at("counters");
      e.counters.packets = c.at("packets").get<std::uint64_t>();
      e.counters.bytes = c.at("bytes").get<std::uint64_t>();
      e.counters.decode_errors = c.at("decode_errors").get<std::uint64_t>();
      e.counters.kernel_drops = c.at("kernel_drops").get<std::uint64_t>();
      e.counters.interface_drops = c.at("interface_drops").get<std::uint64_t>();
      e.counters.queue_drops = c.at("queue_drops").get<std::uint64_t>();
      e.counters.flows_exported = c.at("flows_exported").get<std::uint64_t>();
      e.counters.flows_evicted = c.at("flows_evicted").get<std::uint64_t>();
    }
    if (e.kind == ManifestKind::kHold || e.kind == ManifestKind::kRelease) {
      e.hold_id = j.at("hold_id").get<std::string>();
    }
    if (e.kind == ManifestKind::kHold) {
      e.hold_from = j.at("from").get<TimestampNs>();
      e.hold_to = j.at("to").get<TimestampNs>();
    }
    if (e.kind != ManifestKind::kSeal) e.reason = j.at("reason").get<std::string>();
    if (e.kind == ManifestKind::kSeal && j.contains("reason")) {
      e.reason = j.at("reason").get<std::string>();
    }
    e.prev = j.at("prev").get<std::string>();
    e.hash = j.at("hash").get<std::string>();
  } catch (const nlohmann::json::exception& ex) {
    // nlohmann reports missing/mistyped fields by exception; it stops here.
    return fail(ErrorCode::kCorrupt, std::string("field: ") + ex.what());
  }
  return e;
}

Result<std::vector<std::string>> read_lines(const std::filesystem::path& path) {
  std::vector<std::string> lines;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return lines;
    return fail(ErrorCode::kIo, "open " + path.string());
  }
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  if (in.bad()) return fail(ErrorCode::kIo, "read " + path.string());
  return lines;
}

// Last complete line of the file at fd (empty when the file is empty).
Result<std::string> last_line(int fd) {
  const off_t size = ::lseek(fd, 0, SEEK_END);
  if (size < 0) return fail(ErrorCode::kIo, std::string("seek manifest: ") + std::strerror(errno));
  std::string tail;
  off_t pos = size;
  constexpr off_t kChunk = 4096;
  while (pos > 0) {
    const off_t n = std::min(kChunk, pos);
    pos -= n;
    std::string chunk(static_cast<std::size_t>(n), '\0');
    if (::pread(fd, chunk.data(), chunk.size(), pos) != n) {
      return fail(ErrorCode::kIo, "read manifest tail");
    }
    tail.insert(0, chunk);
    // Skip the final '\n', then look for the previous one.
    const auto end = tail.size() - (tail.ends_with('\n') ? 1 : 0);
    const auto nl = tail.rfind('\n', end == 0 ? 0 : end - 1);
    if (nl != std::string::npos && nl < end) return tail.substr(nl + 1, end - nl - 1);
    if (tail.size() > (1u << 20)) return fail(ErrorCode::kCorrupt, "manifest: line over 1 MiB");
  }
  const auto end = tail.size() - (tail.ends_with('\n') ? 1 : 0);
  return tail.substr(0, end);
}

}  // namespace

std::string_view to_string(ManifestKind kind) noexcept {
  switch (kind) {
    case ManifestKind::kSeal:
      return "seal";
    case ManifestKind::kExpire:
      return "expire";
    case ManifestKind::kHold:
      return "hold";
    case ManifestKind::kRelease:
      return "release";
    case ManifestKind::kMerge:
      return "merge";
  }
  return "?";
}

std::string manifest_entry_hash(const ManifestEntry& e) {
  return to_hex(sha256(e.prev + "\n" + to_json(e, false).dump()));
}

Result<ManifestEntry> Manifest::append(ManifestEntry e) {
  std::error_code ec;
  std::filesystem::create_directories(path_.parent_path(), ec);
  UniqueFd fd(::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!fd.valid()) {
    return fail(errno == ENOSPC ? ErrorCode::kNoSpace : ErrorCode::kIo,
                "open " + path_.string() + ": " + std::strerror(errno));
  }
  if (::flock(fd.get(), LOCK_EX) != 0) {
    return fail(ErrorCode::kIo, "lock " + path_.string() + ": " + std::strerror(errno));
  }
  auto tail = last_line(fd.get());
  if (!tail) return std::unexpected(tail.error());
  if (tail->empty()) {
    e.seq = 1;
    e.prev = kZeroHash;
  } else {
    auto last = from_json(*tail);
    if (!last) {
      return fail(ErrorCode::kCorrupt, "manifest " + path_.string() +
                                           ": last entry unreadable: " + last.error().message);
    }
    e.seq = last->seq + 1;
    e.prev = last->hash;
  }
  e.hash = manifest_entry_hash(e);
  const std::string line = to_json(e, true).dump() + "\n";
  const ssize_t n = ::write(fd.get(), line.data(), line.size());
  if (n != static_cast<ssize_t>(line.size())) {
    const int err = n < 0 ? errno : ENOSPC;
    // A partial line would break the chain: cut it off again.
    if (n > 0) {
      const off_t size = ::lseek(fd.get(), 0, SEEK_END);
      if (size >= n && ::ftruncate(fd.get(), size - n) != 0) {
        // Nothing more to do: verify reports the torn line precisely.
      }
    }
    return fail(err == ENOSPC ? ErrorCode::kNoSpace : ErrorCode::kIo,
                "append " + path_.string() + ": " + std::strerror(err));
  }
  if (::fsync(fd.get()) != 0) {
    return fail(ErrorCode::kIo, "fsync " + path_.string() + ": " + std::strerror(errno));
  }
  return e;
}

Result<std::vector<ManifestEntry>> Manifest::read_all() const {
  auto lines = read_lines(path_);
  if (!lines) return std::unexpected(lines.error());
  std::vector<ManifestEntry> out;
  out.reserve(lines->size());
  for (std::size_t i = 0; i < lines->size(); ++i) {
    auto e = from_json((*lines)[i]);
    if (!e) {
      return fail(ErrorCode::kCorrupt,
                  fmt::format("{} line {}: {}", path_.string(), i + 1, e.error().message));
    }
    out.push_back(std::move(*e));
  }
  return out;
}

Result<std::vector<ChainProblem>> Manifest::verify_chain() const {
  auto lines = read_lines(path_);
  if (!lines) return std::unexpected(lines.error());
  std::vector<ChainProblem> problems;
  std::string prev_hash = kZeroHash;
  std::uint64_t prev_seq = 0;
  for (std::size_t i = 0; i < lines->size(); ++i) {
    const std::size_t line = i + 1;
    auto e = from_json((*lines)[i]);
    if (!e) {
      problems.push_back({line, "unreadable entry: " + e.error().message});
      prev_hash.clear();  // nothing after it can be linked
      continue;
    }
    if (e->hash != manifest_entry_hash(*e)) {
      problems.push_back(
          {line,
           fmt::format("entry seq {} was modified (hash does not match its content)", e->seq)});
    }
    if (e->seq != prev_seq + 1) {
      problems.push_back({line, fmt::format("seq {} follows seq {}: entries removed or reordered",
                                            e->seq, prev_seq)});
    } else if (e->prev != prev_hash) {
      problems.push_back(
          {line, fmt::format("entry seq {} does not link to the previous entry", e->seq)});
    }
    prev_hash = e->hash;
    prev_seq = e->seq;
  }
  return problems;
}

std::vector<Hold> Manifest::active_holds(const std::vector<ManifestEntry>& entries) {
  std::map<std::string, Hold> holds;
  for (const auto& e : entries) {
    if (e.kind == ManifestKind::kHold) {
      holds[e.hold_id] = Hold{e.hold_id, e.hold_from, e.hold_to, e.reason, e.time};
    } else if (e.kind == ManifestKind::kRelease) {
      holds.erase(e.hold_id);
    }
  }
  std::vector<Hold> out;
  for (auto& [id, h] : holds) out.push_back(std::move(h));
  return out;
}

}  // namespace conntrail::storage
