#include "capture/attribution/import_text.h"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <chrono>

namespace conntrail::capture {

Result<void> ImportErrors::add(std::size_t line, std::string_view why) {
  errors_.push_back(fmt::format("line {}: {}", line, why));
  if (errors_.size() > max_) {
    return fail(ErrorCode::kLimit,
                fmt::format("more than {} bad records; last: {}", max_, errors_.back()));
  }
  return {};
}

LineReader::Status LineReader::next(std::string& line) {
  line.clear();
  bool any = false, too_long = false;
  int c;
  while ((c = in_.get()) != EOF) {
    any = true;
    if (c == '\n') break;
    if (line.size() >= max_) {
      too_long = true;  // keep consuming to the end of the line, keep nothing
      line.clear();
      continue;
    }
    if (!too_long) line += static_cast<char>(c);
  }
  if (!any) return Status::kEnd;
  ++number_;
  if (too_long) {
    line.clear();
    return Status::kTooLong;
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return Status::kLine;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::optional<std::uint64_t> parse_uint(std::string_view text, std::uint64_t max) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v > max) return std::nullopt;
  return v;
}

namespace {

using namespace std::chrono;

std::optional<TimestampNs> civil(int y, unsigned mo, unsigned d, unsigned h, unsigned mi,
                                 unsigned s) {
  const year_month_day ymd{year{y}, month{mo}, day{d}};
  if (!ymd.ok() || y < 1970 || y > 2099 || h > 23 || mi > 59 || s > 60) return std::nullopt;
  const auto secs = sys_days(ymd).time_since_epoch().count() * 86400LL + h * 3600LL + mi * 60LL + s;
  return static_cast<TimestampNs>(secs) * kNsPerSecond;
}

// "HH:MM:SS" → h, m, s.
bool parse_hms(std::string_view t, unsigned& h, unsigned& m, unsigned& s) {
  if (t.size() != 8 || t[2] != ':' || t[5] != ':') return false;
  const auto hh = parse_uint(t.substr(0, 2), 99), mm = parse_uint(t.substr(3, 2), 99),
             ss = parse_uint(t.substr(6, 2), 99);
  if (!hh || !mm || !ss) return false;
  h = static_cast<unsigned>(*hh), m = static_cast<unsigned>(*mm), s = static_cast<unsigned>(*ss);
  return true;
}

std::optional<unsigned> month_of(std::string_view name) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (unsigned i = 0; i < 12; ++i) {
    if (kMonths[i] == name) return i + 1;
  }
  return std::nullopt;
}

// Splits on runs of spaces/tabs; at most `max` words (more → empty result).
std::vector<std::string_view> words(std::string_view s, std::size_t max) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    if (i == s.size()) break;
    std::size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
    if (out.size() == max) return {};
    out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<TimestampNs> parse_slash_datetime(std::string_view date, std::string_view time) {
  // YYYY/MM/DD
  const auto s1 = date.find('/');
  const auto s2 = s1 == std::string_view::npos ? s1 : date.find('/', s1 + 1);
  if (s2 == std::string_view::npos) return std::nullopt;
  const auto y = parse_uint(date.substr(0, s1), 9999);
  const auto mo = parse_uint(date.substr(s1 + 1, s2 - s1 - 1), 12);
  const auto d = parse_uint(date.substr(s2 + 1), 31);
  unsigned h = 0, m = 0, s = 0;
  if (!y || !mo || !d || !parse_hms(time, h, m, s)) return std::nullopt;
  return civil(static_cast<int>(*y), static_cast<unsigned>(*mo), static_cast<unsigned>(*d), h, m,
               s);
}

std::optional<TimestampNs> parse_ctime(std::string_view text) {
  // Www Mmm dd hh:mm:ss yyyy
  const auto w = words(text, 5);
  if (w.size() != 5) return std::nullopt;
  const auto mo = month_of(w[1]);
  const auto d = parse_uint(w[2], 31);
  const auto y = parse_uint(w[4], 9999);
  unsigned h = 0, m = 0, s = 0;
  if (!mo || !d || !y || !parse_hms(w[3], h, m, s)) return std::nullopt;
  return civil(static_cast<int>(*y), *mo, static_cast<unsigned>(*d), h, m, s);
}

std::optional<TimestampNs> parse_radius_date(std::string_view text) {
  // Mmm dd yyyy hh:mm:ss ZZZ (FreeRADIUS prints dates in UTC or with a zone name;
  // only UTC/GMT is unambiguous, so other zone names are refused).
  const auto w = words(text, 5);
  if (w.size() != 4 && w.size() != 5) return std::nullopt;
  if (w.size() == 5 && w[4] != "UTC" && w[4] != "GMT") return std::nullopt;
  const auto mo = month_of(w[0]);
  const auto d = parse_uint(w[1], 31);
  const auto y = parse_uint(w[2], 9999);
  unsigned h = 0, m = 0, s = 0;
  if (!mo || !d || !y || !parse_hms(w[3], h, m, s)) return std::nullopt;
  return civil(static_cast<int>(*y), *mo, static_cast<unsigned>(*d), h, m, s);
}

std::optional<TimestampNs> parse_epoch_seconds(std::string_view text) {
  const auto v = parse_uint(text, kMaxEpochSeconds);
  if (!v) return std::nullopt;
  return static_cast<TimestampNs>(*v) * kNsPerSecond;
}

std::optional<std::string> parse_colon_hex(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::string out;
  std::size_t i = 0;
  while (true) {
    std::size_t n = 0;
    int v = 0;
    while (i < text.size() && text[i] != ':') {
      const int d = hex_digit(text[i]);
      if (d < 0 || ++n > 2) return std::nullopt;
      v = v * 16 + d;
      ++i;
    }
    if (n == 0) return std::nullopt;
    out += static_cast<char>(v);
    if (i == text.size()) return out;
    ++i;  // ':'
  }
}

std::optional<std::string> unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out += s[i];
      continue;
    }
    if (++i == s.size()) return std::nullopt;
    const char c = s[i];
    if (c >= '0' && c <= '7') {
      int v = 0, n = 0;
      while (n < 3 && i < s.size() && s[i] >= '0' && s[i] <= '7') {
        v = v * 8 + (s[i] - '0');
        ++i, ++n;
      }
      --i;
      if (v > 255) return std::nullopt;
      out += static_cast<char>(v);
    } else if (c == 'n') {
      out += '\n';
    } else if (c == 't') {
      out += '\t';
    } else if (c == 'r') {
      out += '\r';
    } else {
      out += c;  // \\ \" and any other escaped character stand for themselves
    }
  }
  return out;
}

}  // namespace conntrail::capture
