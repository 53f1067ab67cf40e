#include "core/flow_format.h"

#include <fmt/format.h>

#include <array>
#include <cstring>
#include <nlohmann/json.hpp>

namespace conntrail {
namespace {

constexpr const char* kCsvHeader =
    "proto,src_ip,src_port,dst_ip,dst_port,packets_fwd,packets_rev,bytes_fwd,bytes_rev,"
    "first_ts,last_ts,tcp_flags_fwd,tcp_flags_rev,end_reason,community_id,vlan_outer,"
    "vlan_inner,pppoe_session,subscriber_mac,subscriber_side,subscriber\n";

// Result streams format millions of rows and this is their inner loop (issue
// 5 asks ≥ 1 M rows/s end to end), so a row is written with a char pointer
// into one stack buffer — constant text memcpy'd, numbers and addresses by
// table — and appended to `out` once. No allocation, no format-string
// parsing, no locale. The output is byte for byte what the fmt/inet_ntop/
// nlohmann version wrote (tests/core/flow_format_test.cc keeps that version
// as its reference and compares).
//
// Bound on the fixed part of a row (everything but the subscriber text): keys
// and separators < 400, two addresses ≤ 2 × 45, ten numbers ≤ 10 × 20, two
// times ≤ 2 × 64, Community ID 30, MAC 19, names < 20: under 900 bytes.
constexpr std::size_t kFixedMax = 1024;
// Subscribers up to this long that need no quoting/escaping go into the same
// buffer; longer or unusual ones take the general path after it.
constexpr std::size_t kInlineSubscriberMax = 256;

template <std::size_t N>
char* put(char* p, const char (&literal)[N]) noexcept {
  std::memcpy(p, literal, N - 1);
  return p + N - 1;
}

char* put(char* p, std::string_view s) noexcept {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

template <class Int>
char* put_int(char* p, Int v) noexcept {
  const fmt::format_int text(v);
  std::memcpy(p, text.data(), text.size());
  return p + text.size();
}

constexpr char kDigitPairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

// `v` < 10^digits, zero-padded to `digits` (6 or 9) characters.
char* put_fixed(char* p, std::uint32_t v, int digits) noexcept {
  char* end = p + digits;
  char* q = end;
  while (q - p >= 2) {
    q -= 2;
    std::memcpy(q, kDigitPairs + 2 * (v % 100), 2);
    v /= 100;
  }
  if (q != p) *--q = static_cast<char>('0' + v % 10);
  return end;
}

struct Octet {
  char text[3];
  std::uint8_t size;
};

constexpr std::array<Octet, 256> make_octets() {
  std::array<Octet, 256> t{};
  for (int i = 0; i < 256; ++i) {
    Octet& o = t[static_cast<std::size_t>(i)];
    if (i >= 100) {
      o = {{static_cast<char>('0' + i / 100), static_cast<char>('0' + i / 10 % 10),
            static_cast<char>('0' + i % 10)},
           3};
    } else if (i >= 10) {
      o = {{static_cast<char>('0' + i / 10), static_cast<char>('0' + i % 10), 0}, 2};
    } else {
      o = {{static_cast<char>('0' + i), 0, 0}, 1};
    }
  }
  return t;
}
constexpr std::array<Octet, 256> kOctets = make_octets();

char* put_v4(char* p, const std::uint8_t* b) noexcept {
  for (int i = 0; i < 4; ++i) {
    if (i != 0) *p++ = '.';
    const Octet& o = kOctets[b[i]];
    std::memcpy(p, o.text, 3);  // may write past the digits; the buffer has room
    p += o.size;
  }
  return p;
}

constexpr char kHex[] = "0123456789abcdef";

char* put_hex16(char* p, std::uint16_t w) noexcept {
  // Lowercase, no leading zeros ("%x").
  int shift = w >= 0x1000 ? 12 : w >= 0x100 ? 8 : w >= 0x10 ? 4 : 0;
  for (; shift >= 0; shift -= 4) *p++ = kHex[(w >> shift) & 0xF];
  return p;
}

// RFC 5952 text, exactly as glibc's inet_ntop(AF_INET6) writes it: the
// longest run (first of equal ones) of two or more zero groups becomes "::",
// and ::a.b.c.d / ::ffff:a.b.c.d keep the dotted quad.
char* put_v6(char* p, const std::uint8_t* b) noexcept {
  std::uint16_t words[8];
  for (int i = 0; i < 8; ++i) {
    words[i] = static_cast<std::uint16_t>((b[2 * i] << 8) | b[2 * i + 1]);
  }
  int best_base = -1, best_len = 0, cur_base = -1, cur_len = 0;
  for (int i = 0; i < 8; ++i) {
    if (words[i] == 0) {
      if (cur_base == -1) {
        cur_base = i;
        cur_len = 1;
      } else {
        ++cur_len;
      }
    } else if (cur_base != -1) {
      if (best_base == -1 || cur_len > best_len) {
        best_base = cur_base;
        best_len = cur_len;
      }
      cur_base = -1;
    }
  }
  if (cur_base != -1 && (best_base == -1 || cur_len > best_len)) {
    best_base = cur_base;
    best_len = cur_len;
  }
  if (best_base != -1 && best_len < 2) best_base = -1;
  for (int i = 0; i < 8; ++i) {
    if (best_base != -1 && i >= best_base && i < best_base + best_len) {
      if (i == best_base) *p++ = ':';
      continue;
    }
    if (i != 0) *p++ = ':';
    if (i == 6 && best_base == 0 && (best_len == 6 || (best_len == 5 && words[5] == 0xffff))) {
      return put_v4(p, b + 12);
    }
    p = put_hex16(p, words[i]);
  }
  if (best_base != -1 && best_base + best_len == 8) *p++ = ':';
  return p;
}

char* put_address(char* p, const IpAddress& a) noexcept {
  return a.is_v4() ? put_v4(p, a.bytes().data() + 12) : put_v6(p, a.bytes().data());
}

// append_time()'s text: epoch "S.ffffff" / "S.fffffffff", or RFC 3339.
char* put_time(char* p, TimestampNs t, TimePrecision precision, TimeFormat format) {
  if (format == TimeFormat::kRfc3339) {
    const std::string text = format_rfc3339(t, precision);
    return put(p, std::string_view(text).substr(0, 64));  // < 40 for any int64 time
  }
  std::int64_t s = t / kNsPerSecond;
  std::int64_t ns = t % kNsPerSecond;
  if (ns < 0) {  // floor division for times before 1970, as append_time
    ns += kNsPerSecond;
    s -= 1;
  }
  p = put_int(p, s);
  *p++ = '.';
  return precision == TimePrecision::kNano ? put_fixed(p, static_cast<std::uint32_t>(ns), 9)
                                           : put_fixed(p, static_cast<std::uint32_t>(ns / 1000), 6);
}

char* put_mac(char* p, const MacAddress& mac) noexcept {
  for (std::size_t i = 0; i < mac.size(); ++i) {
    if (i != 0) *p++ = ':';
    *p++ = kHex[mac[i] >> 4];
    *p++ = kHex[mac[i] & 0xF];
  }
  return p;
}

// The common subscriber ("sub17@isp") needs neither CSV quoting nor JSON
// escaping: printable ASCII without the characters either format treats specially.
bool is_plain(const std::string& s) noexcept {
  if (s.size() > kInlineSubscriberMax) return false;
  for (unsigned char c : s) {
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == ',') return false;
  }
  return true;
}

// RFC 4180: quote a field that holds a comma, quote or line break.
void append_csv_field(std::string& out, const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) {
    out += s;
    return;
  }
  out += '"';
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

// A JSON string. Text from the wire (a RADIUS User-Name) may not be UTF-8:
// invalid bytes become U+FFFD instead of an exception.
void append_json_string(std::string& out, const std::string& s) {
  out += nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Ends the row: the subscriber field and what follows it, from `p` on.
void finish_row(std::string& out, char* buf, char* p, const FlowRecord& f, bool csv) {
  if (is_plain(f.subscriber)) {
    if (!csv) *p++ = '"';
    p = put(p, f.subscriber);
    p = csv ? put(p, "\n") : put(p, "\"}\n");
    out.append(buf, static_cast<std::size_t>(p - buf));
    return;
  }
  out.append(buf, static_cast<std::size_t>(p - buf));
  if (csv) {
    append_csv_field(out, f.subscriber);
    out += '\n';
  } else {
    append_json_string(out, f.subscriber);
    out += "}\n";
  }
}

void append_csv(std::string& out, const FlowRecord& f, TimeFormat tf) {
  char buf[kFixedMax + kInlineSubscriberMax + 8];
  char* p = buf;
  p = put_int(p, f.proto);
  *p++ = ',';
  p = put_address(p, f.src_ip);
  *p++ = ',';
  p = put_int(p, f.src_port);
  *p++ = ',';
  p = put_address(p, f.dst_ip);
  *p++ = ',';
  p = put_int(p, f.dst_port);
  *p++ = ',';
  p = put_int(p, f.packets_fwd);
  *p++ = ',';
  p = put_int(p, f.packets_rev);
  *p++ = ',';
  p = put_int(p, f.bytes_fwd);
  *p++ = ',';
  p = put_int(p, f.bytes_rev);
  *p++ = ',';
  p = put_time(p, f.first_ts, f.precision, tf);
  *p++ = ',';
  p = put_time(p, f.last_ts, f.precision, tf);
  *p++ = ',';
  p = put_int(p, f.tcp_flags_fwd);
  *p++ = ',';
  p = put_int(p, f.tcp_flags_rev);
  *p++ = ',';
  p = put(p, to_string(f.end_reason));
  *p++ = ',';
  p += write_community_id(f, p);
  *p++ = ',';
  if (f.vlan_outer != kNoVlan) p = put_int(p, f.vlan_outer);
  *p++ = ',';
  if (f.vlan_inner != kNoVlan) p = put_int(p, f.vlan_inner);
  *p++ = ',';
  if (f.pppoe_session != 0) p = put_int(p, f.pppoe_session);
  *p++ = ',';
  if (f.subscriber_mac != MacAddress{}) p = put_mac(p, f.subscriber_mac);
  *p++ = ',';
  p = put(p, to_string(f.subscriber_side));
  *p++ = ',';
  finish_row(out, buf, p, f, true);
}

void append_ndjson(std::string& out, const FlowRecord& f, TimeFormat tf) {
  char buf[kFixedMax + kInlineSubscriberMax + 8];
  char* p = buf;
  p = put(p, R"({"proto":)");
  p = put_int(p, f.proto);
  p = put(p, R"(,"src_ip":")");
  p = put_address(p, f.src_ip);
  p = put(p, R"(","src_port":)");
  p = put_int(p, f.src_port);
  p = put(p, R"(,"dst_ip":")");
  p = put_address(p, f.dst_ip);
  p = put(p, R"(","dst_port":)");
  p = put_int(p, f.dst_port);
  p = put(p, R"(,"packets_fwd":)");
  p = put_int(p, f.packets_fwd);
  p = put(p, R"(,"packets_rev":)");
  p = put_int(p, f.packets_rev);
  p = put(p, R"(,"bytes_fwd":)");
  p = put_int(p, f.bytes_fwd);
  p = put(p, R"(,"bytes_rev":)");
  p = put_int(p, f.bytes_rev);
  // Epoch times stay JSON strings so no client's double rounds away the nanoseconds.
  p = put(p, R"(,"first_ts":")");
  p = put_time(p, f.first_ts, f.precision, tf);
  p = put(p, R"(","last_ts":")");
  p = put_time(p, f.last_ts, f.precision, tf);
  p = put(p, R"(","tcp_flags_fwd":)");
  p = put_int(p, f.tcp_flags_fwd);
  p = put(p, R"(,"tcp_flags_rev":)");
  p = put_int(p, f.tcp_flags_rev);
  p = put(p, R"(,"end_reason":")");
  p = put(p, to_string(f.end_reason));
  p = put(p, R"(","community_id":")");
  p += write_community_id(f, p);
  p = put(p, R"(","vlan_outer":)");
  p = f.vlan_outer != kNoVlan ? put_int(p, f.vlan_outer) : put(p, "null");
  p = put(p, R"(,"vlan_inner":)");
  p = f.vlan_inner != kNoVlan ? put_int(p, f.vlan_inner) : put(p, "null");
  p = put(p, R"(,"pppoe_session":)");
  p = f.pppoe_session != 0 ? put_int(p, f.pppoe_session) : put(p, "null");
  p = put(p, R"(,"subscriber_mac":)");
  if (f.subscriber_mac == MacAddress{}) {
    p = put(p, "null");
  } else {
    *p++ = '"';
    p = put_mac(p, f.subscriber_mac);
    *p++ = '"';
  }
  p = put(p, R"(,"subscriber_side":")");
  p = put(p, to_string(f.subscriber_side));
  p = put(p, R"(","subscriber":)");
  finish_row(out, buf, p, f, false);
}

}  // namespace

Result<OutputFormat> parse_output_format(std::string_view text) {
  if (text == "csv") return OutputFormat::kCsv;
  if (text == "ndjson") return OutputFormat::kNdjson;
  return fail(ErrorCode::kInvalidArgument,
              "unknown format '" + std::string(text) + "' (want csv or ndjson)");
}

Result<TimeFormat> parse_time_format(std::string_view text) {
  if (text == "epoch") return TimeFormat::kEpoch;
  if (text == "rfc3339") return TimeFormat::kRfc3339;
  return fail(ErrorCode::kInvalidArgument,
              "unknown time format '" + std::string(text) + "' (want epoch or rfc3339)");
}

std::string FlowFormatter::header() const {
  return format_ == OutputFormat::kCsv ? kCsvHeader : std::string();
}

std::string FlowFormatter::row(const FlowRecord& flow) const {
  std::string out;
  out.reserve(320);
  append_row(flow, out);
  return out;
}

void FlowFormatter::append_row(const FlowRecord& flow, std::string& out) const {
  if (format_ == OutputFormat::kCsv) {
    append_csv(out, flow, time_format_);
  } else {
    append_ndjson(out, flow, time_format_);
  }
}

}  // namespace conntrail
