#!/usr/bin/python3
"""Writes tests/data/attribution/radius-traffic.pcap: RADIUS accounting plus the
subscriber traffic it attributes, for the pipeline tests (flows' subscriber
column, ingest + attribute --data-dir).

Reuses the packet builders of scripts/gen-attribution-pcaps.py. Deterministic.
Timeline (T0 = 1700000000, NAS 192.0.2.1, all on untagged Ethernet):
  T0        Start  alice  100.64.1.7  session T-1
  T0+5      TCP    100.64.1.7:51000 -> 198.51.100.7:443, SYN/SYN-ACK/ACK/RST (closed at T0+6)
  T0+20     UDP    100.64.1.7:53000 -> 198.51.100.53:53 and the reply
  T0+100    Stop   alice  (observed end T0+100)
  T0+150    TCP    100.64.1.7:51001 -> 198.51.100.7:443  (no session covers it: a gap)
  T0+200    Start  bob    100.64.1.7  session T-2 (never stopped: open)
  T0+210    UDP    100.64.1.7:40000 -> 203.0.113.9:123 and the reply
Expected: flows at T0+5 and T0+20 carry alice, the one at T0+150 none, the one
at T0+210 bob; the RADIUS flow 192.0.2.1 <-> 192.0.2.10 none.

    /usr/bin/python3 tests/attribution/gen-attributed-traffic.py tests/data/attribution
"""
import importlib.util
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("gen", ROOT / "scripts" / "gen-attribution-pcaps.py")
gen = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen)

MAC_SUB = bytes.fromhex("021122334455")
MAC_GW = bytes.fromhex("020000000099")


def tcp4(src, dst, sport, dport, flags):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, flags, 65535, 0, 0)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0, gen.ip4(src), gen.ip4(dst))
    hdr = hdr[:10] + struct.pack("!H", gen.ipv4_checksum(hdr)) + hdr[12:]
    return hdr + tcp


def up(ip_packet):
    return gen.ether(MAC_SUB, MAC_GW, 0x0800, ip_packet)


def down(ip_packet):
    return gen.ether(MAC_GW, MAC_SUB, 0x0800, ip_packet)


def radius_traffic():
    sub = "100.64.1.7"
    return [
        (0.0, gen.radius_frame("192.0.2.1", gen.radius_acct("start", nas="192.0.2.1", session="T-1", user="alice", framed=sub))),
        (5.0, up(tcp4(sub, "198.51.100.7", 51000, 443, 0x02))),
        (5.01, down(tcp4("198.51.100.7", sub, 443, 51000, 0x12))),
        (5.02, up(tcp4(sub, "198.51.100.7", 51000, 443, 0x10))),
        (6.0, up(tcp4(sub, "198.51.100.7", 51000, 443, 0x04))),
        (20.0, up(gen.udp4(sub, "198.51.100.53", 53000, 53, b"\x12\x34" + bytes(10)))),
        (20.01, down(gen.udp4("198.51.100.53", sub, 53, 53000, b"\x12\x34" + bytes(26)))),
        (100.0, gen.radius_frame("192.0.2.1", gen.radius_acct("stop", nas="192.0.2.1", session="T-1", user="alice", framed=sub, session_time=100, cause=1))),
        (150.0, up(tcp4(sub, "198.51.100.7", 51001, 443, 0x02))),
        (150.5, up(tcp4(sub, "198.51.100.7", 51001, 443, 0x04))),
        (200.0, gen.radius_frame("192.0.2.1", gen.radius_acct("start", nas="192.0.2.1", session="T-2", user="bob", framed=sub))),
        (210.0, up(gen.udp4(sub, "203.0.113.9", 40000, 123, bytes(48)))),
        (210.02, down(gen.udp4("203.0.113.9", sub, 123, 40000, bytes(48)))),
    ]


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/data/attribution")
    gen._ident[0] = 0
    gen.write_pcap(out / "radius-traffic.pcap", radius_traffic())
    print(f"wrote {out / 'radius-traffic.pcap'}")


if __name__ == "__main__":
    main()
