// capture/attribution/session_import.h — sessions from the files operators have.
//
// Job: read sessions that the appliance did not see on the wire so they
// answer attribution queries like decoded ones, marked source=import. Five
// formats (ImportFormat):
//  - conntrail-csv: conntrail's own session CSV (below);
//  - freeradius-detail: FreeRADIUS radacct detail files (freeradius_detail.h);
//  - isc-dhcpd-leases: ISC dhcpd / dhcpd -6 lease databases (dhcpd_leases.h);
//  - kea-lease4 / kea-lease6: Kea memfile lease CSVs (kea_leases.h).
// The accounting and lease formats are not turned into sessions here: each
// record becomes the RADIUS/DHCP message it stands for, and those messages go
// through the same SessionTracker the wire path uses (same subscriber-id
// order, same Start/Interim/Stop, Accounting-On/Off, renewal, release and
// expiry rules), so an imported session and a decoded one of the same
// subscriber carry the same id and the same kind of end. Detail records are
// fed as read (the file is written in arrival order); lease records are
// replayed in (time, file) order, since dhcpd and Kea rewrite their files in
// address order when they compact them. At the end, leases that expire are
// closed at their expiry (assumed, as the agent would with no renewal seen);
// RADIUS sessions without a Stop and infinite leases stay open.
//
// conntrail-csv: RFC 4180 CSV with a header line naming the columns, in any order;
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
#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "capture/attribution/import_text.h"
#include "capture/attribution/session_tracker.h"
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

enum class ImportFormat : std::uint8_t {
  kConntrailCsv,
  kFreeradiusDetail,
  kIscDhcpdLeases,
  kKeaLease4,
  kKeaLease6,
};

std::string_view to_string(ImportFormat format) noexcept;
// "conntrail-csv", "freeradius-detail", "isc-dhcpd-leases", "kea-lease4", "kea-lease6".
Result<ImportFormat> parse_import_format(std::string_view text);
// The format the first bytes of a file show, when exactly one fits: a Kea
// header line, a conntrail CSV header, a ctime detail header followed by a
// tab-indented attribute, or a dhcpd `lease`/`ia-*`/`#` opening. nullopt otherwise.
std::optional<ImportFormat> detect_import_format(std::string_view head);

struct ImportOptions {
  ImportLimits limits;
  // How sessions are derived: the subscriber-id order and the bounds, as the
  // agent's [attribution] section sets them for decoded sessions.
  SessionTrackerConfig tracker;
  // The DHCP server (lease files do not name one) and the NAS of detail
  // records that name neither NAS-IP-Address, NAS-Identifier nor a packet
  // source. Unspecified by default.
  IpAddress server;
};

struct FileImport {
  std::vector<SessionRecord> sessions;  // sorted by start, address, end; source=import
  std::vector<std::string> errors;      // "line N: why" per skipped record
  std::size_t records = 0;              // records / rows / lease blocks read (good and bad)
  SessionTrackerCounters tracker;       // how the records became sessions
};

// Reads a whole file of `format`. Errors: the format's fatal ones (no header,
// kLimit); bad records are in `errors`, never fatal below limits.max_errors.
Result<FileImport> import_sessions(std::istream& in, ImportFormat format,
                                   const ImportOptions& options = {});

}  // namespace conntrail::capture
