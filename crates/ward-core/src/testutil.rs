//! Frames built in code for tests (etherparse's `PacketBuilder`), so tests
//! state what they send instead of pasting hex.
#![allow(dead_code)]

use etherparse::{PacketBuilder, TcpOptionElement, VlanId};

use crate::engine::{Engine, EngineConfig, VecSink};
use crate::event::Event;
use crate::time::Timestamp;

pub const MAC_A: [u8; 6] = [0x00, 0x1a, 0x11, 0x00, 0x00, 0x01]; // Google OUI
pub const MAC_B: [u8; 6] = [0xb0, 0xc5, 0x54, 0x00, 0x00, 0x02]; // D-Link OUI
pub const IP_A: [u8; 4] = [192, 168, 1, 10];
pub const IP_B: [u8; 4] = [192, 168, 1, 20];

/// An Ethernet/IPv4/TCP frame.
pub fn tcp(
    src: ([u8; 6], [u8; 4], u16),
    dst: ([u8; 6], [u8; 4], u16),
    seq: u32,
    flags: &str,
    payload: &[u8],
) -> Vec<u8> {
    let mut b = PacketBuilder::ethernet2(src.0, dst.0)
        .ipv4(src.1, dst.1, 64)
        .tcp(src.2, dst.2, seq, 64240);
    for f in flags.chars() {
        b = match f {
            'S' => b.syn(),
            'A' => b.ack(1),
            'F' => b.fin(),
            'R' => b.rst(),
            'P' => b.psh(),
            _ => b,
        };
    }
    if flags.contains('S') && !flags.contains('A') {
        b = b
            .options(&[
                TcpOptionElement::MaximumSegmentSize(1460),
                TcpOptionElement::SelectiveAcknowledgementPermitted,
                TcpOptionElement::Timestamp(1, 0),
                TcpOptionElement::Noop,
                TcpOptionElement::WindowScale(7),
            ])
            .unwrap();
    }
    let mut out = Vec::new();
    b.write(&mut out, payload).unwrap();
    out
}

/// An Ethernet/IPv4/UDP frame.
pub fn udp(src: ([u8; 6], [u8; 4], u16), dst: ([u8; 6], [u8; 4], u16), payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(src.0, dst.0)
        .ipv4(src.1, dst.1, 64)
        .udp(src.2, dst.2);
    let mut out = Vec::new();
    b.write(&mut out, payload).unwrap();
    out
}

/// An Ethernet/802.1ad/802.1Q/IPv6/UDP frame.
pub fn qinq_v6_udp(outer: u16, inner: u16, payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(MAC_A, MAC_B)
        .double_vlan(
            VlanId::try_new(outer).unwrap(),
            VlanId::try_new(inner).unwrap(),
        )
        .ipv6(
            [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
            64,
        )
        .udp(5353, 5353);
    let mut out = Vec::new();
    b.write(&mut out, payload).unwrap();
    out
}

/// Run frames (Ethernet, one per second from t0) through a default engine.
pub fn run(frames: &[(i64, Vec<u8>)]) -> Vec<Event> {
    let mut engine = Engine::new(EngineConfig::default(), 7, Vec::new());
    let mut sink = VecSink::default();
    for (t, f) in frames {
        engine.process(Timestamp(*t), 1, f, f.len() as u32, &mut sink);
    }
    engine.finish(&mut sink);
    sink.0
}

/// A Prefix Information option (RFC 4861 §4.6.2): `flags` 0x80 on-link,
/// 0x40 autonomous; preferred lifetime = valid lifetime.
pub fn prefix_information(prefix: [u8; 16], len: u8, flags: u8, valid: u32) -> Vec<u8> {
    let mut o = vec![3, 4, len, flags];
    o.extend_from_slice(&valid.to_be_bytes());
    o.extend_from_slice(&valid.to_be_bytes());
    o.extend_from_slice(&[0; 4]);
    o.extend_from_slice(&prefix);
    o
}

/// An Ethernet/IPv6/ICMPv6 Router Advertisement (type 134, code `code`)
/// from `src` with hop limit `hops` to all nodes, its `options` after
/// the reachable-time and retrans-timer fields.
pub fn router_advertisement(
    src: ([u8; 6], [u8; 16]),
    hops: u8,
    code: u8,
    options: &[u8],
) -> Vec<u8> {
    let all_nodes = [0xff02, 0, 0, 0, 0, 0, 0, 1u16];
    let mut dst = [0u8; 16];
    for (i, s) in all_nodes.iter().enumerate() {
        dst[2 * i..2 * i + 2].copy_from_slice(&s.to_be_bytes());
    }
    // Current hop limit 64, no flags, router lifetime 1800 s.
    let b = PacketBuilder::ethernet2(src.0, [0x33, 0x33, 0, 0, 0, 1])
        .ipv6(src.1, dst, hops)
        .icmpv6_raw(134, code, [64, 0, 0x07, 0x08]);
    let mut body = vec![0u8; 8]; // reachable time, retrans timer
    body.extend_from_slice(options);
    let mut out = Vec::new();
    b.write(&mut out, &body).unwrap();
    out
}

/// An Ethernet/IPv6/UDP frame.
pub fn udp6(
    src: ([u8; 6], [u8; 16], u16),
    dst: ([u8; 6], [u8; 16], u16),
    payload: &[u8],
) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(src.0, dst.0)
        .ipv6(src.1, dst.1, 64)
        .udp(src.2, dst.2);
    let mut out = Vec::new();
    b.write(&mut out, payload).unwrap();
    out
}

/// An IPv6 address's 16 bytes.
pub fn v6(s: &str) -> [u8; 16] {
    s.parse::<std::net::Ipv6Addr>().unwrap().octets()
}

/// A DHCPv4 ACK (RFC 2131 BOOTREPLY, option 53 = 5) giving `yiaddr` to
/// `client`, with a subnet-mask option when `mask` is given.
pub fn dhcp_ack(client: [u8; 6], yiaddr: [u8; 4], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut m = vec![0u8; 236];
    m[0] = 2; // BOOTREPLY
    m[1] = 1; // Ethernet
    m[2] = 6; // hardware address length
    m[4..8].copy_from_slice(&0x1234_5678u32.to_be_bytes()); // xid
    m[16..20].copy_from_slice(&yiaddr);
    m[28..34].copy_from_slice(&client);
    m.extend_from_slice(&[99, 130, 83, 99]); // magic cookie
    m.extend_from_slice(&[53, 1, 5]);
    if let Some(mask) = mask {
        m.extend_from_slice(&[1, 4]);
        m.extend_from_slice(&mask);
    }
    m.push(255);
    m
}

/// Ethernet/IPv4 from a host on the internet (203.0.113.66) to a LAN
/// host (192.168.1.10, through the router's MAC 02:00:00:00:00:fe),
/// carrying `inner` as IP protocol `proto`.
pub fn from_the_internet(proto: u8, inner: &[u8]) -> Vec<u8> {
    let b = etherparse::PacketBuilder::ethernet2([0x02, 0, 0, 0, 0, 0xfe], MAC_A).ipv4(
        [203, 0, 113, 66],
        [192, 168, 1, 10],
        50,
    );
    let mut out = Vec::new();
    b.write(&mut out, etherparse::IpNumber(proto), inner)
        .unwrap();
    out
}

/// GRE carrying an ERSPAN type II copy of `frame` (sequence bit set, 8-byte
/// ERSPAN header), as a mirror session sends it.
pub fn erspan(frame: &[u8]) -> Vec<u8> {
    let mut gre = vec![0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 1];
    gre.extend_from_slice(&[0x10, 0, 0, 1, 0, 0, 0, 0]);
    gre.extend_from_slice(frame);
    gre
}
