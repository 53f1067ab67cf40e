#include "capture/attribution/radius_parser.h"

#include <array>

#include "capture/attribution/wire.h"

namespace conntrail::capture {

std::string_view to_string(AcctStatus status) noexcept {
  switch (status) {
    case AcctStatus::kStart: return "start";
    case AcctStatus::kStop: return "stop";
    case AcctStatus::kInterimUpdate: return "interim-update";
    case AcctStatus::kAccountingOn: return "accounting-on";
    case AcctStatus::kAccountingOff: return "accounting-off";
  }
  return "other";
}

std::string_view to_string(RadiusParseError error) noexcept {
  switch (error) {
    case RadiusParseError::kTruncatedHeader: return "radius_truncated_header";
    case RadiusParseError::kBadLength: return "radius_bad_length";
    case RadiusParseError::kTruncated: return "radius_truncated";
    case RadiusParseError::kNotAccountingRequest: return "radius_not_accounting_request";
    case RadiusParseError::kAttributeTooShort: return "radius_attribute_too_short";
    case RadiusParseError::kAttributeOverflow: return "radius_attribute_overflow";
    case RadiusParseError::kBadAttributeValue: return "radius_bad_attribute_value";
    case RadiusParseError::kNoStatusType: return "radius_no_status_type";
  }
  return "radius_unknown_error";
}

namespace {

constexpr std::size_t kHeaderSize = 20;
constexpr std::size_t kMaxPacket = 4096;  // RFC 2865 §3

enum Attr : std::uint8_t {
  kUserName = 1,
  kNasIpAddress = 4,
  kFramedIpAddress = 8,
  kCallingStationId = 31,
  kNasIdentifier = 32,
  kAcctStatusType = 40,
  kAcctDelayTime = 41,
  kAcctSessionId = 44,
  kAcctSessionTime = 46,
  kAcctTerminateCause = 49,
  kAcctMultiSessionId = 50,
  kEventTimestamp = 55,
  kNasPortId = 87,
  kNasIpv6Address = 95,
  kFramedIpv6Prefix = 97,
  kDelegatedIpv6Prefix = 123,
  kFramedIpv6Address = 168,
};

// Sets `out` from a 4-byte integer attribute; false when the size is wrong.
bool read_u32(std::span<const std::uint8_t> v, std::optional<std::uint32_t>& out) {
  if (v.size() != 4) return false;
  if (!out) out = wire::be32(v.data());
  return true;
}

void read_text(std::span<const std::uint8_t> v, std::string& out) {
  if (out.empty()) out = wire::text(v);
}

bool read_v6(std::span<const std::uint8_t> v, IpAddress& out) {
  if (v.size() != 16) return false;
  out = IpAddress::v6_from_bytes(std::span<const std::uint8_t, 16>(v.data(), 16));
  return true;
}

}  // namespace

std::optional<IpPrefix> parse_radius_ipv6_prefix(std::span<const std::uint8_t> value) {
  // reserved(1) prefix-length(1) prefix(0..16); the prefix octets must cover the length.
  if (value.size() < 2 || value.size() > 18) return std::nullopt;
  const int length = value[1];
  if (length > 128) return std::nullopt;
  const std::size_t octets = value.size() - 2;
  if (octets * 8 < static_cast<std::size_t>(length)) return std::nullopt;
  std::array<std::uint8_t, 16> bytes{};
  for (std::size_t i = 0; i < octets; ++i) bytes[i] = value[2 + i];
  // IpPrefix::make zeroes host bits, which RFC 3162 says the sender must already have done.
  auto prefix = IpPrefix::make(IpAddress::v6_from_bytes(bytes), length);
  if (!prefix) return std::nullopt;
  return *prefix;
}

std::expected<RadiusAccounting, RadiusParseError> parse_radius_accounting(
    std::span<const std::uint8_t> payload) {
  if (payload.size() < kHeaderSize) return std::unexpected(RadiusParseError::kTruncatedHeader);
  const std::size_t length = wire::be16(payload.data() + 2);
  if (length < kHeaderSize || length > kMaxPacket) {
    return std::unexpected(RadiusParseError::kBadLength);
  }
  if (length > payload.size()) return std::unexpected(RadiusParseError::kTruncated);
  if (payload[0] != static_cast<std::uint8_t>(RadiusCode::kAccountingRequest)) {
    return std::unexpected(RadiusParseError::kNotAccountingRequest);
  }

  RadiusAccounting acct;
  acct.identifier = payload[1];
  std::optional<std::uint32_t> status;
  std::optional<IpAddress> nas_v6;
  const auto packet = payload.first(length);

  for (std::size_t at = kHeaderSize; at < length;) {
    if (length - at < 2) return std::unexpected(RadiusParseError::kAttributeTooShort);
    const std::uint8_t type = packet[at];
    const std::size_t attr_len = packet[at + 1];
    if (attr_len < 2) return std::unexpected(RadiusParseError::kAttributeTooShort);
    if (attr_len > length - at) return std::unexpected(RadiusParseError::kAttributeOverflow);
    const auto v = packet.subspan(at + 2, attr_len - 2);
    at += attr_len;

    bool ok = true;
    switch (type) {
      case kUserName: read_text(v, acct.user_name); break;
      case kCallingStationId: read_text(v, acct.calling_station_id); break;
      case kNasIdentifier: read_text(v, acct.nas_identifier); break;
      case kAcctSessionId: read_text(v, acct.acct_session_id); break;
      case kAcctMultiSessionId: read_text(v, acct.acct_multi_session_id); break;
      case kNasPortId: read_text(v, acct.nas_port_id); break;
      case kAcctStatusType: ok = read_u32(v, status); break;
      case kAcctDelayTime: ok = read_u32(v, acct.acct_delay_time); break;
      case kAcctSessionTime: ok = read_u32(v, acct.acct_session_time); break;
      case kAcctTerminateCause: ok = read_u32(v, acct.acct_terminate_cause); break;
      case kEventTimestamp: ok = read_u32(v, acct.event_timestamp); break;
      case kNasIpAddress:
        ok = v.size() == 4;
        if (ok && !acct.nas_ip) {
          acct.nas_ip = IpAddress::v4_from_bytes(std::span<const std::uint8_t, 4>(v.data(), 4));
        }
        break;
      case kNasIpv6Address: {
        IpAddress a;
        ok = read_v6(v, a);
        if (ok && !nas_v6) nas_v6 = a;
        break;
      }
      case kFramedIpAddress: {
        ok = v.size() == 4;
        if (!ok || acct.framed_ip) break;
        const std::uint32_t host = wire::be32(v.data());
        // 0xFFFFFFFF "user selects", 0xFFFFFFFE "NAS selects": no address yet (RFC 2865 §5.8).
        if (host != 0xFFFFFFFFu && host != 0xFFFFFFFEu && host != 0) {
          acct.framed_ip = IpAddress::v4(host);
        }
        break;
      }
      case kFramedIpv6Prefix:
      case kDelegatedIpv6Prefix: {
        const auto prefix = parse_radius_ipv6_prefix(v);
        ok = prefix.has_value();
        auto& list =
            type == kFramedIpv6Prefix ? acct.framed_ipv6_prefixes : acct.delegated_ipv6_prefixes;
        if (ok && list.size() < kMaxAddressesPerPacket) list.push_back(*prefix);
        break;
      }
      case kFramedIpv6Address: {
        IpAddress a;
        ok = read_v6(v, a);
        if (ok && acct.framed_ipv6_addresses.size() < kMaxAddressesPerPacket) {
          acct.framed_ipv6_addresses.push_back(a);
        }
        break;
      }
      default: break;  // Class, counters, VSAs: not needed for attribution.
    }
    if (!ok) return std::unexpected(RadiusParseError::kBadAttributeValue);
  }

  if (!status) return std::unexpected(RadiusParseError::kNoStatusType);
  acct.status = *status;
  if (!acct.nas_ip && nas_v6) acct.nas_ip = nas_v6;
  return acct;
}

}  // namespace conntrail::capture
