// capture/attribution/pcap_reader_tmp.h — TEMPORARY offline pcap/pcapng reader.
//
// Job: hand the sessions command the frames of a capture file, with
// nanosecond timestamps, until capture/source/ (issue 3) provides the one
// libpcap wrapper of the tree. This is the only file of the attribution work
// that includes <pcap.h>; the coordinator merges it into capture/source/ (or
// replaces its one caller with capture's reader) so the tree keeps exactly
// one pcap wrapper.
//
// Invariants: the pcap_t has one owner (a Handle freed by pcap_close);
// every pcap_next_ex result is handled (1 frame, -2 end of file, -1 error);
// a frame's span stays valid only until the next call of next().
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "core/result.h"
#include "core/timestamp.h"

struct pcap;  // from <pcap.h>, kept out of this header

namespace conntrail::capture {

struct PcapFrame {
  TimestampNs ts = 0;
  std::span<const std::uint8_t> data;  // the captured bytes (caplen)
  std::uint32_t wire_length = 0;       // the frame's length on the wire
};

class PcapReaderTmp {
 public:
  static Result<PcapReaderTmp> open(const std::string& path);

  PcapReaderTmp(PcapReaderTmp&&) noexcept = default;
  PcapReaderTmp& operator=(PcapReaderTmp&&) noexcept = default;
  ~PcapReaderTmp();

  int link_type() const noexcept { return link_type_; }
  // 6 for classic microsecond pcap, 9 for nanosecond pcap and for pcapng.
  TimePrecision precision() const noexcept { return precision_; }
  // The next frame; std::nullopt at end of file; an error for a damaged file.
  Result<std::optional<PcapFrame>> next();

 private:
  struct Close {
    void operator()(pcap* p) const noexcept;
  };
  PcapReaderTmp() = default;

  std::unique_ptr<pcap, Close> handle_;
  int link_type_ = 0;
  TimePrecision precision_ = TimePrecision::kMicro;
  std::string path_;
};

}  // namespace conntrail::capture
