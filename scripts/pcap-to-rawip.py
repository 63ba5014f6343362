#!/usr/bin/env python3
"""Strip the Ethernet header (and one VLAN tag) from a little-endian
microsecond pcap: IPv4 and IPv6 frames are kept as LINKTYPE_RAW (101) with
their wire length minus the header; every other frame (ARP, LLDP, ...) is
dropped. For scoring ward on header-only and raw-IP captures
(docs/evaluation.md, "Truncated and header-only captures"):

    scripts/pcap-to-rawip.py CAPTURE raw.pcap
    editcap -F pcap -s 64 raw.pcap raw64.pcap
"""
import struct
import sys


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit("usage: pcap-to-rawip.py IN.pcap OUT.pcap")
    src, dst = sys.argv[1], sys.argv[2]
    data = open(src, "rb").read()
    if len(data) < 24 or struct.unpack_from("<I", data, 0)[0] != 0xA1B2C3D4:
        sys.exit(f"{src}: not a little-endian microsecond pcap")
    header = bytearray(data[:24])
    struct.pack_into("<I", header, 20, 101)  # LINKTYPE_RAW
    out = [bytes(header)]
    off = 24
    while off + 16 <= len(data):
        ts, usec, caplen, wire = struct.unpack_from("<IIII", data, off)
        frame = data[off + 16 : off + 16 + caplen]
        off += 16 + caplen
        if len(frame) < 14:
            continue
        ethertype, start = struct.unpack_from(">H", frame, 12)[0], 14
        if ethertype == 0x8100 and len(frame) >= 18:
            ethertype, start = struct.unpack_from(">H", frame, 16)[0], 18
        if ethertype not in (0x0800, 0x86DD):
            continue
        body = frame[start:]
        out.append(struct.pack("<IIII", ts, usec, len(body), wire - start) + body)
    open(dst, "wb").write(b"".join(out))


if __name__ == "__main__":
    main()
