#include "capture/decode/decode_error.h"

namespace conntrail::capture {

std::string_view to_string(DecodeError e) noexcept {
  switch (e) {
    case DecodeError::kNone:
      return "none";
    case DecodeError::kNotIp:
      return "not_ip";
    case DecodeError::kTruncatedLink:
      return "truncated_link";
    case DecodeError::kTooManyLayers:
      return "too_many_layers";
    case DecodeError::kTruncatedIp:
      return "truncated_ip";
    case DecodeError::kBadIpVersion:
      return "bad_ip_version";
    case DecodeError::kBadIpv4HeaderLength:
      return "bad_ipv4_header_length";
    case DecodeError::kBadIpTotalLength:
      return "bad_ip_total_length";
    case DecodeError::kTruncatedTransport:
      return "truncated_transport";
    case DecodeError::kBadIpv6Extension:
      return "bad_ipv6_extension";
    case DecodeError::kBadTunnel:
      return "bad_tunnel";
    case DecodeError::kOrphanFragment:
      return "orphan_fragment";
    case DecodeError::kFragmentTableFull:
      return "fragment_table_full";
    case DecodeError::kCount:
      break;
  }
  return "unknown";
}

std::uint64_t DecodeErrorCounts::dropped() const noexcept {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < kDecodeErrorKinds; ++i) {
    if (is_dropped(static_cast<DecodeError>(i))) n += by_kind[i];
  }
  return n;
}

}  // namespace conntrail::capture
