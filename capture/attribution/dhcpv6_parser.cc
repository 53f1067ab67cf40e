#include "capture/attribution/dhcpv6_parser.h"

#include "capture/attribution/wire.h"

namespace conntrail::capture {

std::string_view to_string(Dhcpv6ParseError error) noexcept {
  switch (error) {
    case Dhcpv6ParseError::kTruncated: return "dhcpv6_truncated";
    case Dhcpv6ParseError::kOptionOverflow: return "dhcpv6_option_overflow";
    case Dhcpv6ParseError::kBadOptionValue: return "dhcpv6_bad_option_value";
    case Dhcpv6ParseError::kRelayTooDeep: return "dhcpv6_relay_too_deep";
    case Dhcpv6ParseError::kRelayEmpty: return "dhcpv6_relay_empty";
  }
  return "dhcpv6_unknown_error";
}

std::optional<MacAddress> mac_from_duid(std::span<const std::uint8_t> duid) {
  // DUID-LLT: type 1, hwtype(2), time(4), lladdr; DUID-LL: type 3, hwtype(2), lladdr (RFC 8415 §11).
  if (duid.size() < 4 || wire::be16(duid.data() + 2) != 1) return std::nullopt;
  const std::uint16_t type = wire::be16(duid.data());
  const std::size_t off = type == 1 ? 8 : type == 3 ? 4 : 0;
  if (off == 0 || duid.size() != off + 6) return std::nullopt;
  MacAddress mac{};
  for (std::size_t i = 0; i < 6; ++i) mac[i] = duid[off + i];
  return mac;
}

namespace {

enum Opt : std::uint16_t {
  kClientId = 1,
  kServerId = 2,
  kIaNa = 3,
  kIaTa = 4,
  kIaAddr = 5,
  kRelayMsg = 9,
  kStatusCode = 13,
  kInterfaceId = 18,
  kIaPd = 25,
  kIaPrefix = 26,
  kRemoteId = 37,
  kSubscriberId = 38,
};

using Bytes = std::span<const std::uint8_t>;
using Error = Dhcpv6ParseError;

// Calls fn(code, value) for each option in `area`; false on a framing error.
template <class Fn>
bool for_each_option(Bytes area, Fn&& fn) {
  std::size_t at = 0;
  while (at < area.size()) {
    if (area.size() - at < 4) return false;
    const std::uint16_t code = wire::be16(area.data() + at);
    const std::size_t len = wire::be16(area.data() + at + 2);
    if (len > area.size() - at - 4) return false;
    if (!fn(code, area.subspan(at + 4, len))) return false;
    at += 4 + len;
  }
  return true;
}

IpAddress v6_at(Bytes v, std::size_t off) {
  return IpAddress::v6_from_bytes(std::span<const std::uint8_t, 16>(v.data() + off, 16));
}

// One IA_NA / IA_TA / IA_PD option: IAID(4) [T1(4) T2(4)] options.
std::optional<Error> parse_ia(std::uint16_t code, Bytes v, Dhcpv6Message& m) {
  const std::size_t fixed = code == kIaTa ? 4 : 12;
  if (v.size() < fixed) return Error::kBadOptionValue;
  const std::uint32_t iaid = wire::be32(v.data());
  std::vector<Dhcpv6Binding> found;
  bool refused = false;
  bool bad_value = false;
  const bool framed = for_each_option(v.subspan(fixed), [&](std::uint16_t sub, Bytes sv) {
    if (sub == kStatusCode) {
      if (sv.size() < 2) return bad_value = true, false;
      refused = wire::be16(sv.data()) != 0;
    } else if (sub == kIaAddr && code != kIaPd) {
      // address(16) preferred(4) valid(4) options
      if (sv.size() < 24) return bad_value = true, false;
      auto prefix = IpPrefix::make(v6_at(sv, 0), 128);
      found.push_back({*prefix, iaid, wire::be32(sv.data() + 16), wire::be32(sv.data() + 20),
                       false});
    } else if (sub == kIaPrefix && code == kIaPd) {
      // preferred(4) valid(4) prefix-length(1) prefix(16) options
      if (sv.size() < 25 || sv[8] > 128) return bad_value = true, false;
      auto prefix = IpPrefix::make(v6_at(sv, 9), sv[8]);
      found.push_back({*prefix, iaid, wire::be32(sv.data()), wire::be32(sv.data() + 4), true});
    }
    return true;
  });
  if (bad_value) return Error::kBadOptionValue;
  if (!framed) return Error::kOptionOverflow;
  if (refused) return std::nullopt;
  for (auto& b : found) {
    if (m.bindings.size() < kMaxBindings) {
      m.bindings.push_back(b);
    } else {
      ++m.bindings_dropped;
    }
  }
  return std::nullopt;
}

std::expected<Dhcpv6Message, Error> parse_at_depth(Bytes p, int depth, Dhcpv6Message&& hints) {
  if (p.empty()) return std::unexpected(Error::kTruncated);
  const auto type = static_cast<Dhcpv6Type>(p[0]);
  if (type == Dhcpv6Type::kRelayForward || type == Dhcpv6Type::kRelayReply) {
    // msg-type(1) hop-count(1) link-address(16) peer-address(16) options (RFC 8415 §9).
    if (depth >= kMaxRelayDepth) return std::unexpected(Error::kRelayTooDeep);
    if (p.size() < 34) return std::unexpected(Error::kTruncated);
    std::optional<Bytes> inner;
    Dhcpv6Message level;
    const bool ok = for_each_option(p.subspan(34), [&](std::uint16_t code, Bytes v) {
      if (code == kRelayMsg && !inner) inner = v;
      if (code == kInterfaceId) level.interface_id = wire::text(v);
      if (code == kSubscriberId) level.subscriber_id = wire::text(v);
      if (code == kRemoteId && v.size() >= 4) level.remote_id = wire::text(v.subspan(4));
      return true;
    });
    if (!ok) return std::unexpected(Error::kOptionOverflow);
    if (!inner) return std::unexpected(Error::kRelayEmpty);
    // The relay nearest the client (the innermost) knows the subscriber line best.
    if (!level.interface_id.empty()) hints.interface_id = std::move(level.interface_id);
    if (!level.remote_id.empty()) hints.remote_id = std::move(level.remote_id);
    if (!level.subscriber_id.empty()) hints.subscriber_id = std::move(level.subscriber_id);
    hints.relay_depth = depth + 1;
    return parse_at_depth(*inner, depth + 1, std::move(hints));
  }

  if (p.size() < 4) return std::unexpected(Error::kTruncated);
  Dhcpv6Message m = std::move(hints);
  m.type = type;
  m.xid = wire::be24(p.data() + 1);
  std::optional<Error> error;
  const bool ok = for_each_option(p.subspan(4), [&](std::uint16_t code, Bytes v) {
    switch (code) {
      case kClientId:
        if (m.client_duid_hex.empty()) {
          m.client_duid_hex = wire::hex(v);
          m.client_mac = mac_from_duid(v);
        }
        break;
      case kServerId:
        if (m.server_duid_hex.empty()) m.server_duid_hex = wire::hex(v);
        break;
      case kStatusCode:
        if (v.size() < 2) return error = Error::kBadOptionValue, false;
        m.status = wire::be16(v.data());
        break;
      case kIaNa:
      case kIaTa:
      case kIaPd:
        error = parse_ia(code, v, m);
        if (error) return false;
        break;
      default: break;
    }
    return true;
  });
  if (error) return std::unexpected(*error);
  if (!ok) return std::unexpected(Error::kOptionOverflow);
  return m;
}

}  // namespace

std::expected<Dhcpv6Message, Dhcpv6ParseError> parse_dhcpv6(std::span<const std::uint8_t> p) {
  return parse_at_depth(p, 0, Dhcpv6Message{});
}

}  // namespace conntrail::capture
