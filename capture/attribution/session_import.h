// capture/attribution/session_import.h — sessions from an operator's CSV file.
//
// Job: read sessions that the appliance did not see on the wire (a RADIUS
// detail or DHCP lease export, converted to conntrail's session CSV) so they
// answer attribution queries like decoded ones, marked source=import.
//
// Format: RFC 4180 CSV with a header line naming the columns, in any order;
// `address`, `subscriber` and `start_ts` are required; `mac`, `end_ts`,
// `session_id`, `nas`, `end_assumed`, `duid` are optional; `source` and
// unknown columns are ignored (an import is always source=import). This is
// exactly what `conntrail sessions --format csv` writes, so its output
// round-trips (except text the formatter had to escape as \xNN, which is
// read back literally). Times: epoch seconds with a fraction, or RFC 3339.
//
// Invariants: bounded input — a field longer than kMaxFieldBytes, a row
// with more than kMaxColumns fields, more than max_rows rows, or more than
// max_errors bad rows stops the import with an error; a bad row is skipped
// and reported with its line number, never half-imported.
#pragma once

#include <cstddef>
#include <istream>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/session_record.h"

namespace conntrail::capture {

inline constexpr std::size_t kMaxFieldBytes = 4096;
inline constexpr std::size_t kMaxColumns = 64;

struct SessionImport {
  std::vector<SessionRecord> sessions;
  std::vector<std::string> errors;  // "line 7: start_ts: ..." per skipped row
  std::size_t rows = 0;             // data rows read (good and bad)
};

struct SessionImportLimits {
  std::size_t max_rows = 10'000'000;
  std::size_t max_errors = 1000;
};

Result<SessionImport> import_sessions_csv(std::istream& in, const SessionImportLimits& limits = {});

}  // namespace conntrail::capture
