"""Helpers the lab's raw-frame scripts share (standard library only).

lanattack.py, mirai5.py and hscan5.py build Ethernet/IP frames by hand and
send them through AF_PACKET; the MAC conversions and the Internet checksum
(RFC 1071) they all need live here once.
"""

import struct


def mac_bytes(mac: str) -> bytes:
    return bytes(int(x, 16) for x in mac.split(":"))


def mac_str(b: bytes) -> str:
    return ":".join(f"{x:02x}" for x in b)


def if_mac(ifname: str) -> bytes:
    with open(f"/sys/class/net/{ifname}/address") as fh:
        return mac_bytes(fh.read().strip())


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF
