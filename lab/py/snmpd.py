#!/usr/bin/env python3
"""Minimal read-only SNMPv1/v2c agent (RFC 3416) for a lab device.

Many cameras and DVRs ship an SNMP agent answering the community `public`;
that is what makes them SNMP reflectors: a 40-byte GetBulkRequest brings
back a response of a kilobyte or more. This agent answers Get, GetNext and
GetBulk from a small static system/interfaces table; anything it cannot
parse is dropped. BER (X.690) is read with bounds checks throughout, so a
malformed datagram is ignored, never a crash.
"""
import socket
import sys
import time

COMMUNITY = b"public"
MAX_REPETITIONS = 40


def enc_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def tlv(tag: int, value: bytes) -> bytes:
    return bytes([tag]) + enc_len(len(value)) + value


def enc_int(v: int) -> bytes:
    raw = v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big", signed=True)
    return tlv(0x02, raw)


def enc_oid(oid) -> bytes:
    out = bytes([oid[0] * 40 + oid[1]])
    for part in oid[2:]:
        chunk = [part & 0x7F]
        part >>= 7
        while part:
            chunk.append(0x80 | (part & 0x7F))
            part >>= 7
        out += bytes(reversed(chunk))
    return tlv(0x06, out)


def read_tlv(buf: bytes, off: int):
    """(tag, value start, value end) of the TLV at off; ValueError if bad."""
    if off + 2 > len(buf):
        raise ValueError("short")
    tag, n = buf[off], buf[off + 1]
    off += 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 3 or off + k > len(buf):
            raise ValueError("bad length")
        n = int.from_bytes(buf[off:off + k], "big")
        off += k
    if off + n > len(buf):
        raise ValueError("overrun")
    return tag, off, off + n


def dec_int(buf: bytes) -> int:
    return int.from_bytes(buf, "big", signed=True) if buf else 0


def dec_oid(buf: bytes):
    if not buf:
        raise ValueError("empty oid")
    oid = [buf[0] // 40, buf[0] % 40]
    v = 0
    for b in buf[1:]:
        v = (v << 7) | (b & 0x7F)
        if not b & 0x80:
            oid.append(v)
            v = 0
    return tuple(oid)


def mib(name: str, descr: str):
    start = time.time()
    s = lambda x: tlv(0x04, x.encode())  # noqa: E731
    rows = {
        (1, 3, 6, 1, 2, 1, 1, 1, 0): lambda: s(descr),
        (1, 3, 6, 1, 2, 1, 1, 2, 0): lambda: enc_oid((1, 3, 6, 1, 4, 1, 39165, 1, 1)),
        (1, 3, 6, 1, 2, 1, 1, 3, 0): lambda: tlv(0x43, int((time.time() - start) * 100).to_bytes(4, "big")),
        (1, 3, 6, 1, 2, 1, 1, 4, 0): lambda: s("admin@example.com"),
        (1, 3, 6, 1, 2, 1, 1, 5, 0): lambda: s(name),
        (1, 3, 6, 1, 2, 1, 1, 6, 0): lambda: s("Front door"),
        (1, 3, 6, 1, 2, 1, 1, 7, 0): lambda: enc_int(72),
        (1, 3, 6, 1, 2, 1, 2, 1, 0): lambda: enc_int(2),
    }
    for i, (ifname, speed) in enumerate([("lo", 10_000_000), ("eth0", 100_000_000)], start=1):
        rows[(1, 3, 6, 1, 2, 1, 2, 2, 1, 1, i)] = (lambda i=i: enc_int(i))
        rows[(1, 3, 6, 1, 2, 1, 2, 2, 1, 2, i)] = (lambda n=ifname: s(n))
        rows[(1, 3, 6, 1, 2, 1, 2, 2, 1, 3, i)] = (lambda i=i: enc_int(24 if i == 1 else 6))
        rows[(1, 3, 6, 1, 2, 1, 2, 2, 1, 4, i)] = (lambda: enc_int(1500))
        rows[(1, 3, 6, 1, 2, 1, 2, 2, 1, 5, i)] = (lambda v=speed: tlv(0x42, v.to_bytes(4, "big")))
        rows[(1, 3, 6, 1, 2, 1, 2, 2, 1, 7, i)] = (lambda: enc_int(1))
        rows[(1, 3, 6, 1, 2, 1, 2, 2, 1, 8, i)] = (lambda: enc_int(1))
        for col in (10, 11, 16, 17):
            rows[(1, 3, 6, 1, 2, 1, 2, 2, 1, col, i)] = (lambda: tlv(0x41, int(time.time() * 1000 % 2**32).to_bytes(4, "big")))
    return sorted(rows.items())


def answer(req: bytes, table):
    tag, s, e = read_tlv(req, 0)
    if tag != 0x30:
        return None
    t, vs, ve = read_tlv(req, s)
    version = dec_int(req[vs:ve])
    t, cs, ce = read_tlv(req, ve)
    if t != 0x04 or req[cs:ce] != COMMUNITY or version not in (0, 1):
        return None
    pdu, ps, pe = read_tlv(req, ce)
    if pdu not in (0xA0, 0xA1, 0xA5):
        return None
    t, rs, re_ = read_tlv(req, ps)
    rid = dec_int(req[rs:re_])
    t, a_s, a_e = read_tlv(req, re_)
    a = dec_int(req[a_s:a_e])
    t, b_s, b_e = read_tlv(req, a_e)
    b = dec_int(req[b_s:b_e])
    t, ls, le = read_tlv(req, b_e)
    oids, off = [], ls
    while off < le and len(oids) < 16:
        t, vbs, vbe = read_tlv(req, off)
        t, os_, oe = read_tlv(req, vbs)
        oids.append(dec_oid(req[os_:oe]))
        off = vbe
    binds = []
    keys = [k for k, _ in table]
    for n, oid in enumerate(oids):
        if pdu == 0xA0:
            hit = dict(table).get(oid)
            binds.append(enc_oid(oid) + (hit() if hit else tlv(0x80, b"")))
            continue
        reps = 1 if pdu == 0xA1 or n < a else max(0, min(b, MAX_REPETITIONS))
        cur = oid
        for _ in range(reps):
            nxt = next((i for i, k in enumerate(keys) if k > cur), None)
            if nxt is None:
                binds.append(enc_oid(cur) + tlv(0x82, b""))  # endOfMibView
                break
            cur = keys[nxt]
            binds.append(enc_oid(cur) + table[nxt][1]())
    body = b"".join(tlv(0x30, vb) for vb in binds)
    resp = enc_int(rid) + enc_int(0) + enc_int(0) + tlv(0x30, body)
    return tlv(0x30, enc_int(version) + tlv(0x04, COMMUNITY) + tlv(0xA2, resp))


def main() -> None:
    bind, name, descr = sys.argv[1], sys.argv[2], sys.argv[3]
    table = mib(name, descr)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((bind, 161))
    while True:
        data, peer = sock.recvfrom(2048)
        try:
            out = answer(data, table)
        except (ValueError, IndexError):
            continue
        if out:
            try:
                sock.sendto(out, peer)
            except OSError:
                pass


if __name__ == "__main__":
    main()
