#include "capture/attribution/kea_leases.h"

#include <fmt/format.h>

#include <array>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "capture/attribution/wire.h"

namespace conntrail::capture {

namespace {

using Fields = std::vector<std::string>;

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Splits a Kea CSV line (no quoting) and undoes its "&#xHH" escapes.
Fields split(std::string_view line) {
  Fields out(1);
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == ',') {
      out.emplace_back();
    } else if (c == '&' && line.substr(i, 3) == "&#x" && i + 4 < line.size() &&
               hex_digit(line[i + 3]) >= 0 && hex_digit(line[i + 4]) >= 0) {
      out.back() += static_cast<char>(hex_digit(line[i + 3]) * 16 + hex_digit(line[i + 4]));
      i += 4;
    } else {
      out.back() += c;
    }
  }
  return out;
}

// "0x0104aabb..." (or without 0x) → octets.
std::optional<std::string> from_hex(std::string_view s) {
  if (s.substr(0, 2) == "0x" || s.substr(0, 2) == "0X") s.remove_prefix(2);
  if (s.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < s.size(); i += 2) {
    const int h = hex_digit(s[i]), l = hex_digit(s[i + 1]);
    if (h < 0 || l < 0) return std::nullopt;
    out += static_cast<char>(h * 16 + l);
  }
  return out;
}

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

struct RelayHints {
  std::string circuit, remote, subscriber;
};

// ISC.relay-agent-info: RFC 3046 sub-options (code, length, value): 1, 2; RFC 3993: 6.
void v4_relay_hints(const nlohmann::json& isc, RelayHints& h) {
  const auto it = isc.find("relay-agent-info");
  if (it == isc.end()) return;
  std::string hex;
  if (it->is_string()) hex = it->get<std::string>();  // Kea < 2.1: the sub-options themselves
  if (it->is_object() && it->contains("sub-options") && (*it)["sub-options"].is_string()) {
    hex = (*it)["sub-options"].get<std::string>();
  }
  const auto raw = from_hex(hex);
  if (!raw) return;
  std::size_t at = 0;
  while (at + 2 <= raw->size()) {
    const auto code = static_cast<std::uint8_t>((*raw)[at]);
    const std::size_t len = static_cast<std::uint8_t>((*raw)[at + 1]);
    if (at + 2 + len > raw->size()) return;
    const std::string v = raw->substr(at + 2, len);
    if (code == 1 && h.circuit.empty()) h.circuit = v;
    if (code == 2 && h.remote.empty()) h.remote = v;
    if (code == 6 && h.subscriber.empty()) h.subscriber = v;
    at += 2 + len;
  }
}

// ISC.relay-info[].options: DHCPv6 options (code 2, length 2, value) of each relay;
// Interface-Id 18, Remote-Id 37 (after its enterprise number), Subscriber-Id 38.
// Later entries are nearer the client and win, as the wire parser's innermost relay.
void v6_relay_hints(const nlohmann::json& isc, RelayHints& h) {
  const auto it = isc.find("relay-info");
  if (it == isc.end() || !it->is_array()) return;
  for (const auto& relay : *it) {
    if (!relay.is_object() || !relay.contains("options") || !relay["options"].is_string()) continue;
    const auto raw = from_hex(relay["options"].get<std::string>());
    if (!raw) continue;
    std::size_t at = 0;
    while (at + 4 <= raw->size()) {
      const auto* p = reinterpret_cast<const std::uint8_t*>(raw->data()) + at;
      const std::uint16_t code = wire::be16(p);
      const std::size_t len = wire::be16(p + 2);
      if (at + 4 + len > raw->size()) break;
      const std::string v = raw->substr(at + 4, len);
      if (code == 18) h.circuit = v;
      if (code == 37 && v.size() > 4) h.remote = v.substr(4);
      if (code == 38) h.subscriber = v;
      at += 4 + len;
    }
  }
}

RelayHints relay_hints(const std::string& user_context, bool v6) {
  RelayHints h;
  if (user_context.empty()) return h;
  const auto j = nlohmann::json::parse(user_context, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("ISC") || !j["ISC"].is_object()) return h;
  if (v6) {
    v6_relay_hints(j["ISC"], h);
  } else {
    v4_relay_hints(j["ISC"], h);
  }
  return h;
}

struct Columns {
  std::vector<std::string> names;  // wanted, in this reader's order
  std::vector<std::optional<std::size_t>> at;
  std::size_t width = 0;  // header field count
  const std::string& get(const Fields& f, std::size_t c) const {
    static const std::string kEmpty;
    return at[c] && *at[c] < f.size() ? f[*at[c]] : kEmpty;
  }
};

Result<Columns> header(LineReader& reader, std::vector<std::string> names,
                       std::initializer_list<std::size_t> required) {
  std::string line;
  LineReader::Status s;
  do {
    s = reader.next(line);
  } while (s == LineReader::Status::kLine && trim(line).empty());
  if (s != LineReader::Status::kLine) {
    return fail(ErrorCode::kInvalidArgument, "no header line (a Kea lease file starts with one)");
  }
  Columns c;
  c.names = std::move(names);
  c.at.resize(c.names.size());
  const Fields f = split(line);
  c.width = f.size();
  for (std::size_t i = 0; i < f.size(); ++i) {
    for (std::size_t k = 0; k < c.names.size(); ++k) {
      if (trim(f[i]) == c.names[k] && !c.at[k]) c.at[k] = i;
    }
  }
  for (auto k : required) {
    if (!c.at[k]) {
      return fail(ErrorCode::kInvalidArgument, fmt::format("line {}: header has no '{}' column",
                                                           reader.line_number(), c.names[k]));
    }
  }
  return c;
}

struct Times {
  TimestampNs cltt, expire;
  std::uint32_t valid;
};

Result<Times> times(const std::string& valid_text, const std::string& expire_text) {
  const auto valid = parse_uint(valid_text, 0xFFFFFFFFu);
  if (!valid) return fail(ErrorCode::kInvalidArgument, "valid_lifetime: '" + valid_text + "'");
  const auto expire = parse_uint(expire_text, kMaxEpochSeconds);
  if (!expire) return fail(ErrorCode::kInvalidArgument, "expire: '" + expire_text + "'");
  if (*expire < *valid) return fail(ErrorCode::kInvalidArgument, "expire before valid_lifetime");
  return Times{static_cast<TimestampNs>(*expire - *valid) * kNsPerSecond,
               static_cast<TimestampNs>(*expire) * kNsPerSecond,
               static_cast<std::uint32_t>(*valid)};
}

Result<std::string> hex_id(const std::string& text, std::string_view column) {
  if (text.empty()) return std::string();
  const auto raw = parse_colon_hex(text);
  if (!raw || raw->size() > 255) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{}: '{}' is not colon hex", column, text.substr(0, 64)));
  }
  return *raw;
}

// Reads rows after the header; `row` turns one into an event (or none).
template <class RowFn>
Result<std::size_t> rows(LineReader& reader, const Columns& c, const ImportLimits& limits,
                         ImportErrors& errors, RowFn&& row) {
  std::size_t n = 0;
  std::string line;
  for (;;) {
    const auto s = reader.next(line);
    if (s == LineReader::Status::kEnd) break;
    if (s == LineReader::Status::kLine && trim(line).empty()) continue;
    if (++n > limits.max_records) {
      return fail(ErrorCode::kLimit, fmt::format("more than {} rows", limits.max_records));
    }
    Result<void> ok;
    if (s == LineReader::Status::kTooLong) {
      ok = fail(ErrorCode::kLimit, fmt::format("line longer than {} bytes", limits.max_line_bytes));
    } else {
      const Fields f = split(line);
      if (f.size() != c.width) {
        ok = fail(ErrorCode::kInvalidArgument,
                  fmt::format("{} fields, the header has {}", f.size(), c.width));
      } else {
        ok = row(f, reader.line_number());
      }
    }
    if (!ok) {
      if (auto r = errors.add(reader.line_number(), ok.error().message); !r) {
        return std::unexpected(r.error());
      }
    }
  }
  return n;
}

enum V4 { k4Address, k4Hwaddr, k4ClientId, k4Valid, k4Expire, k4State, k4UserContext };
enum V6 {
  k6Address,
  k6Duid,
  k6Valid,
  k6Expire,
  k6Pref,
  k6Type,
  k6Iaid,
  k6PrefixLen,
  k6State,
  k6UserContext
};

Result<int> state_of(const std::string& text) {
  if (text.empty()) return 0;
  const auto s = parse_uint(text, 2);
  if (!s) return fail(ErrorCode::kInvalidArgument, "state: '" + text + "' is not 0, 1 or 2");
  return static_cast<int>(*s);
}

}  // namespace

Result<std::size_t> read_kea_leases4(std::istream& in, const ImportLimits& limits,
                                     ImportErrors& errors, std::vector<LeaseEvent>& events) {
  LineReader reader(in, limits.max_line_bytes);
  auto c = header(
      reader,
      {"address", "hwaddr", "client_id", "valid_lifetime", "expire", "state", "user_context"},
      {k4Address, k4Hwaddr, k4Valid, k4Expire});
  if (!c) return std::unexpected(c.error());
  return rows(reader, *c, limits, errors, [&](const Fields& f, std::size_t line) -> Result<void> {
    const auto address = IpAddress::parse(c->get(f, k4Address));
    if (!address || !address->is_v4()) {
      return fail(ErrorCode::kInvalidArgument,
                  "address: '" + c->get(f, k4Address) + "' is not IPv4");
    }
    auto t = times(c->get(f, k4Valid), c->get(f, k4Expire));
    if (!t) return std::unexpected(t.error());
    auto state = state_of(c->get(f, k4State));
    if (!state) return std::unexpected(state.error());
    auto hw = hex_id(c->get(f, k4Hwaddr), "hwaddr");
    if (!hw) return std::unexpected(hw.error());
    auto cid = hex_id(c->get(f, k4ClientId), "client_id");
    if (!cid) return std::unexpected(cid.error());
    // Kea's HWAddr::MAX_HWADDR_LEN.
    if (hw->size() > 20) return fail(ErrorCode::kInvalidArgument, "hwaddr longer than 20 octets");
    if (*state == 0 && t->valid == 0) return {};  // a deleted lease: see the header
    Dhcpv4Message m;
    m.chaddr_hex = wire::hex(bytes(*hw));
    if (hw->size() == 6) {
      MacAddress mac{};
      for (std::size_t i = 0; i < 6; ++i) mac[i] = static_cast<std::uint8_t>((*hw)[i]);
      m.mac = mac;
    }
    m.client_id_hex = wire::hex(bytes(*cid));
    const RelayHints h = relay_hints(c->get(f, k4UserContext), false);
    m.circuit_id = h.circuit, m.remote_id = h.remote, m.subscriber_id = h.subscriber;
    LeaseEvent e;
    e.line = line;
    if (*state == 0) {
      m.op = 2;
      m.type = Dhcpv4Type::kAck;
      m.yiaddr = *address;
      m.lease_seconds = t->valid;
      e.ts = t->cltt;
    } else if (*state == 1) {
      m.op = 1;
      m.type = Dhcpv4Type::kDecline;
      m.requested_ip = *address;
      e.ts = t->cltt;
    } else {
      m.op = 1;
      m.type = Dhcpv4Type::kRelease;
      m.ciaddr = *address;
      e.ts = t->expire;
    }
    e.message = std::move(m);
    events.push_back(std::move(e));
    return {};
  });
}

Result<std::size_t> read_kea_leases6(std::istream& in, const ImportLimits& limits,
                                     ImportErrors& errors, std::vector<LeaseEvent>& events) {
  LineReader reader(in, limits.max_line_bytes);
  auto c = header(reader,
                  {"address", "duid", "valid_lifetime", "expire", "pref_lifetime", "lease_type",
                   "iaid", "prefix_len", "state", "user_context"},
                  {k6Address, k6Duid, k6Valid, k6Expire, k6Type, k6Iaid, k6PrefixLen});
  if (!c) return std::unexpected(c.error());
  return rows(reader, *c, limits, errors, [&](const Fields& f, std::size_t line) -> Result<void> {
    const auto address = IpAddress::parse(c->get(f, k6Address));
    if (!address || address->is_v4()) {
      return fail(ErrorCode::kInvalidArgument,
                  "address: '" + c->get(f, k6Address) + "' is not IPv6");
    }
    auto t = times(c->get(f, k6Valid), c->get(f, k6Expire));
    if (!t) return std::unexpected(t.error());
    auto state = state_of(c->get(f, k6State));
    if (!state) return std::unexpected(state.error());
    const auto type = parse_uint(c->get(f, k6Type), 2);
    if (!type) return fail(ErrorCode::kInvalidArgument, "lease_type: '" + c->get(f, k6Type) + "'");
    const auto iaid = parse_uint(c->get(f, k6Iaid), 0xFFFFFFFFu);
    if (!iaid) return fail(ErrorCode::kInvalidArgument, "iaid: '" + c->get(f, k6Iaid) + "'");
    const auto length = parse_uint(c->get(f, k6PrefixLen), 128);
    if (!length)
      return fail(ErrorCode::kInvalidArgument, "prefix_len: '" + c->get(f, k6PrefixLen) + "'");
    auto duid = hex_id(c->get(f, k6Duid), "duid");
    if (!duid) return std::unexpected(duid.error());
    if (duid->empty()) return fail(ErrorCode::kInvalidArgument, "duid: empty");
    const auto pref = parse_uint(c->get(f, k6Pref), 0xFFFFFFFFu);
    if (*state == 0 && t->valid == 0) return {};  // a deleted lease: see the header
    const bool delegated = *type == 2;
    auto prefix = IpPrefix::make(*address, delegated ? static_cast<int>(*length) : 128);
    if (!prefix)
      return fail(ErrorCode::kInvalidArgument, "address/prefix_len: " + prefix.error().message);
    Dhcpv6Binding b;
    b.prefix = *prefix;
    b.iaid = static_cast<std::uint32_t>(*iaid);
    b.delegated = delegated;
    b.preferred_lifetime = pref ? static_cast<std::uint32_t>(*pref) : 0;
    b.valid_lifetime = *state == 0 ? t->valid : 0;
    Dhcpv6Message m;
    m.type = Dhcpv6Type::kReply;
    m.client_duid_hex = wire::hex(bytes(*duid));
    // The MAC only from the DUID, as on the wire: hwaddr is Kea's guess (from a
    // relay option or the link-local source), and using it would give the same
    // client another subscriber id here than in decoded sessions.
    m.client_mac = mac_from_duid(bytes(*duid));
    const RelayHints h = relay_hints(c->get(f, k6UserContext), true);
    m.interface_id = h.circuit, m.remote_id = h.remote, m.subscriber_id = h.subscriber;
    m.bindings.push_back(b);
    LeaseEvent e;
    e.line = line;
    e.ts = *state == 2 ? t->expire : t->cltt;
    e.message = std::move(m);
    events.push_back(std::move(e));
    return {};
  });
}

}  // namespace conntrail::capture
