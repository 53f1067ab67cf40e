// storage/shard/shard_name.cc — see shard_name.h.
#include "storage/shard/shard_name.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <system_error>

namespace conntrail::storage {
namespace {

std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Howard Hinnant's civil-from-days / days-from-civil (public domain).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::string duration_text(std::int64_t seconds) {
  if (seconds % 3600 == 0) return fmt::format("PT{}H", seconds / 3600);
  if (seconds % 60 == 0) return fmt::format("PT{}M", seconds / 60);
  return fmt::format("PT{}S", seconds);
}

bool parse_num(std::string_view s, std::int64_t& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc{} && p == s.data() + s.size() && !s.empty();
}

std::optional<std::int64_t> parse_duration(std::string_view s) {
  if (s.size() < 4 || !s.starts_with("PT")) return std::nullopt;
  const char unit = s.back();
  std::int64_t n = 0;
  if (!parse_num(s.substr(2, s.size() - 3), n) || n <= 0) return std::nullopt;
  switch (unit) {
    case 'H':
      return n * 3600;
    case 'M':
      return n * 60;
    case 'S':
      return n;
    default:
      return std::nullopt;
  }
}

}  // namespace

Result<void> validate_period_seconds(std::int64_t seconds) {
  if (seconds < kMinPeriodSeconds || seconds > kMaxPeriodSeconds ||
      kMaxPeriodSeconds % seconds != 0) {
    return fail(
        ErrorCode::kInvalidArgument,
        fmt::format("shard period {} s: must divide a day and lie in 300..86400 s", seconds));
  }
  return {};
}

ShardPeriod period_of(TimestampNs t, std::int64_t seconds) noexcept {
  const std::int64_t len = seconds * kNsPerSecond;
  return ShardPeriod{floor_div(t, len) * len, seconds};
}

CivilDate civil_date(TimestampNs t) noexcept {
  std::int64_t z = floor_div(t, 86400 * kNsPerSecond) + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return CivilDate{static_cast<int>(y + (m <= 2)), m, d};
}

TimestampNs timestamp_of(int year, unsigned month, unsigned day) noexcept {
  return days_from_civil(year, month, day) * 86400 * kNsPerSecond;
}

std::string period_stem(const ShardPeriod& p) {
  const CivilDate d = civil_date(p.start);
  const std::int64_t sod =
      floor_div(p.start, kNsPerSecond) - floor_div(p.start, 86400 * kNsPerSecond) * 86400;
  return fmt::format("{:04d}{:02d}{:02d}T{:02d}{:02d}{:02d}Z_{}", d.year, d.month, d.day,
                     sod / 3600, (sod / 60) % 60, sod % 60, duration_text(p.seconds));
}

std::string relative_shard_path(const ShardPeriod& p, ShardForm form) {
  const CivilDate d = civil_date(p.start);
  return fmt::format("{:04d}/{:02d}/{:02d}/{}{}", d.year, d.month, d.day, period_stem(p),
                     form == ShardForm::kSealed ? ".sealed.sqlite" : ".sqlite");
}

std::filesystem::path shard_path(const std::filesystem::path& data_dir, const ShardPeriod& p,
                                 ShardForm form) {
  return data_dir / relative_shard_path(p, form);
}

std::optional<ShardFile> parse_shard_file_name(const std::string& name) {
  // 20261129T170000Z_PT1H[.sealed].sqlite
  std::string_view s(name);
  ShardForm form;
  if (s.ends_with(".sealed.sqlite")) {
    form = ShardForm::kSealed;
    s.remove_suffix(14);
  } else if (s.ends_with(".sqlite")) {
    form = ShardForm::kOpen;
    s.remove_suffix(7);
  } else {
    return std::nullopt;
  }
  if (s.size() < 20 || s[8] != 'T' || s[15] != 'Z' || s[16] != '_') return std::nullopt;
  std::int64_t y, mo, d, h, mi, se;
  if (!parse_num(s.substr(0, 4), y) || !parse_num(s.substr(4, 2), mo) ||
      !parse_num(s.substr(6, 2), d) || !parse_num(s.substr(9, 2), h) ||
      !parse_num(s.substr(11, 2), mi) || !parse_num(s.substr(13, 2), se)) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59) return std::nullopt;
  const auto dur = parse_duration(s.substr(17));
  if (!dur || !validate_period_seconds(*dur)) return std::nullopt;
  const TimestampNs start =
      timestamp_of(static_cast<int>(y), static_cast<unsigned>(mo), static_cast<unsigned>(d)) +
      (h * 3600 + mi * 60 + se) * kNsPerSecond;
  const ShardPeriod p{start, *dur};
  if (period_of(start, *dur).start != start) return std::nullopt;  // misaligned
  if (period_stem(p) != s) return std::nullopt;                    // non-canonical spelling
  return ShardFile{p, form, {}};
}

Result<std::vector<ShardFile>> list_shard_files(const std::filesystem::path& data_dir) {
  std::vector<ShardFile> out;
  std::error_code ec;
  if (!std::filesystem::exists(data_dir, ec)) return out;
  std::filesystem::recursive_directory_iterator it(data_dir, ec), end;
  if (ec) return fail(ErrorCode::kIo, "list " + data_dir.string() + ": " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) return fail(ErrorCode::kIo, "list " + data_dir.string() + ": " + ec.message());
    if (it.depth() > 3) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec)) continue;
    auto f = parse_shard_file_name(it->path().filename().string());
    if (!f) continue;
    f->path = it->path();
    out.push_back(std::move(*f));
  }
  std::sort(out.begin(), out.end(), [](const ShardFile& a, const ShardFile& b) {
    if (a.period.start != b.period.start) return a.period.start < b.period.start;
    return a.form < b.form;
  });
  return out;
}

Result<std::vector<ShardFile>> list_shard_files_between(const std::filesystem::path& data_dir,
                                                        TimestampNs from, TimestampNs to) {
  std::vector<ShardFile> out;
  if (to <= from) return out;
  constexpr TimestampNs kDay = 86400 * kNsPerSecond;
  for (TimestampNs day = floor_div(from, kDay) * kDay; day < to; day += kDay) {
    const CivilDate d = civil_date(day);
    const auto dir = data_dir / fmt::format("{:04d}/{:02d}/{:02d}", d.year, d.month, d.day);
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) continue;
    std::filesystem::directory_iterator it(dir, ec), end;
    if (ec) return fail(ErrorCode::kIo, "list " + dir.string() + ": " + ec.message());
    for (; it != end; it.increment(ec)) {
      if (ec) return fail(ErrorCode::kIo, "list " + dir.string() + ": " + ec.message());
      auto f = parse_shard_file_name(it->path().filename().string());
      if (!f || f->period.end() <= from || f->period.start >= to) continue;
      f->path = it->path();
      out.push_back(std::move(*f));
    }
  }
  std::sort(out.begin(), out.end(), [](const ShardFile& a, const ShardFile& b) {
    if (a.period.start != b.period.start) return a.period.start < b.period.start;
    return a.form < b.form;
  });
  return out;
}

}  // namespace conntrail::storage
