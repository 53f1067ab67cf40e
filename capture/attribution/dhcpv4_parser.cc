#include "capture/attribution/dhcpv4_parser.h"

#include <array>
#include <bitset>

#include "capture/attribution/wire.h"

namespace conntrail::capture {

std::string_view to_string(Dhcpv4ParseError error) noexcept {
  switch (error) {
    case Dhcpv4ParseError::kTruncated: return "dhcpv4_truncated";
    case Dhcpv4ParseError::kBadMagic: return "dhcpv4_bad_magic";
    case Dhcpv4ParseError::kBadHardwareLength: return "dhcpv4_bad_hardware_length";
    case Dhcpv4ParseError::kOptionOverflow: return "dhcpv4_option_overflow";
    case Dhcpv4ParseError::kBadOptionValue: return "dhcpv4_bad_option_value";
    case Dhcpv4ParseError::kNotDhcp: return "dhcpv4_not_dhcp";
  }
  return "dhcpv4_unknown_error";
}

namespace {

// RFC 2131 §2 fixed header offsets.
constexpr std::size_t kOffHtype = 1, kOffHlen = 2, kOffXid = 4, kOffCiaddr = 12, kOffYiaddr = 16,
                      kOffGiaddr = 24, kOffChaddr = 28, kOffSname = 44, kOffFile = 108,
                      kOffMagic = 236, kOffOptions = 240;
constexpr std::size_t kSnameSize = 64, kFileSize = 128;
constexpr std::uint32_t kMagic = 0x63825363;

enum Opt : std::uint8_t {
  kPad = 0,
  kRequestedIp = 50,
  kLeaseTime = 51,
  kOverload = 52,
  kMessageType = 53,
  kServerId = 54,
  kClientId = 61,
  kRelayAgentInfo = 82,
  kEnd = 255,
};

// Option values gathered across the areas; repeated options concatenate (RFC 3396).
struct RawOptions {
  std::string type, lease, server, requested, client_id, relay, overload;
  std::bitset<256> seen;  // so a zero-length option is told apart from an absent one
};

std::string* slot(RawOptions& o, std::uint8_t code) {
  switch (code) {
    case kMessageType: return &o.type;
    case kLeaseTime: return &o.lease;
    case kServerId: return &o.server;
    case kRequestedIp: return &o.requested;
    case kClientId: return &o.client_id;
    case kRelayAgentInfo: return &o.relay;
    case kOverload: return &o.overload;
    default: return nullptr;
  }
}

bool walk_options(std::span<const std::uint8_t> area, RawOptions& out) {
  std::size_t at = 0;
  while (at < area.size()) {
    const std::uint8_t code = area[at];
    if (code == kEnd) return true;
    if (code == kPad) {
      ++at;
      continue;
    }
    if (area.size() - at < 2) return false;
    const std::size_t len = area[at + 1];
    if (len > area.size() - at - 2) return false;
    if (auto* s = slot(out, code)) s->append(wire::text(area.subspan(at + 2, len)));
    out.seen.set(code);
    at += 2 + len;
  }
  return true;  // a missing End option is common in the wild and harmless
}

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::optional<IpAddress> v4_of(const std::string& s) {
  return IpAddress::v4_from_bytes(std::span<const std::uint8_t, 4>(bytes_of(s).data(), 4));
}

// RFC 3046 §2.0: sub-option code(1) len(1) value; 1 circuit-id, 2 remote-id; RFC 3993: 6.
bool parse_relay_info(const std::string& raw, Dhcpv4Message& m) {
  const auto area = bytes_of(raw);
  std::size_t at = 0;
  while (at < area.size()) {
    if (area.size() - at < 2) return false;
    const std::uint8_t code = area[at];
    const std::size_t len = area[at + 1];
    if (len > area.size() - at - 2) return false;
    const auto v = wire::text(area.subspan(at + 2, len));
    if (code == 1 && m.circuit_id.empty()) m.circuit_id = v;
    if (code == 2 && m.remote_id.empty()) m.remote_id = v;
    if (code == 6 && m.subscriber_id.empty()) m.subscriber_id = v;
    at += 2 + len;
  }
  return true;
}

IpAddress addr_at(std::span<const std::uint8_t> p, std::size_t off) {
  return IpAddress::v4_from_bytes(std::span<const std::uint8_t, 4>(p.data() + off, 4));
}

}  // namespace

std::expected<Dhcpv4Message, Dhcpv4ParseError> parse_dhcpv4(
    std::span<const std::uint8_t> p) {
  if (p.size() < kOffOptions) return std::unexpected(Dhcpv4ParseError::kTruncated);
  if (wire::be32(p.data() + kOffMagic) != kMagic) {
    return std::unexpected(Dhcpv4ParseError::kBadMagic);
  }
  const std::size_t hlen = p[kOffHlen];
  if (hlen > 16) return std::unexpected(Dhcpv4ParseError::kBadHardwareLength);

  RawOptions raw;
  if (!walk_options(p.subspan(kOffOptions), raw)) {
    return std::unexpected(Dhcpv4ParseError::kOptionOverflow);
  }
  if (raw.seen[kOverload]) {
    if (raw.overload.size() != 1) return std::unexpected(Dhcpv4ParseError::kBadOptionValue);
    const auto flags = static_cast<std::uint8_t>(raw.overload[0]);
    // RFC 2131 §4.1: options, then file, then sname.
    if ((flags & 1) && !walk_options(p.subspan(kOffFile, kFileSize), raw)) {
      return std::unexpected(Dhcpv4ParseError::kOptionOverflow);
    }
    if ((flags & 2) && !walk_options(p.subspan(kOffSname, kSnameSize), raw)) {
      return std::unexpected(Dhcpv4ParseError::kOptionOverflow);
    }
  }
  if (!raw.seen[kMessageType]) return std::unexpected(Dhcpv4ParseError::kNotDhcp);
  if (raw.type.size() != 1) return std::unexpected(Dhcpv4ParseError::kBadOptionValue);

  Dhcpv4Message m;
  m.op = p[0];
  m.type = static_cast<Dhcpv4Type>(static_cast<std::uint8_t>(raw.type[0]));
  m.xid = wire::be32(p.data() + kOffXid);
  m.ciaddr = addr_at(p, kOffCiaddr);
  m.yiaddr = addr_at(p, kOffYiaddr);
  m.giaddr = addr_at(p, kOffGiaddr);
  const auto chaddr = p.subspan(kOffChaddr, hlen);
  m.chaddr_hex = wire::hex(chaddr);
  if (p[kOffHtype] == 1 && hlen == 6) {
    MacAddress mac{};
    for (std::size_t i = 0; i < 6; ++i) mac[i] = chaddr[i];
    m.mac = mac;
  }

  if (raw.seen[kLeaseTime]) {
    if (raw.lease.size() != 4) return std::unexpected(Dhcpv4ParseError::kBadOptionValue);
    m.lease_seconds = wire::be32(bytes_of(raw.lease).data());
  }
  if (raw.seen[kServerId]) {
    if (raw.server.size() != 4) return std::unexpected(Dhcpv4ParseError::kBadOptionValue);
    m.server_id = v4_of(raw.server);
  }
  if (raw.seen[kRequestedIp]) {
    if (raw.requested.size() != 4) return std::unexpected(Dhcpv4ParseError::kBadOptionValue);
    m.requested_ip = v4_of(raw.requested);
  }
  m.client_id_hex = wire::hex(bytes_of(raw.client_id));
  if (raw.seen[kRelayAgentInfo] && !parse_relay_info(raw.relay, m)) {
    return std::unexpected(Dhcpv4ParseError::kBadOptionValue);
  }
  return m;
}

}  // namespace conntrail::capture
