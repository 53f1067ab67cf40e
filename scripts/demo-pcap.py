#!/usr/bin/env python3
"""The demo's capture: generate it, or shift its clock into the last hours.

conntrail's demo reads a capture bundled in the repository
(configs/demo/demo.pcap). It was made by this script, deterministically, so
anyone can regenerate and inspect it:

    scripts/demo-pcap.py generate configs/demo/demo.pcap
    scripts/demo-pcap.py retime configs/demo/demo.pcap var/demo/demo.pcap --end now

`retime` shifts every packet time by one constant so that the last packet
falls at --end: the data is then inside retention, and queries "for the last
few hours" find it. Nothing else in the packets changes.

The traffic is a small access network: 40 dual-stack subscribers in
100.64.0.0/10 and 2001:db8:100::/40 behind a BNG, some on a VLAN, some on
PPPoE over QinQ, talking DNS, HTTPS (TCP and QUIC), SSH, ICMP echo and
NTP to servers in documentation prefixes, plus RADIUS accounting
(Start / Interim-Update / Stop) and DHCP, which subscriber attribution reads.
Only headers matter to conntrail; payloads are zero-filled.
"""
import argparse
import random
import struct
import sys
import time

LINKTYPE_ETHERNET = 1
PCAP_MAGIC_US = 0xA1B2C3D4


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(text):
    return bytes(int(x) for x in text.split("."))


def ip6(text):
    import ipaddress
    return ipaddress.IPv6Address(text).packed


# Like a capture taken with a headers-only snaplen: frames are cut at SNAPLEN
# bytes, except the RADIUS and DHCP messages that attribution must read whole.
SNAPLEN = 128


class Packet:
    def __init__(self, ts, frame, whole=False):
        self.ts = ts
        self.frame = frame
        self.whole = whole


def l4(proto, sport, dport, flags=0, payload_len=0, seq=0, ack=0, icmp_type=0, icmp_code=0,
       ident=0, payload=None):
    body = payload if payload is not None else bytes(payload_len)
    if proto == 6:
        return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 64240, 0, 0) + body
    if proto == 17:
        return struct.pack("!HHHH", sport, dport, 8 + len(body), 0) + body
    # ICMP / ICMPv6 echo
    return struct.pack("!BBHHH", icmp_type, icmp_code, 0, ident, dport) + body


def ipv4(src, dst, proto, payload, ident):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0x4000, 64, proto, 0,
                      ip4(src), ip4(dst))
    hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    return 0x0800, hdr + payload


def ipv6(src, dst, proto, payload):
    hdr = struct.pack("!IHBB16s16s", 6 << 28, len(payload), proto, 64, ip6(src), ip6(dst))
    return 0x86DD, hdr + payload


def ethernet(src_mac, dst_mac, ethertype, payload, vlans=(), pppoe_session=None):
    out = dst_mac + src_mac
    for i, vid in enumerate(vlans):
        tpid = 0x88A8 if (len(vlans) == 2 and i == 0) else 0x8100
        out += struct.pack("!HH", tpid, vid)
    if pppoe_session is not None:
        ppp_proto = 0x0021 if ethertype == 0x0800 else 0x0057
        out += struct.pack("!HBBHH", 0x8864, 0x11, 0, pppoe_session, len(payload) + 2)
        out += struct.pack("!H", ppp_proto) + payload
        return out
    return out + struct.pack("!H", ethertype) + payload


def radius_accounting(status, session_id, user, framed_ip, nas_ip, ident, event_ts,
                      calling_station, v6_prefix=None):
    def attr(t, v):
        return struct.pack("!BB", t, len(v) + 2) + v
    attrs = attr(40, struct.pack("!I", status))          # Acct-Status-Type
    attrs += attr(44, session_id.encode())                 # Acct-Session-Id
    attrs += attr(1, user.encode())                        # User-Name
    attrs += attr(8, ip4(framed_ip))                       # Framed-IP-Address
    attrs += attr(4, ip4(nas_ip))                          # NAS-IP-Address
    attrs += attr(31, calling_station.encode())            # Calling-Station-Id
    attrs += attr(55, struct.pack("!I", event_ts))         # Event-Timestamp
    if v6_prefix is not None:                              # Delegated-IPv6-Prefix
        attrs += attr(123, struct.pack("!BB", 0, 56) + ip6(v6_prefix)[:7])
    return struct.pack("!BBH16s", 4, ident & 0xFF, 20 + len(attrs), bytes(16)) + attrs


def dhcp_ack(xid, chaddr, yiaddr, server_ip, lease, circuit_id):
    fixed = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 2, 1, 6, 1, xid, 0, 0, bytes(4),
                        ip4(yiaddr), ip4(server_ip), bytes(4), chaddr + bytes(10), bytes(64),
                        bytes(128))
    opts = b"\x63\x82\x53\x63"
    opts += bytes([53, 1, 5])                               # DHCPACK
    opts += bytes([54, 4]) + ip4(server_ip)                 # server id
    opts += bytes([51, 4]) + struct.pack("!I", lease)       # lease time
    opts += bytes([1, 4]) + ip4("255.255.255.0")
    sub = bytes([1, len(circuit_id)]) + circuit_id.encode()
    opts += bytes([82, len(sub)]) + sub                     # relay agent: circuit-id
    opts += bytes([255])
    return fixed + opts


def generate(path, start, seed):
    rnd = random.Random(seed)
    bng_mac = bytes.fromhex("02005e000001")
    packets = []
    ident = [1]

    def next_id():
        ident[0] = (ident[0] + 1) & 0xFFFF
        return ident[0]

    subscribers = []
    for i in range(40):
        kind = "plain" if i < 16 else ("vlan" if i < 28 else "pppoe")
        subscribers.append({
            "v4": "100.64.%d.%d" % (i // 200, 10 + i),
            "v6": "2001:db8:100:%x00::%x" % (i + 1, 2 + i),
            "v6_prefix": "2001:db8:100:%x00::" % (i + 1),
            "mac": bytes([0x02, 0x11, 0x22, 0x00, 0x00, i]),
            "user": "sub%03d@isp.example" % i,
            "kind": kind,
            "vlans": (100 + i % 4,) if kind == "vlan" else ((3704, 2000 + i) if kind == "pppoe" else ()),
            "pppoe": 0x1000 + i if kind == "pppoe" else None,
        })
    servers4 = ["192.0.2.%d" % n for n in range(10, 40)] + ["198.51.100.%d" % n for n in range(1, 30)]
    servers6 = ["2001:db8:ffff::%x" % n for n in range(1, 30)]
    resolver4, resolver6 = "198.51.100.53", "2001:db8:ffff::53"
    nas_ip, radius_server, dhcp_server = "203.0.113.1", "203.0.113.2", "203.0.113.3"
    duration = 2 * 3600

    def emit(ts, sub, upstream, ethertype_payload, whole=False):
        ethertype, payload = ethertype_payload
        src_mac, dst_mac = (sub["mac"], bng_mac) if upstream else (bng_mac, sub["mac"])
        packets.append(Packet(ts, ethernet(src_mac, dst_mac, ethertype, payload,
                                           sub["vlans"], sub["pppoe"]), whole))

    def conversation(ts, sub, v6, proto, server, sport, dport, exchanges, gap):
        src = sub["v6"] if v6 else sub["v4"]
        mk = (lambda s, d, p, pl: ipv6(s, d, p, pl)) if v6 else \
             (lambda s, d, p, pl: ipv4(s, d, p, pl, next_id()))
        if proto == 6:
            emit(ts, sub, True, mk(src, server, 6, l4(6, sport, dport, flags=0x02)))
            emit(ts + 0.02, sub, False, mk(server, src, 6, l4(6, dport, sport, flags=0x12)))
            ts += 0.04
            for _ in range(exchanges):
                emit(ts, sub, True, mk(src, server, 6, l4(6, sport, dport, flags=0x18,
                                                             payload_len=rnd.randint(40, 600))))
                emit(ts + 0.03, sub, False, mk(server, src, 6, l4(6, dport, sport, flags=0x18,
                                                                   payload_len=rnd.randint(200, 1400))))
                ts += gap
            emit(ts, sub, True, mk(src, server, 6, l4(6, sport, dport, flags=0x11)))
            emit(ts + 0.02, sub, False, mk(server, src, 6, l4(6, dport, sport, flags=0x11)))
            emit(ts + 0.04, sub, True, mk(src, server, 6, l4(6, sport, dport, flags=0x10)))
        elif proto == 17:
            for _ in range(exchanges):
                emit(ts, sub, True, mk(src, server, 17, l4(17, sport, dport,
                                                           payload_len=rnd.randint(30, 1200))))
                emit(ts + 0.015, sub, False, mk(server, src, 17, l4(17, dport, sport,
                                                                    payload_len=rnd.randint(60, 1200))))
                ts += gap
        else:  # ICMP / ICMPv6 echo: dport carries the sequence number
            req, rep, p = (128, 129, 58) if v6 else (8, 0, 1)
            for seq in range(exchanges):
                emit(ts, sub, True, mk(src, server, p, l4(p, 0, seq, icmp_type=req, ident=sport,
                                                          payload_len=56)))
                emit(ts + 0.01, sub, False, mk(server, src, p, l4(p, 0, seq, icmp_type=rep,
                                                                  ident=sport, payload_len=56)))
                ts += 1.0

    # Attribution: each subscriber's session starts in the first minutes; a few stop and
    # come back later with a new address, so attribution queries have history to find.
    for i, sub in enumerate(subscribers):
        t0 = start + 5 + i * 3
        if sub["kind"] == "plain":
            xid = 0x1000 + i
            emit(t0, sub, False, ipv4(dhcp_server, "255.255.255.255", 17,
                                      l4(17, 67, 68, payload=dhcp_ack(xid, sub["mac"], sub["v4"],
                                                                      dhcp_server, 3600,
                                                                      "bng1/0/%d" % i)), next_id()), whole=True)
        else:
            session = "%08X" % (0xA000 + i)
            acct = radius_accounting(1, session, sub["user"], sub["v4"], nas_ip, i,
                                     int(t0), sub["mac"].hex(), sub["v6_prefix"])
            packets.append(Packet(t0, ethernet(bng_mac, bytes.fromhex("02005e000002"), *ipv4(
                nas_ip, radius_server, 17, l4(17, 40000 + i, 1813, payload=acct), next_id())), whole=True))

    for _ in range(1800):
        sub = subscribers[min(int(rnd.paretovariate(1.2)) - 1, len(subscribers) - 1)
                          if rnd.random() < 0.6 else rnd.randrange(len(subscribers))]
        ts = start + 300 + rnd.random() * (duration - 600)
        v6 = rnd.random() < 0.35
        kind = rnd.random()
        sport = rnd.randint(32768, 60999)
        if kind < 0.30:
            conversation(ts, sub, v6, 17, resolver6 if v6 else resolver4, sport, 53, 1, 0.0)
        elif kind < 0.65:
            conversation(ts, sub, v6, 6, rnd.choice(servers6 if v6 else servers4), sport,
                         rnd.choice([443, 443, 443, 80, 22, 993]), rnd.randint(1, 6),
                         rnd.uniform(0.05, 2.0))
        elif kind < 0.85:
            conversation(ts, sub, v6, 17, rnd.choice(servers6 if v6 else servers4), sport, 443,
                         rnd.randint(2, 8), rnd.uniform(0.01, 0.5))
        elif kind < 0.95:
            conversation(ts, sub, v6, 1, rnd.choice(servers6 if v6 else servers4),
                         rnd.randint(1, 65535), 0, rnd.randint(1, 4), 1.0)
        else:
            conversation(ts, sub, False, 17, "192.0.2.123", 123, 123, 1, 0.0)

    # Sessions of the PPPoE subscribers end near the end of the capture.
    for i, sub in enumerate(subscribers):
        if sub["kind"] == "pppoe" and i % 2 == 0:
            t1 = start + duration - 60 + i
            session = "%08X" % (0xA000 + i)
            acct = radius_accounting(2, session, sub["user"], sub["v4"], nas_ip, 100 + i,
                                     int(t1), sub["mac"].hex(), sub["v6_prefix"])
            packets.append(Packet(t1, ethernet(bng_mac, bytes.fromhex("02005e000002"), *ipv4(
                nas_ip, radius_server, 17, l4(17, 40000 + i, 1813, payload=acct), next_id())), whole=True))

    packets.sort(key=lambda p: p.ts)
    write_pcap(path, ((p.ts, p.frame if p.whole else p.frame[:SNAPLEN], len(p.frame))
                      for p in packets))
    return len(packets)


def write_pcap(path, records):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", PCAP_MAGIC_US, 2, 4, 0, 0, 65535, LINKTYPE_ETHERNET))
        for ts, frame, orig_len in records:
            sec = int(ts)
            usec = int(round((ts - sec) * 1e6))
            if usec >= 1000000:
                sec, usec = sec + 1, usec - 1000000
            f.write(struct.pack("<IIII", sec, usec, len(frame), orig_len) + frame)


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack("<I", data[:4])
    if magic != PCAP_MAGIC_US:
        sys.exit("demo-pcap: %s: only little-endian microsecond pcap is supported" % path)
    off = 24
    while off + 16 <= len(data):
        sec, usec, incl, orig = struct.unpack("<IIII", data[off:off + 16])
        yield sec * 1_000_000 + usec, data[off + 16:off + 16 + incl], orig
        off += 16 + incl


def retime(src, dst, end):
    records = list(read_pcap(src))
    if not records:
        sys.exit("demo-pcap: %s has no packets" % src)
    shift = int(end * 1_000_000) - max(t for t, _, _ in records)
    write_pcap(dst, (((t + shift) / 1e6, frame, orig) for t, frame, orig in records))
    return len(records), shift / 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("out")
    g.add_argument("--start", type=float, default=1767225600.0, help="epoch of the first packet")
    g.add_argument("--seed", type=int, default=7)
    r = sub.add_parser("retime")
    r.add_argument("src")
    r.add_argument("dst")
    r.add_argument("--end", default="now", help="epoch of the last packet, or 'now'")
    a = ap.parse_args()
    if a.cmd == "generate":
        n = generate(a.out, a.start, a.seed)
        print("demo-pcap: wrote %d packets to %s" % (n, a.out))
    else:
        end = time.time() - 60 if a.end == "now" else float(a.end)
        n, shift = retime(a.src, a.dst, end)
        print("demo-pcap: shifted %d packets by %+.0f s into %s" % (n, shift, a.dst))


if __name__ == "__main__":
    main()
