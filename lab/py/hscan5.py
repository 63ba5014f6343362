#!/usr/bin/env python3
"""An infected device's horizontal port scan of outside addresses (standard
library only), for lab/lib/scan5.sh: the shape IoT-23 labels
"PartOfAHorizontalPortScan" — one SYN per random address, on the ports IoT
bots look for (telnet 23/2323, Huawei 37215, Realtek 52869, adb 5555,
TR-069 7547, web 8080).

Each SYN is built as Mirai's scanner (bot/scanner.c) builds it: no TCP
options, window and IP id random, the sequence number the destination
address (how the bot recognises its answers), source port fixed for the
run. Frames are written to eth0 through an AF_PACKET socket addressed to
the gateway's MAC given on the command line, as a device's traffic to the
internet is; the lab has no route out, so nothing ever leaves it.

Destinations are drawn at random from 198.18.0.0/15 (RFC 2544 benchmarking
space: public-looking, never routed on the internet), so even a frame that
escaped could reach no real host.
"""
import argparse
import random
import socket
import struct
import time

from frames import checksum

PORTS = (23, 23, 23, 23, 2323, 37215, 52869, 5555, 7547, 8080)


def syn(src: bytes, dst: bytes, sport: int, dport: int, window: int, ident: int) -> bytes:
    seg = struct.pack("!HH4sIBBHHH", sport, dport, dst, 0, 5 << 4, 0x02, window, 0, 0)
    csum = checksum(src + dst + struct.pack("!BBH", 0, 6, len(seg)) + seg)
    seg = seg[:16] + struct.pack("!H", csum) + seg[18:]
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), ident, 0, 64, 6, 0, src, dst)
    return hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:] + seg


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--gw-mac", required=True, help="the gateway's MAC: every frame goes to it")
    p.add_argument("--count", type=int, default=2000, help="SYNs, one per random address")
    p.add_argument("--rate", type=float, default=100, help="SYNs a second")
    p.add_argument("--seed", type=int, default=5)
    a = p.parse_args()
    import fcntl
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    src = fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", b"eth0"))[20:24]  # SIOCGIFADDR
    with open("/sys/class/net/eth0/address") as fh:
        my_mac = bytes(int(x, 16) for x in fh.read().strip().split(":"))
    gw = bytes(int(x, 16) for x in a.gw_mac.split(":"))
    wire = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    wire.bind(("eth0", 0))
    head = gw + my_mac + struct.pack("!H", 0x0800)
    rnd = random.Random(a.seed)
    sport = rnd.randrange(1024, 65536)
    start = time.monotonic()
    for i in range(a.count):
        dst = struct.pack("!I", (198 << 24 | 18 << 16) + rnd.randrange(1 << 17))
        frame = syn(src, dst, sport, rnd.choice(PORTS), rnd.randrange(1, 65536), rnd.randrange(65536))
        try:
            wire.send(head + frame)
        except OSError:
            pass
        wait = start + (i + 1) / a.rate - time.monotonic()
        if wait > 0:
            time.sleep(wait)
    print(f"{a.count} SYNs to random addresses in 198.18.0.0/15 via {a.gw_mac}")


if __name__ == "__main__":
    main()
