// tests/attribution/builders.h — byte builders for RADIUS and DHCP test messages.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace conntrail::test {

using Bytes = std::vector<std::uint8_t>;

inline void put16(Bytes& b, std::uint32_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
inline void put32(Bytes& b, std::uint32_t v) {
  put16(b, v >> 16);
  put16(b, v & 0xFFFF);
}
inline void put(Bytes& b, std::string_view s) { b.insert(b.end(), s.begin(), s.end()); }
inline void put(Bytes& b, const Bytes& s) { b.insert(b.end(), s.begin(), s.end()); }
inline Bytes u32(std::uint32_t v) {
  Bytes b;
  put32(b, v);
  return b;
}
inline Bytes v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  return {a, b, c, d};
}
inline Bytes text(std::string_view s) { return Bytes(s.begin(), s.end()); }

// A RADIUS packet: code, identifier, then attributes; the header length is set
// from the content unless `length_override` is given.
class Radius {
 public:
  explicit Radius(std::uint8_t code = 4, std::uint8_t id = 1) : code_(code), id_(id) {}
  Radius& attr(std::uint8_t type, const Bytes& value) {
    attrs_.push_back(type);
    attrs_.push_back(static_cast<std::uint8_t>(value.size() + 2));
    put(attrs_, value);
    return *this;
  }
  Radius& raw(const Bytes& bytes) {
    put(attrs_, bytes);
    return *this;
  }
  Radius& status(std::uint32_t s) { return attr(40, u32(s)); }
  Bytes bytes(int length_override = -1) const {
    Bytes b{code_, id_};
    put16(b, length_override >= 0 ? static_cast<std::uint32_t>(length_override)
                                  : static_cast<std::uint32_t>(20 + attrs_.size()));
    b.insert(b.end(), 16, 0);
    put(b, attrs_);
    return b;
  }

 private:
  std::uint8_t code_, id_;
  Bytes attrs_;
};

// A DHCPv4 message: fixed header + magic + options (End appended by bytes()).
class Dhcp4 {
 public:
  Dhcp4(std::uint8_t op, std::uint8_t type, std::uint32_t xid = 0x1234) : b_(236, 0) {
    b_[0] = op;
    b_[1] = 1;  // Ethernet
    b_[2] = 6;
    b_[4] = static_cast<std::uint8_t>(xid >> 24);
    b_[5] = static_cast<std::uint8_t>(xid >> 16);
    b_[6] = static_cast<std::uint8_t>(xid >> 8);
    b_[7] = static_cast<std::uint8_t>(xid);
    put32(b_, 0x63825363);
    opt(53, {type});
  }
  Dhcp4& field(std::size_t offset, const Bytes& v) {
    std::copy(v.begin(), v.end(), b_.begin() + static_cast<long>(offset));
    return *this;
  }
  Dhcp4& yiaddr(const Bytes& v) { return field(16, v); }
  Dhcp4& ciaddr(const Bytes& v) { return field(12, v); }
  Dhcp4& chaddr(const Bytes& v) { return field(28, v); }
  Dhcp4& opt(std::uint8_t code, const Bytes& v) {
    b_.push_back(code);
    b_.push_back(static_cast<std::uint8_t>(v.size()));
    put(b_, v);
    return *this;
  }
  Dhcp4& raw(const Bytes& v) {
    put(b_, v);
    return *this;
  }
  Bytes bytes(bool end = true) const {
    Bytes b = b_;
    if (end) b.push_back(255);
    return b;
  }

 private:
  Bytes b_;
};

// DHCPv6 option: code(2) len(2) value.
inline Bytes opt6(std::uint16_t code, const Bytes& value) {
  Bytes b;
  put16(b, code);
  put16(b, static_cast<std::uint32_t>(value.size()));
  put(b, value);
  return b;
}

inline Bytes v6(std::initializer_list<std::uint16_t> groups) {
  Bytes b;
  for (auto g : groups) put16(b, g);
  b.resize(16, 0);
  return b;
}

inline Bytes dhcp6(std::uint8_t type, std::uint32_t xid, std::initializer_list<Bytes> options) {
  Bytes b{type, static_cast<std::uint8_t>(xid >> 16), static_cast<std::uint8_t>(xid >> 8),
          static_cast<std::uint8_t>(xid)};
  for (const auto& o : options) put(b, o);
  return b;
}

inline Bytes ia_addr(const Bytes& addr, std::uint32_t preferred, std::uint32_t valid) {
  Bytes v = addr;
  put32(v, preferred);
  put32(v, valid);
  return opt6(5, v);
}

inline Bytes ia_prefix(std::uint8_t length, const Bytes& addr, std::uint32_t preferred,
                       std::uint32_t valid) {
  Bytes v;
  put32(v, preferred);
  put32(v, valid);
  v.push_back(length);
  put(v, addr);
  return opt6(26, v);
}

inline Bytes ia(std::uint16_t code, std::uint32_t iaid, std::initializer_list<Bytes> inner) {
  Bytes v;
  put32(v, iaid);
  if (code != 4) {
    put32(v, 0);
    put32(v, 0);
  }
  for (const auto& i : inner) put(v, i);
  return opt6(code, v);
}

}  // namespace conntrail::test
