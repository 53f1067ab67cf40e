// capture/attribution/kea_leases.h — Kea memfile lease files (kea-leases4.csv, kea-leases6.csv).
//
// Job: read the CSV lease files Kea's memfile backend keeps and turn every row
// into the DHCP message that made it, for the SessionTracker to replay in time
// order — the same contract as dhcpd_leases.h. Columns are found by the
// header's names (Kea adds columns over versions; unknown ones are ignored):
//   v4: address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,
//       fqdn_rev,hostname,state,user_context[,pool_id]
//   v6: address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,
//       iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context[,...]
// Kea escapes a comma inside a field as "&#x2c" (any "&#xHH"); fields are never quoted.
//
// Row → message: the lease began at cltt = expire − valid_lifetime.
//   state 0 (default), valid_lifetime > 0  → ACK / Reply at cltt for valid_lifetime
//                                            (IA_PD rows, lease_type 2, give address/prefix_len)
//   state 1 (declined)                     → DECLINE / zero-lifetime Reply at cltt
//   state 2 (expired-reclaimed)            → RELEASE / zero-lifetime Reply at expire
//   valid_lifetime 0 (a deleted lease)     → nothing: Kea writes the deleted lease with
//                                            its old cltt, not the time of deletion, so the
//                                            lease keeps its earlier expiry (an assumed end)
// A row later in the file supersedes an earlier one for the same lease, which
// the replay in (time, file) order gives. Relay information Kea keeps in
// user_context (store-extended-info: ISC.relay-agent-info sub-options for
// v4, ISC.relay-info options for v6) gives circuit-id, remote-id and
// subscriber-id, as option 82 / the relay options do on the wire.
//
// Invariants: a bad row (wrong field count for the header, an unparsable
// address, number or identifier, expire < valid_lifetime) is skipped and
// reported with its line; a line is at most max_line_bytes; at most
// max_records rows.
#pragma once

#include <istream>
#include <vector>

#include "capture/attribution/import_text.h"
#include "core/result.h"

namespace conntrail::capture {

// Appends one event per lease row (deleted-lease rows give none) to `events`,
// in file order; returns the number of rows read. Errors: kInvalidArgument
// (no header, or a header without a required column), kLimit.
Result<std::size_t> read_kea_leases4(std::istream& in, const ImportLimits& limits,
                                     ImportErrors& errors, std::vector<LeaseEvent>& events);
Result<std::size_t> read_kea_leases6(std::istream& in, const ImportLimits& limits,
                                     ImportErrors& errors, std::vector<LeaseEvent>& events);

}  // namespace conntrail::capture
