//! Shared by the integration tests that feed the whole engine frames built
//! in code (etherparse's `PacketBuilder`): the frame builders and [`Run`],
//! an engine with ward-detect's detectors and a sink to read alerts from.
// Each test file uses its own part of this module.
#![allow(dead_code)]

use etherparse::{ArpHardwareId, ArpOperation, ArpPacket, EtherType, PacketBuilder};
use ward_core::{Alert, Engine, EngineConfig, Timestamp, VecSink};

pub type Mac = [u8; 6];
pub type V4 = [u8; 4];
/// One end of a conversation: MAC, IPv4 address, port.
pub type End = (Mac, V4, u16);

/// The home LAN of floods.rs and variants.rs (192.168.50.0/24): the
/// attacker, a camera, a phone and the gateway.
pub mod lan50 {
    use super::{Mac, V4};
    pub const ATK_MAC: Mac = [0x3c, 0xa9, 0xf4, 0x00, 0x00, 0x66];
    pub const CAM_MAC: Mac = [0x28, 0x57, 0xbe, 0x00, 0x00, 0x20];
    pub const PHONE_MAC: Mac = [0xf0, 0x18, 0x98, 0x00, 0x00, 0x30];
    pub const GW_MAC: Mac = [0x00, 0x0d, 0xb9, 0x00, 0x00, 0x01];
    pub const ATK: V4 = [192, 168, 50, 127];
    pub const CAM: V4 = [192, 168, 50, 175];
    pub const PHONE: V4 = [192, 168, 50, 117];
    pub const GW: V4 = [192, 168, 50, 1];
}

/// Packet time of offset 0, in µs.
pub const T0: i64 = 1_700_000_000_000_000;

pub fn ip(v: V4) -> std::net::IpAddr {
    std::net::IpAddr::from(v)
}

/// The engine with ward-detect's detectors (no `flow` events), fed frames
/// at offsets from [`T0`].
pub struct Run {
    pub engine: Engine,
    pub sink: VecSink,
}

impl Run {
    pub fn new() -> Self {
        Self::with(None)
    }

    /// With the detectors' configuration `cfg` (JSON, as `[detectors]`).
    pub fn with(cfg: Option<&serde_json::Value>) -> Self {
        let dets = ward_detect::detectors(cfg).unwrap();
        let cfg = EngineConfig {
            emit_flows: Some(false),
            ..Default::default()
        };
        Run {
            engine: Engine::new(cfg, 9, dets),
            sink: VecSink::default(),
        }
    }

    pub fn at(&mut self, us: i64, frame: &[u8]) {
        self.engine.process(
            Timestamp(T0 + us),
            1,
            frame,
            frame.len() as u32,
            &mut self.sink,
        );
    }

    /// `frame` as a capture with snap length `snap` keeps it: its first
    /// `snap` bytes, with the whole frame's length as the wire length.
    pub fn at_cut(&mut self, us: i64, frame: &[u8], snap: usize) {
        let kept = &frame[..frame.len().min(snap)];
        self.engine.process(
            Timestamp(T0 + us),
            1,
            kept,
            frame.len() as u32,
            &mut self.sink,
        );
    }

    /// `frame` with its Ethernet header stripped (raw IP, link type 101),
    /// cut at `snap` bytes of what is left, as [`Self::at_cut`].
    pub fn at_raw_cut(&mut self, us: i64, frame: &[u8], snap: usize) {
        let ip = &frame[14..];
        let kept = &ip[..ip.len().min(snap)];
        self.engine.process(
            Timestamp(T0 + us),
            101,
            kept,
            ip.len() as u32,
            &mut self.sink,
        );
    }

    /// Ends the input; every alert with its time (printed for failing tests).
    pub fn timed_alerts(mut self) -> Vec<(Timestamp, Alert)> {
        self.engine.finish(&mut self.sink);
        let out: Vec<(Timestamp, Alert)> = self
            .sink
            .0
            .into_iter()
            .filter_map(|e| e.alert.map(|a| (e.timestamp, a)))
            .collect();
        for (t, a) in &out {
            eprintln!("{t} {} {} {}", a.category.as_str(), a.signature, a.summary);
        }
        out
    }

    /// Ends the input; every alert.
    pub fn alerts(self) -> Vec<Alert> {
        self.timed_alerts().into_iter().map(|(_, a)| a).collect()
    }
}

/// An Ethernet/IPv4/TCP frame; `flags` is any of `S`, `A` (ack 1), `F`,
/// `R`, `P`.
pub fn tcp(src: End, dst: End, seq: u32, flags: &str, payload: &[u8]) -> Vec<u8> {
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
    let mut out = Vec::new();
    b.write(&mut out, payload).unwrap();
    out
}

/// An Ethernet/IPv4/UDP frame.
pub fn udp(src: End, dst: End, payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(src.0, dst.0)
        .ipv4(src.1, dst.1, 64)
        .udp(src.2, dst.2);
    let mut out = Vec::new();
    b.write(&mut out, payload).unwrap();
    out
}

/// An Ethernet/IPv4 frame of any protocol, TTL and fragment word (flags +
/// offset; 0x2000 = more fragments), carrying `body` as is.
pub fn ipv4(
    src: (Mac, V4),
    dst: (Mac, V4),
    proto: u8,
    ttl: u8,
    frag: u16,
    id: u16,
    body: &[u8],
) -> Vec<u8> {
    let mut f = Vec::with_capacity(34 + body.len());
    f.extend_from_slice(&dst.0);
    f.extend_from_slice(&src.0);
    f.extend_from_slice(&[0x08, 0x00]);
    let total = (20 + body.len()) as u16;
    let mut h = [0u8; 20];
    h[0] = 0x45;
    h[2..4].copy_from_slice(&total.to_be_bytes());
    h[4..6].copy_from_slice(&id.to_be_bytes());
    h[6..8].copy_from_slice(&frag.to_be_bytes());
    h[8] = ttl;
    h[9] = proto;
    h[12..16].copy_from_slice(&src.1);
    h[16..20].copy_from_slice(&dst.1);
    let sum: u32 = h
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    let sum = (sum & 0xffff) + (sum >> 16);
    let sum = !(((sum & 0xffff) + (sum >> 16)) as u16);
    h[10..12].copy_from_slice(&sum.to_be_bytes());
    f.extend_from_slice(&h);
    f.extend_from_slice(body);
    f
}

/// A broadcast ARP request from `(smac, sip)` asking for `target`, as every
/// LAN host sends when it comes up.
pub fn arp_request(smac: Mac, sip: V4, target: V4) -> Vec<u8> {
    let pkt = ArpPacket::new(
        ArpHardwareId::ETHERNET,
        EtherType::IPV4,
        ArpOperation::REQUEST,
        &smac,
        &sip,
        &[0; 6],
        &target,
    )
    .unwrap();
    let mut out = Vec::new();
    out.extend_from_slice(&[0xff; 6]);
    out.extend_from_slice(&smac);
    out.extend_from_slice(&[0x08, 0x06]);
    pkt.write(&mut out).unwrap();
    out
}

/// A Mirai-style horizontal scan's targets (IoT-23's
/// "PartOfAHorizontalPortScan", lab/py/hscan5.py): `n` pseudo-random
/// addresses in 198.18.0.0/15 on IoT ports, each with the generator's state
/// (`x`, for sequence numbers and IP ids).
pub fn mirai_scan_targets(n: u32) -> impl Iterator<Item = (u32, u32, u16)> {
    const PORTS: [u16; 10] = [23, 23, 23, 23, 2323, 37215, 52869, 5555, 7547, 8080];
    let mut x: u32 = 81;
    (0..n).map(move |_| {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let dst = (198u32 << 24 | 18 << 16) + (x >> 15);
        (x, dst, PORTS[(x % 10) as usize])
    })
}
