#!/usr/bin/env python3
"""Writes the synthetic RADIUS/DHCP captures of tests/data/attribution/.

Each capture exercises one attribution rule of docs/ATTRIBUTION.md; the
expected sessions are next to it as <name>.sessions.csv, derived by hand from
the packet list below (not from conntrail's output). Deterministic: same bytes
on every run. Standard library only (pcap written with struct).

    python3 scripts/gen-attribution-pcaps.py tests/data/attribution
"""
import struct
import sys
from pathlib import Path

T0 = 1_700_000_000  # 2023-11-14T22:13:20Z

MAC_NAS = bytes.fromhex("020000000001")
MAC_SRV = bytes.fromhex("020000000002")


# ---- link, IP, UDP -----------------------------------------------------------

def ipv4_checksum(header: bytes) -> int:
    s = sum(struct.unpack("!10H", header))
    while s > 0xFFFF:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(a: str) -> bytes:
    return bytes(int(x) for x in a.split("."))


def ip6(a: str) -> bytes:
    import ipaddress
    return ipaddress.IPv6Address(a).packed


def ones_complement_sum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s > 0xFFFF:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def udp_segment(pseudo: bytes, sport, dport, payload: bytes) -> bytes:
    """UDP header + payload with the checksum over the pseudo-header (RFC 768, RFC 8200 §8.1)."""
    length = 8 + len(payload)
    bare = struct.pack("!HHHH", sport, dport, length, 0) + payload
    check = ~ones_complement_sum(pseudo + bare) & 0xFFFF
    return bare[:6] + struct.pack("!H", check or 0xFFFF) + bare[8:]


def udp4(src, dst, sport, dport, payload: bytes) -> bytes:
    pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 17, 8 + len(payload))
    udp = udp_segment(pseudo, sport, dport, payload)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, ip4(src), ip4(dst))
    hdr = hdr[:10] + struct.pack("!H", ipv4_checksum(hdr)) + hdr[12:]
    return hdr + udp


def udp6(src, dst, sport, dport, payload: bytes) -> bytes:
    pseudo = ip6(src) + ip6(dst) + struct.pack("!IxxxB", 8 + len(payload), 17)
    udp = udp_segment(pseudo, sport, dport, payload)
    return struct.pack("!IHBB16s16s", 0x60000000, len(udp), 17, 64, ip6(src), ip6(dst)) + udp


def ether(src_mac, dst_mac, ethertype, payload, vlans=()):
    # One TPID/TCI pair per tag: 802.1ad (0x88A8) outside when stacked, 802.1Q inside.
    frame = dst_mac + src_mac
    for i, vid in enumerate(vlans):
        tpid = 0x88A8 if (len(vlans) > 1 and i == 0) else 0x8100
        frame += struct.pack("!HH", tpid, vid)
    return frame + struct.pack("!H", ethertype) + payload


def pppoe_ipv4(src_mac, dst_mac, session, ip_packet):
    ppp = struct.pack("!H", 0x0021) + ip_packet
    return ether(src_mac, dst_mac, 0x8864, struct.pack("!BBHH", 0x11, 0, session, len(ppp)) + ppp)


def write_pcap(path: Path, packets):
    """packets: list of (seconds_float_offset_from_T0, frame_bytes)."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for offset, frame in packets:
        usec_total = round((T0 + offset) * 1_000_000)
        out.append(struct.pack("<IIII", usec_total // 1_000_000, usec_total % 1_000_000, len(frame), len(frame)))
        out.append(frame)
    path.write_bytes(b"".join(out))


# ---- RADIUS ------------------------------------------------------------------

STATUS = {"start": 1, "stop": 2, "interim": 3, "on": 7, "off": 8}
_ident = [0]


def avp(t, value: bytes) -> bytes:
    return struct.pack("!BB", t, 2 + len(value)) + value


def u32(v):
    return struct.pack("!I", v)


def v6prefix(text):
    addr, plen = text.split("/")
    plen = int(plen)
    return bytes([0, plen]) + ip6(addr)[: (plen + 7) // 8]


def radius_acct(status, nas, session=None, user=None, framed=None, prefix6=None, delegated=None,
                calling=None, delay=None, session_time=None, port_id=None, cause=None):
    attrs = b""
    if user is not None:
        attrs += avp(1, user.encode())
    attrs += avp(4, ip4(nas))
    if port_id is not None:
        attrs += avp(87, port_id.encode())
    if framed is not None:
        attrs += avp(8, ip4(framed))
    if prefix6 is not None:
        attrs += avp(97, v6prefix(prefix6))
    if delegated is not None:
        attrs += avp(123, v6prefix(delegated))
    if calling is not None:
        attrs += avp(31, calling.encode())
    if session is not None:
        attrs += avp(44, session.encode())
    attrs += avp(40, u32(STATUS[status]))
    if delay is not None:
        attrs += avp(41, u32(delay))
    if session_time is not None:
        attrs += avp(46, u32(session_time))
    if cause is not None:
        attrs += avp(49, u32(cause))
    attrs += avp(55, u32(T0))  # Event-Timestamp: parsed, not used for time (NAS clock)
    _ident[0] = (_ident[0] + 1) & 0xFF
    return struct.pack("!BBH16s", 4, _ident[0], 20 + len(attrs), bytes(16)) + attrs


def radius_response(ident):
    return struct.pack("!BBH16s", 5, ident, 20, bytes(16))


def radius_frame(nas, payload, vlans=()):
    return ether(MAC_NAS, MAC_SRV, 0x0800, udp4(nas, "192.0.2.10", 40000, 1813, payload), vlans)


# ---- DHCPv4 ------------------------------------------------------------------

def dhcp4(op, msgtype, xid, mac, yiaddr="0.0.0.0", ciaddr="0.0.0.0", giaddr="0.0.0.0",
          lease=None, server=None, requested=None, circuit=None, remote=None):
    fixed = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", op, 1, 6, 1 if giaddr != "0.0.0.0" else 0,
                        xid, 0, 0, ip4(ciaddr), ip4(yiaddr), b"\0" * 4, ip4(giaddr),
                        bytes.fromhex(mac.replace(":", "")) + bytes(10), bytes(64), bytes(128))
    opts = bytes([53, 1, msgtype])
    if server is not None:
        opts += bytes([54, 4]) + ip4(server)
    if lease is not None:
        opts += bytes([51, 4]) + u32(lease)
    if requested is not None:
        opts += bytes([50, 4]) + ip4(requested)
    if circuit is not None or remote is not None:
        sub = b""
        if circuit is not None:
            sub += bytes([1, len(circuit)]) + circuit.encode()
        if remote is not None:
            sub += bytes([2, len(remote)]) + remote.encode()
        opts += bytes([82, len(sub)]) + sub
    return fixed + struct.pack("!I", 0x63825363) + opts + bytes([255])


def dhcp4_server_frame(payload, dst="255.255.255.255"):
    # Relay → server path seen at the BNG uplink: server 198.51.100.67 to relay 100.64.5.1.
    return ether(MAC_SRV, MAC_NAS, 0x0800, udp4("198.51.100.67", dst, 67, 67, payload))


def dhcp4_client_frame(payload):
    return ether(MAC_NAS, MAC_SRV, 0x0800, udp4("100.64.5.1", "198.51.100.67", 67, 67, payload))


# ---- DHCPv6 ------------------------------------------------------------------

def opt6(code, value: bytes) -> bytes:
    return struct.pack("!HH", code, len(value)) + value


def duid_ll(mac):
    return struct.pack("!HH", 3, 1) + bytes.fromhex(mac.replace(":", ""))


def ia_na(iaid, addr, preferred, valid):
    inner = opt6(5, ip6(addr) + u32(preferred) + u32(valid))
    return opt6(3, u32(iaid) + u32(0) + u32(0) + inner)


def ia_pd(iaid, prefix, preferred, valid):
    addr, plen = prefix.split("/")
    inner = opt6(26, u32(preferred) + u32(valid) + bytes([int(plen)]) + ip6(addr))
    return opt6(25, u32(iaid) + u32(0) + u32(0) + inner)


def dhcp6(msgtype, xid, client_mac, *ias):
    body = opt6(1, duid_ll(client_mac)) + opt6(2, duid_ll("02:00:00:00:00:02"))
    for ia in ias:
        body += ia
    return struct.pack("!I", (msgtype << 24) | xid) + body


def relay_reply(inner, interface_id, remote_id):
    return (bytes([13, 0]) + ip6("2001:db8:ffff::1") + ip6("fe80::1")
            + opt6(18, interface_id.encode()) + opt6(37, u32(3561) + remote_id.encode())
            + opt6(9, inner))


def dhcp6_server_frame(payload):
    return ether(MAC_SRV, MAC_NAS, 0x86DD, udp6("2001:db8:53::547", "2001:db8:ffff::1", 547, 547, payload))


def dhcp6_client_frame(payload):
    return ether(MAC_NAS, MAC_SRV, 0x86DD, udp6("fe80::1", "ff02::1:2", 546, 547, payload))


# ---- scenarios ---------------------------------------------------------------

def radius_lifecycle():
    """Start / Interim / Stop (with Acct-Delay-Time) and a retransmitted Stop;
    an open session seen only from its Start; a session first seen by an
    Interim (backdated by Acct-Session-Time); VLAN and QinQ on the wire."""
    alice = dict(nas="192.0.2.1", session="A-0001", user="alice", framed="100.64.1.7",
                 prefix6="2001:db8:1:1::/64", delegated="2001:db8:100::/56",
                 calling="00-11-22-33-44-55", port_id="eth 0/1/0/5:100.200")
    return [
        (0.0, radius_frame("192.0.2.1", radius_acct("start", **alice), vlans=(50,))),
        (0.003, ether(MAC_SRV, MAC_NAS, 0x0800, udp4("192.0.2.10", "192.0.2.1", 1813, 40000, radius_response(1)), (50,))),
        (10.0, radius_frame("192.0.2.1", radius_acct("start", nas="192.0.2.1", session="B-0002", user="bob", framed="100.64.1.8"), vlans=(10, 20))),
        (300.0, radius_frame("192.0.2.1", radius_acct("interim", session_time=300, **alice), vlans=(50,))),
        (400.0, radius_frame("192.0.2.1", radius_acct("interim", nas="192.0.2.1", session="C-0003", user="carol", framed="100.64.1.9", session_time=3600))),
        (600.0, radius_frame("192.0.2.1", radius_acct("interim", session_time=600, **alice), vlans=(50,))),
        (900.0, radius_frame("192.0.2.1", radius_acct("stop", delay=2, session_time=898, cause=1, **alice), vlans=(50,))),
        (903.0, radius_frame("192.0.2.1", radius_acct("stop", delay=5, session_time=898, cause=1, **alice), vlans=(50,))),
    ]


def radius_accounting_on():
    """Accounting-On from NAS 1 (reboot) ends its sessions, assumed; Accounting-Off
    from NAS 2 ends its sessions, observed; a later Start on NAS 1 is a new session."""
    return [
        (0.0, radius_frame("192.0.2.1", radius_acct("start", nas="192.0.2.1", session="N1-1", user="carol", framed="100.64.2.1"))),
        (1.0, radius_frame("192.0.2.1", radius_acct("start", nas="192.0.2.1", session="N1-2", user="dave", framed="100.64.2.2"))),
        (2.0, radius_frame("192.0.2.2", radius_acct("start", nas="192.0.2.2", session="N2-1", user="erin", framed="100.64.3.1"))),
        (100.0, radius_frame("192.0.2.1", radius_acct("on", nas="192.0.2.1"))),
        (200.0, radius_frame("192.0.2.2", radius_acct("off", nas="192.0.2.2"))),
        (210.0, radius_frame("192.0.2.1", radius_acct("start", nas="192.0.2.1", session="N1-3", user="carol", framed="100.64.2.9"))),
    ]


def dhcp_lease():
    """Relayed DHCPv4 with option 82: a lease renewed once and then left to expire;
    a lease ended by RELEASE; a lease ended by NAK; a RELEASE from a client that
    does not hold the address (ignored, counted); INFORM's ACK (no lease)."""
    a, b, c, d = "00:11:22:00:00:0a", "00:11:22:00:00:0b", "00:11:22:00:00:0c", "00:11:22:00:00:0d"
    srv = "198.51.100.67"
    return [
        (0.0, dhcp4_server_frame(dhcp4(2, 5, 0x1001, a, yiaddr="100.64.5.5", giaddr="100.64.5.1", lease=600, server=srv, circuit="eth0/1/1:100", remote="cpe-42"))),
        (10.0, dhcp4_server_frame(dhcp4(2, 5, 0x1002, b, yiaddr="100.64.5.6", giaddr="100.64.5.1", lease=3600, server=srv, circuit="eth0/1/2:100"))),
        (20.0, dhcp4_server_frame(dhcp4(2, 5, 0x1003, c, yiaddr="100.64.5.7", giaddr="100.64.5.1", lease=3600, server=srv, circuit="eth0/1/3:100"))),
        (40.0, dhcp4_server_frame(dhcp4(2, 6, 0x1004, c, giaddr="100.64.5.1", server=srv))),
        (50.0, dhcp4_client_frame(dhcp4(1, 7, 0x1005, d, ciaddr="100.64.5.6", giaddr="100.64.5.1", server=srv))),
        (60.0, dhcp4_server_frame(dhcp4(2, 5, 0x1006, d, ciaddr="100.64.5.8", giaddr="100.64.5.1", server=srv))),
        (300.0, dhcp4_server_frame(dhcp4(2, 5, 0x1007, a, yiaddr="100.64.5.5", ciaddr="100.64.5.5", giaddr="100.64.5.1", lease=600, server=srv, circuit="eth0/1/1:100", remote="cpe-42"))),
        (500.0, dhcp4_client_frame(dhcp4(1, 7, 0x1008, b, ciaddr="100.64.5.6", giaddr="100.64.5.1", server=srv))),
        (1000.0, dhcp4_client_frame(dhcp4(1, 1, 0x1009, d, giaddr="100.64.5.1"))),
    ]


def dhcpv6_pd():
    """Relayed DHCPv6 (Relay-reply with Interface-Id and Remote-Id): IA_NA + IA_PD
    granted, renewed, the IA_NA withdrawn with valid lifetime 0, the prefix left to
    expire; a second client's prefix released; a Reply inside PPPoE."""
    m1, m2 = "00:11:22:00:01:01", "00:11:22:00:01:02"
    return [
        (0.0, dhcp6_server_frame(relay_reply(dhcp6(7, 0x000001, m1, ia_na(1, "2001:db8:ffff::10", 900, 1800), ia_pd(2, "2001:db8:2200::/56", 900, 1800)), "ae0.2001", "cpe-61"))),
        (5.0, dhcp6_server_frame(relay_reply(dhcp6(7, 0x000002, m2, ia_pd(7, "2001:db8:2300::/56", 900, 1800)), "ae0.2002", "cpe-62"))),
        (100.0, dhcp6_client_frame(dhcp6(8, 0x000003, m2, ia_pd(7, "2001:db8:2300::/56", 0, 0)))),
        (900.0, dhcp6_server_frame(relay_reply(dhcp6(7, 0x000004, m1, ia_na(1, "2001:db8:ffff::10", 900, 1800), ia_pd(2, "2001:db8:2200::/56", 900, 1800)), "ae0.2001", "cpe-61"))),
        (1000.0, dhcp6_server_frame(relay_reply(dhcp6(7, 0x000005, m1, ia_na(1, "2001:db8:ffff::10", 0, 0)), "ae0.2001", "cpe-61"))),
        (3000.0, dhcp6_client_frame(dhcp6(1, 0x000006, m2))),
    ]


def radius_overlap():
    """Two NASes claim one address (kept both: ambiguity), then NAS 1 gives it to
    a new session, which ends its own earlier one (superseded, assumed end).
    A PPPoE-carried Accounting-Request checks the walker path."""
    return [
        (0.0, radius_frame("192.0.2.1", radius_acct("start", nas="192.0.2.1", session="X-1", user="frank", framed="100.64.9.9"))),
        (60.0, radius_frame("192.0.2.2", radius_acct("start", nas="192.0.2.2", session="Y-1", user="grace", framed="100.64.9.9"))),
        (120.0, pppoe_ipv4(MAC_NAS, MAC_SRV, 0x0042, udp4("192.0.2.1", "192.0.2.10", 40000, 1813,
                radius_acct("start", nas="192.0.2.1", session="X-2", user="heidi", framed="100.64.9.9")))),
    ]


SCENARIOS = {
    "radius-lifecycle": radius_lifecycle,
    "radius-accounting-on": radius_accounting_on,
    "dhcp-lease": dhcp_lease,
    "dhcpv6-pd": dhcpv6_pd,
    "radius-overlap": radius_overlap,
}


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/data/attribution")
    out.mkdir(parents=True, exist_ok=True)
    for name, build in SCENARIOS.items():
        _ident[0] = 0
        write_pcap(out / f"{name}.pcap", build())
        print(f"wrote {out / name}.pcap")


if __name__ == "__main__":
    main()
