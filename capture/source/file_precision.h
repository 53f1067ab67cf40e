// capture/source/file_precision.h — does a capture file hold µs or ns times?
//
// libpcap converts every file to the precision we ask for (ns) and does not
// say what the file had, but the text output must print 6 decimals for µs
// files and 9 for ns files (Zeek's convention and the ground truth's). So the
// file's first bytes are read here: the pcap magic (a1b2c3d4 µs, a1b23c4d ns,
// either byte order), or for pcapng the if_tsresol option (code 9) of the
// Interface Description Blocks that precede the first packet block. A pcapng
// interface without if_tsresol has µs (the pcapng default, 10^-6).
#pragma once

#include <string>

#include "capture/decode/bytes.h"
#include "core/timestamp.h"

namespace conntrail::capture {

// Pure: decides from the file's leading bytes (the more, the more IDBs seen).
// Unknown or malformed input gives kMicro; libpcap reports real format errors.
TimePrecision detect_precision(Bytes head) noexcept;

// Reads up to 64 KiB of `path` and calls detect_precision; kMicro when unreadable.
TimePrecision detect_file_precision(const std::string& path);

}  // namespace conntrail::capture
