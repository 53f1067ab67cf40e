// capture/attribution/session_format.h — session records as CSV and NDJSON text.
//
// One formatter for `conntrail sessions`, `conntrail attribute` and (later)
// the lawful API's subscriber-sessions category, so every surface names the
// columns the same way. Columns, in order:
//   address,subscriber,mac,source,start_ts,end_ts,session_id,nas,end_assumed,duid
// address is a prefix ("2001:db8:1::/56") or a bare address for a full-length
// one; end_ts is empty (CSV) / null (NDJSON) while the session is open; times
// follow `conntrail flows` (epoch with 6 or 9 decimals, or RFC 3339). Text
// fields from the wire are CSV-quoted (RFC 4180) and JSON-escaped; bytes that
// are not valid UTF-8 are written as \xNN so no output is ever malformed.
// (Candidate for core/ beside flow_format.h; it depends on core only.)
#pragma once

#include <string>

#include "core/flow_format.h"
#include "core/session_record.h"

namespace conntrail::capture {

class SessionFormatter {
 public:
  SessionFormatter(OutputFormat format, TimeFormat time_format) noexcept
      : format_(format), time_format_(time_format) {}

  std::string header() const;  // CSV header with '\n'; empty for NDJSON
  std::string row(const SessionRecord& session) const;

 private:
  OutputFormat format_;
  TimeFormat time_format_;
};

// Printable form of a wire string: valid UTF-8 without control characters
// is kept; every other byte becomes "\xNN" (and a backslash becomes "\\").
std::string printable(const std::string& wire_text);

}  // namespace conntrail::capture
