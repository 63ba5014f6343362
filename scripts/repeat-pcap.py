#!/usr/bin/env python3
"""Repeat a little-endian microsecond pcap N times in time, for benchmarks.

Each copy is shifted by the capture's span plus one hour, so every flow of
one copy has timed out before the next begins. Used for the tenth session's
"real IoT traffic" stage timing in docs/benchmarks.md:

    mergecap -F pcap -w cset-both.pcap $WARD_DATASETS/iot-cset2021/pcaps/*.pcap
    scripts/repeat-pcap.py cset-both.pcap 14 /work/bench/cset-x14.pcap
"""
import struct
import sys


def main() -> None:
    if len(sys.argv) != 4:
        sys.exit("usage: repeat-pcap.py IN.pcap COPIES OUT.pcap")
    src, copies, dst = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    data = open(src, "rb").read()
    if len(data) < 24 or struct.unpack_from("<I", data, 0)[0] != 0xA1B2C3D4:
        sys.exit(f"{src}: not a little-endian microsecond pcap")
    records = []
    off = 24
    while off + 16 <= len(data):
        ts, usec, caplen, _ = struct.unpack_from("<IIII", data, off)
        if off + 16 + caplen > len(data):
            sys.exit(f"{src}: record at byte {off} runs past the end")
        records.append((ts, usec, data[off + 8 : off + 16 + caplen]))
        off += 16 + caplen
    if not records:
        sys.exit(f"{src}: no packets")
    span = records[-1][0] - records[0][0] + 3600
    with open(dst, "wb") as out:
        out.write(data[:24])
        for k in range(copies):
            for ts, usec, rest in records:
                out.write(struct.pack("<II", ts + k * span, usec))
                out.write(rest)
    print(f"{len(records) * copies} packets, {span} s a copy")


if __name__ == "__main__":
    main()
