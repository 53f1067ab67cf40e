#include "capture/source/file_precision.h"

#include <cstdint>
#include <fstream>
#include <vector>

namespace conntrail::capture {
namespace {

std::uint32_t load32(Bytes b, std::size_t at, bool big_endian) noexcept {
  return big_endian ? load_be32(b, at)
                    : (std::uint32_t{b[at + 3]} << 24) | (std::uint32_t{b[at + 2]} << 16) |
                          (std::uint32_t{b[at + 1]} << 8) | b[at];
}
std::uint16_t load16(Bytes b, std::size_t at, bool big_endian) noexcept {
  return big_endian ? load_be16(b, at) : static_cast<std::uint16_t>((b[at + 1] << 8) | b[at]);
}

// if_tsresol: high bit clear = 10^-n, set = 2^-n. Finer than µs means ns output.
bool finer_than_micro(std::uint8_t tsresol) noexcept {
  if ((tsresol & 0x80) != 0) return (tsresol & 0x7f) > 20;  // 2^-20 ~ 0.95 µs
  return tsresol > 6;
}

TimePrecision pcapng_precision(Bytes b) noexcept {
  if (b.size() < 12) return TimePrecision::kMicro;
  const std::uint32_t bom = load_be32(b, 8);
  const bool be = bom == 0x1a2b3c4d;
  if (!be && bom != 0x4d3c2b1a) return TimePrecision::kMicro;
  std::size_t at = 0;
  while (at + 12 <= b.size()) {
    const std::uint32_t type = load32(b, at, be);
    const std::uint32_t len = load32(b, at + 4, be);
    if (len < 12 || len % 4 != 0 || at + len > b.size()) break;
    if (type == 1 && len >= 20) {  // Interface Description Block: options after 16 bytes
      std::size_t opt = at + 16;
      const std::size_t end = at + len - 4;
      while (opt + 4 <= end) {
        const std::uint16_t code = load16(b, opt, be);
        const std::uint16_t olen = load16(b, opt + 2, be);
        if (code == 0) break;
        if (code == 9 && olen >= 1 && opt + 5 <= end && finer_than_micro(b[opt + 4])) {
          return TimePrecision::kNano;
        }
        opt += 4 + ((olen + 3u) & ~3u);
      }
    } else if (type == 6 || type == 3 || type == 2) {
      break;  // first packet block: the interfaces in use are known
    }
    at += len;
  }
  return TimePrecision::kMicro;
}

}  // namespace

TimePrecision detect_precision(Bytes head) noexcept {
  if (head.size() < 4) return TimePrecision::kMicro;
  const std::uint32_t magic = load_be32(head, 0);
  if (magic == 0xa1b23c4d || magic == 0x4d3cb2a1) return TimePrecision::kNano;
  if (magic == 0x0a0d0d0a) return pcapng_precision(head);
  return TimePrecision::kMicro;
}

TimePrecision detect_file_precision(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return TimePrecision::kMicro;
  std::vector<std::uint8_t> head(64 * 1024);
  in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  return detect_precision(head);
}

}  // namespace conntrail::capture
