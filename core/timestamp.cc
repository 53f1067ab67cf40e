#include "core/timestamp.h"

#include <fmt/format.h>

#include <charconv>
#include <iterator>
#include <ctime>

namespace conntrail {
namespace {

struct Split {
  std::int64_t seconds;
  std::int64_t nanos;  // 0..999'999'999
};

Split split(TimestampNs t) {
  std::int64_t s = t / kNsPerSecond;
  std::int64_t ns = t % kNsPerSecond;
  if (ns < 0) {  // floor division for times before 1970
    ns += kNsPerSecond;
    s -= 1;
  }
  return {s, ns};
}

std::string fraction(std::int64_t nanos, TimePrecision precision) {
  return precision == TimePrecision::kNano ? fmt::format("{:09d}", nanos)
                                           : fmt::format("{:06d}", nanos / 1000);
}

bool parse_int(std::string_view s, std::int64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size() && !s.empty();
}

// Digits after a decimal point, as nanoseconds (extra digits beyond 9 are truncated).
bool parse_fraction(std::string_view digits, std::int64_t& nanos) {
  if (digits.empty()) return false;
  nanos = 0;
  int used = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    if (used < 9) {
      nanos = nanos * 10 + (c - '0');
      ++used;
    }
  }
  for (; used < 9; ++used) nanos *= 10;
  return true;
}

}  // namespace

std::string format_epoch(TimestampNs t, TimePrecision precision) {
  return format_time(t, precision, TimeFormat::kEpoch);
}

std::string format_rfc3339(TimestampNs t, TimePrecision precision) {
  const auto [s, ns] = split(t);
  const std::time_t tt = static_cast<std::time_t>(s);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{}Z", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     fraction(ns, precision));
}

std::string format_time(TimestampNs t, TimePrecision precision, TimeFormat format) {
  std::string out;
  append_time(out, t, precision, format);
  return out;
}

void append_time(std::string& out, TimestampNs t, TimePrecision precision, TimeFormat format) {
  if (format == TimeFormat::kRfc3339) {
    out += format_rfc3339(t, precision);
    return;
  }
  const auto [s, ns] = split(t);
  if (precision == TimePrecision::kNano) {
    fmt::format_to(std::back_inserter(out), "{}.{:09d}", s, ns);
  } else {
    fmt::format_to(std::back_inserter(out), "{}.{:06d}", s, ns / 1000);
  }
}

Result<TimestampNs> parse_time(std::string_view text) {
  auto bad = [&] {
    return fail(ErrorCode::kInvalidArgument,
                "not a time: '" + std::string(text) +
                    "' (want epoch seconds or RFC 3339 like 2026-11-01T00:00:00Z)");
  };
  if (text.empty() || text.size() > 40) return bad();

  if (text.find('-', 1) == std::string_view::npos) {  // epoch seconds[.fraction]
    const auto dot = text.find('.');
    std::int64_t seconds = 0;
    std::int64_t nanos = 0;
    if (!parse_int(text.substr(0, dot), seconds)) return bad();
    if (dot != std::string_view::npos && !parse_fraction(text.substr(dot + 1), nanos)) return bad();
    if (seconds < 0 || seconds > 9'000'000'000LL) return bad();
    return seconds * kNsPerSecond + nanos;
  }

  // YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)
  if (text.size() < 20) return bad();
  std::int64_t year, month, day, hour, minute, second;
  if (text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != 't' && text[10] != ' ') ||
      text[13] != ':' || text[16] != ':' || !parse_int(text.substr(0, 4), year) ||
      !parse_int(text.substr(5, 2), month) || !parse_int(text.substr(8, 2), day) ||
      !parse_int(text.substr(11, 2), hour) || !parse_int(text.substr(14, 2), minute) ||
      !parse_int(text.substr(17, 2), second)) {
    return bad();
  }
  // Years outside 1970..2255 (the epoch branch's 9e9 s bound) would overflow int64 nanoseconds.
  if (year < 1970 || year > 2255 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 ||
      minute > 59 || second > 60) {
    return bad();
  }
  // int64 nanoseconds span 1677-09-21..2262-04-11; outside, the product below overflows (UB).
  if (year < 1678 || year > 2261) return bad();
  std::size_t pos = 19;
  std::int64_t nanos = 0;
  if (pos < text.size() && text[pos] == '.') {
    std::size_t end = pos + 1;
    while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
    if (!parse_fraction(text.substr(pos + 1, end - pos - 1), nanos)) return bad();
    pos = end;
  }
  std::int64_t offset_seconds = 0;
  const auto zone = text.substr(pos);
  if (zone == "Z" || zone == "z") {
    offset_seconds = 0;
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    std::int64_t oh, om;
    if (!parse_int(zone.substr(1, 2), oh) || !parse_int(zone.substr(4, 2), om) || oh > 23 ||
        om > 59) {
      return bad();
    }
    offset_seconds = (oh * 3600 + om * 60) * (zone[0] == '+' ? 1 : -1);
  } else {
    return bad();
  }
  std::tm tm{};
  tm.tm_year = static_cast<int>(year - 1900);
  tm.tm_mon = static_cast<int>(month - 1);
  tm.tm_mday = static_cast<int>(day);
  tm.tm_hour = static_cast<int>(hour);
  tm.tm_min = static_cast<int>(minute);
  tm.tm_sec = static_cast<int>(second);
  const std::time_t t = timegm(&tm);
  // timegm normalises 2026-02-31 to March; a day that does not exist is an error.
  std::tm check{};
  gmtime_r(&t, &check);
  if (check.tm_mday != static_cast<int>(day) && second != 60) return bad();
  return (static_cast<std::int64_t>(t) - offset_seconds) * kNsPerSecond + nanos;
}

}  // namespace conntrail
