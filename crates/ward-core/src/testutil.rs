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
