#include "capture/attribution/freeradius_detail.h"

#include <fmt/format.h>

#include <array>
#include <optional>
#include <string_view>
#include <utility>

namespace conntrail::capture {

namespace {

struct Named {
  std::string_view name;
  std::uint32_t value;
};

// RFC 2866 §5.1 and RFC 2867 §4.1 names, as FreeRADIUS's dictionary spells them.
constexpr std::array<Named, 13> kStatusTypes = {{{"Start", 1},
                                                 {"Stop", 2},
                                                 {"Interim-Update", 3},
                                                 {"Alive", 3},
                                                 {"Accounting-On", 7},
                                                 {"Accounting-Off", 8},
                                                 {"Tunnel-Start", 9},
                                                 {"Tunnel-Stop", 10},
                                                 {"Tunnel-Reject", 11},
                                                 {"Tunnel-Link-Start", 12},
                                                 {"Tunnel-Link-Stop", 13},
                                                 {"Tunnel-Link-Reject", 14},
                                                 {"Failed", 15}}};

// RFC 2866 §5.10.
constexpr std::array<std::string_view, 18> kTerminateCauses = {
    "User-Request", "Lost-Carrier",  "Lost-Service",   "Idle-Timeout",   "Session-Timeout",
    "Admin-Reset",  "Admin-Reboot",  "Port-Error",     "NAS-Error",      "NAS-Request",
    "NAS-Reboot",   "Port-Unneeded", "Port-Preempted", "Port-Suspended", "Service-Unavailable",
    "Callback",     "User-Error",    "Host-Request"};

std::optional<std::uint32_t> enum_value(std::string_view v) {
  if (auto n = parse_uint(v, 0xFFFFFFFFu)) return static_cast<std::uint32_t>(*n);
  for (const auto& s : kStatusTypes) {
    if (s.name == v) return s.value;
  }
  return std::nullopt;
}

std::optional<std::uint32_t> terminate_cause(std::string_view v) {
  if (auto n = parse_uint(v, 0xFFFFFFFFu)) return static_cast<std::uint32_t>(*n);
  for (std::size_t i = 0; i < kTerminateCauses.size(); ++i) {
    if (kTerminateCauses[i] == v) return static_cast<std::uint32_t>(i + 1);
  }
  return std::nullopt;  // a name this table lacks: informational only, left unset
}

std::optional<IpAddress> address_of(std::string_view v, bool want_v4) {
  auto a = IpAddress::parse(v);
  if (!a || a->is_v4() != want_v4) return std::nullopt;
  return *a;
}

}  // namespace

Result<RadiusAccounting> detail_accounting(
    const std::vector<std::pair<std::size_t, std::string>>& lines, TimestampNs& timestamp,
    IpAddress& packet_src, std::size_t& bad_line) {
  RadiusAccounting a;
  std::optional<IpAddress> nas_v4, nas_v6, src;
  bool have_status = false, have_timestamp = false;
  for (const auto& [line, text] : lines) {
    bad_line = line;
    const auto eq = text.find('=');
    if (eq == std::string::npos) {
      return fail(ErrorCode::kInvalidArgument, "not an 'Attribute = value' line");
    }
    const std::string_view name = trim(std::string_view(text).substr(0, eq));
    std::string_view raw = trim(std::string_view(text).substr(eq + 1));
    if (name.empty()) return fail(ErrorCode::kInvalidArgument, "attribute without a name");
    std::string value;
    if (raw.size() >= 2 && raw.front() == '"' && raw.back() == '"') {
      auto u = unescape(raw.substr(1, raw.size() - 2));
      if (!u) return fail(ErrorCode::kInvalidArgument, fmt::format("{}: bad escape", name));
      value = std::move(*u);
    } else {
      value = std::string(raw);
    }
    const std::string_view v = value;
    auto bad = [&](std::string_view why) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("{}: '{}' {}", name, v.substr(0, 64), why));
    };
    auto set_text = [&](std::string& field) {
      if (field.empty()) field = value;  // single-valued: the first occurrence wins
    };
    auto set_u32 = [&](std::optional<std::uint32_t>& field) -> Result<void> {
      const auto n = parse_uint(v, 0xFFFFFFFFu);
      if (!n) return bad("is not a 32-bit number");
      if (!field) field = static_cast<std::uint32_t>(*n);
      return {};
    };
    auto push_prefix = [&](std::vector<IpPrefix>& list) -> Result<void> {
      auto p = IpPrefix::parse(v);
      if (!p || p->network().is_v4()) return bad("is not an IPv6 prefix");
      if (list.size() < kMaxAddressesPerPacket) list.push_back(*p);
      return {};
    };
    Result<void> ok;
    if (name == "Acct-Status-Type") {
      const auto s = enum_value(v);
      if (!s) return bad("is not an Acct-Status-Type");
      if (!have_status) a.status = *s;
      have_status = true;
    } else if (name == "User-Name") {
      set_text(a.user_name);
    } else if (name == "NAS-IP-Address") {
      const auto x = address_of(v, true);
      if (!x) return bad("is not an IPv4 address");
      if (!nas_v4) nas_v4 = x;
    } else if (name == "NAS-IPv6-Address") {
      const auto x = address_of(v, false);
      if (!x) return bad("is not an IPv6 address");
      if (!nas_v6) nas_v6 = x;
    } else if (name == "NAS-Identifier") {
      set_text(a.nas_identifier);
    } else if (name == "NAS-Port-Id") {
      set_text(a.nas_port_id);
    } else if (name == "Framed-IP-Address") {
      const auto x = address_of(v, true);
      if (!x) return bad("is not an IPv4 address");
      // RFC 2865 §5.8: 255.255.255.255 / .254 are "user/NAS selects", not addresses.
      const bool placeholder = *x == IpAddress::v4(0xFFFFFFFFu) || *x == IpAddress::v4(0xFFFFFFFEu);
      if (!a.framed_ip && !placeholder) a.framed_ip = x;
    } else if (name == "Framed-IPv6-Prefix") {
      ok = push_prefix(a.framed_ipv6_prefixes);
    } else if (name == "Delegated-IPv6-Prefix") {
      ok = push_prefix(a.delegated_ipv6_prefixes);
    } else if (name == "Framed-IPv6-Address") {
      const auto x = address_of(v, false);
      if (!x) return bad("is not an IPv6 address");
      if (a.framed_ipv6_addresses.size() < kMaxAddressesPerPacket) {
        a.framed_ipv6_addresses.push_back(*x);
      }
    } else if (name == "Calling-Station-Id") {
      set_text(a.calling_station_id);
    } else if (name == "Acct-Session-Id") {
      set_text(a.acct_session_id);
    } else if (name == "Acct-Multi-Session-Id") {
      set_text(a.acct_multi_session_id);
    } else if (name == "Acct-Delay-Time") {
      ok = set_u32(a.acct_delay_time);
    } else if (name == "Acct-Session-Time") {
      ok = set_u32(a.acct_session_time);
    } else if (name == "Acct-Terminate-Cause") {
      if (!a.acct_terminate_cause) a.acct_terminate_cause = terminate_cause(v);
    } else if (name == "Event-Timestamp") {
      auto t = parse_epoch_seconds(v);
      if (!t) t = parse_radius_date(v);
      if (!t || *t / kNsPerSecond > 0xFFFFFFFFLL) return bad("is not a date");
      if (!a.event_timestamp) a.event_timestamp = static_cast<std::uint32_t>(*t / kNsPerSecond);
    } else if (name == "Timestamp") {
      const auto t = parse_epoch_seconds(v);
      if (!t) return bad("is not epoch seconds");
      if (!have_timestamp) timestamp = *t;
      have_timestamp = true;
    } else if (name == "Packet-Src-IP-Address" || name == "Packet-Src-IPv6-Address" ||
               name == "Client-IP-Address") {
      auto x = IpAddress::parse(v);
      if (!x) return bad("is not an address");
      if (!src) src = *x;
    }
    if (!ok) return std::unexpected(ok.error());
  }
  if (!have_status) {
    bad_line = lines.empty() ? bad_line : lines.front().first;
    return fail(ErrorCode::kInvalidArgument, "no Acct-Status-Type (RFC 2866 requires one)");
  }
  a.nas_ip = nas_v4 ? nas_v4 : nas_v6;
  if (src) packet_src = *src;
  if (!have_timestamp) timestamp = 0;
  return a;
}

Result<std::size_t> read_freeradius_detail(std::istream& in, const ImportLimits& limits,
                                           ImportErrors& errors,
                                           const std::function<void(DetailRecord&&)>& on_record) {
  LineReader reader(in, limits.max_line_bytes);
  std::size_t records = 0;
  bool open = false;
  std::size_t header_line = 0, bad_at = 0;
  std::string header, bad_why;
  std::vector<std::pair<std::size_t, std::string>> lines;

  auto finish = [&]() -> Result<void> {
    if (!open) return {};
    open = false;
    if (++records > limits.max_records) {
      return fail(ErrorCode::kLimit, fmt::format("more than {} records", limits.max_records));
    }
    if (!bad_why.empty()) return errors.add(bad_at, bad_why);
    DetailRecord r;
    r.line = header_line;
    std::size_t bad_line = header_line;
    auto acct = detail_accounting(lines, r.ts, r.packet_src, bad_line);
    if (!acct) return errors.add(bad_line, acct.error().message);
    if (r.ts == 0) {
      const auto t = parse_ctime(header);
      if (!t) {
        return errors.add(header_line, "no Timestamp attribute and the header '" +
                                           header.substr(0, 64) + "' is not a ctime date");
      }
      r.ts = *t;
    }
    r.acct = std::move(*acct);
    on_record(std::move(r));
    return {};
  };
  auto start = [&](std::size_t line, std::string text) {
    open = true;
    header_line = line;
    header = std::move(text);
    bad_why.clear();
    lines.clear();
  };

  std::string line;
  for (;;) {
    const auto status = reader.next(line);
    if (status == LineReader::Status::kEnd) break;
    const std::size_t n = reader.line_number();
    if (status == LineReader::Status::kTooLong) {
      const std::string why = fmt::format("line longer than {} bytes", limits.max_line_bytes);
      if (!open) start(n, std::string());
      if (bad_why.empty()) bad_why = why, bad_at = n;
      continue;
    }
    if (trim(line).empty()) {
      if (auto r = finish(); !r) return std::unexpected(r.error());
      continue;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      if (!open) {
        if (auto r = errors.add(n, "attribute line before any record header"); !r) {
          return std::unexpected(r.error());
        }
        continue;
      }
      if (!bad_why.empty()) continue;
      if (lines.size() >= limits.max_record_lines) {
        bad_why = fmt::format("record longer than {} lines", limits.max_record_lines);
        bad_at = n;
        lines.clear();
        continue;
      }
      lines.emplace_back(n, line);
      continue;
    }
    // A new header: a record not closed by a blank line ends here.
    if (auto r = finish(); !r) return std::unexpected(r.error());
    start(n, line);
  }
  if (auto r = finish(); !r) return std::unexpected(r.error());
  return records;
}

}  // namespace conntrail::capture
