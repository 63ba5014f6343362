//! Reconnaissance: port scans, host sweeps (TCP, UDP, ICMP, ARP), stealth
//! and OS-fingerprint probes, and Mirai's telnet scanner.
//!
//! State is one small record per probing source (capped, see
//! [`CappedMap`]), reset when its window runs out. A *probe* is a packet that
//! opens a flow (a SYN, a null/FIN/Xmas packet, a bare ACK of no connection
//! as nmap's `-sA` sends, a first UDP datagram) or an ICMP echo/timestamp
//! request; an *answer* is a SYN-ACK, the first UDP reply, or any reply but
//! a RST to a flow that began mid-stream (a conversation picked up late,
//! not a probe); a *refusal* a RST or ICMP unreachable. Scans are probes that
//! mostly fail, which is what separates them from a browser opening
//! connections to many hosts. Per packet: one or two map lookups, no
//! allocation.
//!
//! Beyond the 60-second window, and beyond TCP and UDP:
//! - a *slow* vertical TCP scan (nmap `-T1`, one probe every 15 s) is
//!   counted over `slow_window_secs` (30 min by default) with the same
//!   thresholds, per probed host (up to four per source, so the source's
//!   other scans and logins in that half hour do not dilute it): spreading
//!   a scan out only delays its alert. The per-host count uses the 60 s
//!   count's keys, so a scan the 60 s count holds whole crosses there
//!   first and is reported as a fast scan. A scan is called slow only when
//!   the probes counted for it span more than the 60 s window and fewer
//!   than three quarters of its ports were new in the current one (a burst
//!   after a stray probe minutes earlier is fast); a per-host
//!   count that crosses sooner (a fast scan cut by the window's edge, or
//!   one among more than two hosts) is reported as the fast scan it is.
//!   Either way its first-seen time and duration are those of the probes
//!   it counted. UDP ports are counted the same way (their own slots),
//!   but only *empty* datagrams (at most `SLOW_UDP_PAYLOAD` bytes) are
//!   slow-tier probes: nmap `-sU` sends most ports nothing, while one-way
//!   media to a phone's changing ports (RTP, 12+ bytes of header), a
//!   traceroute (32 bytes) or a game's keep-alives carry a payload;
//! - SCTP INIT probes (nmap `-sY`) are a third probe transport, answered by
//!   INIT-ACK, refused by ABORT;
//! - many IP protocol numbers other than TCP/UDP/ICMP sent to one host are
//!   an IP protocol scan (nmap `-sO`): no device speaks eight of them to one
//!   peer;
//! - first fragments too short to hold the TCP or UDP header (RFC 1858's
//!   tiny fragments: nmap `-f`, fragroute) are an evasion no ordinary stack
//!   produces, whatever ports they hide;
//! - the payloads nmap's version detection (`-sV`) sends to services that
//!   do not talk first (its RPC, DNS `version.bind`, SSLv3, X11, LPD …
//!   probes, all constants of `nmap-service-probes`) name the tool on any
//!   port, web server or not: three kinds to one source, or one that names
//!   nmap outright (an MQTT client id `nmap…`, RDP `mstshash=nmap`, SIP
//!   `nm@nm`).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::OnceLock;

use memchr::memmem::Finder;

use ward_core::decode::{tcpflag, Net, Transport};
use ward_core::devices::DeviceTable;
use ward_core::flow::Dir;
use ward_core::{AlertCategory, PacketContext, Timestamp};

use crate::alert::{ascii_lower, secs, span, who, Draft, NeedleFilter, LOWER_ROOM};
use crate::config::ReconConfig;
use crate::table::{CappedMap, Distinct};

const NAME: &str = "scan";
const VICTIM_SLOTS: usize = 8;
/// UDP payload bytes from which a datagram is no scan probe (Mirai's UDP
/// floods send 512 by default; nmap's largest protocol payload, in
/// nmap-payloads, is 244 bytes).
const FLOOD_DATAGRAM: usize = 512;

/// nmap OS-detection probe kinds (nmap book, "TCP/IP fingerprinting methods").
mod os_probe {
    pub const SEQ: u16 = 1; // SYN with TSval 0xFFFFFFFF
    pub const ECN: u16 = 1 << 1; // SYN|ECE|CWR, urgent 0xF7F5
    pub const T2: u16 = 1 << 2; // no flags, window 128
    pub const T3: u16 = 1 << 3; // SYN|FIN|PSH|URG, window 256
    pub const T4: u16 = 1 << 4; // ACK, window 1024
    pub const T5: u16 = 1 << 5; // SYN, window 31337
    pub const T6: u16 = 1 << 6; // ACK, window 32768
    pub const T7: u16 = 1 << 7; // FIN|PSH|URG, window 65535
}

// Signatures already reported in the current window (bit per kind).
const R_VERT: u16 = 1;
const R_HORIZ: u16 = 1 << 1;
const R_PING: u16 = 1 << 2;
const R_ARP: u16 = 1 << 3;
const R_STEALTH: u16 = 1 << 4;
const R_OS: u16 = 1 << 5;
const R_MIRAI: u16 = 1 << 6;
const R_TOOL: u16 = 1 << 7;
const R_VERT_UDP: u16 = 1 << 8;
const R_HORIZ_UDP: u16 = 1 << 9;
const R_VERT_SCTP: u16 = 1 << 10;
const R_HORIZ_SCTP: u16 = 1 << 11;
const R_PROTO: u16 = 1 << 12;
const R_FRAG: u16 = 1 << 13;
const R_SERVICE: u16 = 1 << 14;

// Threshold families a packet's counting may have moved (bit per family),
// handed to [`Limits::check`]: a family whose counters did not grow cannot
// have crossed its threshold, since it was tested false after its last
// growth (the first check of a source's window tests every family, so
// thresholds of 0 fire as before). Answers, which arrive without a check,
// only ever lower the failure shares the tests ask to be high.
const F_MIRAI: u16 = 1;
/// Per transport: `F_TCP << t` (TCP, UDP, SCTP vertical and horizontal).
const F_TCP: u16 = 1 << 1;
const F_UDP: u16 = 1 << 2;
const F_SCTP: u16 = 1 << 3;
const F_CHATTER: u16 = 1 << 4;
const F_PING: u16 = 1 << 5;
const F_ARP: u16 = 1 << 6;
const F_STEALTH: u16 = 1 << 7;
const F_OS: u16 = 1 << 8;
const F_SLOW: u16 = 1 << 9;
const F_PROTO: u16 = 1 << 10;
const F_FRAG: u16 = 1 << 11;
const F_SERVICE: u16 = 1 << 12;
const F_ALL: u16 = (1 << 13) - 1;

#[cfg(test)]
thread_local! {
    /// Test-only: every check tests every family, as before the `F_*`
    /// masks (the differential test in `tests` compares the two).
    static CHECK_ALL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[cfg(test)]
fn check_all() -> bool {
    CHECK_ALL.with(std::cell::Cell::get)
}

#[cfg(not(test))]
#[inline(always)]
fn check_all() -> bool {
    false
}

/// Probe transports: TCP, UDP, SCTP.
const TRANSPORTS: usize = 3;
const SCTP: usize = 2;

/// Hosts whose ports a source probed, tracked over the slow window.
const SLOW_SLOTS: usize = 4;
/// Largest UDP payload of a slow-tier probe (module docs): nmap `-sU`'s
/// probes of ports without a protocol payload are empty.
const SLOW_UDP_PAYLOAD: usize = 8;

/// Vertical TCP (or empty-UDP) scan counts of one probed host over the
/// slow window (nmap `-T1`/`-T0`). `first` is the first probe the counts hold: the slot is
/// created by it, and a slot evicted and re-created starts its counts and
/// its time afresh, so the two always describe the same probes.
#[derive(Clone, Copy)]
struct SlowHost {
    host: IpAddr,
    /// UDP ports (else TCP).
    udp: bool,
    first: Timestamp,
    probes: u32,
    /// (host, port) probed and answered: the keys [`Source::services`]
    /// uses, so both counts set the same bits of their approximate counters
    /// for this host's probes.
    services: Distinct,
    answered: Distinct,
    /// Services first probed in the source's current short window, and
    /// when the first of them was: a burst after a few stray probes minutes
    /// earlier is a fast scan, however long ago the first stray was.
    recent: u16,
    recent_first: Timestamp,
    /// Reported, by either tier: the slot's count is spent.
    reported: bool,
}

/// The slow tier: per-host counts, so a slow scan of one device is not
/// diluted by whatever else the source did in half an hour (its earlier,
/// faster scans of other hosts, its logins). Each host's count runs for the
/// slow window from its own first probe ([`Slow::expire`]), so a scan that
/// begins late in the source's first half hour is not cut in two.
#[derive(Clone, Copy)]
struct Slow {
    hosts: [Option<SlowHost>; SLOW_SLOTS],
}

impl Slow {
    fn new() -> Self {
        Slow {
            hosts: [None; SLOW_SLOTS],
        }
    }

    /// Frees the hosts first probed more than `window` µs before `now`.
    fn expire(&mut self, now: Timestamp, window: i64) {
        for h in &mut self.hosts {
            if h.is_some_and(|h| now.since(h.first) > window) {
                *h = None;
            }
        }
    }

    /// A new short window: no service is recent any more.
    fn new_window(&mut self) {
        for h in self.hosts.iter_mut().flatten() {
            h.recent = 0;
        }
    }

    fn slot(&mut self, host: IpAddr, udp: bool) -> Option<&mut SlowHost> {
        self.hosts
            .iter_mut()
            .flatten()
            .find(|h| h.host == host && h.udp == udp)
    }

    fn probe(&mut self, host: IpAddr, udp: bool, port: u16, now: Timestamp) {
        // The host's slot, found once (the first match, as `slot` finds it;
        // a slot made below is the only match).
        let found = self
            .hosts
            .iter()
            .position(|h| h.is_some_and(|h| h.host == host && h.udp == udp));
        let i = if let Some(i) = found {
            i
        } else {
            // A free slot, else one already reported (its alert is out; a
            // repeat would be suppressed anyway), else the one with the
            // fewest services probed. A slow scan under way is the slot
            // least worth giving up: evicted, it loses its count and its
            // start, and a scan reported fast by the 60 s count must not
            // push it out.
            let i = self
                .hosts
                .iter()
                .position(|h| h.is_none_or(|h| h.reported))
                .or_else(|| {
                    (0..SLOW_SLOTS)
                        .min_by_key(|&i| self.hosts[i].map_or(0, |h| h.services.estimate()))
                })
                .unwrap_or(0);
            self.hosts[i] = Some(SlowHost {
                host,
                udp,
                first: now,
                probes: 0,
                services: Distinct::default(),
                answered: Distinct::default(),
                recent: 0,
                recent_first: now,
                reported: false,
            });
            i
        };
        if let Some(h) = self.hosts.get_mut(i).and_then(Option::as_mut) {
            h.probes = h.probes.saturating_add(1);
            if h.services.insert(&(host, port)) {
                if h.recent == 0 {
                    h.recent_first = now;
                }
                h.recent = h.recent.saturating_add(1);
            }
        }
    }
}

#[derive(Clone, Copy)]
struct Source {
    start: Timestamp,
    last: Timestamp,
    /// Per transport (0 TCP, 1 UDP, 2 SCTP): probes, (host, port) pairs,
    /// hosts, ports, and whether they all went to one port.
    probes: [u32; TRANSPORTS],
    answered: u32,
    /// Per transport: the hosts and (host, port) services that answered.
    /// Failure is judged on these, so a flood against an open port in the
    /// same window (thousands of answers) cannot hide a sweep of other hosts.
    answered_hosts: [Distinct; TRANSPORTS],
    answered_services: [Distinct; TRANSPORTS],
    refused: u32,
    /// (host, proto, port) probed.
    services: [Distinct; TRANSPORTS],
    hosts: [Distinct; TRANSPORTS],
    ports: [Distinct; TRANSPORTS],
    first_victim: [Option<IpAddr>; TRANSPORTS],
    /// Where this source last sent a SYN/ACK that opened a flow (nmap's
    /// idle scan probing its zombie's IP id).
    synack_to: Option<IpAddr>,
    /// Boyer–Moore vote over the probed hosts per transport, one vote per
    /// new (host, port): the host a vertical scan walks the ports of,
    /// whatever the source touched first or most in the window (a login
    /// guesser's connections just before a scan are not its victim).
    top_host: [IpAddr; TRANSPORTS],
    top_host_votes: [u32; TRANSPORTS],
    /// First targets of TCP/UDP probes, and of ICMP/ARP discovery.
    victims: [IpAddr; VICTIM_SLOTS],
    n_victims: u8,
    swept: [IpAddr; VICTIM_SLOTS],
    n_swept: u8,
    first_port: [u16; TRANSPORTS],
    one_port: [bool; TRANSPORTS],
    /// UDP probes of discovery/infrastructure ports ([`is_chatter_port`]),
    /// the hosts they went to and the first port.
    chatter_probes: u32,
    chatter_hosts: Distinct,
    chatter_port: u16,
    icmp_probes: u32,
    icmp_hosts: Distinct,
    arp_requests: u32,
    arp_hosts: Distinct,
    stealth: u32,
    stealth_ports: Distinct,
    os_kinds: u16,
    os_target: IpAddr,
    mirai: u32,
    mirai_hosts: Distinct,
    /// IP protocol numbers other than TCP/UDP/ICMP sent, and to whom.
    protocols: Distinct,
    proto_hosts: Distinct,
    proto_target: IpAddr,
    /// First fragments too short for their transport header.
    tiny_frags: u32,
    tiny_frag_target: IpAddr,
    /// nmap service-probe kinds sent (bit per kind) and to whom.
    service_kinds: u32,
    service_target: IpAddr,
    service_port: u16,
    slow: Slow,
    reported: u16,
    /// No threshold check has run since this window began: the next one
    /// tests every family (see [`F_MIRAI`]).
    unchecked: bool,
}

impl Source {
    fn new(now: Timestamp) -> Self {
        Source {
            start: now,
            last: now,
            probes: [0; TRANSPORTS],
            answered: 0,
            answered_hosts: [Distinct::default(); TRANSPORTS],
            answered_services: [Distinct::default(); TRANSPORTS],
            refused: 0,
            services: [Distinct::default(); TRANSPORTS],
            hosts: [Distinct::default(); TRANSPORTS],
            ports: [Distinct::default(); TRANSPORTS],
            first_victim: [None; TRANSPORTS],
            synack_to: None,
            top_host: [IpAddr::V4(Ipv4Addr::UNSPECIFIED); TRANSPORTS],
            top_host_votes: [0; TRANSPORTS],
            victims: [IpAddr::V4(Ipv4Addr::UNSPECIFIED); VICTIM_SLOTS],
            n_victims: 0,
            swept: [IpAddr::V4(Ipv4Addr::UNSPECIFIED); VICTIM_SLOTS],
            n_swept: 0,
            first_port: [0; TRANSPORTS],
            one_port: [true; TRANSPORTS],
            chatter_probes: 0,
            chatter_hosts: Distinct::default(),
            chatter_port: 0,
            icmp_probes: 0,
            icmp_hosts: Distinct::default(),
            arp_requests: 0,
            arp_hosts: Distinct::default(),
            stealth: 0,
            stealth_ports: Distinct::default(),
            os_kinds: 0,
            os_target: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            mirai: 0,
            mirai_hosts: Distinct::default(),
            protocols: Distinct::default(),
            proto_hosts: Distinct::default(),
            proto_target: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            tiny_frags: 0,
            tiny_frag_target: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            service_kinds: 0,
            service_target: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            service_port: 0,
            slow: Slow::new(),
            reported: 0,
            unchecked: true,
        }
    }

    fn note_victim(&mut self, ip: IpAddr) {
        let n = self.n_victims as usize;
        if n < VICTIM_SLOTS && !self.victims[..n].contains(&ip) {
            self.victims[n] = ip;
            self.n_victims += 1;
        }
    }

    fn note_swept(&mut self, ip: IpAddr) {
        let n = self.n_swept as usize;
        if n < VICTIM_SLOTS && !self.swept[..n].contains(&ip) {
            self.swept[n] = ip;
            self.n_swept += 1;
        }
    }

    fn victims(&self) -> Vec<IpAddr> {
        self.victims[..self.n_victims as usize].to_vec()
    }

    fn swept(&self) -> Vec<IpAddr> {
        self.swept[..self.n_swept as usize].to_vec()
    }

    /// Count one TCP (`t` = 0) or UDP (1) probe.
    fn probe(&mut self, t: usize, dst: IpAddr, port: u16) {
        if self.probes[t] == 0 {
            self.first_port[t] = port;
            self.first_victim[t] = Some(dst);
        } else if port != self.first_port[t] {
            self.one_port[t] = false;
        }
        self.probes[t] += 1;
        // Only a service not probed before votes: a port scan touches many,
        // while 43 logins to one broker port are one service.
        if self.services[t].insert(&(dst, port)) {
            if self.top_host_votes[t] == 0 {
                self.top_host[t] = dst;
                self.top_host_votes[t] = 1;
            } else if self.top_host[t] == dst {
                self.top_host_votes[t] = self.top_host_votes[t].saturating_add(1);
            } else {
                self.top_host_votes[t] -= 1;
            }
        }
        self.hosts[t].insert(&dst);
        self.ports[t].insert(&port);
        self.note_victim(dst);
        if t == 0 {
            self.slow.probe(dst, false, port, self.last);
        }
    }

    /// A probed host or service answered (SYN-ACK, first UDP reply, a
    /// mid-stream conversation going on).
    fn answer(&mut self, t: usize, host: IpAddr, port: u16) {
        self.answered = self.answered.saturating_add(1);
        self.answered_hosts[t].insert(&host);
        self.answered_services[t].insert(&(host, port));
        if t < 2 {
            if let Some(h) = self.slow.slot(host, t == 1) {
                h.answered.insert(&(host, port));
            }
        }
    }

    /// Share of the probed hosts (`by_host`) or services of transport `t`
    /// that never answered.
    fn failed_ratio(&self, t: usize, by_host: bool) -> f32 {
        let (probed, answered) = if by_host {
            (self.hosts[t].estimate(), self.answered_hosts[t].estimate())
        } else {
            (
                self.services[t].estimate(),
                self.answered_services[t].estimate(),
            )
        };
        if probed == 0 {
            return 0.0;
        }
        1.0 - (answered.min(probed) as f32 / probed as f32)
    }
}

pub struct Recon {
    cfg: ReconConfig,
    window_us: i64,
    /// 0: the slow tier is off.
    slow_window_us: i64,
    sources: CappedMap<IpAddr, Source>,
}

/// The sender's own address when a frame carries a source address another
/// LAN device holds (and used within the device table's hold time) but was
/// sent from a different device's MAC. `None` when the address is the
/// sender's, unknown (decoys, outside addresses) or the sender has no other
/// address of that family.
fn spoofed_sender(ctx: &PacketContext<'_, '_>, src: IpAddr) -> Option<IpAddr> {
    let me = ctx.src_device?;
    if ctx.devices.find_ip(src)? == me {
        return None;
    }
    let ips = &ctx.devices.get(me)?.ips;
    ips.iter()
        .rev()
        .find(|a| a.is_ipv4() == src.is_ipv4() && **a != src)
        .copied()
}

fn is_target(ip: IpAddr) -> bool {
    !(ip.is_multicast() || ip.is_unspecified() || ip.is_loopback())
        && match ip {
            IpAddr::V4(v4) => !v4.is_broadcast() && v4.octets()[3] != 255,
            IpAddr::V6(_) => true,
        }
}

/// The source record of `ip`, a new short window begun when the last one
/// is over (see [`Recon::source`]).
fn source_in(
    sources: &mut CappedMap<IpAddr, Source>,
    window: i64,
    slow_window: i64,
    ip: IpAddr,
    now: Timestamp,
) -> &mut Source {
    let s = sources.entry(ip, || Source::new(now));
    if now.since(s.start) > window {
        // The slow tier outlives the short window (that is its point);
        // each host's count ends a slow window after its first probe.
        let mut slow = s.slow;
        slow.expire(now, slow_window);
        slow.new_window();
        *s = Source::new(now);
        s.slow = slow;
    }
    s.last = now.max(s.last);
    s
}

impl Recon {
    pub fn new(cfg: ReconConfig, cap: usize) -> Self {
        Recon {
            window_us: (cfg.window_secs.max(1) as i64).saturating_mul(1_000_000),
            slow_window_us: (cfg.slow_window_secs.min(i64::MAX as u64 / 1_000_000) as i64)
                .saturating_mul(1_000_000),
            cfg,
            sources: CappedMap::new(cap),
        }
    }

    fn source(&mut self, ip: IpAddr, now: Timestamp) -> &mut Source {
        source_in(
            &mut self.sources,
            self.window_us,
            self.slow_window_us,
            ip,
            now,
        )
    }

    /// Every packet: an ordinary segment that cannot be a probe ends here,
    /// before [`Recon::probing_packet`]'s large frame is set up (its
    /// registers saved and restored) for nothing.
    pub fn on_packet(&mut self, ctx: &PacketContext<'_, '_>, out: &mut Vec<Draft>) {
        if ctx.ordinary && !ordinary_can_probe(ctx) {
            return;
        }
        self.probing_packet(ctx, out);
    }

    #[inline(never)]
    fn probing_packet(&mut self, ctx: &PacketContext<'_, '_>, out: &mut Vec<Draft>) {
        if !ctx.app.is_empty() {
            self.tool_requests(ctx, out);
        }
        let pkt = ctx.pkt;
        let now = pkt.ts;
        let ip = match &pkt.net {
            Net::Ip(ip) => ip,
            Net::Arp(arp) => {
                // Broadcast who-has from a configured address: host discovery.
                if arp.op == 1
                    && pkt.link.dst.is_none_or(|m| m.is_group())
                    && !arp.sender_ip.is_unspecified()
                    && arp.sender_ip != arp.target_ip
                {
                    let src = IpAddr::V4(arp.sender_ip);
                    let target = IpAddr::V4(arp.target_ip);
                    let (s, limits) = self.source_with_limits(src, now);
                    s.arp_requests += 1;
                    s.arp_hosts.insert(&target);
                    s.note_swept(target);
                    limits.check(s, src, ctx.devices, now, F_ARP, out);
                }
                return;
            }
            _ => return,
        };
        let (src, dst) = (ip.src, ip.dst);
        if let Transport::Other(proto) = pkt.transport {
            if ip.later_fragment || !is_target(dst) {
                return;
            }
            // What the fragment carried past its IP headers, by the header's
            // own length field: a snap length cuts the capture, not the
            // packet on the wire.
            let carried = usize::from(ip.total_len)
                .saturating_sub(if ip.is_v6() { 40 } else { 20 })
                .saturating_sub(usize::from(ip.options_len));
            let changed;
            let tiny = ip.fragmented
                && match proto {
                    6 => carried < 20,
                    17 => carried < 8,
                    _ => false,
                };
            if tiny {
                // The decoder leaves a first fragment shorter than its TCP
                // (20) or UDP (8) header undecoded: RFC 1858's tiny fragment.
                // (A first fragment cut by the snap length is undecoded too,
                // but its length field says the header was sent whole.)
                let s = self.source(src, now);
                s.tiny_frags = s.tiny_frags.saturating_add(1);
                s.tiny_frag_target = dst;
                s.note_victim(dst);
                changed = F_FRAG;
            } else if proto == 132 {
                self.sctp(src, dst, pkt.payload, now);
                changed = F_SCTP;
            } else if !matches!(proto, 6 | 17 | 1 | 58) {
                changed = F_PROTO;
                let s = self.source(src, now);
                s.protocols.insert(&proto);
                if s.proto_hosts.insert(&dst) || s.proto_hosts.estimate() == 1 {
                    s.proto_target = dst;
                }
            } else {
                return;
            }
            self.check(src, ctx.devices, now, changed, out);
            return;
        }
        match pkt.transport {
            Transport::Tcp(t) => {
                let f = t.flags;
                let from_client = ctx.dir != Some(Dir::ToClient);
                if !from_client {
                    let synack = f & (tcpflag::SYN | tcpflag::ACK) == tcpflag::SYN | tcpflag::ACK;
                    if synack
                        && ctx.new_flow
                        && is_target(dst)
                        && ctx.devices.is_local(src)
                        && ctx.src_device.is_some()
                        && ctx.devices.find_ip(src) == ctx.src_device
                    {
                        // A SYN/ACK nobody asked for, from a LAN device's own
                        // address: an idle scan's probe of its zombie.
                        self.source(src, now).synack_to = Some(dst);
                        return;
                    }
                    // Replies to a prober: account them to it, never create.
                    let Some(flow) = ctx.flow else { return };
                    let Some(client) = flow.src_ip else { return };
                    if !synack && flow.pkts[1] != 1 {
                        // Nothing below counts it: skip the lookup (most
                        // packets are servers' later ones).
                        return;
                    }
                    if let Some(s) = self.sources.get_mut(&client) {
                        if synack {
                            s.answer(0, src, t.src_port);
                        } else if f & tcpflag::RST != 0 && flow.pkts[1] == 1 {
                            s.refused += 1;
                        } else if flow.pkts[1] == 1 && flow.tcp_flags[0] & tcpflag::SYN == 0 {
                            // A connection seen mid-stream goes on.
                            s.answer(0, src, t.src_port);
                        }
                    }
                    return;
                }
                if !pkt.payload.is_empty() {
                    let first_data = ctx.flow.is_some_and(|fl| {
                        u64::from(fl.payload_bytes[0]) == pkt.payload_len() as u64
                    });
                    if first_data {
                        if let Some(k) = nmap_service_probe(pkt.payload) {
                            let (s, limits) = self.source_with_limits(src, now);
                            s.service_kinds |= 1 << k;
                            s.service_target = dst;
                            s.service_port = t.dst_port;
                            limits.check(s, src, ctx.devices, now, F_SERVICE, out);
                        }
                    }
                    // A SYN may carry data (nmap --data-length): go on.
                }
                let syn = f & tcpflag::SYN != 0;
                let ack = f & tcpflag::ACK != 0;
                let kind = os_probe_kind(&t);
                // Null, FIN, Xmas …
                let stealth = !syn && !ack && f & tcpflag::RST == 0;
                // A bare ACK opening a flow: nmap -sA maps firewalls with
                // these (a RST answers from every unfiltered port). A
                // conversation picked up mid-stream starts the same way but
                // is answered normally, which counts as an answer above.
                let ack_probe = ctx.new_flow
                    && ack
                    && !syn
                    && f & (tcpflag::RST | tcpflag::FIN) == 0
                    && pkt.payload.is_empty();
                let mirai = syn
                    && !ack
                    && matches!(t.dst_port, 23 | 2323)
                    && matches!(dst, IpAddr::V4(v4) if u32::from(v4) == t.seq);
                let probe = (ctx.new_flow && syn && !ack) || stealth || ack_probe;
                if !(probe || kind != 0 || mirai) || !is_target(dst) {
                    return;
                }
                // nmap's idle scan: SYNs carrying the zombie's address, sent
                // from the NIC of a device that itself probes the zombie
                // with SYN/ACKs. They are that device's scan. (The sending
                // MAC alone is not enough: an ARP-poisoning relay carries
                // others' connections too.) Only within the sender's current
                // window: an expired one's SYN/ACK is old news, which
                // `source` would reset anyway.
                let window = self.window_us;
                let src = match spoofed_sender(ctx, src) {
                    Some(me)
                        if self.sources.get(&me).is_some_and(|s| {
                            s.synack_to == Some(src) && now.since(s.start) <= window
                        }) =>
                    {
                        me
                    }
                    _ => src,
                };
                let (s, limits) = self.source_with_limits(src, now);
                let mut changed = 0;
                if probe {
                    s.probe(0, dst, t.dst_port);
                    changed |= F_TCP | F_SLOW;
                }
                if stealth {
                    s.stealth += 1;
                    s.stealth_ports.insert(&(dst, t.dst_port));
                    changed |= F_STEALTH;
                }
                s.os_kinds |= kind;
                if kind != 0 {
                    s.os_target = dst;
                    changed |= F_OS;
                }
                if mirai {
                    s.mirai += 1;
                    s.mirai_hosts.insert(&dst);
                    s.note_victim(dst);
                    changed |= F_MIRAI;
                }
                limits.check(s, src, ctx.devices, now, changed, out);
            }
            Transport::Udp(u) => {
                let Some(flow) = ctx.flow else { return };
                if ctx.dir == Some(Dir::ToClient) {
                    if flow.pkts[1] == 1 {
                        if let Some(s) = flow.src_ip.and_then(|c| self.sources.get_mut(&c)) {
                            s.answer(1, src, u.src_port);
                        }
                    }
                    return;
                }
                if !ctx.new_flow || !is_target(dst) {
                    return;
                }
                // A DHCP server unicasts its offers to every client it
                // serves: never a sweep.
                if matches!(u.dst_port, 67 | 68) {
                    return;
                }
                // No scanner's probe is this big (nmap's and masscan's UDP
                // payloads are a few hundred bytes at most): a random-port
                // flood (Mirai's udp, greip, greeth) is dos's, not a scan.
                if pkt.payload_len() >= FLOOD_DATAGRAM {
                    return;
                }
                let (s, limits) = self.source_with_limits(src, now);
                let changed;
                if is_chatter_port(u.dst_port) {
                    // Everyday discovery and infrastructure ports are kept
                    // apart: only a wide, unanswered sweep of them counts
                    // (reflector hunting: who answers DNS, NTP, SSDP …).
                    s.chatter_hosts.insert(&dst);
                    s.chatter_probes = s.chatter_probes.saturating_add(1);
                    if s.chatter_probes == 1 {
                        s.chatter_port = u.dst_port;
                    }
                    s.note_swept(dst);
                    changed = F_CHATTER;
                } else {
                    changed = F_UDP | F_SLOW;
                    s.probe(1, dst, u.dst_port);
                    if pkt.payload_len() <= SLOW_UDP_PAYLOAD {
                        s.slow.probe(dst, true, u.dst_port, now);
                    }
                }
                limits.check(s, src, ctx.devices, now, changed, out);
            }
            Transport::Icmp(icmp) => {
                let request = icmp.is_echo_request() || (!icmp.v6 && matches!(icmp.kind, 13 | 17)); // timestamp, address mask
                if request && is_target(dst) {
                    let (s, limits) = self.source_with_limits(src, now);
                    s.icmp_probes += 1;
                    s.icmp_hosts.insert(&dst);
                    s.note_swept(dst);
                    limits.check(s, src, ctx.devices, now, F_PING, out);
                } else if icmp.is_error() && matches!(icmp.kind, 3 | 1) {
                    // Unreachable back to a prober (ICMPv4 3 / ICMPv6 1).
                    if let Some(s) = self.sources.get_mut(&dst) {
                        s.refused += 1;
                    }
                }
            }
            _ => {}
        }
    }

    /// Threshold checks for one source after an update (integer compares
    /// unless something fires).
    fn check(
        &mut self,
        src: IpAddr,
        devices: &DeviceTable,
        now: Timestamp,
        changed: u16,
        out: &mut Vec<Draft>,
    ) {
        let (window_us, slow_window_us) = (self.window_us, self.slow_window_us);
        let Some(s) = self.sources.get_mut(&src) else {
            return;
        };
        let limits = Limits {
            cfg: &self.cfg,
            window_us,
            slow_window_us,
        };
        limits.check(s, src, devices, now, changed, out);
    }

    /// [`Recon::source`], with what [`Limits::check`] needs beside it: a
    /// probe is counted and checked with one lookup of its source (the
    /// check looked the source up again after every counted probe).
    fn source_with_limits(&mut self, ip: IpAddr, now: Timestamp) -> (&mut Source, Limits<'_>) {
        let (window_us, slow_window_us) = (self.window_us, self.slow_window_us);
        let s = source_in(&mut self.sources, window_us, slow_window_us, ip, now);
        let limits = Limits {
            cfg: &self.cfg,
            window_us,
            slow_window_us,
        };
        (s, limits)
    }
}

/// The settings a source's threshold checks read.
struct Limits<'c> {
    cfg: &'c ReconConfig,
    window_us: i64,
    slow_window_us: i64,
}

impl Limits<'_> {
    /// Threshold checks for one source after an update (integer compares
    /// unless something fires), of the families in `changed` (`F_*`), or
    /// of all of them at the window's first check.
    fn check(
        &self,
        s: &mut Source,
        src: IpAddr,
        devices: &DeviceTable,
        now: Timestamp,
        changed: u16,
        out: &mut Vec<Draft>,
    ) {
        let changed = if s.unchecked || check_all() {
            s.unchecked = false;
            F_ALL
        } else {
            changed
        };
        let window = self.window_us;
        let cfg = self.cfg;
        let base = |sig: &'static str, s: &Source| {
            let mut d = Draft::new(AlertCategory::Recon, sig, NAME, now);
            d.attacker = Some(src);
            d.first_seen = s.start;
            d.last_seen = now;
            d.victims = s.victims();
            d
        };

        if changed & F_MIRAI != 0 && s.reported & R_MIRAI == 0 && s.mirai >= cfg.mirai_syns {
            s.reported |= R_MIRAI;
            let hosts = s.mirai_hosts.estimate();
            let mut d = base("mirai-telnet-scan", s)
                .ev("syns", s.mirai)
                .ev("hosts", hosts)
                .ev("duration_s", secs(s.start, now));
            d.per_victim = false;
            d.severity = 1;
            d.confidence = 0.95;
            d.proto = Some(6);
            d.count = u64::from(s.mirai);
            d.summary = format!(
                "{} is scanning for telnet logins the way the Mirai botnet does ({} probes to {} addresses with Mirai's tell-tale sequence numbers).",
                who(devices, src),
                s.mirai,
                hosts
            );
            out.push(d);
        }

        for t in 0..TRANSPORTS {
            let (proto, pname, vert_bit, horiz_bit) = match t {
                0 => (6u8, "TCP", R_VERT, R_HORIZ),
                1 => (17u8, "UDP", R_VERT_UDP, R_HORIZ_UDP),
                _ => (132u8, "SCTP", R_VERT_SCTP, R_HORIZ_SCTP),
            };
            if changed & (F_TCP << t) == 0 || s.probes[t] == 0 {
                continue;
            }
            let probes = s.probes[t];
            let hosts = s.hosts[t].estimate();
            // Integer tests first: a check runs for every probe counted, and
            // the estimates and failure shares (pure) are only worth working
            // out for a source that could cross.
            if s.reported & vert_bit == 0
                && probes >= cfg.vertical_ports
                && hosts <= 2
                && s.services[t].estimate() >= cfg.vertical_ports
                && s.failed_ratio(t, false) >= cfg.min_failed_ratio
            {
                let ports = s.ports[t].estimate();
                let failed = s.failed_ratio(t, false);
                s.reported |= vert_bit;
                if t < 2 {
                    // The slow tier would report the same scan again.
                    let victim = if s.top_host_votes[t] > 0 {
                        s.top_host[t]
                    } else {
                        s.first_victim[t].unwrap_or(s.top_host[t])
                    };
                    if let Some(h) = s.slow.slot(victim, t == 1) {
                        h.reported = true;
                    }
                }
                let sig = ["tcp-port-scan", "udp-port-scan", "sctp-port-scan"][t];
                let mut d = base(sig, s)
                    .ev("ports", ports)
                    .ev("probes", probes)
                    .ev("answered", s.answered)
                    .ev("refused", s.refused)
                    .ev("failed_ratio", (failed * 100.0).round() / 100.0)
                    .ev("duration_s", secs(s.start, now));
                d.victims = if s.top_host_votes[t] > 0 {
                    vec![s.top_host[t]]
                } else {
                    s.first_victim[t].into_iter().collect()
                };
                d.severity = 2;
                d.confidence = 0.9;
                d.proto = Some(proto);
                d.count = u64::from(probes);
                let victim = d.victim().map(|v| who(devices, v)).unwrap_or_default();
                d.summary = format!(
                    "{} scanned {ports} {pname} ports of {victim} in {}, looking for services to attack.",
                    who(devices, src),
                    span(s.start, now)
                );
                out.push(d);
            }
            if s.reported & horiz_bit == 0
                && probes >= cfg.horizontal_hosts
                && hosts >= cfg.horizontal_hosts
                && s.failed_ratio(t, true) >= cfg.min_failed_ratio
            {
                let ports = s.ports[t].estimate();
                let failed = s.failed_ratio(t, true);
                s.reported |= horiz_bit;
                let sig = ["tcp-host-sweep", "udp-host-sweep", "sctp-host-sweep"][t];
                let mut d = base(sig, s)
                    .ev("hosts", hosts)
                    .ev("ports", ports)
                    .ev("probes", probes)
                    .ev("answered", s.answered)
                    .ev("failed_ratio", (failed * 100.0).round() / 100.0)
                    .ev("duration_s", secs(s.start, now));
                let one_port = s.one_port[t];
                if one_port {
                    d = d.ev("port", s.first_port[t]);
                    d.victim_port = s.first_port[t];
                }
                d.per_victim = false;
                d.severity = 2;
                d.confidence = 0.85;
                d.proto = Some(proto);
                d.count = u64::from(probes);
                let port = if one_port {
                    format!(" on {pname} port {}", s.first_port[t])
                } else {
                    format!(" on {ports} {pname} ports")
                };
                // A device sweeping the internet (a bot looking for more
                // victims, IoT-23's horizontal scans) is not probing the LAN.
                let whose = if s.first_victim[t].is_none_or(|v| devices.is_local(v)) {
                    "of your network"
                } else {
                    "on the internet"
                };
                d.summary = format!(
                    "{} probed {hosts} addresses {whose}{port} in {}, looking for devices to attack.",
                    who(devices, src),
                    span(s.start, now)
                );
                out.push(d);
            }
        }
        if changed & F_CHATTER != 0 {
            // A sweep of discovery ports needs twice the hosts of other sweeps:
            // devices do send unicast mDNS/SSDP/NetBIOS to a few neighbours.
            let ch = s.chatter_hosts.estimate();
            let ch_failed = |s: &Source| {
                1.0 - (s.answered_hosts[1].estimate().min(ch) as f32 / ch.max(1) as f32)
            };
            if s.reported & R_HORIZ_UDP == 0
                && ch >= cfg.horizontal_hosts.saturating_mul(2)
                && ch_failed(s) >= cfg.min_failed_ratio
            {
                let ch_failed = ch_failed(s);
                s.reported |= R_HORIZ_UDP;
                let port = s.chatter_port;
                let mut d = base("udp-host-sweep", s)
                    .ev("hosts", ch)
                    .ev("probes", s.chatter_probes)
                    .ev("port", port)
                    .ev("failed_ratio", (ch_failed * 100.0).round() / 100.0)
                    .ev("duration_s", secs(s.start, now));
                d.victims = s.swept();
                d.victim_port = port;
                d.per_victim = false;
                d.severity = 2;
                d.confidence = 0.8;
                d.proto = Some(17);
                d.count = u64::from(s.chatter_probes);
                d.summary = format!(
                "{} probed {ch} addresses of your network on UDP port {port} in {}, looking for services it can abuse.",
                who(devices, src),
                span(s.start, now)
            );
                out.push(d);
            }
        }
        if changed & F_PING != 0 {
            let ih = s.icmp_hosts.estimate();
            if s.reported & R_PING == 0 && ih >= cfg.ping_hosts {
                s.reported |= R_PING;
                let mut d = base("icmp-ping-sweep", s)
                    .ev("hosts", ih)
                    .ev("requests", s.icmp_probes)
                    .ev("duration_s", secs(s.start, now));
                d.victims = s.swept();
                d.per_victim = false;
                d.severity = 3;
                d.confidence = 0.85;
                d.proto = Some(1);
                d.count = u64::from(s.icmp_probes);
                d.summary = format!(
                    "{} pinged {ih} addresses in {} to find which devices are on your network.",
                    who(devices, src),
                    span(s.start, now)
                );
                out.push(d);
            }
        }
        if changed & F_ARP != 0 {
            let ah = s.arp_hosts.estimate();
            if s.reported & R_ARP == 0 && ah >= cfg.arp_hosts {
                s.reported |= R_ARP;
                let mut d = base("arp-sweep", s)
                    .ev("hosts", ah)
                    .ev("requests", s.arp_requests)
                    .ev("duration_s", secs(s.start, now));
                d.victims = s.swept();
                d.per_victim = false;
                d.severity = 3;
                d.confidence = 0.8;
                d.count = u64::from(s.arp_requests);
                d.summary = format!(
                    "{} asked for {ah} addresses by ARP in {} to list the devices on your network.",
                    who(devices, src),
                    span(s.start, now)
                );
                out.push(d);
            }
        }
        if changed & F_STEALTH != 0 {
            let sp = s.stealth_ports.estimate();
            if s.reported & R_STEALTH == 0 && sp >= cfg.stealth_probes {
                s.reported |= R_STEALTH;
                let mut d = base("tcp-stealth-scan", s)
                    .ev("probes", s.stealth)
                    .ev("ports", sp)
                    .ev("duration_s", secs(s.start, now));
                d.severity = 2;
                d.confidence = 0.9;
                d.proto = Some(6);
                d.count = u64::from(s.stealth);
                let victim = d.victim().map(|v| who(devices, v)).unwrap_or_default();
                d.summary = format!(
                "{} sent {} malformed TCP probes (null/FIN/Xmas) to {victim}, a stealth port scan.",
                who(devices, src),
                s.stealth
            );
                out.push(d);
            }
        }
        if changed & F_OS != 0 {
            let kinds = s.os_kinds.count_ones();
            if s.reported & R_OS == 0 && kinds >= cfg.os_probe_kinds {
                s.reported |= R_OS;
                let mut d = base("nmap-os-fingerprint", s)
                    .ev("probe_kinds", kinds)
                    .ev("probe_mask", format!("{:#06x}", s.os_kinds));
                d.victims = vec![s.os_target];
                d.severity = 2;
                d.confidence = 0.9;
                d.proto = Some(6);
                let victim = d.victim().map(|v| who(devices, v)).unwrap_or_default();
                d.summary = format!(
                "{} sent nmap's operating-system detection probes to {victim}, to learn what kind of device it is.",
                who(devices, src)
            );
                out.push(d);
            }
        }
        let slow_on = changed & F_SLOW != 0 && self.slow_window_us > self.window_us;
        for i in 0..SLOW_SLOTS {
            // Tested in place before the slot (~100 bytes) is copied out.
            let could = |h: &SlowHost| !h.reported && h.probes >= cfg.vertical_ports;
            if !slow_on || !s.slow.hosts[i].as_ref().is_some_and(could) {
                continue;
            }
            let Some(h) = s.slow.hosts[i] else { continue };
            let services = h.services.estimate();
            let answered = h.answered.estimate().min(services);
            let failed = 1.0 - answered as f32 / services.max(1) as f32;
            if services < cfg.vertical_ports
                || h.probes < cfg.vertical_ports
                || failed < cfg.min_failed_ratio
            {
                continue;
            }
            if let Some(slot) = s.slow.hosts[i].as_mut() {
                slot.reported = true;
            }
            // Slow only if the probes counted really were spread over more
            // than the short window. Sooner, it is a fast scan the short
            // count did not hold whole (cut by its edge, or diluted by other
            // hosts), and is worded as one.
            // Three quarters of its ports first probed in this short window:
            // a burst, timed from its first probe in the window (earlier
            // stray probes of the host do not make it slow).
            let burst = u32::from(h.recent).saturating_mul(4) >= services.saturating_mul(3);
            let slow = !burst && now.since(h.first) > window;
            let first = if burst { h.recent_first } else { h.first };
            let (sig, proto, name) = if h.udp {
                ("udp-port-scan", 17, "UDP")
            } else {
                ("tcp-port-scan", 6, "TCP")
            };
            let mut d = base(sig, s)
                .ev("ports", services)
                .ev("probes", h.probes)
                .ev("failed_ratio", (failed * 100.0).round() / 100.0)
                .ev("duration_s", secs(first, now));
            if slow {
                d = d.ev("slow", true);
            }
            d.first_seen = first;
            d.victims = vec![h.host];
            d.severity = 2;
            d.confidence = if slow { 0.85 } else { 0.9 };
            d.proto = Some(proto);
            d.count = u64::from(h.probes);
            let (attacker, victim, took) =
                (who(devices, src), who(devices, h.host), span(first, now));
            d.summary = if slow {
                format!(
                    "{attacker} scanned {services} {name} ports of {victim} over {took}, spacing its probes out to stay unnoticed."
                )
            } else {
                format!(
                    "{attacker} scanned {services} {name} ports of {victim} in {took}, looking for services to attack."
                )
            };
            out.push(d);
        }
        if changed & F_PROTO != 0 {
            let np = s.protocols.estimate();
            if s.reported & R_PROTO == 0
                && cfg.ip_protocols > 0
                && np >= cfg.ip_protocols
                && s.proto_hosts.estimate() <= 2
            {
                s.reported |= R_PROTO;
                let mut d = base("ip-protocol-scan", s)
                    .ev("protocols", np)
                    .ev("duration_s", secs(s.start, now));
                d.victims = vec![s.proto_target];
                d.severity = 3;
                d.confidence = 0.85;
                let victim = who(devices, s.proto_target);
                d.summary = format!(
                "{} sent packets of {np} different IP protocols to {victim} in {}, an IP protocol scan that maps what its network stack supports.",
                who(devices, src),
                span(s.start, now)
            );
                out.push(d);
            }
        }
        if changed & F_FRAG != 0
            && s.reported & R_FRAG == 0
            && cfg.tiny_fragments > 0
            && s.tiny_frags >= cfg.tiny_fragments
        {
            s.reported |= R_FRAG;
            let mut d = base("tiny-fragment-evasion", s)
                .ev("fragments", s.tiny_frags)
                .ev("duration_s", secs(s.start, now));
            d.victims = vec![s.tiny_frag_target];
            d.severity = 2;
            d.confidence = 0.9;
            d.proto = Some(6);
            d.count = u64::from(s.tiny_frags);
            d.summary = format!(
                "{} sent {} IP fragments too small to hold a TCP or UDP header to {}: a scan or attack split up to slip past filters.",
                who(devices, src),
                s.tiny_frags,
                who(devices, s.tiny_frag_target)
            );
            out.push(d);
        }
        if changed & F_SERVICE != 0 {
            let kinds = s.service_kinds.count_ones();
            let named = s.service_kinds & NMAP_NAMED != 0;
            if s.reported & R_SERVICE == 0
                && cfg.service_probe_kinds > 0
                && (kinds >= cfg.service_probe_kinds || named)
            {
                s.reported |= R_SERVICE;
                let mut d = base("scan-tool-service-probe", s)
                    .ev("tool", "nmap")
                    .ev("probe_kinds", kinds)
                    .ev("port", s.service_port);
                d.victims = vec![s.service_target];
                d.victim_port = s.service_port;
                d.severity = 2;
                d.confidence = 0.9;
                d.proto = Some(6);
                d.summary = format!(
                "{} sent {kinds} kinds of nmap's service-detection probes to {}, to learn which software (and which version) its services run.",
                who(devices, src),
                who(devices, s.service_target)
            );
                out.push(d);
            }
        }
    }
}

impl Recon {
    /// An SCTP packet: an INIT opens an association (a probe), INIT-ACK
    /// answers it, ABORT refuses it (RFC 9260 s3.3).
    fn sctp(&mut self, src: IpAddr, dst: IpAddr, b: &[u8], now: Timestamp) {
        let (Some(sp), Some(dp), Some(&chunk)) = (b.get(0..2), b.get(2..4), b.get(12)) else {
            return;
        };
        let (sport, dport) = (
            u16::from_be_bytes([sp[0], sp[1]]),
            u16::from_be_bytes([dp[0], dp[1]]),
        );
        match chunk {
            1 => self.source(src, now).probe(SCTP, dst, dport),
            2 => {
                if let Some(s) = self.sources.get_mut(&dst) {
                    s.answer(SCTP, src, sport);
                }
            }
            6 => {
                if let Some(s) = self.sources.get_mut(&dst) {
                    s.refused += 1;
                }
            }
            _ => {}
        }
    }
}

impl Recon {
    /// HTTP requests that name the scanning tool that sent them.
    fn tool_requests(&mut self, ctx: &PacketContext<'_, '_>, out: &mut Vec<Draft>) {
        let Some(flow) = ctx.flow else { return };
        let (Some(client), Some(server)) = (flow.src_ip, flow.dst_ip) else {
            return;
        };
        for ev in ctx.app {
            let ward_proto::AppEvent::HttpRequest(req) = ev else {
                continue;
            };
            let Some(tool) = scan_tool(req) else { continue };
            let now = ctx.pkt.ts;
            let s = self.source(client, now);
            if s.reported & R_TOOL != 0 {
                continue;
            }
            s.reported |= R_TOOL;
            let mut d = Draft::new(AlertCategory::Recon, "scan-tool-http-probe", NAME, now);
            d.attacker = Some(client);
            d.attacker_port = flow.src_port;
            d.victims = vec![server];
            d.victim_port = flow.dst_port;
            d.proto = Some(6);
            d.severity = 2;
            d.confidence = 0.9;
            let uri: String = req.uri.chars().take(200).collect();
            d = d.ev("tool", tool).ev("uri", uri).ev("port", flow.dst_port);
            if let Some(ua) = &req.user_agent {
                d = d.ev("user_agent", ua.chars().take(128).collect::<String>());
            }
            d.summary = format!(
                "{} is probing the web service of {} with the {tool} scanner to find weaknesses.",
                who(ctx.devices, client),
                who(ctx.devices, server)
            );
            out.push(d);
        }
    }
}

/// The scanner that sent an HTTP request, when it says so (User-Agent) or
/// uses a request only it sends.
fn scan_tool(req: &ward_proto::HttpRequest) -> Option<&'static str> {
    let ua = req.user_agent.as_deref().unwrap_or("").as_bytes();
    // Nearly every request names no tool: one pass over each text says so
    // before any copy or needle-by-needle search.
    static FILTERS: OnceLock<(NeedleFilter, NeedleFilter)> = OnceLock::new();
    let (in_ua, in_uri) = FILTERS.get_or_init(|| {
        let (ua_needles, uri_needles) = NMAP_NEEDLES.split_at(1);
        (
            NeedleFilter::new(
                ua_needles
                    .iter()
                    .copied()
                    .chain(TOOL_NEEDLES.iter().map(|(n, _)| n.as_bytes())),
            ),
            NeedleFilter::new(uri_needles.iter().copied()),
        )
    });
    if !in_ua.may_occur(ua) && !in_uri.may_occur(req.uri.as_bytes()) {
        return None;
    }
    // Lower-cased copies only when a text holds an upper-case letter, and
    // searchers built once: this ran two allocations and eleven searcher
    // set-ups (`str::contains`) on every HTTP request.
    let mut room = [0u8; LOWER_ROOM];
    let ua = ascii_lower(ua, &mut room);
    let uri = lower_str(&req.uri);
    let (ua, uri) = (&*ua, uri.as_bytes());
    static FINDERS: OnceLock<(Vec<Finder<'static>>, Vec<Finder<'static>>)> = OnceLock::new();
    let (nmap, tools) = FINDERS.get_or_init(|| {
        (
            NMAP_NEEDLES.iter().map(|n| Finder::new(*n)).collect(),
            TOOL_NEEDLES
                .iter()
                .map(|(n, _)| Finder::new(n.as_bytes()))
                .collect(),
        )
    });
    // NMAP_NEEDLES: the first is read in the User-Agent, the others in the
    // target.
    let mut nmap = nmap.iter();
    if nmap.next().is_some_and(|f| f.find(ua).is_some()) || nmap.any(|f| f.find(uri).is_some()) {
        return Some("nmap");
    }
    tools
        .iter()
        .position(|f| f.find(ua).is_some())
        .and_then(|i| TOOL_NEEDLES.get(i))
        .map(|(_, tool)| *tool)
}

/// nmap's own marks: its scripting engine's User-Agent, then two targets
/// its http scripts fetch.
const NMAP_NEEDLES: &[&[u8]] = &[
    b"nmap scripting engine",
    b"/nmaplowercheck",
    b"/nice%20ports%2c/tri%6eity.txt%2ebak",
];

/// Scanners naming themselves in the User-Agent (lower case), in the order
/// they are tried.
const TOOL_NEEDLES: &[(&str, &str)] = &[
    ("nikto", "Nikto"),
    ("masscan", "masscan"),
    ("zgrab", "ZGrab"),
    ("sqlmap", "sqlmap"),
    ("nuclei", "Nuclei"),
    ("wpscan", "WPScan"),
    ("dirbuster", "DirBuster"),
    ("gobuster", "gobuster"),
];

/// `s` in ASCII lower case, copied only when it holds an upper-case letter.
fn lower_str(s: &str) -> std::borrow::Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(s.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// Which of nmap's version-detection probes (`nmap-service-probes`) a
/// client's first TCP payload is, as a bit index. Each is a constant nmap
/// sends verbatim to a service that did not talk first; the generic ones
/// (`GET / HTTP/1.0`, a bare `HELP`) are kinds too, but no client sends
/// three different kinds to one host on its own.
fn nmap_service_probe(p: &[u8]) -> Option<u32> {
    const EXACT: &[&[u8]] = &[
        b"\r\n\r\n",                                                 // GenericLines
        b"GET / HTTP/1.0\r\n\r\n",                                   // GetRequest
        b"OPTIONS / HTTP/1.0\r\n\r\n",                               // HTTPOptions
        b"OPTIONS / RTSP/1.0\r\n\r\n",                               // RTSPRequest
        b"HELP\r\n",                                                 // Help
        b"\x00\x0c\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00", // DNSStatusRequestTCP
        b"l\x00\x0b\x00\x00\x00\x00\x00\x00\x00\x00\x00",            // X11Probe
        b"\x01default\n",                                            // LPDString
        b"\x03\x00\x00\x0b\x06\xe0\x00\x00\x00\x00\x00",             // TerminalServer
    ];
    const PREFIX: &[&[u8]] = &[
        b"\x80\x00\x00\x28\x72\xfe\x1d\x13", // RPCCheck (its fixed xid)
        b"\x00\x1e\x00\x06\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07version\x04bind", // DNSVersionBindReqTCP
        b"\x16\x03\x00\x00\x53\x01\x00\x00\x4f\x03\x00\x3f\x47\xd7\xf7", // SSLSessionReq (fixed random)
        b"OPTIONS sip:nm SIP/2.0",                                       // SIPOptions
        b"TNMP\x04\x00\x00\x00TNME",                                     // LANDesk-RC
        b"DmdT\x00\x00\x00\x17",                                         // NCP
        b"\x30\x84\x00\x00\x00\x2d\x02\x01\x07\x63",                     // LDAPSearchReq
    ];
    // Contained anywhere in the first segment.
    const WITHIN: &[&[u8]] = &[
        b"random1random2random3random4", // TLSSessionReq
        b"mstshash=nmap",                // TerminalServerCookie (names nmap)
    ];
    if let Some(i) = EXACT.iter().position(|e| p == *e) {
        return Some(i as u32);
    }
    let base = EXACT.len();
    if let Some(i) = PREFIX.iter().position(|e| p.starts_with(e)) {
        return Some((base + i) as u32);
    }
    let base = base + PREFIX.len();
    if p.len() <= 512 {
        // Searchers built once: a window-by-window compare cost ~3 000
        // instructions per client's first segment, the most of any check
        // recon makes per packet.
        static WITHIN_FINDERS: OnceLock<Vec<Finder<'static>>> = OnceLock::new();
        let finders =
            WITHIN_FINDERS.get_or_init(|| WITHIN.iter().map(|n| Finder::new(*n)).collect());
        if let Some(i) = finders.iter().position(|f| f.find(p).is_some()) {
            return Some((base + i) as u32);
        }
    }
    mqtt_client_id(p)
        .is_some_and(|id| id.starts_with(b"nmap"))
        .then_some(MQTT_NMAP)
}

/// Probe kinds whose payload names nmap itself (an RDP cookie
/// `mstshash=nmap`, SIP `sip:nm`, an MQTT client id `nmap…` from its
/// version probe and `version` scripts): one is enough, like its
/// User-Agent.
const SIP_NMAP: u32 = 12;
const RDP_NMAP: u32 = 17;
const MQTT_NMAP: u32 = 18;
const NMAP_NAMED: u32 = (1 << SIP_NMAP) | (1 << RDP_NMAP) | (1 << MQTT_NMAP);

/// The client identifier of an MQTT CONNECT packet (MQTT 3.1/3.1.1/5).
fn mqtt_client_id(p: &[u8]) -> Option<&[u8]> {
    if p.first()? & 0xf0 != 0x10 {
        return None;
    }
    // Remaining length: 1-4 bytes, 7 bits each.
    let mut i = 1;
    while *p.get(i)? & 0x80 != 0 {
        i += 1;
        if i > 4 {
            return None;
        }
    }
    i += 1;
    let name_len = usize::from(u16::from_be_bytes([*p.get(i)?, *p.get(i + 1)?]));
    let name = p.get(i + 2..i + 2 + name_len)?;
    if name != b"MQTT" && name != b"MQIsdp" {
        return None;
    }
    i += 2 + name_len;
    let level = *p.get(i)?;
    i += 4; // level, flags, keep-alive
    if level == 5 {
        // MQTT 5 properties: a variable-length count, then the bytes.
        let mut len = 0usize;
        let mut shift = 0;
        loop {
            let b = *p.get(i)?;
            i += 1;
            len |= usize::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift > 21 {
                return None;
            }
        }
        i = i.checked_add(len)?;
    }
    let id_len = usize::from(u16::from_be_bytes([*p.get(i)?, *p.get(i + 1)?]));
    p.get(i + 2..i + 2 + id_len)
}

/// UDP destination ports of everyday discovery and infrastructure chatter,
/// left out of UDP scan counting.
fn is_chatter_port(p: u16) -> bool {
    matches!(
        p,
        53 | 67 | 68 | 123 | 137 | 138 | 1900 | 3702 | 5353 | 5355
    )
}

/// Whether an ordinary packet ([`PacketContext::ordinary`]: mid-flow TCP or
/// UDP, not its direction's first, no SYN, FIN or RST, no application
/// event) can move recon's state. Only a client's segment can: one without
/// ACK (a null scan's stealth probe), one with the flags and window of an
/// nmap OS probe, or the flow's first data (nmap's service probes). The rest
/// of [`Recon::on_packet`] reads a server's segment only when it is its
/// first or a SYN-ACK, a UDP datagram only when it opens its flow or is the
/// first answer, and ICMP, ARP and other protocols are never ordinary. A
/// check added there for mid-flow packets must be added here too.
fn ordinary_can_probe(ctx: &PacketContext<'_, '_>) -> bool {
    let Transport::Tcp(t) = ctx.pkt.transport else {
        return false;
    };
    let p = ctx.pkt.payload;
    ctx.dir != Some(Dir::ToClient)
        && (t.flags & tcpflag::ACK == 0
            || os_probe_kind(&t) != 0
            || (!p.is_empty()
                && ctx.flow.is_some_and(|fl| {
                    u64::from(fl.payload_bytes[0]) == ctx.pkt.payload_len() as u64
                })))
}

/// Which nmap OS-detection probe this TCP packet is, if any.
fn os_probe_kind(t: &ward_core::decode::Tcp<'_>) -> u16 {
    use os_probe::*;
    use tcpflag::*;
    let f = t.flags;
    match (f, t.window) {
        (0, 128) => T2,
        (x, 256) if x == SYN | FIN | PSH | URG => T3,
        (ACK, 1024) => T4,
        (SYN, 31337) => T5,
        (ACK, 32768) => T6,
        (x, 65535) if x == FIN | PSH | URG => T7,
        (x, 3) if x == SYN | ECE | CWR && t.urgent == 0xF7F5 => ECN,
        (SYN, _) if tsval(t.options) == Some(0xFFFF_FFFF) => SEQ,
        _ => 0,
    }
}

/// The TSval of a TCP timestamp option, walking the option list safely.
fn tsval(opts: &[u8]) -> Option<u32> {
    let mut i = 0;
    while i < opts.len() {
        match opts[i] {
            0 => return None,
            1 => i += 1,
            kind => {
                let len = *opts.get(i + 1)? as usize;
                if len < 2 {
                    return None;
                }
                if kind == 8 && len == 10 {
                    let b = opts.get(i + 2..i + 6)?;
                    return Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
                }
                i += len;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nmap_probes_that_name_nmap_are_the_named_kinds() {
        let sip = b"OPTIONS sip:nm SIP/2.0\r\nVia: SIP/2.0/TCP nm;branch=foo\r\n\r\n";
        assert_eq!(nmap_service_probe(sip), Some(SIP_NMAP));
        let rdp = b"\x03\x00\x00*%\xe0\x00\x00\x00\x00\x00Cookie: mstshash=nmap\r\n";
        assert_eq!(nmap_service_probe(rdp), Some(RDP_NMAP));
        // nmap 7.93 -sV against mosquitto (lab run recon4-71): its MQTT
        // probe, then the mqtt-subscribe version script's CONNECT.
        let probe = b"\x10\x10\x00\x04MQTT\x04\x02\x00\x1e\x00\x04nmap";
        assert_eq!(nmap_service_probe(probe), Some(MQTT_NMAP));
        let script = b"\x10\x20\x00\x04MQTT\x04\x00\x00\x1e\x00\x14nmappbdyjiktgdvvnzai";
        assert_eq!(nmap_service_probe(script), Some(MQTT_NMAP));
        for k in [SIP_NMAP, RDP_NMAP, MQTT_NMAP] {
            assert!(NMAP_NAMED & (1 << k) != 0);
        }
    }

    #[test]
    fn ordinary_mqtt_and_truncated_packets_are_no_probe() {
        let sensor = b"\x10\x16\x00\x04MQTT\x04\xc2\x00\x3c\x00\x0aesp-sensor";
        assert_eq!(mqtt_client_id(sensor), Some(&b"esp-sensor"[..]));
        assert_eq!(nmap_service_probe(sensor), None);
        for n in 0..18 {
            let cut = &b"\x10\x10\x00\x04MQTT\x04\x02\x00\x1e\x00\x04nmap"[..n];
            assert_eq!(nmap_service_probe(cut), None, "{n}");
        }
        assert_eq!(mqtt_client_id(b"\x10\xff\xff\xff\xff\xff"), None);
    }

    /// Differential test of the `F_*` masks: a random probe stream under a
    /// random configuration (thresholds of 0 included, tiny windows, small
    /// tables) through two engines, one testing only the families each
    /// packet moved and one testing every family at every check (the check
    /// before the masks), must give the same events after every frame.
    mod masks {
        use super::super::CHECK_ALL;
        use ward_core::{Engine, EngineConfig, Timestamp, VecSink};

        struct Rng(u64);
        impl Rng {
            fn next(&mut self) -> u64 {
                // splitmix64
                self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = self.0;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                z ^ (z >> 31)
            }
            fn below(&mut self, n: u64) -> u64 {
                self.next() % n
            }
            fn pick<T: Copy>(&mut self, v: &[T]) -> T {
                v[self.below(v.len() as u64) as usize]
            }
        }

        fn mac(h: u8) -> [u8; 6] {
            [0x02, 0, 0, 0, 0, h]
        }
        fn addr(h: u8) -> [u8; 4] {
            if h >= 200 {
                [8, 8, 4, h] // outside, behind the gateway
            } else {
                [10, 0, 0, h]
            }
        }
        const GW: u8 = 1;

        fn frame(smac: u8, dmac: u8, ethertype: u16, body: &[u8]) -> Vec<u8> {
            let mut f = Vec::with_capacity(14 + body.len());
            f.extend_from_slice(&if dmac == 0xff { [0xff; 6] } else { mac(dmac) });
            f.extend_from_slice(&mac(smac));
            f.extend_from_slice(&ethertype.to_be_bytes());
            f.extend_from_slice(body);
            f
        }

        fn ipv4(src: u8, dst: u8, proto: u8, frag: u16, body: &[u8]) -> Vec<u8> {
            let mut h = vec![0u8; 20];
            h[0] = 0x45;
            h[2..4].copy_from_slice(&((20 + body.len()) as u16).to_be_bytes());
            h[6..8].copy_from_slice(&frag.to_be_bytes());
            h[8] = 64;
            h[9] = proto;
            h[12..16].copy_from_slice(&addr(src));
            h[16..20].copy_from_slice(&addr(dst));
            let sum: u32 = h
                .chunks(2)
                .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
                .sum();
            let sum = (sum & 0xffff) + (sum >> 16);
            let sum = !(((sum & 0xffff) + (sum >> 16)) as u16);
            h[10..12].copy_from_slice(&sum.to_be_bytes());
            h.extend_from_slice(body);
            h
        }

        /// The MACs a packet from `src` to `dst` travels between.
        fn macs(src: u8, dst: u8) -> (u8, u8) {
            let m = |h: u8| if h >= 200 { GW } else { h };
            (m(src), m(dst))
        }

        #[allow(clippy::too_many_arguments)]
        fn tcp(
            smac: u8,
            src: u8,
            sport: u16,
            dst: u8,
            dport: u16,
            seq: u32,
            flags: u16,
            window: u16,
            urgent: u16,
            opts: &[u8],
            payload: &[u8],
        ) -> Vec<u8> {
            let mut t = Vec::new();
            t.extend_from_slice(&sport.to_be_bytes());
            t.extend_from_slice(&dport.to_be_bytes());
            t.extend_from_slice(&seq.to_be_bytes());
            t.extend_from_slice(&1u32.to_be_bytes());
            let off = (20 + opts.len()) / 4;
            t.push((off as u8) << 4);
            t.push(flags as u8);
            t.extend_from_slice(&window.to_be_bytes());
            t.extend_from_slice(&[0, 0]);
            t.extend_from_slice(&urgent.to_be_bytes());
            t.extend_from_slice(opts);
            t.extend_from_slice(payload);
            let (_, dmac) = macs(src, dst);
            frame(smac, dmac, 0x0800, &ipv4(src, dst, 6, 0, &t))
        }

        fn udp(smac: u8, src: u8, sport: u16, dst: u8, dport: u16, len: usize) -> Vec<u8> {
            let mut u = Vec::new();
            u.extend_from_slice(&sport.to_be_bytes());
            u.extend_from_slice(&dport.to_be_bytes());
            u.extend_from_slice(&((8 + len) as u16).to_be_bytes());
            u.extend_from_slice(&[0, 0]);
            u.extend(std::iter::repeat_n(0x41u8, len));
            let (_, dmac) = macs(src, dst);
            frame(smac, dmac, 0x0800, &ipv4(src, dst, 17, 0, &u))
        }

        const FIN: u16 = 1;
        const SYN: u16 = 2;
        const RST: u16 = 4;
        const PSH: u16 = 8;
        const ACK: u16 = 16;
        const URG: u16 = 32;
        const ECE: u16 = 64;
        const CWR: u16 = 128;

        /// One random configuration, as `[detectors]` JSON.
        fn config(r: &mut Rng) -> serde_json::Value {
            let mut t = [0u64; 10];
            for x in &mut t {
                *x = r.below(6);
            }
            serde_json::json!({
                "max_tracked": r.pick(&[3u64, 8, 64, 8192]),
                "recon": {
                    "window_secs": r.pick(&[0u64, 1, 2, 5]),
                    "slow_window_secs": r.pick(&[0u64, 1, 3, 10, 60]),
                    "vertical_ports": t[0],
                    "horizontal_hosts": t[1],
                    "min_failed_ratio": r.pick(&[0.0f32, 0.3, 0.6, 0.9, 1.0]),
                    "ping_hosts": t[2],
                    "arp_hosts": t[3],
                    "stealth_probes": t[4],
                    "os_probe_kinds": t[5],
                    "mirai_syns": t[6],
                    "ip_protocols": t[7],
                    "tiny_fragments": t[8],
                    "service_probe_kinds": t[9],
                }
            })
        }

        /// One random packet of the stream; `syns` holds SYNs sent
        /// (src, sport, dst, dport) for answers and data to refer to.
        fn packet(r: &mut Rng, syns: &mut Vec<(u8, u16, u8, u16)>) -> Vec<u8> {
            let src = r.pick(&[2u8, 3, 4, 5, 6, 7]);
            let dst = if r.below(8) == 0 {
                200 + r.below(20) as u8
            } else {
                2 + r.below(40) as u8
            };
            // Now and then a frame from another device's MAC (a spoofed
            // source, the idle scan's shape).
            let smac = if r.below(20) == 0 {
                r.pick(&[2u8, 3, 4])
            } else {
                src
            };
            let port = if r.below(2) == 0 {
                r.pick(&[22u16, 23, 80, 443, 2323, 1883, 8080, 53, 123, 1900, 5353])
            } else {
                1 + r.below(300) as u16
            };
            let sport = 40_000 + r.below(64) as u16;
            match r.below(16) {
                0..=3 => {
                    let mirai = matches!(port, 23 | 2323) && r.below(2) == 0;
                    let seq = if mirai {
                        u32::from_be_bytes(addr(dst))
                    } else {
                        r.next() as u32
                    };
                    if syns.len() > 256 {
                        syns.remove(0);
                    }
                    syns.push((src, sport, dst, port));
                    tcp(smac, src, sport, dst, port, seq, SYN, 1024, 0, &[], &[])
                }
                4..=6 if !syns.is_empty() => {
                    let (c, cp, s, sp) = syns[r.below(syns.len() as u64) as usize];
                    let flags = r.pick(&[SYN | ACK, RST | ACK, RST, ACK, ACK | PSH]);
                    let data: &[u8] = if flags & PSH != 0 { b"hello" } else { b"" };
                    let (m, _) = macs(s, c);
                    tcp(m, s, sp, c, cp, r.next() as u32, flags, 512, 0, &[], data)
                }
                7 => {
                    // Stealth probes, bare ACKs and nmap's OS probes.
                    let ts: &[u8] = &[8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 0];
                    let (flags, window, urgent, opts): (u16, u16, u16, &[u8]) = match r.below(11) {
                        0 => (0, 128, 0, &[]),
                        1 => (SYN | FIN | PSH | URG, 256, 0, &[]),
                        2 => (ACK, 1024, 0, &[]),
                        3 => (SYN, 31337, 0, &[]),
                        4 => (ACK, 32768, 0, &[]),
                        5 => (FIN | PSH | URG, 65535, 0, &[]),
                        6 => (SYN | ECE | CWR, 3, 0xF7F5, &[]),
                        7 => (SYN, 1024, 0, ts),
                        8 => (FIN, 1024, 0, &[]),
                        9 => (0, 1024, 0, &[]),
                        _ => (ACK, 4096, 0, &[]),
                    };
                    let seq = r.next() as u32;
                    tcp(
                        smac,
                        src,
                        sport,
                        dst,
                        port,
                        seq,
                        flags,
                        window,
                        urgent,
                        opts,
                        &[],
                    )
                }
                8 if !syns.is_empty() => {
                    // A client's first data: now and then an nmap probe.
                    let (c, cp, s, sp) = syns[r.below(syns.len() as u64) as usize];
                    let payload: &[u8] = match r.below(5) {
                        0 => b"OPTIONS sip:nm SIP/2.0\r\nVia: SIP/2.0/TCP nm;branch=foo\r\n\r\n",
                        1 => b"\x03\x00\x00*%\xe0\x00\x00\x00\x00\x00Cookie: mstshash=nmap\r\n",
                        2 => b"\x10\x10\x00\x04MQTT\x04\x02\x00\x1e\x00\x04nmap",
                        3 => b"\r\n\r\n",
                        _ => b"GET / HTTP/1.0\r\n\r\n",
                    };
                    let (m, _) = macs(c, s);
                    let seq = r.next() as u32;
                    tcp(m, c, cp, s, sp, seq, ACK | PSH, 512, 0, &[], payload)
                }
                9 | 10 => {
                    let len = r.pick(&[0usize, 4, 8, 20, 100]);
                    if r.below(3) == 0 {
                        // A reply (first of its flow or not).
                        let (m, _) = macs(dst, src);
                        udp(m, dst, port, src, sport, len)
                    } else {
                        udp(smac, src, sport, dst, port, len)
                    }
                }
                11 => {
                    if r.below(4) == 0 {
                        // Unreachable back to the prober.
                        let mut b = vec![3u8, r.pick(&[1u8, 3]), 0, 0, 0, 0, 0, 0];
                        b.extend_from_slice(&ipv4(src, dst, 17, 0, &[0u8; 8]));
                        let (dm, sm) = macs(dst, src);
                        frame(dm, sm, 0x0800, &ipv4(dst, src, 1, 0, &b))
                    } else {
                        let kind = r.pick(&[8u8, 8, 13, 17, 0]);
                        let (_, d) = macs(src, dst);
                        let body = [kind, 0, 0, 0, 0, 1, 0, 1];
                        frame(smac, d, 0x0800, &ipv4(src, dst, 1, 0, &body))
                    }
                }
                12 => {
                    let mut a = vec![0, 1, 8, 0, 6, 4, 0, 1];
                    a.extend_from_slice(&mac(src));
                    a.extend_from_slice(&addr(src));
                    a.extend_from_slice(&[0; 6]);
                    a.extend_from_slice(&[10, 0, 0, 2 + r.below(60) as u8]);
                    frame(smac, 0xff, 0x0806, &a)
                }
                13 => {
                    // Other IP protocols, tiny first fragments.
                    let (_, d) = macs(src, dst);
                    let (proto, frag, len) = match r.below(3) {
                        0 => (r.pick(&[2u8, 4, 41, 47, 50, 51, 89, 103, 112, 255]), 0, 8),
                        1 => r.pick(&[(6u8, 0x2000u16, 8usize), (17, 0x2000, 4), (6, 0x2000, 24)]),
                        _ => (6, 0x2003, 8),
                    };
                    frame(
                        smac,
                        d,
                        0x0800,
                        &ipv4(src, dst, proto, frag, &vec![0u8; len]),
                    )
                }
                _ => {
                    // SCTP INIT, INIT-ACK back, ABORT back.
                    let chunk = r.pick(&[1u8, 1, 2, 6]);
                    let (from, to, fp, tp) = if chunk == 1 {
                        (src, dst, sport, port)
                    } else {
                        (dst, src, port, sport)
                    };
                    let mut b = Vec::new();
                    b.extend_from_slice(&fp.to_be_bytes());
                    b.extend_from_slice(&tp.to_be_bytes());
                    b.extend_from_slice(&[0u8; 8]);
                    b.extend_from_slice(&[chunk, 0, 0, 20]);
                    b.extend_from_slice(&[0u8; 16]);
                    let (m, d) = macs(from, to);
                    frame(m, d, 0x0800, &ipv4(from, to, 132, 0, &b))
                }
            }
        }

        fn engine(cfg: &serde_json::Value) -> Engine {
            let dets = crate::detectors(Some(cfg)).unwrap();
            let ecfg = EngineConfig {
                emit_flows: Some(false),
                ..Default::default()
            };
            Engine::new(ecfg, 9, dets)
        }

        #[test]
        fn checking_only_moved_families_gives_the_alerts_of_checking_all() {
            let mut recon_alerts = 0usize;
            let mut signatures = std::collections::BTreeSet::new();
            for seed in 0..80u64 {
                let mut r = Rng(seed);
                let cfg = config(&mut r);
                let (mut masked, mut all) = (engine(&cfg), engine(&cfg));
                let (mut a, mut b) = (VecSink::default(), VecSink::default());
                let mut syns = Vec::new();
                let mut t: i64 = 1_700_000_000_000_000;
                for i in 0..1500 {
                    t += match r.below(50) {
                        0 => 2_000_000 + r.below(8_000_000) as i64,
                        1..=5 => r.below(1_000_000) as i64,
                        _ => r.below(20_000) as i64,
                    };
                    let f = packet(&mut r, &mut syns);
                    CHECK_ALL.with(|c| c.set(false));
                    masked.process(Timestamp(t), 1, &f, f.len() as u32, &mut a);
                    CHECK_ALL.with(|c| c.set(true));
                    all.process(Timestamp(t), 1, &f, f.len() as u32, &mut b);
                    CHECK_ALL.with(|c| c.set(false));
                    assert_eq!(a.0, b.0, "seed {seed}, frame {i}, config {cfg}");
                }
                masked.finish(&mut a);
                all.finish(&mut b);
                assert_eq!(a.0, b.0, "seed {seed} at finish, config {cfg}");
                for al in a.0.iter().filter_map(|e| e.alert.as_ref()) {
                    if al.category == ward_core::AlertCategory::Recon {
                        recon_alerts += 1;
                        signatures.insert(al.signature.clone());
                    }
                }
            }
            eprintln!("{recon_alerts} recon alerts: {signatures:?}");
            // The stream must reach every family the masks gate, or the
            // comparison proves nothing.
            for sig in [
                "tcp-port-scan",
                "tcp-host-sweep",
                "udp-port-scan",
                "udp-host-sweep",
                "sctp-port-scan",
                "icmp-ping-sweep",
                "arp-sweep",
                "tcp-stealth-scan",
                "nmap-os-fingerprint",
                "mirai-telnet-scan",
                "ip-protocol-scan",
                "tiny-fragment-evasion",
                "scan-tool-service-probe",
            ] {
                assert!(signatures.contains(sig), "no {sig} in {signatures:?}");
            }
        }
    }
}
