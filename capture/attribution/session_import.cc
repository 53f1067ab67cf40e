#include "capture/attribution/session_import.h"

#include <fmt/format.h>

#include <array>
#include <optional>

namespace conntrail::capture {

namespace {

enum class Row { kRecord, kEnd };

// Reads one RFC 4180 record into `fields`; `line` counts physical lines.
Result<Row> read_record(std::istream& in, std::vector<std::string>& fields, std::size_t& line) {
  fields.clear();
  std::string field;
  bool quoted = false, any = false;
  int c;
  while ((c = in.get()) != EOF) {
    any = true;
    const char ch = static_cast<char>(c);
    if (quoted) {
      if (ch == '"') {
        if (in.peek() == '"') {
          in.get();
          field += '"';
        } else {
          quoted = false;
        }
      } else {
        if (ch == '\n') ++line;
        field += ch;
      }
    } else if (ch == '"' && field.empty()) {
      quoted = true;
    } else if (ch == ',') {
      fields.push_back(std::move(field));
      field.clear();
    } else if (ch == '\n') {
      ++line;
      if (!field.empty() && field.back() == '\r') field.pop_back();
      fields.push_back(std::move(field));
      return Row::kRecord;
    } else {
      field += ch;
    }
    if (field.size() > kMaxFieldBytes) {
      return fail(ErrorCode::kLimit, fmt::format("line {}: field longer than {} bytes", line,
                                                 kMaxFieldBytes));
    }
    if (fields.size() > kMaxColumns) {
      return fail(ErrorCode::kLimit, fmt::format("line {}: more than {} columns", line, kMaxColumns));
    }
  }
  if (quoted) return fail(ErrorCode::kInvalidArgument, fmt::format("line {}: unterminated quote", line));
  if (!any) return Row::kEnd;
  if (!field.empty() && field.back() == '\r') field.pop_back();
  fields.push_back(std::move(field));
  ++line;
  return Row::kRecord;
}

std::optional<MacAddress> parse_mac(const std::string& s) {
  MacAddress mac{};
  if (s.size() != 17) return std::nullopt;
  for (std::size_t i = 0; i < 6; ++i) {
    if (i > 0 && s[i * 3 - 1] != ':') return std::nullopt;
    unsigned v = 0;
    for (std::size_t k = 0; k < 2; ++k) {
      const char c = s[i * 3 + k];
      const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (d < 0) return std::nullopt;
      v = v * 16 + static_cast<unsigned>(d);
    }
    mac[i] = static_cast<std::uint8_t>(v);
  }
  return mac;
}

// 9 fractional digits anywhere make the record nanosecond-precise.
TimePrecision precision_of(const std::string& a, const std::string& b) {
  auto digits = [](const std::string& s) {
    const auto dot = s.find('.');
    if (dot == std::string::npos) return std::size_t{0};
    std::size_t n = 0;
    while (dot + 1 + n < s.size() && s[dot + 1 + n] >= '0' && s[dot + 1 + n] <= '9') ++n;
    return n;
  };
  return digits(a) > 6 || digits(b) > 6 ? TimePrecision::kNano : TimePrecision::kMicro;
}

enum Col { kAddress, kSubscriber, kStart, kEnd, kMac, kSessionId, kNas, kEndAssumed, kDuid, kCols };
constexpr std::array<const char*, kCols> kNames = {"address", "subscriber", "start_ts", "end_ts",
                                                   "mac", "session_id", "nas", "end_assumed", "duid"};

Result<SessionRecord> parse_row(const std::vector<std::string>& f,
                                const std::array<std::optional<std::size_t>, kCols>& at) {
  auto get = [&](Col c) -> const std::string& {
    static const std::string kEmpty;
    return at[c] && *at[c] < f.size() ? f[*at[c]] : kEmpty;
  };
  SessionRecord r;
  r.source = SessionSource::kImport;
  auto address = IpPrefix::parse(get(kAddress));
  if (!address) return fail(ErrorCode::kInvalidArgument, "address: " + address.error().message);
  r.address = *address;
  r.subscriber = get(kSubscriber);
  if (r.subscriber.empty()) return fail(ErrorCode::kInvalidArgument, "subscriber: empty");
  auto start = parse_time(get(kStart));
  if (!start) return fail(ErrorCode::kInvalidArgument, "start_ts: " + start.error().message);
  r.start_ts = *start;
  if (!get(kEnd).empty()) {
    auto end = parse_time(get(kEnd));
    if (!end) return fail(ErrorCode::kInvalidArgument, "end_ts: " + end.error().message);
    if (*end < r.start_ts) return fail(ErrorCode::kInvalidArgument, "end_ts before start_ts");
    if (*end == 0) return fail(ErrorCode::kInvalidArgument, "end_ts 0 (leave it empty for open)");
    r.end_ts = *end;
  }
  r.precision = precision_of(get(kStart), get(kEnd));
  if (!get(kMac).empty()) {
    const auto mac = parse_mac(get(kMac));
    if (!mac) return fail(ErrorCode::kInvalidArgument, "mac: '" + get(kMac) + "' is not aa:bb:cc:dd:ee:ff");
    r.mac = *mac;
  }
  r.session_id = get(kSessionId);
  if (!get(kNas).empty()) {
    auto nas = IpAddress::parse(get(kNas));
    if (!nas) return fail(ErrorCode::kInvalidArgument, "nas: " + nas.error().message);
    r.server = *nas;
  }
  const auto& assumed = get(kEndAssumed);
  if (assumed == "true" || assumed == "1") {
    r.end_assumed = true;
  } else if (!assumed.empty() && assumed != "false" && assumed != "0") {
    return fail(ErrorCode::kInvalidArgument, "end_assumed: '" + assumed + "' is not true/false");
  }
  r.duid = get(kDuid);
  return r;
}

}  // namespace

Result<SessionImport> import_sessions_csv(std::istream& in, const SessionImportLimits& limits) {
  std::size_t line = 1;
  std::vector<std::string> fields;
  auto header = read_record(in, fields, line);
  if (!header) return std::unexpected(header.error());
  if (*header == Row::kEnd) return fail(ErrorCode::kInvalidArgument, "empty file: no header line");
  std::array<std::optional<std::size_t>, kCols> at{};
  for (std::size_t i = 0; i < fields.size(); ++i) {
    for (std::size_t c = 0; c < kCols; ++c) {
      if (fields[i] == kNames[c] && !at[c]) at[c] = i;
    }
  }
  for (Col required : {kAddress, kSubscriber, kStart}) {
    if (!at[required]) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("header has no '{}' column", kNames[required]));
    }
  }
  SessionImport out;
  while (true) {
    const std::size_t row_line = line;
    auto row = read_record(in, fields, line);
    if (!row) return std::unexpected(row.error());
    if (*row == Row::kEnd) break;
    if (fields.size() == 1 && fields[0].empty()) continue;  // blank line
    if (++out.rows > limits.max_rows) {
      return fail(ErrorCode::kLimit, fmt::format("more than {} rows", limits.max_rows));
    }
    auto record = parse_row(fields, at);
    if (record) {
      out.sessions.push_back(std::move(*record));
      continue;
    }
    out.errors.push_back(fmt::format("line {}: {}", row_line, record.error().message));
    if (out.errors.size() > limits.max_errors) {
      return fail(ErrorCode::kLimit,
                  fmt::format("more than {} bad rows; last: {}", limits.max_errors, out.errors.back()));
    }
  }
  return out;
}

}  // namespace conntrail::capture
