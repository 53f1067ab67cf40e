// capture/attribution/freeradius_detail.h — FreeRADIUS `detail` files, record by record.
//
// Job: read the radacct detail files FreeRADIUS's detail module writes and
// turn each record into the RadiusAccounting the wire parser would have made
// of the same Accounting-Request, with the time the server received it, so
// the SessionTracker derives sessions from a detail file exactly as from the
// wire (Start/Interim/Stop, Accounting-On/Off closing a NAS's sessions,
// Acct-Delay-Time, backdating from Acct-Session-Time).
//
// Format (rlm_detail): a header line in ctime form ("Tue Nov 29 10:02:17
// 2026"), then one `<tab>Attribute-Name = value` line per attribute, then a
// blank line. String values are quoted with C/octal escapes; enumerated values
// (Acct-Status-Type, Acct-Terminate-Cause) are names or numbers; dates
// (Event-Timestamp) are "Nov 29 2026 10:02:17 UTC" or epoch seconds.
// `Timestamp = <epoch>` is added by FreeRADIUS when it writes the record.
//
// Time of a record: Timestamp when present (the server's receipt time — what
// a capture's packet time is), else the header date read as UTC (rlm_detail
// writes it in the server's local zone and does not say which: run the
// server in UTC or keep Timestamp). The NAS is NAS-IP-Address, else
// NAS-IPv6-Address, else NAS-Identifier, else the packet source
// (Packet-Src-IP-Address / Packet-Src-IPv6-Address / Client-IP-Address) —
// the wire's order.
//
// Invariants: one bad value of an attribute the tracker uses (an address that
// does not parse, a number out of range) rejects its whole record, like a
// malformed attribute rejects a whole packet on the wire; unknown attributes
// are ignored; every rejected record is reported with the line number of the
// offending line. Memory: one record (at most max_record_lines lines of at
// most max_line_bytes) at a time.
#pragma once

#include <cstddef>
#include <functional>
#include <istream>

#include "capture/attribution/import_text.h"
#include "capture/attribution/radius_parser.h"
#include "core/ip_address.h"
#include "core/result.h"
#include "core/timestamp.h"

namespace conntrail::capture {

struct DetailRecord {
  std::size_t line = 0;  // of the header
  TimestampNs ts = 0;    // receipt time: Timestamp, else the header date (UTC)
  IpAddress packet_src;  // the NAS's packet source when the record names it; else unspecified
  RadiusAccounting acct;
};

// Calls on_record for each good record in file order; bad ones go to `errors`.
// Returns the number of records read (good and bad). Errors: kLimit (more
// than max_records records, or more than max_errors bad ones).
Result<std::size_t> read_freeradius_detail(std::istream& in, const ImportLimits& limits,
                                           ImportErrors& errors,
                                           const std::function<void(DetailRecord&&)>& on_record);

// One record's attribute lines (without the header) → the accounting facts.
// Exposed for tests. Errors name the attribute; `bad_line` gets its line.
Result<RadiusAccounting> detail_accounting(
    const std::vector<std::pair<std::size_t, std::string>>& lines, TimestampNs& timestamp,
    IpAddress& packet_src, std::size_t& bad_line);

}  // namespace conntrail::capture
