//! Shared helpers for tests and benchmarks: a seeded synthetic LAN stream,
//! attack generators, a pcap loader for the real captures, and ROC metrics.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use ward_anomaly::{AnomalyConfig, PacketObs};

pub const TCP: u8 = 6;
pub const UDP: u8 = 17;
pub const SYN: u8 = 0x02;
pub const ACK: u8 = 0x10;
pub const PSH: u8 = 0x08;

/// SplitMix64.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn f64(&mut self) -> f64 {
        (self.u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.u64()) * u128::from(n)) >> 64) as u64
    }
}

pub fn lan_ip(host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 168, 1, host))
}

pub fn lan_mac(host: u8) -> [u8; 6] {
    [0x02, 0x00, 0x5e, 0x10, 0x00, host]
}

pub const GATEWAY_MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x00, 0x00, 0x01];

/// A home LAN: `devices` IoT devices, each with a few long-lived cloud
/// connections (periodic keep-alives, occasional bursts) and DNS lookups.
pub struct SyntheticLan {
    rng: Rng,
    now_us: i64,
    /// Mean gap between packets, µs.
    gap_us: f64,
    devices: u8,
    servers: u32,
    conns_per_device: u16,
}

impl SyntheticLan {
    /// `rate` packets per second overall.
    pub fn new(seed: u64, devices: u8, servers: u32, rate: f64) -> Self {
        Self {
            rng: Rng::new(seed),
            now_us: 1_600_000_000_000_000,
            gap_us: 1e6 / rate,
            devices: devices.max(1),
            servers: servers.max(1),
            conns_per_device: 8,
        }
    }

    pub fn now_us(&self) -> i64 {
        self.now_us
    }
}

impl Iterator for SyntheticLan {
    type Item = PacketObs;

    fn next(&mut self) -> Option<PacketObs> {
        let r = &mut self.rng;
        // Exponential inter-arrival.
        let gap = -(1.0 - r.f64()).ln() * self.gap_us;
        self.now_us += gap.max(1.0) as i64;
        let dev = r.below(u64::from(self.devices)) as u8;
        let host = 10 + dev;
        let conn = r.below(u64::from(self.conns_per_device)) as u16;
        // Each device's connections go to a stable set of servers.
        let server = (u32::from(dev) * 7 + u32::from(conn) * 13) % self.servers;
        let server_ip = IpAddr::V4(Ipv4Addr::new(
            34,
            100 + (server >> 8) as u8,
            server as u8,
            10,
        ));
        let local_port = 40_000 + u16::from(dev) * 16 + conn;
        let kind = r.below(100);
        let outbound = r.below(2) == 0;
        let (proto, dport, len, flags) = if kind < 3 {
            (UDP, 53u16, 70 + r.below(40) as u32, 0)
        } else if kind < 4 {
            (TCP, 443, 74, SYN)
        } else {
            let len = if r.below(4) == 0 {
                1000 + r.below(500) as u32
            } else {
                60 + r.below(140) as u32
            };
            (TCP, 443, len, ACK | if len > 100 { PSH } else { 0 })
        };
        let dns = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 1));
        let remote = if proto == UDP { dns } else { server_ip };
        let obs = if outbound || proto == UDP || flags == SYN {
            PacketObs {
                ts_micros: self.now_us,
                src_mac: lan_mac(host),
                src_ip: lan_ip(host),
                dst_ip: remote,
                src_port: local_port,
                dst_port: dport,
                proto,
                len,
                tcp_flags: flags,
                device: u32::from(dev),
            }
        } else {
            PacketObs {
                ts_micros: self.now_us,
                src_mac: GATEWAY_MAC,
                src_ip: remote,
                dst_ip: lan_ip(host),
                src_port: dport,
                dst_port: local_port,
                proto,
                len,
                tcp_flags: flags,
                device: u32::from(dev),
            }
        };
        Some(obs)
    }
}

/// Kinds of injected attack, each sourced from one device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attack {
    /// SYNs at a high rate to one victim port from random source ports.
    SynFlood,
    /// Mirai-style scanning: SYNs to port 23 of random internet addresses.
    TelnetScan,
    /// SYN port scan of one LAN host.
    PortScan,
    /// Large UDP datagrams to one victim.
    UdpFlood,
    /// Many short TCP connections to one host's port 22 (password guessing).
    BruteForce,
}

impl Attack {
    pub const ALL: [Attack; 5] = [
        Attack::SynFlood,
        Attack::TelnetScan,
        Attack::PortScan,
        Attack::UdpFlood,
        Attack::BruteForce,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Attack::SynFlood => "syn-flood",
            Attack::TelnetScan => "telnet-scan",
            Attack::PortScan => "port-scan",
            Attack::UdpFlood => "udp-flood",
            Attack::BruteForce => "ssh-brute-force",
        }
    }

    /// Packets of this attack from (`mac`, `ip`, `device`) starting at
    /// `start_us`, lasting `secs`.
    pub fn packets(
        self,
        seed: u64,
        mac: [u8; 6],
        ip: IpAddr,
        device: u32,
        start_us: i64,
        secs: f64,
    ) -> Vec<PacketObs> {
        let mut r = Rng::new(seed);
        let (rate, victim) = match self {
            Attack::SynFlood => (2000.0, IpAddr::V4(Ipv4Addr::new(203, 0, 113, 5))),
            Attack::TelnetScan => (100.0, IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            Attack::PortScan => (200.0, lan_ip(200)),
            Attack::UdpFlood => (2000.0, IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7))),
            Attack::BruteForce => (30.0, lan_ip(201)),
        };
        let n = (rate * secs) as usize;
        let mut out = Vec::with_capacity(n);
        let mut t = start_us;
        for i in 0..n {
            t += (-(1.0 - r.f64()).ln() * 1e6 / rate).max(1.0) as i64;
            let sport = 1024 + r.below(60_000) as u16;
            let (dst, dport, proto, len, flags) = match self {
                Attack::SynFlood => (victim, 80, TCP, 60, SYN),
                Attack::TelnetScan => {
                    let a = r.u64();
                    let dst = IpAddr::V4(Ipv4Addr::new(
                        1 + (a % 220) as u8,
                        (a >> 8) as u8,
                        (a >> 16) as u8,
                        (a >> 24) as u8,
                    ));
                    (dst, if i % 10 == 0 { 2323 } else { 23 }, TCP, 60, SYN)
                }
                Attack::PortScan => (victim, (i % 65_535) as u16 + 1, TCP, 58, SYN),
                Attack::UdpFlood => (victim, 53 + r.below(1000) as u16, UDP, 1400, 0),
                Attack::BruteForce => {
                    let f = [SYN, ACK, ACK | PSH, ACK | PSH, ACK | 0x01][i % 5];
                    let len = if f & PSH != 0 {
                        120 + r.below(80) as u32
                    } else {
                        66
                    };
                    (victim, 22, TCP, len, f)
                }
            };
            let sport = if self == Attack::BruteForce {
                50_000 + (i / 5) as u16
            } else {
                sport
            };
            out.push(PacketObs {
                ts_micros: t,
                src_mac: mac,
                src_ip: ip,
                dst_ip: dst,
                src_port: sport,
                dst_port: dport,
                proto,
                len,
                tcp_flags: flags,
                device,
            });
        }
        out
    }
}

/// Merges two time-ordered streams, labelling packets of `b` as attack.
pub fn merge_labelled(a: &[PacketObs], b: &[PacketObs]) -> Vec<(PacketObs, bool)> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let take_b = j < b.len() && (i >= a.len() || b[j].ts_micros < a[i].ts_micros);
        if take_b {
            out.push((b[j], true));
            j += 1;
        } else {
            out.push((a[i], false));
            i += 1;
        }
    }
    out
}

/// Area under the ROC curve (ties count half), by ranks.
pub fn auc(benign: &[f32], attack: &[f32]) -> f64 {
    let mut all: Vec<(f32, bool)> = benign
        .iter()
        .map(|&s| (s, false))
        .chain(attack.iter().map(|&s| (s, true)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j < all.len() && all[j].0 == all[i].0 {
            j += 1;
        }
        let avg_rank = (i + j + 1) as f64 / 2.0; // ranks are 1-based
        rank_sum += all[i..j].iter().filter(|x| x.1).count() as f64 * avg_rank;
        i = j;
    }
    let (p, n) = (attack.len() as f64, benign.len() as f64);
    (rank_sum - p * (p + 1.0) / 2.0) / (p * n)
}

/// True-positive rate at the strictest threshold whose false-positive rate
/// on `benign` is at most `max_fpr`.
pub fn tpr_at_fpr(benign: &[f32], attack: &[f32], max_fpr: f64) -> f64 {
    let mut b: Vec<f32> = benign.to_vec();
    b.sort_by(|x, y| y.total_cmp(x));
    let allowed = (max_fpr * b.len() as f64).floor() as usize;
    // Threshold: scores strictly above the (allowed+1)-th highest benign score.
    let thr = b.get(allowed).copied().unwrap_or(f32::NEG_INFINITY);
    attack.iter().filter(|&&s| s > thr).count() as f64 / attack.len().max(1) as f64
}

/// Reads an Ethernet pcap into observations; `device_of` maps a frame's
/// (source MAC, destination MAC) to a device index.
pub fn load_pcap(path: &Path, device_of: &dyn Fn(&[u8; 6], &[u8; 6]) -> u32) -> Vec<PacketObs> {
    use pcap_parser::traits::PcapReaderIterator;
    use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError};

    let file = std::fs::File::open(path).expect("open pcap");
    let mut reader = LegacyPcapReader::new(1 << 16, file).expect("pcap header");
    let mut out = Vec::new();
    loop {
        match reader.next() {
            Ok((offset, block)) => {
                if let PcapBlockOwned::Legacy(b) = block {
                    let ts = i64::from(b.ts_sec) * 1_000_000 + i64::from(b.ts_usec);
                    if let Some(o) = observe(ts, b.data, b.origlen, device_of) {
                        out.push(o);
                    }
                }
                reader.consume(offset);
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => reader.refill().expect("refill"),
            Err(e) => panic!("pcap error: {e:?}"),
        }
    }
    out
}

fn observe(
    ts: i64,
    frame: &[u8],
    origlen: u32,
    device_of: &dyn Fn(&[u8; 6], &[u8; 6]) -> u32,
) -> Option<PacketObs> {
    use etherparse::{LaxNetSlice, LaxSlicedPacket, TransportSlice};
    if let Some(o) = observe_arp(ts, frame, origlen, device_of) {
        return Some(o);
    }
    let p = LaxSlicedPacket::from_ethernet(frame).ok()?;
    let eth = match &p.link {
        Some(etherparse::LinkSlice::Ethernet2(e)) => e,
        _ => return None,
    };
    let src_mac = eth.source();
    let dst_mac = eth.destination();
    let (src_ip, dst_ip, proto) = match &p.net {
        Some(LaxNetSlice::Ipv4(v4)) => (
            IpAddr::V4(v4.header().source_addr()),
            IpAddr::V4(v4.header().destination_addr()),
            v4.payload_ip_number().0,
        ),
        Some(LaxNetSlice::Ipv6(v6)) => (
            IpAddr::V6(v6.header().source_addr()),
            IpAddr::V6(v6.header().destination_addr()),
            v6.payload().ip_number.0,
        ),
        _ => return None,
    };
    let (src_port, dst_port, tcp_flags) = match &p.transport {
        Some(TransportSlice::Tcp(t)) => {
            let f = u8::from(t.fin())
                | u8::from(t.syn()) << 1
                | u8::from(t.rst()) << 2
                | u8::from(t.psh()) << 3
                | u8::from(t.ack()) << 4;
            (t.source_port(), t.destination_port(), f)
        }
        Some(TransportSlice::Udp(u)) => (u.source_port(), u.destination_port(), 0),
        _ => (0, 0, 0),
    };
    Some(PacketObs {
        ts_micros: ts,
        src_mac,
        src_ip,
        dst_ip,
        src_port,
        dst_port,
        proto,
        len: origlen,
        tcp_flags,
        device: device_of(&src_mac, &dst_mac),
    })
}

/// An Ethernet/IPv4 ARP message as ward-detect feeds it: sender and target
/// protocol addresses as source and destination.
fn observe_arp(
    ts: i64,
    frame: &[u8],
    origlen: u32,
    device_of: &dyn Fn(&[u8; 6], &[u8; 6]) -> u32,
) -> Option<PacketObs> {
    if frame.get(12..14)? != [0x08, 0x06] {
        return None;
    }
    let arp = frame.get(14..42)?;
    // Ethernet (1) / IPv4 (0x0800), 6-byte and 4-byte addresses.
    if arp.get(0..6)? != [0, 1, 8, 0, 6, 4] {
        return None;
    }
    let mac = |b: &[u8]| -> Option<[u8; 6]> { b.try_into().ok() };
    let ip = |b: &[u8]| -> Option<IpAddr> {
        let a: [u8; 4] = b.try_into().ok()?;
        Some(IpAddr::V4(Ipv4Addr::from(a)))
    };
    let src_mac = mac(frame.get(6..12)?)?;
    let dst_mac = mac(frame.get(0..6)?)?;
    Some(PacketObs {
        ts_micros: ts,
        src_mac,
        src_ip: ip(arp.get(14..18)?)?,
        dst_ip: ip(arp.get(24..28)?)?,
        src_port: 0,
        dst_port: 0,
        proto: ward_anomaly::PROTO_ARP,
        len: origlen,
        tcp_flags: 0,
        device: device_of(&src_mac, &dst_mac),
    })
}

/// The learning schedule of the tests that learn [`LEARNING_PACKETS`] of
/// [`learning_lan`] (15 minutes): 500 mapping packets over at least 300 s,
/// then 30 000 training and 30 000 calibration packets.
pub fn quarter_hour_learning(cfg: &mut AnomalyConfig) {
    cfg.learning.mapping_packets = 500;
    cfg.learning.min_mapping_secs = 300.0;
    cfg.learning.training_packets = 30_000;
    cfg.learning.calibration_packets = 30_000;
    cfg.learning.min_training_secs = 0.0;
    cfg.learning.min_calibration_secs = 0.0;
}

/// Packets of [`learning_lan`] that [`quarter_hour_learning`] learns from.
pub const LEARNING_PACKETS: usize = 91_000;

/// A 20-device LAN with 200 servers at 100 packets/s.
pub fn learning_lan() -> SyntheticLan {
    SyntheticLan::new(11, 20, 200, 100.0)
}
