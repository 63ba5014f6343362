//! Ethernet frames built from the RFCs: IPv4 (RFC 791) and IPv6 (RFC 8200)
//! carrying TCP (RFC 9293), UDP (RFC 768) or ICMP/ICMPv6 echo, with correct
//! header checksums, optionally 802.1Q-tagged. Every builder appends to a
//! caller-owned buffer so the generator allocates nothing per packet.

use std::net::IpAddr;

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
pub const ETHERTYPE_ARP: u16 = 0x0806;
pub const ETHERTYPE_VLAN: u16 = 0x8100;

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

/// Link and network addresses of one direction of a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Path {
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    pub src_ip: IpAddr,
    pub dst_ip: IpAddr,
    pub vlan: Option<u16>,
    pub ttl: u8,
}

impl Path {
    /// The same path seen from the other end.
    pub fn reversed(&self, ttl: u8) -> Path {
        Path {
            src_mac: self.dst_mac,
            dst_mac: self.src_mac,
            src_ip: self.dst_ip,
            dst_ip: self.src_ip,
            vlan: self.vlan,
            ttl,
        }
    }
}

/// One's-complement sum of `data` added to `sum` (RFC 1071).
fn sum16(mut sum: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    sum
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn pseudo_header(src: IpAddr, dst: IpAddr, proto: u8, len: usize) -> u32 {
    let mut s = 0;
    match (src, dst) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            s = sum16(s, &a.octets());
            s = sum16(s, &b.octets());
        }
        (a, b) => {
            s = sum16(s, &v6(a));
            s = sum16(s, &v6(b));
        }
    }
    s + u32::from(proto) + len as u32
}

fn v6(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
        IpAddr::V6(a) => a.octets(),
    }
}

fn ethernet(out: &mut Vec<u8>, p: &Path, ethertype: u16) {
    out.extend_from_slice(&p.dst_mac);
    out.extend_from_slice(&p.src_mac);
    if let Some(vid) = p.vlan {
        out.extend_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
        out.extend_from_slice(&(vid & 0x0fff).to_be_bytes());
    }
    out.extend_from_slice(&ethertype.to_be_bytes());
}

/// Ethernet + IP header for `l4_len` bytes of `proto`; returns where the
/// transport header starts.
fn ip_header(out: &mut Vec<u8>, p: &Path, proto: u8, l4_len: usize, ident: u16) -> usize {
    match (p.src_ip, p.dst_ip) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            ethernet(out, p, ETHERTYPE_IPV4);
            let start = out.len();
            let total = (20 + l4_len) as u16;
            out.extend_from_slice(&[0x45, 0]);
            out.extend_from_slice(&total.to_be_bytes());
            out.extend_from_slice(&ident.to_be_bytes());
            out.extend_from_slice(&0x4000u16.to_be_bytes()); // DF
            out.extend_from_slice(&[p.ttl, proto, 0, 0]);
            out.extend_from_slice(&s.octets());
            out.extend_from_slice(&d.octets());
            let c = fold(sum16(0, &out[start..start + 20]));
            out[start + 10..start + 12].copy_from_slice(&c.to_be_bytes());
        }
        (s, d) => {
            ethernet(out, p, ETHERTYPE_IPV6);
            out.extend_from_slice(&0x6000_0000u32.to_be_bytes());
            out.extend_from_slice(&(l4_len as u16).to_be_bytes());
            out.extend_from_slice(&[proto, p.ttl]);
            out.extend_from_slice(&v6(s));
            out.extend_from_slice(&v6(d));
        }
    }
    out.len()
}

/// A TCP segment. `options` must be a multiple of 4 bytes (at most 40).
#[allow(clippy::too_many_arguments)]
pub fn tcp(
    out: &mut Vec<u8>,
    p: &Path,
    ports: (u16, u16),
    seq: u32,
    ack: u32,
    flags: u8,
    options: &[u8],
    payload: &[u8],
) {
    debug_assert!(options.len().is_multiple_of(4) && options.len() <= 40);
    let hlen = 20 + options.len();
    let l4 = ip_header(out, p, 6, hlen + payload.len(), seq as u16);
    out.extend_from_slice(&ports.0.to_be_bytes());
    out.extend_from_slice(&ports.1.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&ack.to_be_bytes());
    out.extend_from_slice(&[((hlen / 4) as u8) << 4, flags]);
    out.extend_from_slice(&64_240u16.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent
    out.extend_from_slice(options);
    out.extend_from_slice(payload);
    let c = fold(sum16(
        pseudo_header(p.src_ip, p.dst_ip, 6, out.len() - l4),
        &out[l4..],
    ));
    out[l4 + 16..l4 + 18].copy_from_slice(&c.to_be_bytes());
}

/// SYN options of a typical Linux client: MSS, SACK permitted, timestamps,
/// NOP, window scale (20 bytes).
pub const LINUX_SYN_OPTIONS: [u8; 20] = [
    2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0x10, 0, 0, 0, 0, 0, 1, 3, 3, 7,
];

pub fn udp(out: &mut Vec<u8>, p: &Path, ports: (u16, u16), payload: &[u8]) {
    let len = 8 + payload.len();
    let l4 = ip_header(out, p, 17, len, payload.len() as u16);
    out.extend_from_slice(&ports.0.to_be_bytes());
    out.extend_from_slice(&ports.1.to_be_bytes());
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(payload);
    let c = match fold(sum16(
        pseudo_header(p.src_ip, p.dst_ip, 17, len),
        &out[l4..],
    )) {
        0 => 0xffff,
        c => c,
    };
    out[l4 + 6..l4 + 8].copy_from_slice(&c.to_be_bytes());
}

/// ICMP (IPv4) or ICMPv6 echo request/reply.
pub fn icmp_echo(out: &mut Vec<u8>, p: &Path, request: bool, id: u16, seq: u16, payload: &[u8]) {
    let is_v6 = p.src_ip.is_ipv6();
    let (proto, kind) = match (is_v6, request) {
        (false, true) => (1, 8),
        (false, false) => (1, 0),
        (true, true) => (58, 128),
        (true, false) => (58, 129),
    };
    let len = 8 + payload.len();
    let l4 = ip_header(out, p, proto, len, seq);
    out.extend_from_slice(&[kind, 0, 0, 0]);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(payload);
    let base = if is_v6 {
        pseudo_header(p.src_ip, p.dst_ip, 58, len)
    } else {
        0
    };
    let c = fold(sum16(base, &out[l4..]));
    out[l4 + 2..l4 + 4].copy_from_slice(&c.to_be_bytes());
}

/// An ICMPv6 message (RFC 4443) of `kind` and `code` over IPv6: `body` is
/// everything after the checksum (an ND message's fixed fields and options).
pub fn icmpv6(out: &mut Vec<u8>, p: &Path, kind: u8, code: u8, body: &[u8]) {
    let len = 4 + body.len();
    let l4 = ip_header(out, p, 58, len, 0);
    out.extend_from_slice(&[kind, code, 0, 0]);
    out.extend_from_slice(body);
    let c = fold(sum16(
        pseudo_header(p.src_ip, p.dst_ip, 58, len),
        &out[l4..],
    ));
    out[l4 + 2..l4 + 4].copy_from_slice(&c.to_be_bytes());
}

/// An ARP request (`request`) or reply for IPv4 over Ethernet (RFC 826).
pub fn arp(
    out: &mut Vec<u8>,
    request: bool,
    sender: ([u8; 6], [u8; 4]),
    target: ([u8; 6], [u8; 4]),
) {
    let dst = if request { [0xff; 6] } else { target.0 };
    out.extend_from_slice(&dst);
    out.extend_from_slice(&sender.0);
    out.extend_from_slice(&ETHERTYPE_ARP.to_be_bytes());
    out.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, if request { 1 } else { 2 }]);
    out.extend_from_slice(&sender.0);
    out.extend_from_slice(&sender.1);
    out.extend_from_slice(&if request { [0; 6] } else { target.0 });
    out.extend_from_slice(&target.1);
    // Pad to the 60-byte Ethernet minimum, as a NIC would.
    out.resize(out.len().max(60), 0);
}

/// Multicast MAC of an IPv4 group (RFC 1112) or IPv6 group (RFC 2464).
pub fn multicast_mac(ip: IpAddr) -> [u8; 6] {
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            [0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]]
        }
        IpAddr::V6(a) => {
            let o = a.octets();
            [0x33, 0x33, o[12], o[13], o[14], o[15]]
        }
    }
}
