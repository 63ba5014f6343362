//! Flood shapes the per-victim counters of [`crate::dos`] do not see:
//! data floods inside an established TCP connection (Mirai's `stomp`),
//! floods of IP fragments (CICIoT2023's ACK, UDP and ICMP fragmentation
//! floods, and floods of later fragments alone) and floods of tunnel
//! packets whose inner addresses are made up (Mirai's `greip`/`greeth`).
//!
//! **STOMP.** Mirai's `stomp` completes a handshake with `connect()`, then
//! writes ACK+PSH segments with 768 random bytes on that connection's ports
//! from a raw socket, as fast as it can. It counts as nothing `dos` knows:
//! the flow is established, so its segments are not stray, and its data is
//! not an HTTP request. What no real sender does is write segments whose
//! sequence numbers do not follow one another: Mirai writes the SYN-ACK's
//! numbers byte-swapped through `htons` (each segment 65 536 ahead of the
//! last), fixed variants write the server's sequence number plus one per
//! segment (767 bytes behind the last one's end), others random ones. So
//! every 64th packet of a direction of a handshaked connection is compared
//! with the packet before it: in sequence when it starts at the previous
//! one's end or up to 24 000 bytes after it (packets the capture missed),
//! or where the previous one started (a capture that sees each twice).
//! Four such checkpoints in a row out of sequence, each 64 packets after
//! the last at `ack_rst_pps` a second or faster, carrying data, are
//! `tcp-stomp-flood`. A busy upload or an MQTT connection publishing a
//! thousand messages a second is in sequence at every checkpoint; a
//! retransmission lands on one now and then, never on four in a row.
//! Cost: one table lookup per 64 packets of a direction, two per 64 when
//! the 63rd is recorded; nothing on other packets but a counter check.
//!
//! **Fragments.** `dos` counts a fragmented datagram once, through its
//! first fragment (the one with the transport header), so 150 fragmented
//! pings a second (750 packets) stay under the ping threshold, and a flood
//! of later fragments alone is not counted at all. Here every fragment is
//! counted for its datagram's kind, which the first fragment tells (kept
//! per source, destination and IP id): an ICMP echo request, TCP, UDP or
//! another IP protocol on a flow its receiver never answered. Fragments of
//! datagrams whose first fragment was anything else (an echo reply, a DNS
//! answer with EDNS, an NFS reply: a conversation's) are not counted;
//! later fragments whose first fragment was never seen are
//! `ip-fragment-flood` material. Per destination and second, the kind's
//! `dos` threshold in fragments (`icmp_pps`, `syn_pps` for SYNs,
//! `ack_rst_pps` for other TCP, `udp_pps`, `ip_pps`; later fragments alone
//! `ip_pps` with twice that over this second and the one before, at least
//! a quarter in that one) makes the kind's flood (`icmp-flood`, `tcp-syn-flood` or
//! `tcp-ack-rst-flood`, `udp-flood`, `ip-protocol-flood`, with
//! `fragmented: true`; the same incident as `dos`'s when that crossed too)
//! or `ip-fragment-flood`. Only fragmented packets reach these tables.
//! Known limit: the first fragment of a tunnel packet the decoder opens
//! (GRE, IP-in-IP, VXLAN) is seen as the inner packet, so the tunnel's
//! later fragments are never matched to it and count as orphans; a tunnel
//! whose packets are fragmented at `ip_pps` a second looks like
//! `ip-fragment-flood`.
//!
//! **Tunnel floods.** Mirai's `greip` and `greeth` send GRE packets to the
//! victim whose inner IPv4 packet has a random source and, unless the
//! `gcip` option is set, a random destination for every packet. The
//! decoder opens the tunnel, so `dos` sees one-packet flows to random
//! addresses and nothing towards the victim. Here every opened tunnel
//! packet (GRE, IP-in-IP, VXLAN; not an ERSPAN mirror's, one-way by
//! design) is counted at its *outer* destination, from its outer source,
//! per second: all of them, and those whose inner packet opened a new flow.
//! `ip_pps` new inner flows in a second, at least half of the tunnel
//! packets that second, to an address that sent under a tenth as many
//! tunnel packets back over this second and the one before, are
//! `ip-protocol-flood` (`-spoofed` without a majority outer source) with
//! `tunnelled: true`, the outer source the attacker. A real tunnel is
//! two-way (its far end sends tunnel packets back) and carries
//! conversations, mostly mid-flow; a one-way mirror feed (VXLAN, gretap)
//! carries them too. Tunnel packets whose inner source and destination are
//! the outer ones are left to `dos`, which counts what they carry at that
//! very victim (with `gcip` the inner destination is the victim too, and
//! `dos` counts it there, naming the inner source; this check names the
//! outer one). Known limit: a mirror feed of a network that opens `ip_pps`
//! new flows a second, most of its packets (a fast scan seen through the
//! mirror), is a flood at the mirror's collector.
//!
//! State: two capped tables per family, keyed by attacker-controlled values
//! through the crate's seeded [`CappedMap`]; nothing grows with traffic.

use std::net::IpAddr;

use ward_core::decode::{tcpflag, Ip, Net, OuterIp, Transport};
use ward_core::flow::Dir;
use ward_core::{AlertCategory, MacAddr, PacketContext, Timestamp};

use crate::alert::{who, Draft};
use crate::config::DosConfig;
use crate::dos::is_victim;
use crate::table::{CappedMap, Majority};

const NAME: &str = "dos";
/// Packets of one direction between two STOMP checkpoints.
const CHECK_EVERY: u32 = 64;
/// Bytes a segment may start after the previous one's end and still follow
/// it: the capture may have missed a few segments (16 full-size ones).
const SEQ_SLACK: u32 = 24_000;
/// Checkpoints out of sequence in a row that make a STOMP flood.
const STOMP_CHECKS: u8 = 4;

/// One direction of one connection, seen at its checkpoints.
#[derive(Clone, Copy)]
struct Conn {
    /// The start and end (sequence number + payload length) of the packet
    /// before the next checkpoint, when recorded.
    prev: Option<(u32, u32)>,
    /// The last checkpoint's time.
    last_check: Option<Timestamp>,
    /// Checkpoints in a row out of sequence, at the flood rate, with data.
    odd: u8,
    reported: bool,
}

/// What a fragmented datagram is, from its first fragment.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Frag {
    /// Part of a conversation (a reply, an answered flow): not counted.
    Answered = 0,
    Ping = 1,
    Syn = 2,
    Tcp = 3,
    Udp = 4,
    Other = 5,
    /// A later fragment whose first fragment was never seen.
    Orphan = 6,
}
const FRAG_KINDS: usize = 7;

impl Frag {
    fn signature(self, spoofed: bool) -> &'static str {
        match (self, spoofed) {
            (Frag::Ping, false) => "icmp-flood",
            (Frag::Ping, true) => "icmp-flood-spoofed",
            (Frag::Syn, false) => "tcp-syn-flood",
            (Frag::Syn, true) => "tcp-syn-flood-spoofed",
            (Frag::Tcp, false) => "tcp-ack-rst-flood",
            (Frag::Tcp, true) => "tcp-ack-rst-flood-spoofed",
            (Frag::Udp, false) => "udp-flood",
            (Frag::Udp, true) => "udp-flood-spoofed",
            (Frag::Other, false) => "ip-protocol-flood",
            (Frag::Other, true) => "ip-protocol-flood-spoofed",
            _ => "ip-fragment-flood",
        }
    }
    fn words(self) -> &'static str {
        match self {
            Frag::Ping => "fragments of pings",
            Frag::Syn => "fragments of TCP connection requests",
            Frag::Tcp => "fragments of TCP segments",
            Frag::Udp => "fragments of UDP packets",
            Frag::Other => "fragments of tunnel or other IP protocol packets",
            _ => "IP fragments without a first fragment",
        }
    }
}

/// One destination's fragments this second.
#[derive(Clone, Copy)]
struct FragVictim {
    sec: i64,
    counts: [u32; FRAG_KINDS],
    /// Orphan fragments the second before (if it was the one just before).
    orphans_prev: u32,
    pkts: u32,
    top_src: Majority<IpAddr>,
    top_mac: Majority<MacAddr>,
    /// Last second each kind was over its threshold (one incident while
    /// it goes on; the incident table merges the rest).
    last_over: [i64; FRAG_KINDS],
    total: [u64; FRAG_KINDS],
}

impl FragVictim {
    fn new(sec: i64, src: IpAddr) -> Self {
        FragVictim {
            sec,
            counts: [0; FRAG_KINDS],
            orphans_prev: 0,
            pkts: 0,
            top_src: Majority::new(src),
            top_mac: Majority::default(),
            last_over: [i64::MIN; FRAG_KINDS],
            total: [0; FRAG_KINDS],
        }
    }
}

/// One outer destination's tunnel packets this second.
#[derive(Clone, Copy)]
struct TunnelVictim {
    sec: i64,
    /// Tunnel packets to this address this second, and of those the ones
    /// whose inner packet opened a new flow.
    pkts: u32,
    fresh: u32,
    /// Tunnel packets this address sent itself (a tunnel's far end
    /// answers), this second and the one before.
    sent: u32,
    sent_prev: u32,
    proto: u8,
    top_src: Majority<IpAddr>,
    last_over: i64,
    total: u64,
}

impl TunnelVictim {
    fn new(sec: i64, src: IpAddr) -> Self {
        TunnelVictim {
            sec,
            pkts: 0,
            fresh: 0,
            sent: 0,
            sent_prev: 0,
            proto: 0,
            top_src: Majority::new(src),
            last_over: i64::MIN,
            total: 0,
        }
    }

    fn roll(&mut self, sec: i64) {
        if self.sec == sec {
            return;
        }
        self.sent_prev = if sec == self.sec.saturating_add(1) {
            self.sent
        } else {
            0
        };
        self.sec = sec;
        self.pkts = 0;
        self.fresh = 0;
        self.sent = 0;
        self.top_src.clear();
    }
}

pub struct DosShapes {
    stomp_pps: u32,
    tunnel_pps: u32,
    frag_pps: [u32; FRAG_KINDS],
    conns: CappedMap<(u64, u8), Conn>,
    /// (source, destination, IP id) → the datagram's kind.
    datagrams: CappedMap<(IpAddr, IpAddr, u32), Frag>,
    frag_victims: CappedMap<IpAddr, FragVictim>,
    /// Outer destination → its tunnel packets.
    tunnels: CappedMap<IpAddr, TunnelVictim>,
}

impl DosShapes {
    pub fn new(cfg: &DosConfig, cap: usize) -> Self {
        let mut frag_pps = [0; FRAG_KINDS];
        frag_pps[Frag::Ping as usize] = cfg.icmp_pps;
        frag_pps[Frag::Syn as usize] = cfg.syn_pps;
        frag_pps[Frag::Tcp as usize] = cfg.ack_rst_pps;
        frag_pps[Frag::Udp as usize] = cfg.udp_pps;
        frag_pps[Frag::Other as usize] = cfg.ip_pps;
        frag_pps[Frag::Orphan as usize] = cfg.ip_pps;
        DosShapes {
            stomp_pps: cfg.ack_rst_pps,
            tunnel_pps: cfg.ip_pps,
            frag_pps,
            conns: CappedMap::new(cap),
            datagrams: CappedMap::new(cap),
            frag_victims: CappedMap::new(cap),
            tunnels: CappedMap::new(cap),
        }
    }

    pub fn on_packet(&mut self, ctx: &PacketContext<'_, '_>, out: &mut Vec<Draft>) {
        if let Some(o) = ctx.outer.filter(|o| !o.mirror) {
            self.tunnel(o, ctx, out);
        }
        let Net::Ip(ip) = &ctx.pkt.net else { return };
        if ip.fragmented {
            self.fragment(ip, ctx, out);
        } else if let Transport::Tcp(t) = ctx.pkt.transport {
            self.stomp(t.seq, ctx, out);
        }
    }

    /// A TCP packet: at every 64th of its direction (and the one before),
    /// see whether sequence numbers follow one another.
    fn stomp(&mut self, seq: u32, ctx: &PacketContext<'_, '_>, out: &mut Vec<Draft>) {
        if self.stomp_pps == 0 {
            return;
        }
        let (Some(flow), Some(dir)) = (ctx.flow, ctx.dir) else {
            return;
        };
        let d = usize::from(dir == Dir::ToClient);
        let n = flow.pkts[d];
        let at = n % CHECK_EVERY;
        if (at != 0 && at != CHECK_EVERY - 1)
            || flow.tcp_flags[0] & tcpflag::SYN == 0
            || flow.tcp_flags[1] & tcpflag::SYN == 0
        {
            return;
        }
        let pkt = ctx.pkt;
        let len = u32::try_from(pkt.payload_len()).unwrap_or(u32::MAX);
        let key = (flow.id, d as u8);
        let now = pkt.ts;
        if at != 0 {
            if let Some(c) = self.conns.get_mut(&key) {
                c.prev = Some((seq, seq.wrapping_add(len)));
            } else {
                self.conns.entry(key, || Conn {
                    prev: Some((seq, seq.wrapping_add(len))),
                    last_check: None,
                    odd: 0,
                    reported: false,
                });
            }
            return;
        }
        let pps = u64::from(self.stomp_pps);
        let Some(c) = self.conns.get_mut(&key) else {
            return;
        };
        // A copy of the packet before (a capture that sees each packet
        // twice) follows it too.
        let in_sequence = c
            .prev
            .is_none_or(|(start, end)| seq == start || seq.wrapping_sub(end) <= SEQ_SLACK);
        let fast = c.last_check.is_some_and(|t| {
            u64::try_from(now.since(t))
                .is_ok_and(|us| us.saturating_mul(pps) <= u64::from(CHECK_EVERY) * 1_000_000)
        });
        c.odd = if !in_sequence && fast && len > 0 {
            c.odd.saturating_add(1)
        } else {
            0
        };
        c.last_check = Some(now);
        c.prev = None;
        if c.odd < STOMP_CHECKS || c.reported {
            return;
        }
        c.reported = true;
        let Some((src, dst)) = pkt.ip().map(|i| (i.src, i.dst)) else {
            return;
        };
        let (sport, dport) = match pkt.transport {
            Transport::Tcp(t) => (t.src_port, t.dst_port),
            _ => return,
        };
        let mut dr = Draft::new(AlertCategory::Dos, "tcp-stomp-flood", NAME, now);
        dr.attacker = Some(src);
        dr.attacker_port = sport;
        dr.victims = vec![dst];
        dr.victim_port = dport;
        dr.proto = Some(6);
        dr.first_seen = flow.start;
        dr.count = u64::from(n);
        dr.severity = 2;
        dr.confidence = 0.9;
        dr = dr
            .ev("segments", n)
            .ev("payload_bytes", flow.payload_bytes[d])
            .ev("out_of_sequence_checks", c.odd)
            .ev("port", dport);
        dr.summary = format!(
            "{} is flooding {} port {dport} with data segments inside a TCP connection it opened, their sequence numbers jumping about (a STOMP flood, as Mirai sends it): {n} segments so far.",
            who(ctx.devices, src),
            who(ctx.devices, dst),
        );
        out.push(dr);
    }

    /// An opened tunnel packet: count it at its outer destination.
    fn tunnel(&mut self, o: OuterIp, ctx: &PacketContext<'_, '_>, out: &mut Vec<Draft>) {
        if self.tunnel_pps == 0 {
            return;
        }
        let pkt = ctx.pkt;
        let sec = pkt.ts.0.div_euclid(1_000_000);
        // What the address sends into tunnels itself: a tunnel's far end
        // answers, a flood's victim does not.
        if let Some(v) = self.tunnels.get_mut(&o.src) {
            v.roll(sec);
            v.sent = v.sent.saturating_add(1);
        }
        if !is_victim(o.dst) {
            return;
        }
        // The inner packet goes from the outer source to the outer
        // destination itself: `dos` counts what it carries at that victim.
        if pkt.ip().is_some_and(|i| i.src == o.src && i.dst == o.dst) {
            return;
        }
        let v = self.tunnels.entry(o.dst, || TunnelVictim::new(sec, o.src));
        v.roll(sec);
        v.pkts = v.pkts.saturating_add(1);
        v.total = v.total.saturating_add(1);
        v.proto = o.proto;
        v.top_src.vote(o.src);
        if ctx.new_flow {
            v.fresh = v.fresh.saturating_add(1);
        }
        let c = v.fresh;
        let over = c >= self.tunnel_pps
            && c.saturating_mul(2) >= v.pkts
            && v.sent.saturating_add(v.sent_prev).saturating_mul(10) <= c;
        if !over {
            return;
        }
        let ongoing = sec.saturating_sub(v.last_over) <= 1;
        v.last_over = sec;
        if ongoing {
            return;
        }
        let one_src = v.top_src.has_majority(v.pkts);
        let sig = if one_src {
            "ip-protocol-flood"
        } else {
            "ip-protocol-flood-spoofed"
        };
        let mut d = Draft::new(AlertCategory::Dos, sig, NAME, pkt.ts);
        d.attacker = v.top_src.winner(v.pkts);
        d.victims = vec![o.dst];
        d.proto = Some(o.proto);
        d.first_seen = Timestamp::from_secs(sec);
        d.count = v.total;
        d.severity = 2;
        d.confidence = 0.85;
        d = d
            .ev("tunnel_packets_per_second", v.pkts)
            .ev("new_inner_flows_per_second", c)
            .ev("tunnelled", true)
            .ev("ip_protocol", o.proto)
            .ev("spoofed", !one_src);
        let tunnel = match o.proto {
            47 => "GRE",
            4 | 41 => "IP-in-IP",
            17 => "VXLAN",
            _ => "tunnel",
        };
        d.summary = format!(
            "{} is being flooded with about {} {tunnel} packets per second{}, their inner packets addressed elsewhere, each a new flow, none answered (a tunnel flood, as Mirai's greip/greeth send it).",
            who(ctx.devices, o.dst),
            v.pkts,
            match d.attacker {
                Some(a) => format!(" from {}", who(ctx.devices, a)),
                None => " from many forged addresses".to_string(),
            }
        );
        out.push(d);
    }

    /// An IP fragment: count it for its datagram's kind at its destination.
    fn fragment(&mut self, ip: &Ip, ctx: &PacketContext<'_, '_>, out: &mut Vec<Draft>) {
        let pkt = ctx.pkt;
        let (src, dst) = (ip.src, ip.dst);
        if dst.is_multicast() || dst.is_unspecified() {
            return;
        }
        let key = (src, dst, ip.ident);
        let kind = if ip.later_fragment {
            self.datagrams.get(&key).copied().unwrap_or(Frag::Orphan)
        } else {
            // The receiver never sent on this datagram's flow.
            let unanswered = ctx.flow.is_some_and(|f| {
                let receiver = usize::from(ctx.dir != Some(Dir::ToClient));
                f.pkts[receiver] == 0
            });
            let kind = match pkt.transport {
                Transport::Icmp(i) if i.is_echo_request() => Frag::Ping,
                Transport::Tcp(t)
                    if t.flags & (tcpflag::SYN | tcpflag::ACK | tcpflag::RST | tcpflag::FIN)
                        == tcpflag::SYN =>
                {
                    Frag::Syn
                }
                // A SYN-ACK answers; every other fragmented segment is odd
                // (TCP finds the path MTU and sets DF).
                Transport::Tcp(t) if t.flags & tcpflag::SYN == 0 => Frag::Tcp,
                // UDP on a flow its receiver never answered (a DNS or NFS
                // reply's flow was opened by the receiver's request).
                Transport::Udp(_) if unanswered => Frag::Udp,
                // Another protocol likewise (`ip_pps` counts only what the
                // address does not answer: a tunnel's far end does, and a
                // tunnel's packets past the path MTU leave in fragments).
                Transport::Other(p) if unanswered && !matches!(p, 1 | 2 | 6 | 17 | 58) => {
                    Frag::Other
                }
                _ => Frag::Answered,
            };
            *self.datagrams.entry(key, || kind) = kind;
            kind
        };
        if kind == Frag::Answered {
            return;
        }
        let sec = pkt.ts.0.div_euclid(1_000_000);
        let v = self.frag_victims.entry(dst, || FragVictim::new(sec, src));
        if v.sec != sec {
            let next = sec == v.sec.saturating_add(1);
            v.orphans_prev = if next {
                v.counts[Frag::Orphan as usize]
            } else {
                0
            };
            v.sec = sec;
            v.counts = [0; FRAG_KINDS];
            v.pkts = 0;
            v.top_src.clear();
            v.top_mac.clear();
        }
        let k = kind as usize;
        v.counts[k] = v.counts[k].saturating_add(1);
        v.total[k] = v.total[k].saturating_add(1);
        v.pkts = v.pkts.saturating_add(1);
        v.top_src.vote(src);
        if let Some(m) = pkt.link.src {
            v.top_mac.vote(m);
        }
        let c = v.counts[k];
        let limit = self.frag_pps[k];
        // Later fragments alone are judged over two seconds, as one-way UDP
        // is in `dos`: the limit this second, twice it over this second and
        // the one before, at least a quarter in that one.
        let over = limit > 0
            && c >= limit
            && (kind != Frag::Orphan
                || (v.orphans_prev >= limit / 4
                    && c.saturating_add(v.orphans_prev) >= limit.saturating_mul(2)));
        if !over {
            return;
        }
        let ongoing = sec.saturating_sub(v.last_over[k]) <= 1;
        v.last_over[k] = sec;
        if ongoing {
            return;
        }
        // The majority source, unless there is none (spoofed sources): then
        // the majority sender MAC names who floods.
        let one_src = v.top_src.has_majority(v.pkts);
        let mut d = Draft::new(AlertCategory::Dos, kind.signature(!one_src), NAME, pkt.ts);
        d.attacker = v.top_src.winner(v.pkts);
        if !one_src {
            d.attacker_mac = v.top_mac.winner(v.pkts);
        }
        d.victims = vec![dst];
        d.proto = Some(ip.proto);
        d.first_seen = Timestamp::from_secs(sec);
        d.count = v.total[k];
        d.severity = 2;
        d.confidence = 0.85;
        d = d
            .ev("fragments_per_second", c)
            .ev("fragmented", true)
            .ev("ip_protocol", ip.proto)
            .ev("spoofed", !one_src);
        if let Some(m) = v.top_mac.leader() {
            d = d.ev("sender_mac", m.to_string());
        }
        d.summary = format!(
            "{} is being flooded with about {c} {} per second{}.",
            who(ctx.devices, dst),
            kind.words(),
            match d.attacker {
                Some(a) => format!(" from {}", who(ctx.devices, a)),
                None => " from many forged addresses".to_string(),
            }
        );
        out.push(d);
    }
}
