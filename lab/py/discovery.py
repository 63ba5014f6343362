"""mDNS (RFC 6762/6763) and SSDP (UPnP 1.0) wire helpers for the lab devices.

Only what the lab's devices say on the wire: unsolicited announcements,
answers to queries for names they own, and the queries a phone sends.
Names are written without compression (legal, and what many embedded
stacks do); incoming names are read with pointer support and a hop limit
so a malformed packet cannot loop.
"""
import struct

MDNS_GROUP = "224.0.0.251"
MDNS_PORT = 5353
SSDP_GROUP = "239.255.255.250"
SSDP_PORT = 1900

T_A, T_PTR, T_TXT, T_SRV, T_ANY = 1, 12, 16, 33, 255
CACHE_FLUSH = 0x8000


def encode_name(name: str) -> bytes:
    out = b""
    for label in name.rstrip(".").split("."):
        raw = label.encode()
        out += bytes([len(raw)]) + raw
    return out + b"\x00"


def read_name(buf: bytes, off: int):
    """Return (name, offset after the name in the original position)."""
    labels, end, hops = [], None, 0
    while True:
        if off >= len(buf) or hops > 32:
            raise ValueError("bad name")
        n = buf[off]
        if n == 0:
            off += 1
            break
        if n & 0xC0 == 0xC0:
            if off + 1 >= len(buf):
                raise ValueError("bad pointer")
            if end is None:
                end = off + 2
            off = ((n & 0x3F) << 8) | buf[off + 1]
            hops += 1
            continue
        labels.append(buf[off + 1:off + 1 + n].decode("utf-8", "replace"))
        off += 1 + n
    return ".".join(labels), (end if end is not None else off)


def rr(name: str, rtype: int, rclass: int, ttl: int, rdata: bytes) -> bytes:
    return encode_name(name) + struct.pack("!HHIH", rtype, rclass, ttl, len(rdata)) + rdata


def txt_rdata(items) -> bytes:
    out = b""
    for item in items:
        raw = item.encode()[:255]
        out += bytes([len(raw)]) + raw
    return out or b"\x00"


class MdnsService:
    """One DNS-SD service instance published by a device."""

    def __init__(self, host, ip, service, instance, port, txt):
        self.host = host + ".local"
        self.ip = ip
        self.service = service + ".local"          # e.g. _http._tcp.local
        self.instance = instance + "." + self.service
        self.port = port
        self.txt = txt

    def owns(self, qname: str) -> bool:
        q = qname.lower().rstrip(".")
        return q in (self.service.lower(), self.instance.lower(), self.host.lower(),
                     "_services._dns-sd._udp.local")

    def response(self, ttl=120) -> bytes:
        answers = [
            rr(self.service, T_PTR, 1, 4500, encode_name(self.instance)),
            rr(self.instance, T_SRV, 1 | CACHE_FLUSH, ttl,
               struct.pack("!HHH", 0, 0, self.port) + encode_name(self.host)),
            rr(self.instance, T_TXT, 1 | CACHE_FLUSH, 4500, txt_rdata(self.txt)),
            rr(self.host, T_A, 1 | CACHE_FLUSH, ttl, bytes(int(x) for x in self.ip.split("."))),
        ]
        return struct.pack("!HHHHHH", 0, 0x8400, 0, len(answers), 0, 0) + b"".join(answers)


def mdns_query(names, unicast_response=False) -> bytes:
    qclass = 1 | (0x8000 if unicast_response else 0)
    body = b"".join(encode_name(n) + struct.pack("!HH", T_PTR, qclass) for n in names)
    return struct.pack("!HHHHHH", 0, 0, len(names), 0, 0, 0) + body


def parse_questions(buf: bytes):
    """Names asked in an mDNS query; empty for responses or malformed input."""
    if len(buf) < 12:
        return []
    _id, flags, qd, _an, _ns, _ar = struct.unpack("!HHHHHH", buf[:12])
    if flags & 0x8000:
        return []
    off, names = 12, []
    for _ in range(min(qd, 32)):
        try:
            name, off = read_name(buf, off)
        except ValueError:
            break
        off += 4
        names.append(name)
    return names


def ssdp_notify(location, nt, usn, server) -> bytes:
    return ("NOTIFY * HTTP/1.1\r\n"
            f"HOST: {SSDP_GROUP}:{SSDP_PORT}\r\n"
            "CACHE-CONTROL: max-age=1800\r\n"
            f"LOCATION: {location}\r\n"
            f"NT: {nt}\r\n"
            "NTS: ssdp:alive\r\n"
            f"SERVER: {server}\r\n"
            f"USN: {usn}\r\n\r\n").encode()


def ssdp_search_reply(location, st, usn, server) -> bytes:
    return ("HTTP/1.1 200 OK\r\n"
            "CACHE-CONTROL: max-age=1800\r\n"
            "EXT:\r\n"
            f"LOCATION: {location}\r\n"
            f"SERVER: {server}\r\n"
            f"ST: {st}\r\n"
            f"USN: {usn}\r\n\r\n").encode()


def ssdp_msearch(st="ssdp:all", mx=2) -> bytes:
    return ("M-SEARCH * HTTP/1.1\r\n"
            f"HOST: {SSDP_GROUP}:{SSDP_PORT}\r\n"
            'MAN: "ssdp:discover"\r\n'
            f"MX: {mx}\r\n"
            f"ST: {st}\r\n\r\n").encode()
