#!/usr/bin/env python3
"""Minimal SNTP server (RFC 4330 server side) for the lab gateway.

Answers every mode-3 (client) request with a mode-4 reply carrying the
gateway's wall clock. Debian bookworm ships no NTP daemon that is already
installed here, and ntpsec would try to discipline the host clock, which
namespaces share; this server only reads the clock.
"""
import socket
import struct
import sys
import time

NTP_EPOCH_OFFSET = 2208988800  # seconds from 1900-01-01 to 1970-01-01


def to_ntp(t: float) -> bytes:
    secs = int(t) + NTP_EPOCH_OFFSET
    frac = int((t - int(t)) * (1 << 32)) & 0xFFFFFFFF
    return struct.pack("!II", secs & 0xFFFFFFFF, frac)


def main() -> None:
    bind = sys.argv[1] if len(sys.argv) > 1 else "0.0.0.0"
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((bind, 123))
    reference = time.time()
    while True:
        data, peer = sock.recvfrom(512)
        recv = time.time()
        if len(data) < 48:
            continue
        mode = data[0] & 0x7
        version = (data[0] >> 3) & 0x7
        if mode != 3:
            continue
        # LI=0, same version as the client, mode 4 (server); stratum 2,
        # poll copied, precision 2^-20; reference id = a private upstream.
        header = struct.pack("!BBbb", (version << 3) | 4, 2, data[2], -20)
        root = struct.pack("!II", 0x00000200, 0x00000400)
        refid = socket.inet_aton("192.168.50.1")
        reply = (header + root + refid + to_ntp(reference) + data[40:48]
                 + to_ntp(recv) + to_ntp(time.time()))
        sock.sendto(reply, peer)


if __name__ == "__main__":
    main()
