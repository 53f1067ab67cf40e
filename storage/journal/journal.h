// storage/journal/journal.h — an append-only, hash-chained journal file.
//
// The audit journal is the durable truth of the lawful-query service: every
// request, approval, delivery, authentication failure and data deletion is
// one entry, and the service rebuilds its state by replaying the entries.
//
// File format: one JSON object per line (NDJSON), written byte-exactly as
//
//   {"fields":{…},"prev":"<64 hex>","seq":N,"time":"<RFC 3339, ns>","type":"<t>","hash":"<64 hex>"}
//
// where everything before `,"hash":` followed by `}` is the entry's *body*
// (nlohmann::json's canonical dump: sorted keys, no spaces) and
// hash = SHA-256(body). `prev` is the previous entry's hash (64 zeros for
// the first entry), `seq` counts from 1 without gaps.
//
// Invariants kept by Journal:
//  - append() acknowledges an entry only after the full line, newline
//    included, is written and fdatasync'ed; a failed write is truncated away.
//  - A line never exceeds max_line_bytes; longer entries are refused.
//  - open() accepts a file only if its whole chain verifies. The one repair
//    it makes is dropping a torn last line (no trailing newline): that entry
//    was never acknowledged, because acknowledgement follows the newline.
//
// Hash chains show changes, removals and reordering inside the file; they
// cannot show the removal of trailing entries or a wholesale rewrite. That is
// why verify() reports the head hash and entry count: publishing them (the
// API's /v1/audit/verify) anchors the chain outside the file.
//
// Not thread-safe: the owner serialises calls (the lawful API holds a mutex).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/handle.h"
#include "core/result.h"
#include "core/timestamp.h"

namespace conntrail::storage {

inline constexpr std::string_view kGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";
inline constexpr std::size_t kDefaultMaxJournalLine = 64 * 1024;
// The journal's file name inside a data directory (`conntrail audit verify --data-dir`).
inline constexpr std::string_view kJournalFileName = "audit-journal.ndjson";

std::string journal_path_for_data_dir(std::string_view data_dir);

struct JournalEntry {
  std::uint64_t seq = 0;
  TimestampNs time = 0;
  std::string type;
  nlohmann::json fields = nlohmann::json::object();
  std::string prev;  // hex SHA-256 of the previous entry
  std::string hash;  // hex SHA-256 of this entry's body
};

struct JournalOptions {
  std::size_t max_line_bytes = kDefaultMaxJournalLine;
  // fdatasync after every append. Only tests switch it off, for speed.
  bool sync = true;
};

enum class JournalProblemKind {
  kMalformed,  // not a journal line (bad JSON, missing or ill-typed member)
  kTooLong,    // a line longer than max_line_bytes
  kChanged,    // the entry's content no longer matches a hash
  kRemoved,    // one or more sequence numbers are absent
  kReordered,  // an entry appears after one with a higher sequence number
  kDuplicate,  // a sequence number appears twice
};

std::string_view to_string(JournalProblemKind kind) noexcept;

struct JournalProblem {
  JournalProblemKind kind = JournalProblemKind::kMalformed;
  std::uint64_t line = 0;   // 1-based line number where it shows
  std::uint64_t seq = 0;    // the entry concerned (0 when unknown)
  std::uint64_t count = 1;  // for kRemoved: how many consecutive entries
  std::string detail;       // one sentence for people
};

struct JournalVerifyReport {
  std::uint64_t lines = 0;               // complete lines read
  std::uint64_t entries = 0;             // lines that parsed as entries
  std::uint64_t last_seq = 0;            // highest sequence number seen
  std::string head_hash;                 // hash of the last entry (genesis when empty)
  std::uint64_t torn_tail_bytes = 0;     // bytes after the last newline (an unacknowledged append)
  std::vector<JournalProblem> problems;  // ordered by line; capped
  std::uint64_t problems_omitted = 0;    // problems beyond the cap
  bool ok() const noexcept { return problems.empty() && problems_omitted == 0; }
};

// Reads the file at path and reports every change, removal and reordering it
// can prove, precisely (which line, which sequence number). Memory: 8 bytes
// per entry plus one line. Errors only when the file cannot be read.
// `max_bytes` limits the check to the file's first bytes (the size a live
// journal had when the check began). When `cancel` becomes true the check
// stops early with kLimit (a caller that no longer wants the answer).
Result<JournalVerifyReport> verify_journal(const std::string& path,
                                           std::size_t max_line_bytes = kDefaultMaxJournalLine,
                                           std::size_t max_problems = 1000,
                                           std::uint64_t max_bytes = UINT64_MAX,
                                           const std::atomic<bool>* cancel = nullptr);

// One human-readable paragraph per problem, for the CLI and logs.
std::string describe(const JournalVerifyReport& report);

class Journal {
 public:
  // Opens or creates (mode 0600) the journal. Fails with kCorrupt (message
  // naming the first problem) when the chain does not verify, kIo when the
  // file cannot be read or written.
  static Result<std::unique_ptr<Journal>> open(const std::string& path,
                                               JournalOptions options = {});

  // Appends one entry and returns it as written. `fields` must be a JSON
  // object. kLimit when the line would exceed max_line_bytes; kIo/kNoSpace
  // when the write or sync fails (the journal then stays as it was, or — if
  // even the repair failed — refuses every later append with kIo).
  Result<JournalEntry> append(TimestampNs time, std::string_view type, nlohmann::json fields);

  // Calls fn for each entry with seq > after_seq, in order, until fn returns
  // false. Reads from the file, so memory stays one line.
  Result<void> scan(std::uint64_t after_seq,
                    const std::function<bool(const JournalEntry&)>& fn) const;

  std::uint64_t last_seq() const noexcept { return last_seq_; }
  const std::string& head_hash() const noexcept { return head_hash_; }
  const std::string& path() const noexcept { return path_; }
  // Bytes of complete, acknowledged entries.
  std::uint64_t size_bytes() const noexcept { return size_; }
  // Bytes of a torn last line dropped by open() (0 normally).
  std::uint64_t recovered_torn_bytes() const noexcept { return torn_bytes_; }

 private:
  Journal(std::string path, JournalOptions options, UniqueFd fd) noexcept
      : path_(std::move(path)), options_(options), fd_(std::move(fd)) {}

  std::string path_;
  JournalOptions options_;
  UniqueFd fd_;  // O_WRONLY|O_APPEND
  // A sparse index: offsets_[k] is the file offset of entry seq k*kIndexStride+1,
  // so a long-lived journal costs 8 bytes per 64 entries of memory.
  static constexpr std::uint64_t kIndexStride = 64;
  std::vector<std::uint64_t> offsets_;
  std::uint64_t size_ = 0;  // bytes of complete lines
  std::uint64_t last_seq_ = 0;
  std::string head_hash_{kGenesisHash};
  std::uint64_t torn_bytes_ = 0;
  bool broken_ = false;  // a failed append could not be undone
};

// Parses one line (without its newline) into an entry, checking that the
// stored hash matches the body. Exposed for tests and the CLI.
Result<JournalEntry> parse_journal_line(std::string_view line);

}  // namespace conntrail::storage
