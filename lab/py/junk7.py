#!/usr/bin/env python3
"""Seventh-session lab shapes (lab/lib/junk7.sh): Gafgyt/Bashlite's JUNK
flood into a service that keeps reading, and the one-way bulk transfers
that look like it.

- `sink`: a TCP service that accepts every connection and reads whatever
  comes, never answering (a raw TCP port; a broker still waiting for its
  first packet behaves the same for as long as it reads).
- `junk`: Gafgyt's `sendJUNK` loop: `--conns` non-blocking sockets
  connected to one port, then 1 024 bytes on each in turn (with
  `--letters`, `makeRandomStr`'s capital letters, `rand() % 26 + 'A'`, new
  for each write; else random bytes), reconnecting a socket whose send
  fails. Paced to `--rate` bytes a second so the capture stays small (the
  real bot sends as fast as the link takes).
- `bulk`: the look-alike: `--conns` connections each writing one random
  128 KiB buffer over and over (iperf3's way), paced to `--rate` in all
  (one connection: `nc` copying a file).

Traffic goes only to the lab address given on the command line.
"""
import argparse
import errno
import os
import random
import select
import socket
import sys
import threading
import time


def sink(a) -> None:
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((a.bind, a.port))
    srv.listen(1024)
    srv.settimeout(0.5)
    end = time.time() + a.seconds
    got = [0, 0]

    def reader(c: socket.socket) -> None:
        c.settimeout(1.0)
        while time.time() < end:
            try:
                b = c.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            if not b:
                break
            got[0] += len(b)
        c.close()

    while time.time() < end:
        try:
            c, _ = srv.accept()
        except socket.timeout:
            continue
        got[1] += 1
        threading.Thread(target=reader, args=(c,), daemon=True).start()
    print(f"sink {a.port}: {got[0]} bytes over {got[1]} connections", flush=True)


def connect(target: str, port: int) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.connect((target, port))
    except BlockingIOError:
        pass
    return s


def pace(start: float, sent: int, rate: int) -> None:
    ahead = sent / rate - (time.time() - start)
    if ahead > 0:
        time.sleep(ahead)


def junk(a) -> None:
    rng = random.Random(a.seed)
    socks = [connect(a.target, a.port) for _ in range(a.conns)]
    # Wait for the handshakes as sendJUNK's state 1 does (select for writing).
    _, ready, _ = select.select([], socks, [], 2.0)
    start = time.time()
    end = start + a.seconds
    sent = reconnects = 0
    while time.time() < end:
        for i, s in enumerate(socks):
            if a.letters:
                buf = bytes(65 + rng.randrange(26) for _ in range(1024))
            else:
                buf = rng.randbytes(1024)
            try:
                sent += s.send(buf)
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.ENOTCONN):
                    s.close()
                    socks[i] = connect(a.target, a.port)
                    reconnects += 1
            pace(start, sent, a.rate)
    for s in socks:
        s.close()
    print(f"junk: {sent} bytes on {a.conns} sockets, {reconnects} reconnects", flush=True)


def bulk(a) -> None:
    buf = os.urandom(128 * 1024)
    socks = []
    for _ in range(a.conns):
        s = socket.create_connection((a.target, a.port), timeout=2)
        socks.append(s)
    start = time.time()
    end = start + a.seconds
    sent = 0
    off = 0
    while time.time() < end:
        for s in socks:
            chunk = buf[off : off + 16384]
            s.sendall(chunk)
            sent += len(chunk)
        off = (off + 16384) % len(buf)
        pace(start, sent, a.rate)
    for s in socks:
        s.close()
    print(f"bulk: {sent} bytes on {a.conns} connections", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sink")
    s.add_argument("--bind", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--seconds", type=float, default=60)
    for name in ("junk", "bulk"):
        j = sub.add_parser(name)
        j.add_argument("--target", required=True)
        j.add_argument("--port", type=int, required=True)
        j.add_argument("--conns", type=int, default=1)
        j.add_argument("--rate", type=int, default=2_000_000, help="bytes a second, in all")
        j.add_argument("--seconds", type=float, default=6)
        if name == "junk":
            j.add_argument("--letters", action="store_true")
            j.add_argument("--seed", type=int, default=7)
    a = p.parse_args()
    {"sink": sink, "junk": junk, "bulk": bulk}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
