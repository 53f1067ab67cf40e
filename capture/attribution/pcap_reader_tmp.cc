#include "capture/attribution/pcap_reader_tmp.h"

#include <pcap.h>

#include <array>
#include <fstream>

namespace conntrail::capture {

void PcapReaderTmp::Close::operator()(pcap* p) const noexcept {
  if (p != nullptr) pcap_close(p);
}

PcapReaderTmp::~PcapReaderTmp() = default;

namespace {

// Classic pcap says its resolution in the magic number; libpcap hides it once
// we ask for nanoseconds, so read the four bytes ourselves. pcapng may mix
// resolutions per interface: print 9 decimals, which never loses a digit.
TimePrecision file_precision(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::array<unsigned char, 4> m{};
  if (!in.read(reinterpret_cast<char*>(m.data()), 4)) return TimePrecision::kMicro;
  const std::uint32_t be = (std::uint32_t{m[0]} << 24) | (std::uint32_t{m[1]} << 16) |
                           (std::uint32_t{m[2]} << 8) | m[3];
  if (be == 0xA1B2C3D4u || be == 0xD4C3B2A1u) return TimePrecision::kMicro;
  return TimePrecision::kNano;
}

}  // namespace

Result<PcapReaderTmp> PcapReaderTmp::open(const std::string& path) {
  std::array<char, PCAP_ERRBUF_SIZE> err{};
  pcap* p = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO,
                                                     err.data());
  if (p == nullptr) return fail(ErrorCode::kIo, "cannot open capture " + path + ": " + err.data());
  PcapReaderTmp r;
  r.handle_.reset(p);
  r.link_type_ = pcap_datalink(p);
  r.precision_ = file_precision(path);
  r.path_ = path;
  return r;
}

Result<std::optional<PcapFrame>> PcapReaderTmp::next() {
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  const int rc = pcap_next_ex(handle_.get(), &header, &data);
  switch (rc) {
    case 1: {
      PcapFrame f;
      f.ts = static_cast<TimestampNs>(header->ts.tv_sec) * kNsPerSecond +
             static_cast<TimestampNs>(header->ts.tv_usec);  // nanoseconds: opened with NANO
      f.data = std::span<const std::uint8_t>(data, header->caplen);
      f.wire_length = header->len;
      return f;
    }
    case PCAP_ERROR_BREAK: return std::optional<PcapFrame>{};  // -2: end of file
    case 0: return std::optional<PcapFrame>{};  // only for live captures; treat as end
    default:
      return fail(ErrorCode::kCorrupt,
                  "reading " + path_ + ": " + pcap_geterr(handle_.get()));
  }
}

}  // namespace conntrail::capture
