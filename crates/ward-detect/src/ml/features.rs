//! Time-window features of one host's traffic, for supervised attack
//! recognition.
//!
//! Every host (a device of the engine's inventory: by MAC where it has a
//! station MAC, else by address) gets one window per second of packet time
//! (aligned to whole seconds). A window accumulates what the host sent and
//! received, and the flows it opened, in a fixed amount of memory; when the
//! second is over it becomes a [`WindowRecord`]: a feature vector plus the
//! few facts needed to label it for training and to name attacker and
//! victims in an alert.
//!
//! The features describe *behaviour*, never identity: rates, counts,
//! distinct destinations and ports, TCP flag and protocol ratios, sizes,
//! inter-arrival statistics, service classes of the destination ports and
//! application-layer activity. No address, MAC, seed or absolute time goes
//! into the vector, so a model trained on one network applies to another.
//! [`FEATURE_VERSION`] changes whenever a feature's meaning changes; a model
//! made for another version is refused at load time.

use std::net::IpAddr;

use ward_core::decode::{tcpflag, Net, Transport};
use ward_core::devices::DeviceKey;
use ward_core::flow::Dir;
use ward_core::{PacketContext, Timestamp};
use ward_proto::AppEvent;

use crate::table::Distinct;

/// Version of the feature vector (see the module docs).
pub const FEATURE_VERSION: u32 = 1;

/// Feature names, in vector order (written into model files and evidence).
pub const FEATURE_NAMES: [&str; 44] = [
    "pkts_out",
    "bytes_out",
    "pkts_in",
    "bytes_in",
    "in_out_ratio",
    "mean_size_out",
    "std_size_out",
    "payload_frac",
    "mean_payload_out",
    "tcp_frac",
    "udp_frac",
    "icmp_frac",
    "arp_frac",
    "other_frac",
    "syn_frac",
    "synack_frac",
    "rst_frac",
    "fin_frac",
    "pure_ack_frac",
    "psh_frac",
    "distinct_dst_ips",
    "distinct_dst_ports",
    "distinct_src_ports",
    "distinct_src_ips",
    "dst_ports_per_dst",
    "top_dst_share",
    "new_flows",
    "new_flow_frac",
    "responder_frac",
    "iat_mean_ms",
    "iat_cv",
    "active_span_ms",
    "arp_requests",
    "arp_reply_frac",
    "group_dst_frac",
    "telnet_port_frac",
    "ssh_port_frac",
    "web_port_frac",
    "dns_port_frac",
    "low_port_frac",
    "dhcp_server_frac",
    "echo_request_frac",
    "credentials",
    "app_requests",
];

/// Number of features.
pub const DIM: usize = FEATURE_NAMES.len();

/// Destinations remembered per window (the heaviest, by a space-saving
/// count): enough to name a flood's victim and to label sweeps.
pub const TOP_DESTINATIONS: usize = 8;

// `HostWindow::lightest` holds one bit per entry in a `u8`.
const _: () = assert!(TOP_DESTINATIONS <= u8::BITS as usize);

/// One host's traffic in the current one-second window. Fixed size.
#[derive(Clone, Debug)]
pub struct HostWindow {
    /// Whose window it is (a reused device slot starts a fresh one).
    pub key: DeviceKey,
    /// Second of packet time the window covers.
    pub second: i64,
    /// Not yet finished. A finished window stays in its table (reset by
    /// the host's next packet), so a busy host's entry is not removed and
    /// re-inserted every second.
    pub open: bool,
    first_ts: Timestamp,
    last_ts: Timestamp,
    pkts_out: u32,
    bytes_out: u64,
    pkts_in: u32,
    bytes_in: u64,
    size_sq: f64,
    with_payload: u32,
    payload_bytes: u64,
    tcp: u32,
    udp: u32,
    icmp: u32,
    arp: u32,
    syn: u32,
    synack: u32,
    rst: u32,
    fin: u32,
    pure_ack: u32,
    psh: u32,
    dst_ips: Distinct,
    dst_ports: Distinct,
    src_ports: Distinct,
    src_ips: Distinct,
    new_flows: u32,
    as_responder: u32,
    iat_sum: f64,
    iat_sq: f64,
    iats: u32,
    arp_requests: u32,
    arp_replies: u32,
    group_dst: u32,
    telnet: u32,
    ssh: u32,
    web: u32,
    dns: u32,
    low_port: u32,
    dhcp_server: u32,
    echo_requests: u32,
    credentials: u32,
    app_requests: u32,
    /// The address this host sent from most in the window (a spoofing
    /// host sends from many; the engine's inventory knows its real one).
    src_ip: Option<(IpAddr, u32)>,
    top: [(Option<IpAddr>, u32); TOP_DESTINATIONS],
    /// Where the last destination was counted in `top`.
    last_top: usize,
    /// Once `top` is full: bit `i` set when entry `i` holds the least
    /// count, so the entry a new address replaces (the first of the
    /// lightest) is found without a scan. 0 while `top` has room.
    lightest: u8,
    /// `top`'s addresses as [`addr_key`]s (0: empty; the filled entries
    /// are a prefix), so the scan compares one integer per entry instead
    /// of an `Option<IpAddr>`.
    top_keys: [u64; TOP_DESTINATIONS],
}

/// A non-zero integer for an address: the address itself for IPv4 (equal
/// keys, equal addresses), a fold of it with the top bit set for IPv6
/// (equal keys, then compare the addresses).
fn addr_key(ip: IpAddr) -> u64 {
    match ip {
        IpAddr::V4(a) => u64::from(u32::from(a)) | 1 << 32,
        IpAddr::V6(a) => {
            let b = u128::from(a);
            (b as u64) ^ ((b >> 64) as u64) | 1 << 63
        }
    }
}

/// A finished window: features and the facts around them.
#[derive(Clone, Debug)]
pub struct WindowRecord {
    pub host: DeviceKey,
    /// Start of the window (a whole second) and its last packet.
    pub start: Timestamp,
    pub last: Timestamp,
    pub pkts_out: u32,
    /// The host's addresses: the inventory's, then the window's own most
    /// used source address.
    pub ips: Vec<IpAddr>,
    /// Heaviest destinations, most packets first.
    pub top_destinations: Vec<(IpAddr, u32)>,
    pub x: Vec<f32>,
}

impl HostWindow {
    pub fn new(key: DeviceKey, second: i64, now: Timestamp) -> Self {
        HostWindow {
            key,
            second,
            open: true,
            first_ts: now,
            last_ts: now,
            pkts_out: 0,
            bytes_out: 0,
            pkts_in: 0,
            bytes_in: 0,
            size_sq: 0.0,
            with_payload: 0,
            payload_bytes: 0,
            tcp: 0,
            udp: 0,
            icmp: 0,
            arp: 0,
            syn: 0,
            synack: 0,
            rst: 0,
            fin: 0,
            pure_ack: 0,
            psh: 0,
            dst_ips: Distinct::default(),
            dst_ports: Distinct::default(),
            src_ports: Distinct::default(),
            src_ips: Distinct::default(),
            new_flows: 0,
            as_responder: 0,
            iat_sum: 0.0,
            iat_sq: 0.0,
            iats: 0,
            arp_requests: 0,
            arp_replies: 0,
            group_dst: 0,
            telnet: 0,
            ssh: 0,
            web: 0,
            dns: 0,
            low_port: 0,
            dhcp_server: 0,
            echo_requests: 0,
            credentials: 0,
            app_requests: 0,
            src_ip: None,
            top: [(None, 0); TOP_DESTINATIONS],
            last_top: 0,
            lightest: 0,
            top_keys: [0; TOP_DESTINATIONS],
        }
    }

    /// Packets the host sent in this window.
    pub fn pkts_out(&self) -> u32 {
        self.pkts_out
    }

    /// Account a packet this host sent. Inlined into the detector's one
    /// call site (it runs for nearly every packet).
    #[inline]
    pub fn sent(&mut self, ctx: &PacketContext<'_, '_>) {
        let pkt = ctx.pkt;
        let ts = pkt.ts;
        if self.pkts_out > 0 {
            let gap = ts.since(self.last_ts).max(0) as f64 / 1000.0; // ms
            self.iat_sum += gap;
            self.iat_sq += gap * gap;
            self.iats += 1;
        } else {
            self.first_ts = ts;
        }
        self.last_ts = self.last_ts.max(ts);
        self.pkts_out = self.pkts_out.saturating_add(1);
        let size = f64::from(pkt.wire_len);
        self.bytes_out += u64::from(pkt.wire_len);
        self.size_sq += size * size;
        // As sent, whatever a snap length kept.
        let sent = pkt.payload_len();
        if sent > 0 {
            self.with_payload += 1;
            self.payload_bytes += sent as u64;
        }
        if pkt.link.dst.is_some_and(|m| m.is_group()) {
            self.group_dst += 1;
        }
        match &pkt.net {
            Net::Arp(arp) => {
                self.arp += 1;
                if arp.op == 1 {
                    self.arp_requests += 1;
                } else {
                    self.arp_replies += 1;
                }
                if !arp.sender_ip.is_unspecified() {
                    self.count_source(IpAddr::V4(arp.sender_ip));
                }
                let target = IpAddr::V4(arp.target_ip);
                self.dst_ips.insert(&target);
                self.count_destination(target);
            }
            Net::Ip(ip) => {
                self.src_ips.insert(&ip.src);
                self.count_source(ip.src);
                self.dst_ips.insert(&ip.dst);
                self.count_destination(ip.dst);
            }
            _ => {}
        }
        let (sport, dport) = pkt.transport.ports();
        match &pkt.transport {
            Transport::Tcp(t) => {
                self.tcp += 1;
                let f = t.flags;
                let syn = f & tcpflag::SYN != 0;
                let ack = f & tcpflag::ACK != 0;
                if syn && !ack {
                    self.syn += 1;
                } else if syn {
                    self.synack += 1;
                }
                if f & tcpflag::RST != 0 {
                    self.rst += 1;
                }
                if f & tcpflag::FIN != 0 {
                    self.fin += 1;
                }
                if f & tcpflag::PSH != 0 {
                    self.psh += 1;
                }
                if f == tcpflag::ACK && pkt.payload_len() == 0 {
                    self.pure_ack += 1;
                }
            }
            Transport::Udp(_) => {
                self.udp += 1;
                if sport == 67 && dport == 68 {
                    self.dhcp_server += 1;
                }
            }
            Transport::Icmp(i) => {
                self.icmp += 1;
                if i.is_echo_request() {
                    self.echo_requests += 1;
                }
            }
            _ => {}
        }
        if matches!(pkt.transport, Transport::Tcp(_) | Transport::Udp(_)) {
            self.dst_ports.insert(&dport);
            self.src_ports.insert(&sport);
            match dport {
                23 | 2323 => self.telnet += 1,
                22 => self.ssh += 1,
                80 | 443 | 8000 | 8080 | 8443 => self.web += 1,
                53 | 5353 => self.dns += 1,
                _ => {}
            }
            if dport < 1024 {
                self.low_port += 1;
            }
        }
        if ctx.new_flow && ctx.dir == Some(Dir::ToServer) {
            self.new_flows += 1;
        }
        if ctx.dir == Some(Dir::ToClient) {
            self.as_responder += 1;
        }
        if ctx.dir == Some(Dir::ToServer) {
            self.count_app(ctx.app);
        }
    }

    /// Account a packet this host received.
    pub fn received(&mut self, ctx: &PacketContext<'_, '_>) {
        self.pkts_in = self.pkts_in.saturating_add(1);
        self.bytes_in += u64::from(ctx.pkt.wire_len);
        // The client of a login is the one guessing, whoever carried the
        // packet that revealed the attempt.
        if ctx.dir == Some(Dir::ToClient) {
            self.count_app(ctx.app);
        }
    }

    fn count_app(&mut self, app: &[AppEvent]) {
        for e in app {
            match e {
                AppEvent::Credential(_) => self.credentials += 1,
                AppEvent::HttpRequest(_) | AppEvent::Command(_) => self.app_requests += 1,
                _ => {}
            }
        }
    }

    fn count_source(&mut self, ip: IpAddr) {
        match &mut self.src_ip {
            Some((a, n)) if *a == ip => *n += 1,
            // Majority vote (Boyer–Moore): the dominant address survives.
            Some((_, n)) if *n > 0 => *n -= 1,
            slot => *slot = Some((ip, 1)),
        }
    }

    /// Space-saving heavy hitters: a full table replaces its lightest entry.
    /// Inlined: it runs for nearly every packet a host sends.
    #[inline(always)]
    fn count_destination(&mut self, ip: IpAddr) {
        // A host's packets mostly go where its last one went; an address is
        // in the table at most once, so this is the entry the scan finds.
        let last = self.last_top;
        if let Some(e) = self.top.get_mut(last) {
            if e.0 == Some(ip) {
                e.1 += 1;
                self.counted(last);
                return;
            }
        }
        // Entries fill from the front and are only ever replaced, so the
        // first empty one ends the scan: the address is not in the table.
        let key = addr_key(ip);
        let exact = ip.is_ipv4();
        for i in 0..TOP_DESTINATIONS {
            let k = self.top_keys[i];
            if k == 0 {
                self.top[i] = (Some(ip), 1);
                self.top_keys[i] = key;
                self.last_top = i;
                if i == TOP_DESTINATIONS - 1 {
                    self.find_lightest();
                }
                return;
            }
            if k == key && (exact || self.top[i].0 == Some(ip)) {
                self.top[i].1 += 1;
                self.last_top = i;
                self.counted(i);
                return;
            }
        }
        // Full and absent: the first of the lightest entries gives way.
        if self.lightest == 0 {
            self.find_lightest();
        }
        let at = self.lightest.trailing_zeros() as usize;
        let Some(e) = self.top.get_mut(at) else {
            return;
        };
        *e = (Some(ip), e.1 + 1);
        self.top_keys[at] = key;
        self.last_top = at;
        self.counted(at);
    }

    /// Entry `i`'s count went up by one: it is no longer among the
    /// lightest; when it was the last of them, the least count rose.
    #[inline(always)]
    fn counted(&mut self, i: usize) {
        let bit = 1u8 << (i % TOP_DESTINATIONS);
        if self.lightest & bit != 0 {
            self.lightest &= !bit;
            if self.lightest == 0 {
                self.find_lightest();
            }
        }
    }

    /// Mark the entries of a full `top` that hold the least count.
    fn find_lightest(&mut self) {
        let least = self.top.iter().map(|t| t.1).min().unwrap_or(0);
        self.lightest = 0;
        for (i, t) in self.top.iter().enumerate() {
            if t.1 == least {
                self.lightest |= 1 << i;
            }
        }
    }

    /// The feature vector (see [`FEATURE_NAMES`]).
    pub fn features(&self) -> Vec<f32> {
        self.feature_array().to_vec()
    }

    /// The feature vector, without allocating.
    pub fn feature_array(&self) -> [f32; DIM] {
        let out = f64::from(self.pkts_out.max(1));
        let frac = |n: u32| (f64::from(n) / out) as f32;
        let tcp = f64::from(self.tcp.max(1));
        let tfrac = |n: u32| (f64::from(n) / tcp) as f32;
        let mean_size = self.bytes_out as f64 / out;
        let var = (self.size_sq / out - mean_size * mean_size).max(0.0);
        let iat_mean = if self.iats > 0 {
            self.iat_sum / f64::from(self.iats)
        } else {
            0.0
        };
        let iat_cv = if self.iats > 1 && iat_mean > 0.0 {
            let v = (self.iat_sq / f64::from(self.iats) - iat_mean * iat_mean).max(0.0);
            v.sqrt() / iat_mean
        } else {
            0.0
        };
        let dst_ips = self.dst_ips.estimate();
        let top = self.top.iter().map(|t| t.1).max().unwrap_or(0);
        [
            self.pkts_out as f32,
            self.bytes_out as f32,
            self.pkts_in as f32,
            self.bytes_in as f32,
            (f64::from(self.pkts_in) / out) as f32,
            mean_size as f32,
            var.sqrt() as f32,
            frac(self.with_payload),
            (self.payload_bytes as f64 / out) as f32,
            frac(self.tcp),
            frac(self.udp),
            frac(self.icmp),
            frac(self.arp),
            frac(
                self.pkts_out
                    .saturating_sub(self.tcp + self.udp + self.icmp + self.arp),
            ),
            tfrac(self.syn),
            tfrac(self.synack),
            tfrac(self.rst),
            tfrac(self.fin),
            tfrac(self.pure_ack),
            tfrac(self.psh),
            dst_ips as f32,
            self.dst_ports.estimate() as f32,
            self.src_ports.estimate() as f32,
            self.src_ips.estimate() as f32,
            self.dst_ports.estimate() as f32 / dst_ips.max(1) as f32,
            frac(top),
            self.new_flows as f32,
            frac(self.new_flows),
            frac(self.as_responder),
            iat_mean as f32,
            iat_cv as f32,
            (self.last_ts.since(self.first_ts).max(0) as f64 / 1000.0) as f32,
            self.arp_requests as f32,
            (f64::from(self.arp_replies) / f64::from(self.arp.max(1))) as f32,
            frac(self.group_dst),
            frac(self.telnet),
            frac(self.ssh),
            frac(self.web),
            frac(self.dns),
            frac(self.low_port),
            frac(self.dhcp_server),
            frac(self.echo_requests),
            self.credentials as f32,
            self.app_requests as f32,
        ]
    }

    /// The finished window, with the host's inventory addresses.
    ///
    /// `ips` starts with the address to name the host by: the one it first
    /// announced by ARP (`announced`; the inventory's list can fill up with
    /// forged sources during a spoofed flood and forget the real one); else
    /// the one it sent from most, when the inventory agrees it is the host's;
    /// else the inventory's first routable IPv4 address (IPv6 link-local
    /// addresses name nobody a user knows).
    pub fn record(&self, inventory_ips: &[IpAddr], announced: Option<IpAddr>) -> WindowRecord {
        let mut ips: Vec<IpAddr> = Vec::with_capacity(6);
        ips.extend(announced);
        let own = self.src_ip.map(|(ip, _)| ip);
        if let Some(ip) = own.filter(|ip| inventory_ips.contains(ip) && !ips.contains(ip)) {
            ips.push(ip);
        }
        let link_local = |ip: &IpAddr| match ip {
            IpAddr::V4(a) => a.is_link_local(),
            IpAddr::V6(a) => (a.segments()[0] & 0xffc0) == 0xfe80,
        };
        let mut rest: Vec<IpAddr> = inventory_ips.iter().take(8).copied().collect();
        // Stable: IPv4 before IPv6, routable before link-local.
        rest.sort_by_key(|ip| (link_local(ip), ip.is_ipv6()));
        for ip in rest.into_iter().chain(own) {
            if !ips.contains(&ip) && ips.len() < 6 {
                ips.push(ip);
            }
        }
        let mut top: Vec<(IpAddr, u32)> = self
            .top
            .iter()
            .filter_map(|(ip, n)| ip.map(|ip| (ip, *n)))
            .collect();
        // Most packets first; ties by address so the order is deterministic.
        top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        WindowRecord {
            host: self.key,
            start: Timestamp::from_secs(self.second),
            last: self.last_ts,
            pkts_out: self.pkts_out,
            ips,
            top_destinations: top,
            x: self.features(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_vector() {
        let w = HostWindow::new(
            DeviceKey::Ip(IpAddr::from([10, 0, 0, 1])),
            0,
            Timestamp::from_secs(0),
        );
        assert_eq!(w.features().len(), DIM);
    }

    #[test]
    fn heavy_hitters_match_the_plain_space_saving_count() {
        // The table as the scan alone builds it (no last-entry shortcut).
        fn plain(top: &mut [(Option<IpAddr>, u32); TOP_DESTINATIONS], ip: IpAddr) {
            let mut lightest = 0;
            for i in 0..TOP_DESTINATIONS {
                match top[i].0 {
                    Some(a) if a == ip => {
                        top[i].1 += 1;
                        return;
                    }
                    None => {
                        top[i] = (Some(ip), 1);
                        return;
                    }
                    Some(_) if top[i].1 < top[lightest].1 => lightest = i,
                    Some(_) => {}
                }
            }
            let n = top[lightest].1;
            top[lightest] = (Some(ip), n + 1);
        }
        let mut w = HostWindow::new(
            DeviceKey::Ip(IpAddr::from([10, 0, 0, 1])),
            0,
            Timestamp::from_secs(0),
        );
        let mut want = [(None, 0); TOP_DESTINATIONS];
        let mut r = 7u32;
        for _ in 0..20_000 {
            r = r.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            // Runs to one address, and a spread over 20 (more than fit):
            // IPv4, IPv6, and IPv6 pairs whose keys collide (the halves
            // XORed with the same value fold alike).
            let n = (r >> 16) % 20;
            let ip = match (r >> 8) % 3 {
                0 => IpAddr::from([10, 0, 1, n as u8]),
                1 => IpAddr::V6((0xfe80u128 << 112 | u128::from(n)).into()),
                _ => {
                    let x = u128::from(n % 4);
                    let pair = if n.is_multiple_of(2) {
                        0
                    } else {
                        (7u128 << 64) | 7
                    };
                    IpAddr::V6(((0x2001_0db8u128 << 96) | (x << 64) | x | pair).into())
                }
            };
            for _ in 0..(r >> 28) % 3 + 1 {
                w.count_destination(ip);
                plain(&mut want, ip);
                // The lightest entries as a full table marks them.
                let least = w.top.iter().map(|t| t.1).min().unwrap_or(0);
                let full = w.top.iter().all(|t| t.0.is_some());
                let marks = (0..TOP_DESTINATIONS)
                    .filter(|&i| full && w.top[i].1 == least)
                    .fold(0u8, |m, i| m | 1 << i);
                assert_eq!(w.lightest, marks);
            }
        }
        assert_eq!(w.top, want);
        // The keys follow the table.
        for (k, (ip, _)) in w.top_keys.iter().zip(&w.top) {
            assert_eq!(*k, ip.map_or(0, addr_key));
        }
    }

    #[test]
    fn heavy_hitters_keep_the_flooded_victim() {
        let mut w = HostWindow::new(
            DeviceKey::Ip(IpAddr::from([10, 0, 0, 1])),
            0,
            Timestamp::from_secs(0),
        );
        let victim = IpAddr::from([10, 0, 0, 9]);
        for i in 0..1000u32 {
            w.count_destination(IpAddr::from((0x0a00_0100 + i).to_be_bytes()));
            w.count_destination(victim);
        }
        let r = w.record(&[], None);
        assert_eq!(r.top_destinations.first().map(|t| t.0), Some(victim));
        assert!(r.top_destinations.len() <= TOP_DESTINATIONS);
    }
}
