#!/usr/bin/env python3
"""Writes the attribution fuzzer's seed corpus from the test captures.

Each Ethernet frame of tests/data/attribution/*.pcap becomes one seed with
selector byte 3 (frame through the walker); each UDP payload that the simple
walk below finds becomes seeds with selectors 0/1/2 (direct parser entry), and
one multi-record seed (selector 4) per capture replays its messages as a sequence.

    python3 fuzz/attribution/seeds.py tests/data/attribution build/fuzz/attribution/corpus
"""
import hashlib
import struct
import sys
from pathlib import Path


def frames(path: Path):
    raw = path.read_bytes()
    magic = struct.unpack("<I", raw[:4])[0]
    if magic not in (0xA1B2C3D4, 0xA1B23C4D):
        return  # big-endian and pcapng files: not needed for seeding
    if struct.unpack("<I", raw[20:24])[0] != 1:
        return  # Ethernet only
    at = 24
    while at + 16 <= len(raw):
        caplen = struct.unpack("<I", raw[at + 8:at + 12])[0]
        yield raw[at + 16:at + 16 + caplen]
        at += 16 + caplen


def udp_payload(frame: bytes):
    """(dst_port, payload) for Ethernet [VLAN]* IPv4/IPv6 UDP, else None."""
    at, etype = 12, struct.unpack("!H", frame[12:14])[0]
    while etype in (0x8100, 0x88A8):
        at += 4
        etype = struct.unpack("!H", frame[at:at + 2])[0]
    at += 2
    if etype == 0x8864:
        ppp = struct.unpack("!H", frame[at + 6:at + 8])[0]
        etype = {0x0021: 0x0800, 0x0057: 0x86DD}.get(ppp, 0)
        at += 8
    if etype == 0x0800 and frame[at + 9] == 17:
        at += (frame[at] & 0x0F) * 4
    elif etype == 0x86DD and frame[at + 6] == 17:
        at += 40
    else:
        return None
    return struct.unpack("!H", frame[at + 2:at + 4])[0], frame[at + 8:]


def main():
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    seeds = []
    for pcap in sorted(src.glob("*.pcap")):
        sequence = b""
        for frame in frames(pcap):
            seeds.append(b"\x03" + frame)
            found = udp_payload(frame)
            if not found:
                continue
            port, payload = found
            kind = 0 if port in (1813, 1646) else 1 if port in (67, 68) else 2 if port in (546, 547) else None
            if kind is None:
                continue
            seeds.append(bytes([kind]) + payload)
            sequence += struct.pack("!BhH", kind, 30, len(payload)) + payload
        if sequence:
            seeds.append(b"\x04" + sequence)
    # Session CSV seeds for the importer (selector 5).
    seeds.append(b"\x05address,subscriber,mac,source,start_ts,end_ts,session_id,nas,end_assumed,duid\n"
                 b"2001:db8:100::/56,\"a,\"\"b\"\"\",00:11:22:33:44:55,radius,1700000000.000000,"
                 b"1700000898.000000,A-0001,192.0.2.1,false,0003000100112233\n")
    seeds.append(b"\x05start_ts,address,subscriber\r\n2023-11-14T22:13:20Z,100.64.1.7,alice\r\n")
    # Session files for the importers (selectors 6-9): the hand-written samples.
    imports = src.parent / "import"
    for name, selector in (("freeradius-detail", 6), ("dhcpd.leases", 7), ("dhcpd6.leases", 7),
                           ("kea-leases4.csv", 8), ("kea-leases6.csv", 9)):
        if (imports / name).exists():
            seeds.append(bytes([selector]) + (imports / name).read_bytes())
    for seed in seeds:
        (out / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
    print(f"{len(seeds)} seeds in {out}")


if __name__ == "__main__":
    main()
