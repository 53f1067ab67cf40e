#include "storage/journal/journal.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "storage/journal/line_reader.h"
#include "storage/hash/sha256.h"

namespace conntrail::storage {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kHashKey = ",\"hash\":\"";
// `,"hash":"` + 64 hex + `"}`
constexpr std::size_t kHashSuffix = kHashKey.size() + 64 + 2;

std::string errno_text(const char* what, const std::string& path) {
  return fmt::format("{} {}: {}", what, path, std::strerror(errno));
}

// The result of reading one line: the entry (when it parses), and whether its
// own hash matches its body. Kept apart so verify can name the seq of a
// changed entry.
struct Parsed {
  JournalEntry entry;
  bool hash_ok = false;
};

Result<Parsed> parse_line(std::string_view line) {
  auto malformed = [](std::string why) {
    return fail(ErrorCode::kInvalidArgument, std::move(why));
  };
  if (line.size() < kHashSuffix + 2 || line.front() != '{') return malformed("not a journal entry");
  const std::string_view suffix = line.substr(line.size() - kHashSuffix);
  if (suffix.substr(0, kHashKey.size()) != kHashKey || suffix.substr(suffix.size() - 2) != "\"}") {
    return malformed("no trailing hash member");
  }
  Parsed out;
  out.entry.hash = std::string(suffix.substr(kHashKey.size(), 64));
  if (!is_sha256_hex(out.entry.hash)) return malformed("hash is not 64 lowercase hex digits");
  std::string body(line.substr(0, line.size() - kHashSuffix));
  body += '}';
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return malformed("body is not a JSON object");
  if (j.size() != 5) return malformed("body must have exactly fields, prev, seq, time, type");
  const auto fields = j.find("fields");
  const auto prev = j.find("prev");
  const auto seq = j.find("seq");
  const auto time = j.find("time");
  const auto type = j.find("type");
  if (fields == j.end() || !fields->is_object())
    return malformed("'fields' missing or not an object");
  if (prev == j.end() || !prev->is_string() ||
      !is_sha256_hex(prev->get_ref<const std::string&>())) {
    return malformed("'prev' missing or not a SHA-256");
  }
  if (seq == j.end() || !seq->is_number_unsigned() || seq->get<std::uint64_t>() == 0) {
    return malformed("'seq' missing or not a positive integer");
  }
  if (time == j.end() || !time->is_string()) return malformed("'time' missing or not a string");
  if (type == j.end() || !type->is_string() || type->get_ref<const std::string&>().empty()) {
    return malformed("'type' missing or empty");
  }
  auto t = parse_time(time->get_ref<const std::string&>());
  if (!t) return malformed("'time' is not an RFC 3339 time");
  out.entry.seq = seq->get<std::uint64_t>();
  out.entry.time = *t;
  out.entry.type = type->get<std::string>();
  out.entry.prev = prev->get<std::string>();
  out.entry.fields = std::move(*fields);
  out.hash_ok = sha256_hex(body) == out.entry.hash;
  return out;
}

// Builds the exact line for an entry and fills in entry.hash.
std::string build_line(JournalEntry& entry) {
  Json j = Json::object();
  j["fields"] = entry.fields;
  j["prev"] = entry.prev;
  j["seq"] = entry.seq;
  j["time"] = format_rfc3339(entry.time, TimePrecision::kNano);
  j["type"] = entry.type;
  // Invalid UTF-8 in a string is replaced rather than thrown: the journal must
  // be able to record whatever a client sent (e.g. a bad path) without failing.
  std::string body = j.dump(-1, ' ', false, Json::error_handler_t::replace);
  entry.hash = sha256_hex(body);
  body.pop_back();  // the closing '}'
  body += kHashKey;
  body += entry.hash;
  body += "\"}\n";
  return body;
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void add_problem(JournalVerifyReport& r, std::size_t cap, JournalProblem p) {
  if (r.problems.size() < cap) {
    r.problems.push_back(std::move(p));
  } else {
    ++r.problems_omitted;
  }
}

}  // namespace

std::string journal_path_for_data_dir(std::string_view data_dir) {
  std::string p(data_dir);
  if (!p.empty() && p.back() != '/') p += '/';
  p += kJournalFileName;
  return p;
}

std::string_view to_string(JournalProblemKind kind) noexcept {
  switch (kind) {
    case JournalProblemKind::kMalformed:
      return "malformed";
    case JournalProblemKind::kTooLong:
      return "too_long";
    case JournalProblemKind::kChanged:
      return "changed";
    case JournalProblemKind::kRemoved:
      return "removed";
    case JournalProblemKind::kReordered:
      return "reordered";
    case JournalProblemKind::kDuplicate:
      return "duplicate";
  }
  return "unknown";
}

Result<JournalEntry> parse_journal_line(std::string_view line) {
  auto p = parse_line(line);
  if (!p) return std::unexpected(p.error());
  if (!p->hash_ok) {
    return fail(ErrorCode::kCorrupt,
                fmt::format("entry seq {}: content does not match its hash", p->entry.seq));
  }
  return std::move(p->entry);
}

Result<JournalVerifyReport> verify_journal(const std::string& path, std::size_t max_line_bytes,
                                           std::size_t max_problems, std::uint64_t max_bytes,
                                           const std::atomic<bool>* cancel) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return fail(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo, errno_text("open", path));
  }
  JournalVerifyReport r;
  r.head_hash = std::string(kGenesisHash);
  // Per line: its seq (0 when unparseable). The only O(entries) memory.
  std::vector<std::uint64_t> seqs;
  LineReader reader(fd.get(), 0, max_line_bytes, max_bytes);
  bool have_prev = false;      // the previous line parsed
  std::uint64_t prev_seq = 0;  // seq of the previous parsed line
  std::string prev_hash;       // stored hash of the previous parsed line
  for (;;) {
    auto item = reader.next();
    if (!item) return std::unexpected(item.error());
    if (item->kind == LineReader::Kind::kEof) break;
    if (item->kind == LineReader::Kind::kTail) {
      r.torn_tail_bytes = item->length;
      break;
    }
    ++r.lines;
    const std::uint64_t line_no = r.lines;
    if (cancel != nullptr && (line_no & 1023) == 0 && cancel->load(std::memory_order_relaxed)) {
      return fail(ErrorCode::kLimit, "verification cancelled");
    }
    if (item->kind == LineReader::Kind::kTooLong) {
      add_problem(r, max_problems,
                  {JournalProblemKind::kTooLong, line_no, 0, 1,
                   fmt::format("line {} is longer than {} bytes", line_no, max_line_bytes)});
      seqs.push_back(0);
      have_prev = false;
      continue;
    }
    auto parsed = parse_line(item->text);
    if (!parsed) {
      add_problem(
          r, max_problems,
          {JournalProblemKind::kMalformed, line_no, 0, 1,
           fmt::format("line {} is not a journal entry: {}", line_no, parsed.error().message)});
      seqs.push_back(0);
      have_prev = false;
      continue;
    }
    JournalEntry& e = parsed->entry;
    ++r.entries;
    if (!parsed->hash_ok) {
      // The content, seq included, is untrusted: place the entry where its
      // position says it belongs, so one edit is reported once, as a change.
      const std::uint64_t stored = e.seq;
      if (have_prev) {
        e.seq = prev_seq + 1;
      } else if (line_no == 1) {
        e.seq = 1;
      }
      add_problem(r, max_problems,
                  {JournalProblemKind::kChanged, line_no, e.seq, 1,
                   stored == e.seq
                       ? fmt::format("entry seq {} (line {}) was changed: its content does not "
                                     "match its hash",
                                     e.seq, line_no)
                       : fmt::format("entry seq {} (line {}) was changed (it now claims seq {}): "
                                     "its content does not match its hash",
                                     e.seq, line_no, stored)});
    }
    seqs.push_back(e.seq);
    if (!parsed->hash_ok) {
      // reported above
    } else if (line_no == 1 && e.seq == 1 && e.prev != kGenesisHash) {
      add_problem(r, max_problems,
                  {JournalProblemKind::kChanged, line_no, e.seq, 1,
                   "entry seq 1 (line 1) was changed and re-hashed: its prev is not the genesis "
                   "value"});
    } else if (have_prev && e.seq == prev_seq + 1 && e.prev != prev_hash) {
      // Order is right but the link is broken: the previous entry was edited
      // and given a fresh hash (its own hash check passed, the chain did not).
      add_problem(r, max_problems,
                  {JournalProblemKind::kChanged, line_no - 1, prev_seq, 1,
                   fmt::format("entry seq {} (line {}) was changed and re-hashed: entry seq {} "
                               "(line {}) holds a different prev hash",
                               prev_seq, line_no - 1, e.seq, line_no)});
    }
    if (have_prev && e.seq <= prev_seq && e.seq != prev_seq) {
      add_problem(r, max_problems,
                  {JournalProblemKind::kReordered, line_no, e.seq, 1,
                   fmt::format("entry seq {} (line {}) comes after entry seq {}: entries were "
                               "reordered",
                               e.seq, line_no, prev_seq)});
    }
    r.last_seq = std::max(r.last_seq, e.seq);
    r.head_hash = e.hash;
    have_prev = true;
    prev_seq = e.seq;
    prev_hash = e.hash;
  }

  // Set-wise checks: which sequence numbers are missing or repeated. A sorted
  // copy keeps this O(n log n) with 8 bytes per entry.
  std::vector<std::uint64_t> sorted;
  sorted.reserve(seqs.size());
  for (auto s : seqs) {
    if (s != 0) sorted.push_back(s);
  }
  std::sort(sorted.begin(), sorted.end());
  // line number of a seq's first occurrence, found lazily (only for problems).
  auto line_of = [&](std::uint64_t seq) -> std::uint64_t {
    for (std::size_t i = 0; i < seqs.size(); ++i) {
      if (seqs[i] == seq) return i + 1;
    }
    return 0;
  };
  std::vector<JournalProblem> set_problems;
  std::uint64_t expect = 1;
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    const std::uint64_t s = sorted[i];
    if (i > 0 && s == sorted[i - 1]) {
      if (set_problems.size() < max_problems) {
        set_problems.push_back({JournalProblemKind::kDuplicate, 0, s, 1,
                                fmt::format("entry seq {} appears more than once", s)});
      }
      continue;
    }
    if (s > expect && set_problems.size() < max_problems) {
      const std::uint64_t n = s - expect;
      const std::uint64_t where = line_of(s);
      set_problems.push_back(
          {JournalProblemKind::kRemoved, where, expect, n,
           n == 1
               ? fmt::format("entry seq {} was removed (it belongs before line {})", expect, where)
               : fmt::format("entries seq {}..{} were removed (they belong before line {})", expect,
                             s - 1, where)});
    }
    expect = s + 1;
  }
  for (auto& p : set_problems) add_problem(r, max_problems, std::move(p));
  std::stable_sort(
      r.problems.begin(), r.problems.end(),
      [](const JournalProblem& a, const JournalProblem& b) { return a.line < b.line; });
  return r;
}

std::string describe(const JournalVerifyReport& r) {
  std::string out;
  if (r.ok()) {
    out += fmt::format("journal OK: {} entries, last seq {}, head hash {}\n", r.entries, r.last_seq,
                       r.head_hash);
  } else {
    out += fmt::format("journal FAILED verification: {} problem(s) in {} lines\n",
                       r.problems.size() + r.problems_omitted, r.lines);
    for (const auto& p : r.problems) out += fmt::format("  {}: {}\n", to_string(p.kind), p.detail);
    if (r.problems_omitted > 0) out += fmt::format("  … and {} more\n", r.problems_omitted);
  }
  if (r.torn_tail_bytes > 0) {
    out += fmt::format(
        "note: {} bytes after the last newline are a torn, unacknowledged append "
        "(dropped when the agent next opens the journal)\n",
        r.torn_tail_bytes);
  }
  return out;
}

Result<std::unique_ptr<Journal>> Journal::open(const std::string& path, JournalOptions options) {
  if (options.max_line_bytes < 256) {
    return fail(ErrorCode::kInvalidArgument, "journal max_line_bytes must be at least 256");
  }
  UniqueFd rd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  const bool existed = rd.valid();
  if (!existed && errno != ENOENT) return fail(ErrorCode::kIo, errno_text("open", path));
  std::vector<std::uint64_t> offsets;
  std::uint64_t size = 0;
  std::uint64_t torn = 0;
  std::uint64_t last_seq = 0;
  std::string head(kGenesisHash);
  if (existed) {
    // Open accepts only a journal that verifies; the report names the first
    // problem so the operator knows where to look (`conntrail audit verify`).
    auto report = verify_journal(path, options.max_line_bytes, 1);
    if (!report) return std::unexpected(report.error());
    if (!report->ok()) {
      return fail(ErrorCode::kCorrupt, fmt::format("audit journal {} failed verification: {}", path,
                                                   report->problems.front().detail));
    }
    LineReader reader(rd.get(), 0, options.max_line_bytes);
    std::uint64_t entries = 0;
    for (;;) {
      auto item = reader.next();
      if (!item) return std::unexpected(item.error());
      if (item->kind == LineReader::Kind::kEof) break;
      if (item->kind == LineReader::Kind::kTail) {
        torn = item->length;
        break;
      }
      if (entries % kIndexStride == 0) offsets.push_back(item->offset);
      ++entries;
      size = item->offset + item->length;
    }
    last_seq = report->last_seq;
    head = report->head_hash;
  }
  UniqueFd wr(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
  if (!wr.valid()) return fail(ErrorCode::kIo, errno_text("open for append", path));
  if (torn > 0) {
    // The torn line was never acknowledged (acknowledgement follows the
    // newline and the sync), so dropping it loses nothing that was promised.
    if (::ftruncate(wr.get(), static_cast<off_t>(size)) != 0 || ::fdatasync(wr.get()) != 0) {
      return fail(ErrorCode::kIo, errno_text("truncate torn tail of", path));
    }
  }
  if (!existed && options.sync) {
    // Make the new file's directory entry durable too.
    const std::size_t slash = path.find_last_of('/');
    const std::string dir =
        slash == std::string::npos ? std::string(".") : path.substr(0, slash + 1);
    UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dfd.valid()) ::fsync(dfd.get());
  }
  auto j = std::unique_ptr<Journal>(new Journal(path, options, std::move(wr)));
  j->offsets_ = std::move(offsets);
  j->size_ = size;
  j->last_seq_ = last_seq;
  j->head_hash_ = std::move(head);
  j->torn_bytes_ = torn;
  return j;
}

Result<JournalEntry> Journal::append(TimestampNs time, std::string_view type,
                                     nlohmann::json fields) {
  if (broken_)
    return fail(ErrorCode::kIo,
                "audit journal " + path_ + " is in an unknown state after a failed write");
  if (!fields.is_object())
    return fail(ErrorCode::kInvalidArgument, "journal fields must be a JSON object");
  if (type.empty())
    return fail(ErrorCode::kInvalidArgument, "journal entry type must not be empty");
  JournalEntry e;
  e.seq = last_seq_ + 1;
  e.time = time;
  e.type = std::string(type);
  e.fields = std::move(fields);
  e.prev = head_hash_;
  const std::string line = build_line(e);
  if (line.size() - 1 > options_.max_line_bytes) {
    return fail(ErrorCode::kLimit,
                fmt::format("journal entry of {} bytes exceeds the {}-byte limit", line.size() - 1,
                            options_.max_line_bytes));
  }
  const bool wrote = write_all(fd_.get(), line);
  const int write_errno = errno;
  if (!wrote || (options_.sync && ::fdatasync(fd_.get()) != 0)) {
    const int err = wrote ? errno : write_errno;
    // Undo a partial line so the file stays a valid chain.
    if (::ftruncate(fd_.get(), static_cast<off_t>(size_)) != 0) broken_ = true;
    return fail(err == ENOSPC ? ErrorCode::kNoSpace : ErrorCode::kIo,
                fmt::format("append to audit journal {}: {}", path_, std::strerror(err)));
  }
  if ((e.seq - 1) % kIndexStride == 0) offsets_.push_back(size_);
  size_ += line.size();
  last_seq_ = e.seq;
  head_hash_ = e.hash;
  return e;
}

Result<void> Journal::scan(std::uint64_t after_seq,
                           const std::function<bool(const JournalEntry&)>& fn) const {
  if (after_seq >= last_seq_) return {};
  UniqueFd rd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (!rd.valid()) return fail(ErrorCode::kIo, errno_text("open", path_));
  const std::uint64_t block = after_seq / kIndexStride;
  LineReader reader(rd.get(), offsets_[block], options_.max_line_bytes, size_);
  // Skip, unparsed, the entries of the block that precede the cursor.
  for (std::uint64_t skip = after_seq - block * kIndexStride; skip > 0; --skip) {
    auto item = reader.next();
    if (!item) return std::unexpected(item.error());
    if (item->kind != LineReader::Kind::kLine) {
      return fail(ErrorCode::kCorrupt, fmt::format("audit journal {}: unreadable line", path_));
    }
  }
  for (std::uint64_t seq = after_seq + 1; seq <= last_seq_; ++seq) {
    auto item = reader.next();
    if (!item) return std::unexpected(item.error());
    if (item->kind != LineReader::Kind::kLine) {
      return fail(ErrorCode::kCorrupt,
                  fmt::format("audit journal {}: entry seq {} unreadable", path_, seq));
    }
    auto e = parse_journal_line(item->text);
    if (!e) return std::unexpected(e.error());
    if (e->seq != seq) {
      return fail(ErrorCode::kCorrupt,
                  fmt::format("audit journal {}: expected seq {}, found {}", path_, seq, e->seq));
    }
    if (!fn(*e)) break;
  }
  return {};
}

}  // namespace conntrail::storage
