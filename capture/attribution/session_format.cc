#include "capture/attribution/session_format.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace conntrail::capture {

namespace {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

std::string address_text(const IpPrefix& p) {
  const bool full = p.length() == (p.network().is_v4() ? 32 : 128);
  return full ? p.network().to_string() : p.to_string();
}

// Length of the valid UTF-8 sequence starting at s[i], 0 when invalid.
std::size_t utf8_length(const std::string& s, std::size_t i) {
  const auto b = static_cast<unsigned char>(s[i]);
  std::size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  if (n == 2 && b < 0xC2) return 0;  // overlong
  for (std::size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  }
  return n;
}

}  // namespace

std::string printable(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_length(s, i);
    const auto b = static_cast<unsigned char>(s[i]);
    if (n == 0 || (n == 1 && (b < 0x20 || b == 0x7F))) {
      out += fmt::format("\\x{:02x}", b);
      ++i;
    } else if (b == '\\') {
      out += "\\\\";
      ++i;
    } else {
      out.append(s, i, n);
      i += n;
    }
  }
  return out;
}

std::string SessionFormatter::header() const {
  return format_ == OutputFormat::kCsv
             ? "address,subscriber,mac,source,start_ts,end_ts,session_id,nas,end_assumed,duid\n"
             : std::string();
}

std::string SessionFormatter::row(const SessionRecord& s) const {
  const std::string start = format_time(s.start_ts, s.precision, time_format_);
  const std::string end = s.is_open() ? std::string() : format_time(s.end_ts, s.precision, time_format_);
  const std::string mac = s.mac == MacAddress{} ? std::string() : format_mac(s.mac);
  if (format_ == OutputFormat::kCsv) {
    return fmt::format("{},{},{},{},{},{},{},{},{},{}\n", address_text(s.address),
                       csv_field(printable(s.subscriber)), mac, to_string(s.source), start, end,
                       csv_field(printable(s.session_id)), s.server.to_string(),
                       s.end_assumed ? "true" : "false", s.duid);
  }
  using Json = nlohmann::ordered_json;
  Json j;
  j["address"] = address_text(s.address);
  j["subscriber"] = printable(s.subscriber);
  j["mac"] = mac.empty() ? Json() : Json(mac);
  j["source"] = std::string(to_string(s.source));
  j["start_ts"] = start;  // strings, as in flows: no double rounds the nanoseconds away
  j["end_ts"] = s.is_open() ? Json() : Json(end);
  j["session_id"] = printable(s.session_id);
  j["nas"] = s.server.to_string();
  j["end_assumed"] = s.end_assumed;
  j["duid"] = s.duid.empty() ? Json() : Json(s.duid);
  return j.dump() + "\n";
}

}  // namespace conntrail::capture
