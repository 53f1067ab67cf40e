// storage/shard/shard_name.h — which shard a time belongs to, and its file names.
//
// Periods are UTC, aligned to midnight, and divide a day (5 min .. 24 h), so
// every period lies inside one UTC day and one calendar month. A shard for
// period P lives in `data_dir/YYYY/MM/DD/` and is named after P:
//   open:   20261129T170000Z_PT1H.sqlite
//   sealed: 20261129T170000Z_PT1H.sealed.sqlite
// (ISO 8601 start and duration). The name is the truth about the period; the
// shard's meta table repeats it so a renamed file is detected by verify.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/timestamp.h"

namespace conntrail::storage {

inline constexpr std::int64_t kMinPeriodSeconds = 300;
inline constexpr std::int64_t kDaySeconds = 86400;
inline constexpr std::int64_t kMaxPeriodSeconds = kDaySeconds;

struct ShardPeriod {
  TimestampNs start = 0;        // inclusive, aligned to `seconds`
  std::int64_t seconds = 3600;  // length

  TimestampNs end() const noexcept { return start + seconds * kNsPerSecond; }  // exclusive
  bool contains(TimestampNs t) const noexcept { return t >= start && t < end(); }
  friend auto operator<=>(const ShardPeriod&, const ShardPeriod&) = default;
};

// Ok when 300 <= seconds <= 86400 and seconds divides 86400.
Result<void> validate_period_seconds(std::int64_t seconds);

// The period of length `seconds` that holds t (floor, also for t < 0).
ShardPeriod period_of(TimestampNs t, std::int64_t seconds) noexcept;

enum class ShardForm { kOpen, kSealed };

// "20261129T170000Z_PT1H"
std::string period_stem(const ShardPeriod& p);
// data_dir/2026/11/29/<stem>.sqlite or .sealed.sqlite
std::filesystem::path shard_path(const std::filesystem::path& data_dir, const ShardPeriod& p,
                                 ShardForm form);
// The path relative to data_dir, as written in the manifest ("2026/11/29/<stem>.sealed.sqlite").
std::string relative_shard_path(const ShardPeriod& p, ShardForm form);

struct ShardFile {
  ShardPeriod period;
  ShardForm form = ShardForm::kOpen;
  std::filesystem::path path;
};

// Parses a file name (not a path) made by shard_path; nullopt for anything else
// (-wal/-shm side files, temporaries, foreign files).
std::optional<ShardFile> parse_shard_file_name(const std::string& name);

// Every shard file under data_dir, sorted by (period start, form). Foreign
// files are ignored; an unreadable directory is an error.
Result<std::vector<ShardFile>> list_shard_files(const std::filesystem::path& data_dir);

// Shard files whose period overlaps [from, to), listing only the day
// directories of that window (a 30-day query reads 30 directories, not the tree).
Result<std::vector<ShardFile>> list_shard_files_between(const std::filesystem::path& data_dir,
                                                        TimestampNs from, TimestampNs to);

// UTC civil date of t, for directory names and calendar arithmetic.
struct CivilDate {
  int year;
  unsigned month;  // 1..12
  unsigned day;    // 1..31
};
CivilDate civil_date(TimestampNs t) noexcept;
// Midnight UTC of the given date as TimestampNs (days_from_civil).
TimestampNs timestamp_of(int year, unsigned month, unsigned day) noexcept;

}  // namespace conntrail::storage
