#include "capture/decode/ipv4.h"

#include <algorithm>

namespace conntrail::capture {

std::expected<Ipv4Header, DecodeError> parse_ipv4(Bytes data) noexcept {
  if (data.size() < 20) return std::unexpected(DecodeError::kTruncatedIp);
  if ((data[0] >> 4) != 4) return std::unexpected(DecodeError::kBadIpVersion);
  Ipv4Header h;
  h.header_length = std::size_t{data[0] & 0x0fu} * 4;
  h.total_length = load_be16(data, 2);
  if (h.header_length < 20) return std::unexpected(DecodeError::kBadIpv4HeaderLength);
  if (h.total_length < h.header_length) {
    // A total length below the minimal header is a broken length field; an IHL
    // reaching past a plausible total length is a broken IHL.
    return std::unexpected(h.total_length < 20 && h.header_length == 20
                               ? DecodeError::kBadIpTotalLength
                               : DecodeError::kBadIpv4HeaderLength);
  }
  if (data.size() < h.header_length) return std::unexpected(DecodeError::kTruncatedIp);
  h.id = load_be16(data, 4);
  const std::uint16_t frag = load_be16(data, 6);
  h.more_fragments = (frag & 0x2000) != 0;
  h.fragment_offset = frag & 0x1fff;
  h.proto = data[9];
  std::copy_n(data.begin() + 12, 4, h.src.begin());
  std::copy_n(data.begin() + 16, 4, h.dst.begin());
  return h;
}

}  // namespace conntrail::capture
