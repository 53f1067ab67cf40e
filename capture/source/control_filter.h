// capture/source/control_filter.h — the BPF filter of a live interface's control handle.
//
// Attribution needs whole RADIUS accounting and DHCP messages, but the flow
// handle's snaplen (256 bytes by default) cuts them, and raising it for every
// packet would copy every packet's payload into the ring. So each interface
// gets a second handle that sees only UDP on the control ports, with a large
// snaplen (docs/ATTRIBUTION.md, "Snaplen"). The filter must also match those
// datagrams inside the encapsulations an access network uses: one or two
// VLAN tags, PPPoE sessions and MPLS labels (each optionally under one or two
// VLAN tags).
// In libpcap's language each `vlan`/`pppoes`/`mpls` keyword moves the offsets
// of *everything that follows in the expression*, across `or` alternatives
// too (pcap-filter(7)), and `vlan` after `pppoes` is refused. One expression
// can therefore hold untagged, 802.1Q and QinQ (`F or (vlan and F) or (vlan
// and F)`: the second `vlan` adds to the first) but not PPPoE or MPLS beside
// them; those get an expression — and a handle — of their own.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace conntrail::capture {

// One filter per control handle: untagged/802.1Q/QinQ; PPPoE; 802.1Q+PPPoE;
// QinQ+PPPoE; MPLS; 802.1Q+MPLS; QinQ+MPLS (the order is fixed: tests and
// docs/ATTRIBUTION.md name them by it). `mpls` matches the top label of one
// stack whose bottom-of-stack bit libpcap does not check, so a datagram under
// a stack of one label is matched; deeper stacks are not (their IP header is
// further in than `mpls` moves). Empty when `ports` is empty. Ports are
// deduplicated.
std::vector<std::string> control_bpf_filters(const std::vector<std::uint16_t>& ports);

}  // namespace conntrail::capture
