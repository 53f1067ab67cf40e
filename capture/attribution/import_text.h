// capture/attribution/import_text.h — what every session-file reader shares.
//
// Job: the bounded pieces the lease/accounting file readers are built from:
// a line reader that never holds more than max_line_bytes of one line, the
// per-record error list with its cap, the time stamps these files write, the
// octet notations they use (colon hex, quoted strings with octal escapes),
// and the events a reader hands to the session tracker.
//
// Invariants: a line longer than max_line_bytes is consumed to its end and
// reported as too long (its text is dropped, never buffered); ImportErrors
// refuses to grow past max_errors (the reader then stops with kLimit); every
// parse function returns nullopt/error on bad input and never throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "capture/attribution/dhcpv4_parser.h"
#include "capture/attribution/dhcpv6_parser.h"
#include "core/result.h"
#include "core/timestamp.h"

namespace conntrail::capture {

// Dates after 2099-12-31T23:59:59Z are refused: far enough below the end of the
// TimestampNs range (year 2262) that a date plus the longest finite lease
// (2^32 − 2 s, 136 years) cannot overflow in the tracker.
inline constexpr std::uint64_t kMaxEpochSeconds = 4'102'444'799ULL;

// Bounds on one import (all per file).
struct ImportLimits {
  std::size_t max_records = 2'000'000;  // records/rows/lease blocks read (good and bad)
  std::size_t max_errors = 1000;        // bad records reported before the import gives up
  std::size_t max_line_bytes = 8192;    // one line (a longer one is a bad record)
  std::size_t max_record_lines = 512;   // lines of one detail record / one lease block
};

// Bad records, each "line N: why", in file order; at most max_errors.
class ImportErrors {
 public:
  explicit ImportErrors(std::size_t max_errors) : max_(max_errors) {}
  // Records one; kLimit once there are more than max_errors.
  Result<void> add(std::size_t line, std::string_view why);
  const std::vector<std::string>& list() const noexcept { return errors_; }
  std::vector<std::string> take() noexcept { return std::move(errors_); }

 private:
  std::size_t max_;
  std::vector<std::string> errors_;
};

// Reads lines ('\n', a trailing '\r' dropped) holding at most max_bytes of one.
class LineReader {
 public:
  enum class Status { kLine, kTooLong, kEnd };
  LineReader(std::istream& in, std::size_t max_bytes) : in_(in), max_(max_bytes) {}
  // kLine: `line` holds the next line; kTooLong: the line was skipped; kEnd: no more.
  Status next(std::string& line);
  // Number of the line last returned (1-based).
  std::size_t line_number() const noexcept { return number_; }

 private:
  std::istream& in_;
  std::size_t max_;
  std::size_t number_ = 0;
};

// Whitespace trimmed from both ends.
std::string_view trim(std::string_view s) noexcept;

// "2026/11/29 10:00:00" (UTC, as dhcpd writes it) → ns since the epoch.
std::optional<TimestampNs> parse_slash_datetime(std::string_view date, std::string_view time);
// "Tue Nov 29 10:02:17 2026" (ctime form, the detail header) or
// "Nov 29 2026 10:02:17 UTC" (FreeRADIUS's date attribute form) → ns; UTC.
std::optional<TimestampNs> parse_ctime(std::string_view text);
std::optional<TimestampNs> parse_radius_date(std::string_view text);
// Decimal seconds since the epoch, no sign, at most kMaxEpochSeconds.
std::optional<TimestampNs> parse_epoch_seconds(std::string_view text);
std::optional<std::uint64_t> parse_uint(std::string_view text, std::uint64_t max);

// "aa:bb:c" style colon hex (1 or 2 digits per octet) → octets; nullopt when not that.
std::optional<std::string> parse_colon_hex(std::string_view text);
// A quoted string's inside with C/ISC escapes (\\, \", \n, \t, \r, \ooo octal) → octets.
std::optional<std::string> unescape(std::string_view quoted_inside);

// One DHCP message rebuilt from a lease file, with the time it took effect.
struct LeaseEvent {
  TimestampNs ts = 0;
  std::size_t line = 0;  // where in the file: sort ties keep file order
  std::variant<Dhcpv4Message, Dhcpv6Message> message;
};

}  // namespace conntrail::capture
