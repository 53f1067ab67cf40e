// capture/attribution/dhcpd_leases.h — ISC dhcpd lease databases (dhcpd.leases, dhcpd6.leases).
//
// Job: read the lease file ISC dhcpd keeps (dhcpd.leases(5)) and turn every
// lease block into the DHCP message that made it: an active lease becomes the
// ACK (DHCPv4) or Reply (DHCPv6) that granted it at `starts` for `ends` −
// `starts` seconds; a lease in state free, released, expired, abandoned,
// reset or backup becomes the RELEASE (or zero-lifetime Reply) that ended it
// at `ends`. Replayed through the SessionTracker in time order, they give the
// sessions the agent would have decoded from the same exchanges (renewals
// extend, another client's lease on the same address supersedes, release
// ends, expiry ends assumed).
//
// The file is a journal: dhcpd appends a block each time a lease changes, so
// a later block for the same address supersedes an earlier one — which is
// what replaying the blocks in (time, file) order does.
//
// Syntax handled: `lease ADDR { starts W YYYY/MM/DD HH:MM:SS; ends ...|never;
// binding state S; hardware ethernet MAC; uid "..."|hex; option
// agent.circuit-id "..."|hex; option agent.remote-id ...; ... }`; `ia-na`,
// `ia-ta`, `ia-pd "IAID+DUID" { cltt ...; iaaddr ADDR { binding state S;
// preferred-life N; max-life N; ends ...; } iaprefix P/L { ... } }`; `epoch N`
// dates (db-time-format local); `authoring-byte-order` (the IAID's byte
// order in the ia key; little-endian when absent, as dhcpd on x86 writes it);
// `#` comments. Other top-level statements and blocks (server-duid,
// failover, host, class) are skipped. Dates are UTC, as dhcpd writes them.
//
// Invariants: a bad block (unparsable address, date, MAC; ends before starts;
// an unterminated string or block) is skipped whole and reported with the
// line of the offending statement; tokens are at most max_line_bytes, blocks
// at most max_record_lines statements and 4 levels deep; at most max_records
// blocks are read (the events are kept in memory, one per lease block, to be
// sorted).
#pragma once

#include <istream>
#include <vector>

#include "capture/attribution/import_text.h"
#include "core/result.h"

namespace conntrail::capture {

// Appends one event per lease (v4 lease block; v6 iaaddr/iaprefix) to `events`,
// in file order. Returns the number of lease blocks read (good and bad).
// Errors: kLimit (max_records blocks, max_errors bad ones).
Result<std::size_t> read_dhcpd_leases(std::istream& in, const ImportLimits& limits,
                                      ImportErrors& errors, std::vector<LeaseEvent>& events);

}  // namespace conntrail::capture
