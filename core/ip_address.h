// core/ip_address.h — IPv4/IPv6 addresses and CIDR prefixes as values.
//
// An IpAddress is 16 bytes in network order plus a family. IPv4 addresses are
// kept as IPv4-mapped IPv6 (::ffff:a.b.c.d) so that one comparison, one hash
// and one storage encoding serve both families; family() tells them apart.
// Invariant: a default-constructed address is the IPv4 address 0.0.0.0.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"

namespace conntrail {

enum class IpFamily : std::uint8_t { kV4 = 4, kV6 = 6 };

class IpAddress {
 public:
  IpAddress() noexcept;

  static IpAddress v4(std::uint32_t host_order) noexcept;
  static IpAddress v4_from_bytes(std::span<const std::uint8_t, 4> network_order) noexcept;
  static IpAddress v6_from_bytes(std::span<const std::uint8_t, 16> network_order) noexcept;
  // Accepts dotted quad or any RFC 4291 text form; rejects everything else.
  static Result<IpAddress> parse(std::string_view text);

  IpFamily family() const noexcept { return family_; }
  bool is_v4() const noexcept { return family_ == IpFamily::kV4; }
  // The 16 stored bytes (IPv4-mapped for IPv4).
  const std::array<std::uint8_t, 16>& bytes() const noexcept { return bytes_; }
  // IPv4 only: the address in host byte order.
  std::uint32_t v4_host_order() const noexcept;

  // RFC 5952 text for IPv6, dotted quad for IPv4.
  std::string to_string() const;

  friend auto operator<=>(const IpAddress&, const IpAddress&) = default;
  friend bool operator==(const IpAddress&, const IpAddress&) = default;

 private:
  std::array<std::uint8_t, 16> bytes_{};
  IpFamily family_ = IpFamily::kV4;
};

// A CIDR prefix: network address plus length in bits of its own family
// (0..32 for IPv4, 0..128 for IPv6). The host bits of network() are zero.
class IpPrefix {
 public:
  IpPrefix() = default;
  static Result<IpPrefix> make(IpAddress address, int length);
  // "10.0.0.0/8", "2001:db8::/32"; a bare address is a full-length prefix.
  static Result<IpPrefix> parse(std::string_view text);

  const IpAddress& network() const noexcept { return network_; }
  int length() const noexcept { return length_; }
  bool contains(const IpAddress& address) const noexcept;
  // The last address inside the prefix (all host bits set).
  IpAddress last() const noexcept;
  std::string to_string() const;

  friend bool operator==(const IpPrefix&, const IpPrefix&) = default;

 private:
  IpAddress network_;
  int length_ = 0;
};

struct IpAddressHash {
  std::size_t operator()(const IpAddress& a) const noexcept;
};

}  // namespace conntrail
