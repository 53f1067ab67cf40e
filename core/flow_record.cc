#include "core/flow_record.h"

#include <fmt/format.h>
// SHA1_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP, which
// is ~2.5x slower for one block (see write_community_id).
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <array>

namespace conntrail {

std::string_view to_string(EndReason reason) noexcept {
  switch (reason) {
    case EndReason::kIdle: return "idle";
    case EndReason::kActive: return "active";
    case EndReason::kTcpClose: return "tcp-close";
    case EndReason::kEvicted: return "evicted";
    case EndReason::kShutdown: return "shutdown";
  }
  return "shutdown";
}

std::optional<EndReason> end_reason_from_string(std::string_view text) noexcept {
  for (auto r : {EndReason::kIdle, EndReason::kActive, EndReason::kTcpClose, EndReason::kEvicted,
                 EndReason::kShutdown}) {
    if (to_string(r) == text) return r;
  }
  return std::nullopt;
}

std::string_view to_string(SubscriberSide side) noexcept {
  switch (side) {
    case SubscriberSide::kUnknown: return "";
    case SubscriberSide::kSrc: return "src";
    case SubscriberSide::kDst: return "dst";
  }
  return "";
}

std::string format_mac(const MacAddress& mac) {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", mac[0], mac[1], mac[2], mac[3],
                     mac[4], mac[5]);
}

namespace {

// Community ID v1 §"ICMP": request/reply types that pair up; any other type
// is one-way and keeps its orientation.
bool icmp_has_counterpart(std::uint8_t proto, std::uint16_t type) {
  if (proto == 1) {
    switch (type) {
      case 0: case 8: case 9: case 10: case 13: case 14: case 15: case 16: case 17: case 18:
        return true;
      default: return false;
    }
  }
  switch (type) {  // ICMPv6
    case 128: case 129: case 130: case 131: case 133: case 134: case 135: case 136:
    case 139: case 140: case 144: case 145:
      return true;
    default: return false;
  }
}

// The hashed input is at most 2 + 16 + 16 + 2 + 4 = 40 bytes: a fixed buffer.
struct HashInput {
  std::array<std::uint8_t, 40> bytes{};
  std::size_t size = 0;

  void push_back(std::uint8_t v) { bytes[size++] = v; }
};

void put16(HashInput& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

void put_address(HashInput& out, const IpAddress& a) {
  const auto& b = a.bytes();
  for (std::size_t i = a.is_v4() ? 12 : 0; i < b.size(); ++i) out.push_back(b[i]);
}

}  // namespace

std::size_t write_community_id(const FlowRecord& flow, char* out, std::uint16_t seed) noexcept {
  IpAddress a = flow.src_ip;
  IpAddress b = flow.dst_ip;
  std::uint16_t pa = flow.src_port;
  std::uint16_t pb = flow.dst_port;
  const bool is_icmp = flow.proto == 1 || flow.proto == 58;
  const bool has_ports = flow.proto == 6 || flow.proto == 17 || flow.proto == 132 || is_icmp;
  const bool one_way = is_icmp && !icmp_has_counterpart(flow.proto, pa);
  const bool ordered = a < b || (a == b && pa < pb);
  if (!one_way && !ordered) {
    std::swap(a, b);
    std::swap(pa, pb);
  }
  HashInput buf;
  put16(buf, seed);
  put_address(buf, a);
  put_address(buf, b);
  buf.push_back(flow.proto);
  buf.push_back(0);
  if (has_ports) {
    put16(buf, pa);
    put16(buf, pb);
  }
  // The input is one SHA-1 block and result streams hash one per row: the
  // low-level one-shot costs ~40 ns, EVP_Digest ~105 ns (it allocates and
  // frees a context per call), so this is the one place using SHA1_*.
  std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
  SHA_CTX ctx;
  SHA1_Init(&ctx);
  SHA1_Update(&ctx, buf.bytes.data(), buf.size);
  SHA1_Final(digest.data(), &ctx);
  out[0] = '1';
  out[1] = ':';
  // Base64 (RFC 4648, padded) of the 20-byte digest: 28 characters.
  static constexpr char kB64[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char* p = out + 2;
  std::size_t i = 0;
  for (; i + 3 <= digest.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{digest[i]} << 16) | (std::uint32_t{digest[i + 1]} << 8) |
                            digest[i + 2];
    *p++ = kB64[(v >> 18) & 63];
    *p++ = kB64[(v >> 12) & 63];
    *p++ = kB64[(v >> 6) & 63];
    *p++ = kB64[v & 63];
  }
  // 20 = 6 * 3 + 2: two bytes remain, three characters and one '='.
  const std::uint32_t v = (std::uint32_t{digest[i]} << 16) | (std::uint32_t{digest[i + 1]} << 8);
  *p++ = kB64[(v >> 18) & 63];
  *p++ = kB64[(v >> 12) & 63];
  *p++ = kB64[(v >> 6) & 63];
  *p++ = '=';
  return static_cast<std::size_t>(p - out);
}

std::string community_id(const FlowRecord& flow, std::uint16_t seed) {
  char text[kCommunityIdSize];
  return std::string(text, write_community_id(flow, text, seed));
}

}  // namespace conntrail
