// core/timestamp.h — packet and record time.
//
// Time is nanoseconds since the Unix epoch, UTC, in a signed 64-bit integer
// (good until 2262). Captures carry micro- or nanosecond resolution; the
// resolution travels with records so that text output prints 6 or 9
// decimals exactly as Zeek's conn.log and the ground truth do.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace conntrail {

using TimestampNs = std::int64_t;

inline constexpr TimestampNs kNsPerSecond = 1'000'000'000;

enum class TimePrecision : std::uint8_t { kMicro = 6, kNano = 9 };

enum class TimeFormat : std::uint8_t { kEpoch, kRfc3339 };

// "1362692526.869344" (6 decimals) or "...869344123" (9).
std::string format_epoch(TimestampNs t, TimePrecision precision);
// "2013-03-07T21:42:06.869344Z" with 6 or 9 fractional digits.
std::string format_rfc3339(TimestampNs t, TimePrecision precision);
std::string format_time(TimestampNs t, TimePrecision precision, TimeFormat format);
// The same text appended to `out` (no temporary string: the formatters' hot path).
void append_time(std::string& out, TimestampNs t, TimePrecision precision, TimeFormat format);

// Accepts epoch seconds with optional fraction ("1700000000.5") or RFC 3339
// ("2026-11-01T00:00:00Z", "...+02:00", fraction optional).
Result<TimestampNs> parse_time(std::string_view text);

}  // namespace conntrail
