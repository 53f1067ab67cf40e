#include "capture/attribution/session_import.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <sstream>

#include "capture/attribution/dhcpd_leases.h"
#include "capture/attribution/freeradius_detail.h"
#include "capture/attribution/kea_leases.h"

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
      return fail(ErrorCode::kLimit,
                  fmt::format("line {}: field longer than {} bytes", line, kMaxFieldBytes));
    }
    if (fields.size() > kMaxColumns) {
      return fail(ErrorCode::kLimit,
                  fmt::format("line {}: more than {} columns", line, kMaxColumns));
    }
  }
  if (quoted)
    return fail(ErrorCode::kInvalidArgument, fmt::format("line {}: unterminated quote", line));
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
      const int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
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
constexpr std::array<const char*, kCols> kNames = {"address", "subscriber",  "start_ts",
                                                   "end_ts",  "mac",         "session_id",
                                                   "nas",     "end_assumed", "duid"};

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
    if (!mac)
      return fail(ErrorCode::kInvalidArgument, "mac: '" + get(kMac) + "' is not aa:bb:cc:dd:ee:ff");
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
      return fail(ErrorCode::kLimit, fmt::format("more than {} bad rows; last: {}",
                                                 limits.max_errors, out.errors.back()));
    }
  }
  return out;
}

namespace {

constexpr std::array<std::pair<ImportFormat, std::string_view>, 5> kFormats = {{
    {ImportFormat::kConntrailCsv, "conntrail-csv"},
    {ImportFormat::kFreeradiusDetail, "freeradius-detail"},
    {ImportFormat::kIscDhcpdLeases, "isc-dhcpd-leases"},
    {ImportFormat::kKeaLease4, "kea-lease4"},
    {ImportFormat::kKeaLease6, "kea-lease6"},
}};

// After every finite lease a file can hold (a date <= kMaxEpochSeconds plus a
// lease < 2^32 s), and far enough below the TimestampNs range that the
// tracker's end + retention arithmetic cannot overflow.
constexpr TimestampNs kEndOfImport = 8'500'000'000LL * kNsPerSecond;
static_assert(kEndOfImport >
              static_cast<TimestampNs>(kMaxEpochSeconds + 0xFFFFFFFFull) * kNsPerSecond);

// The tracker's records, as imported ones: source=import; a lease file has no
// transaction id, so the tracker's "xid:00000000" says nothing and is dropped.
SessionRecord imported(SessionRecord r) {
  r.source = SessionSource::kImport;
  if (r.session_id == "xid:00000000") r.session_id.clear();
  return r;
}

// Lease events in (time, file) order through one tracker. A RELEASE/DECLINE
// row that does not name its client (Kea clears a declined lease's hwaddr and
// client_id, and gives a declined IPv6 lease the empty DUID) names the client
// that holds the address, as the server's own state would.
void replay(std::vector<LeaseEvent>& events, SessionTracker& tracker, const IpAddress& server) {
  std::stable_sort(events.begin(), events.end(),
                   [](const LeaseEvent& a, const LeaseEvent& b) { return a.ts < b.ts; });
  struct Client {
    std::string chaddr_hex, client_id_hex;
    std::optional<MacAddress> mac;
  };
  std::map<IpAddress, Client> holder;
  struct Client6 {
    std::string duid_hex;
    std::optional<MacAddress> mac;
    std::uint32_t iaid = 0;
  };
  std::map<std::pair<IpAddress, int>, Client6> holder6;  // (network, length)
  for (auto& e : events) {
    const PacketContext ctx{e.ts, server, IpAddress(), TimePrecision::kMicro};
    if (auto* m = std::get_if<Dhcpv4Message>(&e.message)) {
      if (m->type == Dhcpv4Type::kAck) {
        holder[m->yiaddr] = {m->chaddr_hex, m->client_id_hex, m->mac};
      } else if (m->chaddr_hex.empty() && m->client_id_hex.empty()) {
        const IpAddress a =
            m->type == Dhcpv4Type::kRelease ? m->ciaddr : m->requested_ip.value_or(IpAddress());
        if (const auto it = holder.find(a); it != holder.end()) {
          m->chaddr_hex = it->second.chaddr_hex;
          m->client_id_hex = it->second.client_id_hex;
          m->mac = it->second.mac;
        }
      }
      tracker.on_dhcpv4(*m, ctx);
    } else {
      auto& m6 = std::get<Dhcpv6Message>(e.message);
      for (auto& b : m6.bindings) {
        if (b.valid_lifetime > 0) {
          holder6[{b.prefix.network(), b.prefix.length()}] = {m6.client_duid_hex, m6.client_mac,
                                                              b.iaid};
        } else if (m6.client_duid_hex.empty() || m6.client_duid_hex == "00") {
          // Kea replaces a declined lease's DUID with the empty DUID (one 0 octet).
          if (const auto it = holder6.find({b.prefix.network(), b.prefix.length()});
              it != holder6.end()) {
            m6.client_duid_hex = it->second.duid_hex;
            m6.client_mac = it->second.mac;
            b.iaid = it->second.iaid;
          }
        }
      }
      tracker.on_dhcpv6(m6, ctx);
    }
  }
}

}  // namespace

std::string_view to_string(ImportFormat format) noexcept {
  for (const auto& [f, name] : kFormats) {
    if (f == format) return name;
  }
  return "conntrail-csv";
}

Result<ImportFormat> parse_import_format(std::string_view text) {
  for (const auto& [f, name] : kFormats) {
    if (name == text) return f;
  }
  return fail(ErrorCode::kInvalidArgument,
              "unknown import format '" + std::string(text) +
                  "' (want conntrail-csv, freeradius-detail, isc-dhcpd-leases, kea-lease4 or "
                  "kea-lease6)");
}

std::optional<ImportFormat> detect_import_format(std::string_view head) {
  std::istringstream in{std::string(head)};
  std::string first, second;
  while (std::getline(in, first) && trim(first).empty()) {
  }
  std::getline(in, second);
  if (!first.empty() && first.back() == '\r') first.pop_back();
  std::vector<ImportFormat> fits;
  if (first.rfind("address,hwaddr,client_id,valid_lifetime,expire", 0) == 0) {
    fits.push_back(ImportFormat::kKeaLease4);
  }
  if (first.rfind("address,duid,valid_lifetime,expire", 0) == 0)
    fits.push_back(ImportFormat::kKeaLease6);
  if (first.find("address") != std::string::npos && first.find("subscriber") != std::string::npos &&
      first.find("start_ts") != std::string::npos) {
    fits.push_back(ImportFormat::kConntrailCsv);
  }
  if (parse_ctime(trim(first)) && !second.empty() && (second[0] == '\t' || second[0] == ' ') &&
      second.find('=') != std::string::npos) {
    fits.push_back(ImportFormat::kFreeradiusDetail);
  }
  const std::string_view f = trim(first);
  if (f.rfind("lease ", 0) == 0 || f.rfind("ia-na ", 0) == 0 || f.rfind("ia-pd ", 0) == 0 ||
      f.rfind("ia-ta ", 0) == 0 || f.rfind("authoring-byte-order", 0) == 0 ||
      f.rfind("server-duid", 0) == 0 ||
      (f.rfind("#", 0) == 0 && head.find("lease") != std::string_view::npos &&
       head.find('{') != std::string_view::npos)) {
    fits.push_back(ImportFormat::kIscDhcpdLeases);
  }
  if (fits.size() != 1) return std::nullopt;
  return fits.front();
}

Result<FileImport> import_sessions(std::istream& in, ImportFormat format,
                                   const ImportOptions& options) {
  FileImport out;
  if (format == ImportFormat::kConntrailCsv) {
    auto csv = import_sessions_csv(
        in, {.max_rows = options.limits.max_records, .max_errors = options.limits.max_errors});
    if (!csv) return std::unexpected(csv.error());
    out.sessions = std::move(csv->sessions);
    out.errors = std::move(csv->errors);
    out.records = csv->rows;
    sort_sessions(out.sessions);
    return out;
  }
  SessionTracker tracker(options.tracker,
                         [&](const SessionRecord& r) { out.sessions.push_back(imported(r)); });
  ImportErrors errors(options.limits.max_errors);
  Result<std::size_t> read;
  if (format == ImportFormat::kFreeradiusDetail) {
    read = read_freeradius_detail(in, options.limits, errors, [&](DetailRecord&& r) {
      const IpAddress src = r.packet_src != IpAddress() ? r.packet_src : options.server;
      tracker.on_radius(r.acct, PacketContext{r.ts, src, IpAddress(), TimePrecision::kMicro});
    });
  } else {
    std::vector<LeaseEvent> events;
    read = format == ImportFormat::kIscDhcpdLeases
               ? read_dhcpd_leases(in, options.limits, errors, events)
           : format == ImportFormat::kKeaLease4
               ? read_kea_leases4(in, options.limits, errors, events)
               : read_kea_leases6(in, options.limits, errors, events);
    if (read) {
      replay(events, tracker, options.server);
      tracker.advance(kEndOfImport);  // expiring leases end at their expiry, assumed
    }
  }
  if (!read) return std::unexpected(read.error());
  for (const auto& r : tracker.open_sessions()) out.sessions.push_back(imported(r));
  out.records = *read;
  out.errors = errors.take();
  out.tracker = tracker.counters();
  sort_sessions(out.sessions);
  return out;
}

}  // namespace conntrail::capture
