//! Denial of service: SYN, ACK/RST, UDP, ICMP and HTTP floods, spoofed or
//! distributed sources, and UDP reflection/amplification — against a local
//! device or sent *by* one.
//!
//! Counting is per victim address in one-second buckets of packet time,
//! checked inline as each packet is counted, so a flood is reported on the
//! packet that crosses its threshold (well within the 2 s target), not at
//! the next tick. One record per victim (capped); per packet one or two
//! lookups, a hash for the distinct-source estimate, no allocation. Once a
//! flood kind is reported for a victim it stays silent while the flood goes
//! on (any second over the threshold within `incident_quiet_secs` keeps it
//! the same incident).

use std::net::{IpAddr, Ipv4Addr};

use ward_core::decode::{tcpflag, Net, Transport};
use ward_core::devices::DeviceTable;
use ward_core::flow::Dir;
use ward_core::{AlertCategory, MacAddr, PacketContext, Timestamp};
use ward_proto::AppEvent;

use crate::alert::{who, Draft};
use crate::config::DosConfig;
use crate::table::{CappedMap, Distinct};

const NAME: &str = "dos";

#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
enum Kind {
    Syn = 0,
    AckRst = 1,
    Udp = 2,
    Icmp = 3,
    Http = 4,
    Reflection = 5,
}
const KINDS: usize = 6;
/// More distinct destination ports than this in one second is a scan.
const MAX_FLOOD_PORTS: u32 = 16;

impl Kind {
    fn signature(self, spoofed: bool) -> &'static str {
        match (self, spoofed) {
            (Kind::Syn, false) => "tcp-syn-flood",
            (Kind::Syn, true) => "tcp-syn-flood-spoofed",
            (Kind::AckRst, false) => "tcp-ack-rst-flood",
            (Kind::AckRst, true) => "tcp-ack-rst-flood-spoofed",
            (Kind::Udp, false) => "udp-flood",
            (Kind::Udp, true) => "udp-flood-spoofed",
            (Kind::Icmp, false) => "icmp-flood",
            (Kind::Icmp, true) => "icmp-flood-spoofed",
            (Kind::Http, _) => "http-flood",
            (Kind::Reflection, _) => "udp-reflection-amplification",
        }
    }
    fn words(self) -> &'static str {
        match self {
            Kind::Syn => "TCP connection requests (SYN)",
            Kind::AckRst => "stray TCP ACK/RST packets",
            Kind::Udp => "UDP packets",
            Kind::Icmp => "pings",
            Kind::Http => "web requests",
            Kind::Reflection => "amplified replies from internet services",
        }
    }
    fn proto(self) -> u8 {
        match self {
            Kind::Syn | Kind::AckRst | Kind::Http => 6,
            Kind::Udp | Kind::Reflection => 17,
            Kind::Icmp => 1,
        }
    }
}

#[derive(Clone, Copy)]
struct Victim {
    sec: i64,
    counts: [u32; KINDS],
    udp_new: u32,
    bytes: [u64; KINDS],
    sources: Distinct,
    /// Destination ports this second: a flood hammers a few, a fast port
    /// scan touches hundreds (and is the scan detector's business).
    ports: Distinct,
    last_src: IpAddr,
    one_src: bool,
    /// Boyer–Moore majority vote over this second's sources and sender
    /// MACs: the flooder dominates even when others talk to the victim too.
    top_src: IpAddr,
    top_src_votes: u32,
    top_mac: Option<MacAddr>,
    top_mac_votes: u32,
    port: u16,
    one_port: bool,
    /// Bytes the victim itself sent to reflector ports (its own requests), decayed per second.
    req_bytes: u64,
    /// Per kind: second the flood was first reported, last second over threshold, packets since.
    first_over: [i64; KINDS],
    last_over: [i64; KINDS],
    total: [u64; KINDS],
}

impl Victim {
    fn new(sec: i64) -> Self {
        Victim {
            sec,
            counts: [0; KINDS],
            udp_new: 0,
            bytes: [0; KINDS],
            sources: Distinct::default(),
            ports: Distinct::default(),
            last_src: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            one_src: true,
            top_src: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            top_src_votes: 0,
            top_mac: None,
            top_mac_votes: 0,
            port: 0,
            one_port: true,
            req_bytes: 0,
            first_over: [i64::MIN; KINDS],
            last_over: [i64::MIN; KINDS],
            total: [0; KINDS],
        }
    }

    fn roll(&mut self, sec: i64) {
        if sec != self.sec {
            self.req_bytes = if sec - self.sec < 30 {
                self.req_bytes / 2
            } else {
                0
            };
            self.sec = sec;
            self.counts = [0; KINDS];
            self.udp_new = 0;
            self.bytes = [0; KINDS];
            self.sources.clear();
            self.ports.clear();
            self.one_src = true;
            self.top_src_votes = 0;
            self.top_mac_votes = 0;
            self.top_mac = None;
            self.one_port = true;
            self.port = 0;
        }
    }
}

pub struct Dos {
    cfg: DosConfig,
    quiet_secs: i64,
    reflector: Vec<bool>,
    victims: CappedMap<IpAddr, Victim>,
}

/// One step of the Boyer–Moore majority vote.
fn vote<T: PartialEq + Copy>(top: &mut T, votes: &mut u32, x: T) {
    if *votes == 0 {
        *top = x;
        *votes = 1;
    } else if *top == x {
        *votes += 1;
    } else {
        *votes -= 1;
    }
}

fn is_victim(ip: IpAddr) -> bool {
    !(ip.is_multicast() || ip.is_unspecified())
        && match ip {
            IpAddr::V4(v4) => !v4.is_broadcast(),
            IpAddr::V6(_) => true,
        }
}

impl Dos {
    pub fn new(cfg: DosConfig, cap: usize, quiet_secs: u64) -> Self {
        let mut reflector = vec![false; 65536];
        for p in &cfg.reflector_ports {
            reflector[*p as usize] = true;
        }
        Dos {
            cfg,
            quiet_secs: quiet_secs as i64,
            reflector,
            victims: CappedMap::new(cap),
        }
    }

    pub fn on_packet(&mut self, ctx: &PacketContext<'_, '_>, out: &mut Vec<Draft>) {
        let pkt = ctx.pkt;
        let Net::Ip(ip) = &pkt.net else { return };
        let (src, dst) = (ip.src, ip.dst);
        let sec = pkt.ts.0.div_euclid(1_000_000);
        let len = u64::from(pkt.wire_len);
        let (kind, port) = match pkt.transport {
            Transport::Tcp(t) => {
                let f = t.flags;
                let syn = f & tcpflag::SYN != 0;
                let ack = f & tcpflag::ACK != 0;
                let stray = !syn
                    && (ack || f & tcpflag::RST != 0)
                    && pkt.payload.is_empty()
                    && ctx.dir != Some(Dir::ToClient)
                    && ctx
                        .flow
                        .is_some_and(|fl| fl.tcp_flags[0] & tcpflag::SYN == 0 && fl.pkts[1] == 0);
                if syn && !ack {
                    (Kind::Syn, t.dst_port)
                } else if stray {
                    (Kind::AckRst, t.dst_port)
                } else {
                    (Kind::Http, t.dst_port) // counted below only for requests
                }
            }
            Transport::Udp(u) => {
                if self.reflector[u.dst_port as usize] && is_victim(src) {
                    // The (possible) victim asking a reflector service itself.
                    let v = self.victims.entry(src, || Victim::new(sec));
                    v.roll(sec);
                    v.req_bytes = v.req_bytes.saturating_add(len);
                }
                if self.reflector[u.src_port as usize] && u.src_port != u.dst_port {
                    (Kind::Reflection, u.src_port)
                } else {
                    (Kind::Udp, u.dst_port)
                }
            }
            Transport::Icmp(i) if i.is_echo_request() => (Kind::Icmp, 0),
            _ => return,
        };
        if !is_victim(dst) {
            return;
        }
        let http = ctx
            .app
            .iter()
            .filter(|e| matches!(e, AppEvent::HttpRequest(_)))
            .count() as u32;
        if kind == Kind::Http && http == 0 {
            return;
        }
        let v = self.victims.entry(dst, || Victim::new(sec));
        v.roll(sec);
        let k = kind as usize;
        let inc = if kind == Kind::Http { http } else { 1 };
        v.counts[k] = v.counts[k].saturating_add(inc);
        v.bytes[k] = v.bytes[k].saturating_add(len);
        v.total[k] = v.total[k].saturating_add(u64::from(inc));
        if kind == Kind::Udp && ctx.new_flow {
            v.udp_new += 1;
        }
        // Reflection also counts as UDP volume for the plain UDP check.
        if kind == Kind::Reflection {
            v.counts[Kind::Udp as usize] += 1;
            if ctx.new_flow {
                v.udp_new += 1;
            }
        }
        v.sources.insert(&src);
        if kind != Kind::Reflection {
            v.ports.insert(&port);
        }
        if v.counts.iter().sum::<u32>() == inc {
            v.last_src = src;
            v.port = port;
        } else {
            v.one_src &= v.last_src == src;
            v.one_port &= v.port == port;
        }
        vote(&mut v.top_src, &mut v.top_src_votes, src);
        if let Some(m) = pkt.link.src {
            let mut top = v.top_mac.unwrap_or(m);
            vote(&mut top, &mut v.top_mac_votes, m);
            v.top_mac = Some(top);
        }

        let c = v.counts[k];
        let cfg = &self.cfg;
        let over = match kind {
            Kind::Syn => c >= cfg.syn_pps,
            Kind::AckRst => c >= cfg.ack_rst_pps,
            Kind::Udp => {
                (c >= cfg.udp_pps && v.udp_new >= cfg.udp_new_flows) || c >= cfg.udp_pps_any
            }
            Kind::Icmp => c >= cfg.icmp_pps,
            Kind::Http => c >= cfg.http_rps,
            Kind::Reflection => {
                c >= cfg.reflection_pps
                    && v.bytes[k] >= cfg.reflection_bytes
                    && (v.bytes[k] as f64) >= cfg.reflection_ratio * (v.req_bytes.max(1) as f64)
            }
        };
        // A reflection flood is also a UDP flood; report it as the former.
        let udp_too = kind == Kind::Reflection && {
            let u = Kind::Udp as usize;
            v.counts[u] >= cfg.udp_pps && v.udp_new >= cfg.udp_new_flows
        };
        let (kind, k) = if !over && udp_too {
            (Kind::Udp, Kind::Udp as usize)
        } else {
            (kind, k)
        };
        if !(over || udp_too) {
            return;
        }
        if v.ports.estimate() > MAX_FLOOD_PORTS && kind != Kind::Reflection {
            return; // many ports at once: a fast scan, not a flood
        }
        let ongoing = sec.saturating_sub(v.last_over[k]) <= self.quiet_secs;
        v.last_over[k] = sec;
        if ongoing {
            return;
        }
        v.first_over[k] = sec;
        let v = *v;
        out.push(self.draft(kind, dst, &v, pkt.ts, ctx.devices));
    }

    fn draft(
        &self,
        kind: Kind,
        victim: IpAddr,
        v: &Victim,
        now: Timestamp,
        devices: &DeviceTable,
    ) -> Draft {
        let k = kind as usize;
        let sources = v.sources.estimate();
        let spoofed = !v.one_src && sources >= self.cfg.spoofed_sources;
        // With spoofed sources the addresses lie; on a LAN the sender's MAC
        // does not, so name the device that owns it.
        let attacker = if v.one_src { Some(v.last_src) } else { None };
        let mut d = Draft::new(AlertCategory::Dos, kind.signature(spoofed), NAME, now);
        d.attacker = attacker;
        d.attacker_mac = if attacker.is_none() {
            v.top_mac.filter(|_| v.top_mac_votes > 0)
        } else {
            None
        };
        d.victims = vec![victim];
        d.proto = Some(kind.proto());
        d.per_victim = true;
        if v.one_port && v.port != 0 {
            d.victim_port = if kind == Kind::Reflection { 0 } else { v.port };
        }
        d.first_seen = Timestamp::from_secs(v.first_over[k]).max(Timestamp::from_secs(v.sec));
        d.count = v.total[k];
        d.severity = if spoofed || kind == Kind::Reflection {
            1
        } else {
            2
        };
        d.confidence = 0.9;
        d = d
            .ev("packets_per_second", v.counts[k])
            .ev("bytes_per_second", v.bytes[k])
            .ev("distinct_sources", sources)
            .ev("spoofed", spoofed);
        if let Some(m) = v.top_mac.filter(|_| v.top_mac_votes > 0) {
            d = d.ev("sender_mac", m.to_string());
            d.devices.push(m.to_string());
        }
        if v.one_port && v.port != 0 {
            d = d.ev(
                if kind == Kind::Reflection {
                    "reflector_port"
                } else {
                    "port"
                },
                v.port,
            );
        }
        if kind == Kind::Reflection {
            let ratio = v.bytes[k] as f64 / (v.req_bytes.max(1) as f64);
            d = d.ev("response_request_ratio", (ratio * 10.0).round() / 10.0);
        }
        let from = match (attacker, spoofed) {
            (Some(a), true) => format!(
                "{} (hiding behind {sources} forged addresses)",
                who(devices, a)
            ),
            (None, _) => format!("{sources} addresses"),
            (Some(a), false) => who(devices, a),
        };
        let port = if v.one_port && v.port != 0 && kind != Kind::Reflection {
            format!(" on port {}", v.port)
        } else {
            String::new()
        };
        d.summary = match kind {
            Kind::Reflection => format!(
                "{} is being flooded with {} per second ({} bytes/s) bounced off UDP port {} services, a reflection/amplification attack.",
                who(devices, victim),
                v.counts[k],
                v.bytes[k],
                v.port
            ),
            _ => format!(
                "{from} is flooding {}{port} with about {} {} per second, a denial-of-service attack.",
                who(devices, victim),
                v.counts[k],
                kind.words()
            ),
        };
        d
    }
}
