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
//! the same incident) — unless another sender floods it: that is a new
//! incident.
//!
//! Who floods: the source address that sent a strict majority of the
//! second's packets to the victim; if none did (spoofed or distributed
//! sources), or the majority address is forged (sent by a MAC other than the
//! one frames to that address are delivered to), the majority sender MAC,
//! never a router's (MACs frames to off-LAN addresses go to). A reflection's
//! attacker is the MAC that sent reflector requests in the victim's name;
//! such forged requests do not count as the victim's own. (A MAC that
//! poisons the gateway's ARP entry collects off-LAN frames and counts as a
//! router from then on: the ARP detector reports it, its floods then name
//! no sender.)
//!
//! Low-rate floods: a quarter of a flood kind's per-second threshold kept up
//! for [`SUSTAINED_SECS`] seconds in a row (75 SYNs a second for 10 s by
//! default) is the same flood, only slower: hping3 at 100 packets a second
//! exhausts a camera's connection table as surely, just later.
//!
//! Half-open SYN floods: `syn_half_open` SYNs to one address over two
//! seconds of which at most one in ten became a connection (the client's
//! ACK of the SYN-ACK, counted once per connection) are a flood well
//! before the per-second or sustained checks: 100 SYNs a second is found
//! in about 1.5 s. Page loads and devices reconnecting complete theirs.
//! Only plain SYNs (no ACK, RST or FIN) count as connection requests in
//! the SYN checks: other mixes are a flag-combination scan's probes.
//!
//! A UDP flood on one flow (a fixed source port, as Mirai's `udpplain`
//! sends from a connected socket) opens no new flows. It is counted as
//! *one-way* UDP: datagrams on flows the receiver never answered that are
//! not media or telemetry; `udp_pps` of those in a second, twice that
//! over it and the second before, with at least a quarter in that one, is
//! a flood (a flood that began late in a second is found in the next). Media is RTP that continues one of the two streams last seen
//! from the sender to the address (same SSRC, sequence number 1-512 ahead, a payload type in
//! use) or MPEG-TS (a sync byte every 188 bytes); a flood whose payload
//! merely starts like RTP never continues a stream. Telemetry and lighting
//! are recognised by their headers (Art-Net, sACN, NetFlow/IPFIX/sFlow,
//! syslog, statsd): one-way by design, to a node or collector that never
//! answers. Tunnels, QUIC and game streams are answered, so never one-way.
//!
//! Reflection over TCP: SYN-ACKs to an address that sent nothing on their
//! flow, or whose SYN came from a MAC other than the one the SYN-ACK is
//! delivered to, are `tcp-synack-reflection` (threshold `ack_rst_pps`);
//! the forger is the MAC that sent SYNs in the victim's name.
//!
//! Other IP protocols (ESP, and GRE whose payload the decoder does not
//! open; Mirai's `greip`/`greeth` are opened and counted here as the UDP
//! inside, which reaches the victim only with Mirai's `gcip` option; by
//! default the inner destination is random per packet, and
//! [`crate::dos_shapes`] counts the tunnel packets at their outer
//! destination instead) at `ip_pps` a second that the receiver does not
//! answer (under a tenth as many back over two seconds; a tunnel's far end answers) are
//! `ip-protocol-flood`. Truncated TCP/UDP/ICMP headers (nmap `-f`'s tiny
//! fragments) are not another protocol and are left to recon; SCTP's
//! destination port counts as a port, so an INIT scan of many ports (nmap
//! `-sY`) is a scan and an INIT flood at one port a flood. DNS water torture (Mirai's `dns` vector): `dns_qps`
//! queries a second to one resolver, at least half of them for distinct
//! names and most under one parent domain, are `dns-water-torture`.
//!
//! Many destination ports at once make a scan, not a flood (the scan
//! detector's business) — unless most packets carry 256 bytes of payload
//! or more: Mirai's `ack` and `udp` vectors pick a random port per packet,
//! and no scan's probes are that big. Nor when SYNs keep coming back to
//! ports their victim already answered, as often as random ports would
//! (Mirai's `syn` vector, a random port per SYN; see `Spray`): a scan
//! re-probes only ports that stayed silent, or probes from one or a few
//! source ports (masscan's retries), or has seen a quarter of all ports
//! answered (a second full-range scan). A few victims are watched so
//! at a time, each with an exact 65 536-bit map of answered ports.
//!
//! Carpet bombing spreads a flood over a network so that no address
//! crosses its own threshold: per destination /24 (/64), in a 256-slot
//! direct-mapped table, `carpet_victims` addresses hit in one second at
//! [`CARPET_PER_VICTIM`] packets each on average, together over the kind's
//! per-address threshold, are `<kind>-carpet-bombing` (one incident per
//! kind). Only unasked-for traffic counts: UDP its receiver never
//! answered, SYNs without handshakes, stray segments, pings, unrequested
//! reflection bytes. Sweeps touch each address once or a few times; a
//! port scan of many hosts touches [`CARPET_PER_VICTIM`] ports or more,
//! none of them a majority, with small packets and is left to recon.
//!
//! Slow attacks (slowloris, slow POST) send too little to be a flood: they
//! hold many connections open, dribbling a request the server waits for.
//! A connection is *held* when its client sends data at least
//! [`HOLD_SECS`] after the connection opened while the server has not sent
//! a byte of payload; `held_connections` distinct held connections from one
//! client to one server port within a minute are `slow-http-dos` (port 80,
//! 443, 8000, 8080, 8443 or an HTTP flow) or `tcp-connection-exhaustion`.
//! Browsers keep a handful of connections per server, and servers answer
//! them.
//!
//! Junk floods (Gafgyt/Bashlite's JUNK) fill connections instead of
//! opening them: the bot connects on hundreds of sockets at once and
//! writes random text on each as fast as it can. A service that closes on
//! garbage makes it a SYN flood; one that keeps reading (a raw TCP port,
//! a broker waiting for its CONNECT) sees established connections carrying
//! megabytes a second and answers none of them. Counted from the flow's
//! own counters, per client, server and server port in one-second
//! buckets: client data on connections whose handshake was seen, whose
//! server has sent no payload byte and whose client has sent
//! [`JUNK_FLOW_MIN`] bytes or more, that are not HTTP (an upload's body
//! comes before its answer). `junk_bytes_per_sec` of that in a second over
//! `junk_connections` connections or more is `tcp-junk-flood`; one
//! connection is enough when a segment of that second is Gafgyt's junk
//! alphabet (random capital letters, nothing else). Every real protocol's server says something
//! first or soon (a greeting, a handshake, a reply); what stays silent is a
//! file copy, FTP data, a print job or an iperf stream, each one or a few
//! connections. A flood whose connections were open before the capture
//! began (no handshake seen) is not counted, nor is a single connection of
//! random bytes, which looks exactly like `nc` copying a file. Client data
//! on a connection its server has answered (nearly all data) costs one
//! comparison.

use std::net::{IpAddr, Ipv4Addr};

use ward_core::decode::{tcpflag, Net, Transport};
use ward_core::flow::Dir;
use ward_core::{AlertCategory, MacAddr, PacketContext, Timestamp};
use ward_proto::AppEvent;

use crate::alert::{who, Draft};
use crate::config::DosConfig;
use crate::table::{hash_of, CappedMap, Distinct, Majority};

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
    /// SYN-ACKs for connections the receiver never asked for: TCP
    /// reflection (SYNs sent to servers in the victim's name).
    SynAck = 6,
    /// Packets of another IP protocol (GRE whose payload is not opened,
    /// ESP, SCTP, …). Not IP fragments: later ones carry no transport
    /// header and are not counted, and a first fragment too short for its
    /// TCP/UDP/ICMP header is nmap `-f`, recon's business.
    Ip = 7,
    /// DNS queries (also counted as UDP): water torture.
    Dns = 8,
}
const KINDS: usize = 9;
/// More distinct destination ports than this in one second is a scan.
const MAX_FLOOD_PORTS: u32 = 16;
/// Fewer packets than this in a second are too few to say who sends most.
const THIN_PKTS: u32 = 32;
/// Payload bytes from which a packet is bulky: many ports hit by mostly
/// bulky packets are a random-port flood (Mirai's `ack` and `udp` vectors
/// pick a destination port per packet), not a scan.
const BULKY_PAYLOAD: usize = 256;
/// Consecutive seconds at a quarter of a flood threshold that make a
/// low-rate flood. No lab device or benign capture comes near: their busiest
/// second to one address holds a few dozen connection requests.
pub const SUSTAINED_SECS: u32 = 10;
/// Seconds after which a connection whose server has sent no payload while
/// its client still sends is held open (slowloris sends a header line every
/// 5-15 s; a normal request is answered in well under a second).
pub const HOLD_SECS: i64 = 4;
const HOLD_WINDOW_US: i64 = 60_000_000;
/// Client payload bytes a connection must have carried, its server
/// silent, before it counts towards a junk flood: a request's first
/// segments (a TLS ClientHello, an MQTT CONNECT, a telnet login) are
/// answered long before, so they never reach the junk table.
pub const JUNK_FLOW_MIN: u32 = 4096;
/// Segments at least this long are read (one a second per record) for
/// Gafgyt's junk alphabet (see [`is_junk_alphabet`]): no file, stream or
/// protocol is random capital letters for 256 bytes.
const JUNK_ALPHABET_MIN: usize = 256;

/// One client's data into one server port on connections the server never
/// answered with a byte (a junk flood), this second.
#[derive(Clone, Copy)]
struct Junk {
    sec: i64,
    bytes: u64,
    packets: u32,
    /// The client's ports this second: the connections.
    conns: Distinct,
    /// A segment of this second was read for the junk alphabet, and was it.
    read: bool,
    letters: bool,
    /// Packets counted since the record began (the alert's count).
    total: u64,
    /// Last second over the threshold (one incident while it goes on).
    last_over: i64,
}

impl Junk {
    fn new(sec: i64) -> Self {
        Junk {
            sec,
            bytes: 0,
            packets: 0,
            conns: Distinct::default(),
            read: false,
            letters: false,
            total: 0,
            last_over: i64::MIN,
        }
    }
}

/// Held connections from one client to one server port (slow DoS).
#[derive(Clone, Copy)]
struct Hold {
    start: Timestamp,
    conns: Distinct,
    packets: u32,
    reported: bool,
}

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
            (Kind::SynAck, _) => "tcp-synack-reflection",
            (Kind::Ip, false) => "ip-protocol-flood",
            (Kind::Ip, true) => "ip-protocol-flood-spoofed",
            (Kind::Dns, _) => "dns-water-torture",
        }
    }
    /// The kind spread over a network: one incident per kind, so a UDP
    /// carpet and a SYN carpet from the same sender are two.
    fn carpet_signature(self) -> &'static str {
        match self {
            Kind::Syn => "tcp-syn-carpet-bombing",
            Kind::AckRst => "tcp-ack-rst-carpet-bombing",
            Kind::SynAck => "tcp-synack-carpet-bombing",
            Kind::Icmp => "icmp-carpet-bombing",
            Kind::Reflection => "udp-reflection-carpet-bombing",
            _ => "udp-carpet-bombing",
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
            Kind::SynAck => "unrequested TCP SYN-ACKs",
            Kind::Ip => "packets of a tunnel or other IP protocol",
            Kind::Dns => "DNS queries for random names",
        }
    }
    fn proto(self) -> u8 {
        match self {
            Kind::Syn | Kind::AckRst | Kind::Http | Kind::SynAck => 6,
            Kind::Udp | Kind::Reflection | Kind::Dns => 17,
            Kind::Icmp => 1,
            Kind::Ip => 0,
        }
    }
}

#[derive(Clone, Copy)]
struct Victim {
    sec: i64,
    counts: [u32; KINDS],
    udp_new: u32,
    /// SYNs in the second before (0 unless it was the one just before) and
    /// TCP handshakes to this address completed (the client's ACK of the
    /// SYN-ACK) this second and the one before: a half-open SYN flood.
    syn_prev: u32,
    /// The second before (if it was the one just before): its distinct
    /// sources, and whether it looked like a scan (many ports, small
    /// packets). The half-open check spans both seconds, so both count:
    /// a check that crosses early in a second has seen few of this
    /// second's sources and ports.
    prev_sources: u32,
    prev_scan: bool,
    est: u32,
    est_prev: u32,
    /// Packets of other IP protocols this address sent itself (a tunnel
    /// answers; a GRE flood is not answered), this second and the one before.
    ip_sent: u32,
    ip_sent_prev: u32,
    ip_proto: u8,
    /// One-way non-media UDP datagrams this second and the one before.
    udp_oneway: u32,
    prev_udp_oneway: u32,
    /// Bytes per kind this second (saturating: 4 GB in a second is a flood
    /// whichever way it is counted). Counters are 32-bit so that a victim
    /// record stays small: it is read for every counted packet.
    bytes: [u32; KINDS],
    sources: Distinct,
    /// Destination ports this second: a flood hammers a few, a fast port
    /// scan touches hundreds (and is the scan detector's business).
    ports: Distinct,
    last_src: IpAddr,
    one_src: bool,
    /// Boyer–Moore majority vote over this second's sources and sender
    /// MACs: the flooder dominates even when others talk to the victim too.
    top_src: Majority<IpAddr>,
    top_mac: Majority<MacAddr>,
    /// Packets counted this second (all kinds): the denominator of the votes.
    pkts: u32,
    /// Of those, packets carrying 256 bytes of payload or more: a scan's
    /// probes are small, Mirai's random-port ACK and UDP floods are not.
    bulky: u32,
    port: u16,
    one_port: bool,
    /// The MAC frames to this address are delivered to: its owner on the
    /// LAN. A packet *from* the address sent by another MAC forged it.
    own_mac: Option<MacAddr>,
    /// Majority vote over the MACs that sent reflector requests with this
    /// address forged as their source (the reflection attacker); forgotten
    /// after 30 s without traffic to the address (it is not halved per
    /// second like `req_bytes`: one forged request can start a long flood).
    spoofer: Majority<MacAddr>,
    /// Bytes the victim itself sent to reflector ports (its own requests), decayed per second.
    req_bytes: u64,
    /// Per kind: consecutive seconds, up to the last one, at a quarter of
    /// the kind's threshold or more (a low-rate flood when long enough).
    low_run: [u32; KINDS],
    /// Per kind: second the flood was first reported, last second over threshold, packets since.
    first_over: [i64; KINDS],
    last_over: [i64; KINDS],
    /// Per kind: who the reported flood came from, as far as known: the
    /// hash of its majority source address and of its majority sender MAC
    /// (0: no majority). Another sender is another incident; a vote that
    /// merely lost its majority for a while is not another sender.
    over_src: [u32; KINDS],
    over_mac: [u32; KINDS],
    /// The reflector service port of this second's reflected packets.
    refl_port: u16,
    one_refl_port: bool,
    total: [u32; KINDS],
}

impl Victim {
    fn new(sec: i64) -> Self {
        Victim {
            sec,
            counts: [0; KINDS],
            udp_new: 0,
            syn_prev: 0,
            prev_sources: 0,
            prev_scan: false,
            est: 0,
            est_prev: 0,
            ip_sent: 0,
            ip_sent_prev: 0,
            ip_proto: 0,
            udp_oneway: 0,
            prev_udp_oneway: 0,
            bytes: [0; KINDS],
            sources: Distinct::default(),
            ports: Distinct::default(),
            last_src: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            one_src: true,
            top_src: Majority::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            top_mac: Majority::default(),
            pkts: 0,
            bulky: 0,
            port: 0,
            one_port: true,
            own_mac: None,
            spoofer: Majority::default(),
            req_bytes: 0,
            low_run: [0; KINDS],
            first_over: [i64::MIN; KINDS],
            last_over: [i64::MIN; KINDS],
            over_src: [0; KINDS],
            over_mac: [0; KINDS],
            refl_port: 0,
            one_refl_port: true,
            total: [0; KINDS],
        }
    }

    /// Many destination ports this second, hit by small packets: a scan.
    fn looks_like_scan(&self) -> bool {
        self.ports.estimate() > MAX_FLOOD_PORTS && self.bulky.saturating_mul(2) < self.pkts
    }

    /// Start second `sec`; `low` is each kind's low-rate threshold (and, for
    /// UDP, the new flows that go with it).
    fn roll(&mut self, sec: i64, low: &[u32; KINDS], low_udp_new: u32) {
        if sec != self.sec {
            let next = sec == self.sec.saturating_add(1);
            for (k, (run, &low)) in self.low_run.iter_mut().zip(low).enumerate() {
                let busy = self.counts[k] >= low
                    && (k != Kind::Udp as usize || self.udp_new >= low_udp_new);
                *run = if next && busy {
                    run.saturating_add(1)
                } else {
                    0
                };
            }
            self.req_bytes = if sec - self.sec < 30 {
                self.req_bytes / 2
            } else {
                0
            };
            if sec - self.sec >= 30 {
                self.spoofer.clear();
            }
            self.syn_prev = if next {
                self.counts[Kind::Syn as usize]
            } else {
                0
            };
            // Only the half-open SYN check reads these: skip the estimates
            // for the many addresses that saw no SYN.
            let syns = next && self.counts[Kind::Syn as usize] > 0;
            self.prev_sources = if syns { self.sources.estimate() } else { 0 };
            self.prev_scan = syns && self.looks_like_scan();
            self.sec = sec;
            self.pkts = 0;
            self.bulky = 0;
            self.counts = [0; KINDS];
            self.udp_new = 0;
            self.est_prev = if next { self.est } else { 0 };
            self.est = 0;
            self.ip_sent_prev = if next { self.ip_sent } else { 0 };
            self.ip_sent = 0;
            self.prev_udp_oneway = if next { self.udp_oneway } else { 0 };
            self.udp_oneway = 0;
            self.bytes = [0; KINDS];
            self.sources.clear();
            self.ports.clear();
            self.one_src = true;
            self.top_src.clear();
            self.top_mac.clear();
            self.one_port = true;
            self.port = 0;
            self.refl_port = 0;
            self.one_refl_port = true;
        }
    }
}

/// Slots of the carpet-bombing table (one per destination /24 or /64,
/// direct-mapped: a collision restarts the slot's second).
const CARPET_SLOTS: usize = 256;
/// A carpet's flood must average this many packets a second per address
/// hit: a sweep or a scan touches each address once or a few times.
pub const CARPET_PER_VICTIM: u32 = 8;

/// One destination network's second (carpet bombing: a flood spread over
/// many addresses, each of which gets too little to cross its own
/// threshold).
#[derive(Clone, Copy)]
struct Carpet {
    /// The network (+1; 0: empty slot).
    key: u64,
    sec: i64,
    counts: [u32; KINDS],
    /// Reflected bytes this second, and the bytes the network itself sent
    /// to reflector services (halved each second).
    refl_bytes: u64,
    req_bytes: u64,
    est: u32,
    udp_new: u32,
    pkts: u32,
    /// Of those, packets with 256 bytes of payload or more, and the
    /// destination ports this second: a port scan of many hosts is not a
    /// carpet (see [`Dos::carpet`]).
    bulky: u32,
    ports: Distinct,
    /// The majority destination port this second (Boyer–Moore): a
    /// flood's, which the network's other traffic does not outvote.
    top_port: Majority<u16>,
    victims: Distinct,
    first_victim: IpAddr,
    last_victim: IpAddr,
    top_mac: Majority<MacAddr>,
    last_over: [i64; KINDS],
    total: [u64; KINDS],
}

impl Carpet {
    fn empty() -> Self {
        Carpet {
            key: 0,
            sec: 0,
            counts: [0; KINDS],
            refl_bytes: 0,
            req_bytes: 0,
            est: 0,
            udp_new: 0,
            pkts: 0,
            bulky: 0,
            ports: Distinct::default(),
            top_port: Majority::new(0),
            victims: Distinct::default(),
            first_victim: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            last_victim: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            top_mac: Majority::default(),
            last_over: [i64::MIN; KINDS],
            total: [0; KINDS],
        }
    }

    /// The slot of `ip`'s network, started on second `sec`.
    fn slot(table: &mut [Carpet], ip: IpAddr, sec: i64) -> &mut Carpet {
        let key = match ip {
            IpAddr::V4(v4) => u64::from(u32::from(v4) >> 8) + 1,
            IpAddr::V6(v6) => ((u128::from(v6) >> 64) as u64) | 1 << 63,
        };
        let i = (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize % table.len().max(1);
        let c = &mut table[i];
        if c.key != key {
            *c = Carpet::empty();
            c.key = key;
            c.sec = sec;
        }
        if c.sec != sec {
            c.req_bytes = if sec - c.sec < 30 { c.req_bytes / 2 } else { 0 };
            c.sec = sec;
            c.counts = [0; KINDS];
            c.refl_bytes = 0;
            c.est = 0;
            c.udp_new = 0;
            c.pkts = 0;
            c.bulky = 0;
            c.ports.clear();
            c.top_port.clear();
            c.victims.clear();
            c.top_mac.clear();
        }
        c
    }
}

/// The RTP streams from one sender to one address (SSRC, last sequence
/// number), two slots: a camera's video and audio. Per sender, so that an
/// NVR recording several cameras (eight interleaved streams to one
/// address) is not taken for a flood. Kept apart from [`Victim`], which every counted packet
/// reads: only one-way datagrams that start like RTP look here.
#[derive(Clone, Copy, Default)]
struct Streams {
    rtp: [(u32, u16); 2],
    slot: u8,
}

impl Streams {
    /// Whether `payload` is the next RTP packet of a stream to this address:
    /// the SSRC of one of the two remembered streams, its sequence number
    /// 1-512 ahead (reordering and loss allowed). Anything else RTP-shaped
    /// takes over the older slot and is not yet media, so a flood whose
    /// first byte merely looks like RTP (random payloads: a quarter of
    /// them) never continues a stream and is counted.
    fn continues_rtp(&mut self, payload: &[u8]) -> bool {
        let Some((ssrc, seq)) = rtp_header(payload) else {
            return false;
        };
        for slot in &mut self.rtp {
            if slot.0 == ssrc {
                let ahead = seq.wrapping_sub(slot.1);
                slot.1 = seq;
                return (1..=512).contains(&ahead);
            }
        }
        let i = usize::from(self.slot & 1);
        self.rtp[i] = (ssrc, seq);
        self.slot ^= 1;
        false
    }
}

/// DNS queries to one resolver this second (water torture): distinct
/// names and a majority vote over their parent domains (hashes). Kept
/// apart from [`Victim`]: only DNS queries look here.
#[derive(Clone, Copy, Default)]
struct Queries {
    sec: i64,
    names: Distinct,
    parent: Majority<u64>,
}

pub struct Dos {
    cfg: DosConfig,
    streams: CappedMap<(IpAddr, IpAddr), Streams>,
    queries: CappedMap<IpAddr, Queries>,
    /// Per destination network: carpet bombing (`carpet_victims` > 0).
    carpets: Vec<Carpet>,
    quiet_secs: i64,
    reflector: Vec<bool>,
    /// Per kind: a quarter of its per-second threshold (never for HTTP
    /// and reflection, whose thresholds are already low), see [`SUSTAINED_SECS`].
    low: [u32; KINDS],
    low_udp_new: u32,
    victims: CappedMap<IpAddr, Victim>,
    /// (client, server, server port) → connections held open.
    holds: CappedMap<(IpAddr, IpAddr, u16), Hold>,
    /// (client, server, server port) → silent data this second (junk floods).
    junk: CappedMap<(IpAddr, IpAddr, u16), Junk>,
    /// MACs that frames to off-LAN addresses are sent to: routers. Traffic
    /// from the internet arrives with a router's MAC, so a router's MAC
    /// never names a flooder (the last few seen, most recent first).
    routers: [Option<MacAddr>; 4],
    /// Victims whose SYNs look like a fast scan, watched for a random-port
    /// flood (at most [`SPRAY_SLOTS`]).
    sprays: Vec<Spray>,
}

/// Victims watched at once for a random-port SYN flood (8 KiB each).
const SPRAY_SLOTS: usize = 4;
/// SYNs over two seconds to ports their victim had already answered that
/// make a random-port flood (a scan re-probes none: 0–1 in the lab runs).
const SPRAY_HITS: u32 = 32;
/// Answered ports past which SYNs to them are no sign of a random-port
/// flood: a second full-range scan comes back to them exactly as often as
/// a random choice would, while a flood over the SYN rate gets its
/// [`SPRAY_HITS`] long before a quarter of the ports answered (at 64
/// counted SYNs a second, the slowest that could, at 16 384).
const SPRAY_MAX_ANSWERED: u32 = 16_384;

/// A victim whose SYNs cross the flood rate but look like a fast scan
/// (many ports, small packets), watched for what tells Mirai's `syn`
/// vector (a random port per SYN) from a scan: a scan probes each port
/// once and retransmits only to ports that stayed silent, while a flood
/// comes back to ports the victim has already answered, as often as a
/// uniform random choice would (the birthday effect). A plain repeat
/// share does not separate them: nmap's retransmissions repeat more ports
/// per window than a random-port flood does below ~20 000 SYNs a second.
struct Spray {
    victim: IpAddr,
    /// The second of the last SYN counted.
    sec: i64,
    /// Ports the victim answered on (RST, or SYN-ACK), exactly: a hashed
    /// sketch saturates over a full-range scan and would take its
    /// retransmissions for repeats.
    answered: Box<[u64; 1024]>,
    answered_count: u32,
    /// This second and the one before: SYNs counted, those to an answered
    /// port, and the sum of `answered_count` at each (65 536 times the
    /// hits a uniform random choice of ports would expect).
    hits: [u32; 2],
    expect: [u64; 2],
    /// The last few source ports counted: a scanner probes from one (nmap
    /// -sS, masscan) or a few (nmap's retransmissions), and its retries of
    /// answered ports (masscan --retries) are no flood; a random-port
    /// flood picks a new source port per SYN (Mirai) or counts up (hping3).
    sports: [u16; 4],
}

impl Spray {
    fn new(victim: IpAddr, sec: i64) -> Self {
        Spray {
            victim,
            sec,
            answered: Box::new([0; 1024]),
            answered_count: 0,
            hits: [0; 2],
            expect: [0; 2],
            sports: [0; 4],
        }
    }

    fn answer(&mut self, port: u16) {
        let (w, b) = (usize::from(port / 64), port % 64);
        if let Some(word) = self.answered.get_mut(w) {
            if *word & (1 << b) == 0 {
                *word |= 1 << b;
                self.answered_count += 1;
            }
        }
    }

    /// Count a SYN to `port` from `sport` (not when one of the last few
    /// SYNs came from it); true when the last two seconds' SYNs came
    /// back to answered ports [`SPRAY_HITS`] times or more and no more
    /// often than a random choice of ports would (a second scan of the
    /// same ports comes back to every one: it stays a scan), with no more
    /// than [`SPRAY_MAX_ANSWERED`] ports answered.
    fn syn(&mut self, port: u16, sport: u16, sec: i64) -> bool {
        if sec.saturating_sub(self.sec) >= 2 {
            // Idle: what was answered before (a finished scan) says nothing
            // of what comes now.
            self.answered.fill(0);
            self.answered_count = 0;
        }
        if sec != self.sec {
            let next = sec == self.sec.saturating_add(1);
            self.hits = [0, if next { self.hits[0] } else { 0 }];
            self.expect = [0, if next { self.expect[0] } else { 0 }];
            self.sec = sec;
        }
        if self.sports.contains(&sport) {
            return false; // a scanner's source port
        }
        self.sports.rotate_right(1);
        self.sports[0] = sport;
        let (w, b) = (usize::from(port / 64), port % 64);
        if self
            .answered
            .get(w)
            .is_some_and(|word| word & (1 << b) != 0)
        {
            self.hits[0] += 1;
        }
        self.expect[0] += u64::from(self.answered_count);
        let hits = self.hits[0] + self.hits[1];
        let expect = self.expect[0] + self.expect[1];
        // At most half as many again as a random choice expects, plus
        // Poisson slack (at 32 hits a rescan after a scan of 1 000 ports
        // has ~8 expected).
        hits >= SPRAY_HITS
            && 2 * u64::from(hits) * 65_536 <= 3 * expect + 12 * 65_536
            && self.answered_count <= SPRAY_MAX_ANSWERED
    }
}

/// Gafgyt's junk alphabet: nothing but capital letters, and random ones
/// (at least 16 of the 26 letters: `makeRandomStr` draws each byte as
/// `rand() % 26 + 'A'`, so 256 of them hold nearly all). A segment of one
/// repeated letter (a fill, as hping3's `X`s or a constant STOMP payload)
/// is not the bot's.
fn is_junk_alphabet(payload: &[u8]) -> bool {
    let mut seen = 0u32;
    for &b in payload {
        if !b.is_ascii_uppercase() {
            return false;
        }
        seen |= 1 << (b - b'A');
    }
    seen.count_ones() >= 16
}

/// The RTP header fields a stream keeps consistent: version 2, a payload
/// type in use (RFC 3551's static types 0-34, dynamic 96-127), and the
/// stream's SSRC and sequence number (RFC 3550 §5.1).
fn rtp_header(payload: &[u8]) -> Option<(u32, u16)> {
    let (&b0, &b1) = (payload.first()?, payload.get(1)?);
    let pt = b1 & 0x7f;
    if b0 & 0xC0 != 0x80 || payload.len() < 12 || (35..96).contains(&pt) {
        return None;
    }
    let seq = u16::from_be_bytes([*payload.get(2)?, *payload.get(3)?]);
    let ssrc = u32::from_be_bytes(payload.get(8..12)?.try_into().ok()?);
    Some((ssrc, seq))
}

/// MPEG-TS: 188-byte packets, each starting with the sync byte 0x47.
/// `sent`: the payload's length as sent (a snap length may have kept
/// only the first packet's start, which still shows its sync byte).
fn is_mpeg_ts(payload: &[u8], sent: usize) -> bool {
    !payload.is_empty()
        && sent.is_multiple_of(188)
        && payload.chunks(188).all(|c| c.first() == Some(&0x47))
}

/// One-way UDP by design whose payload names its protocol unmistakably:
/// Art-Net (lighting, "Art-Net\0"), sACN / E1.31 (lighting, the ACN
/// packet identifier at byte 4), NetFlow v5/v9, IPFIX and sFlow v5 exports
/// (version word, then a plausible count or length), syslog ("<PRI>") and
/// statsd ("name:value|type", printable). Random or zeroed flood payloads
/// match none of them; a flood that imitates one is still counted by
/// `udp_pps_any` and, from several flows, by `udp_pps`. `sent`: the
/// payload's length as sent (IPFIX states it; a snap length may cut it).
fn looks_like_telemetry(payload: &[u8], sent: usize) -> bool {
    let word = |i: usize| {
        payload
            .get(i..i + 2)
            .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]))
    };
    if payload.starts_with(b"Art-Net\0") || payload.get(4..16) == Some(b"ASC-E1.17\0\0\0") {
        return true;
    }
    match (word(0), word(2)) {
        // NetFlow v5 (1-30 records), v9 (a record count), IPFIX (its length).
        (5, 1..=30) | (9, 1..=64) => return true,
        (10, len) if usize::from(len) == sent => return true,
        // sFlow v5: version 5 as a 32-bit word, agent address type 1 or 2.
        (0, 5) if matches!(payload.get(4..8), Some([0, 0, 0, 1 | 2])) => return true,
        _ => {}
    }
    let printable = |b: &[u8]| {
        b.iter()
            .all(|&c| c.is_ascii_graphic() || c == b' ' || c == b'\n' || c == b'\t')
    };
    let head = payload.get(..payload.len().min(64)).unwrap_or(payload);
    match payload.first() {
        // syslog: "<" 1-3 digits ">" (RFC 3164 / 5424).
        Some(b'<') => {
            let digits = head
                .iter()
                .skip(1)
                .take_while(|c| c.is_ascii_digit())
                .count();
            (1..=3).contains(&digits) && head.get(1 + digits) == Some(&b'>') && printable(head)
        }
        // statsd: "metric:value|type". The separators are looked for
        // first: a flood of letters is printable, and this test runs for
        // every one-way datagram that starts with one.
        Some(c) if c.is_ascii_alphabetic() => {
            match (memchr::memchr(b':', head), memchr::memchr(b'|', head)) {
                (Some(colon), Some(bar)) => colon < bar && printable(head),
                _ => false,
            }
        }
        _ => false,
    }
}

pub(crate) fn is_victim(ip: IpAddr) -> bool {
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
        let quarter = |x: u32| (x / 4).max(1);
        let mut low = [u32::MAX; KINDS];
        low[Kind::Syn as usize] = quarter(cfg.syn_pps);
        low[Kind::AckRst as usize] = quarter(cfg.ack_rst_pps);
        low[Kind::Udp as usize] = quarter(cfg.udp_pps);
        low[Kind::Icmp as usize] = quarter(cfg.icmp_pps);
        low[Kind::SynAck as usize] = quarter(cfg.ack_rst_pps);
        Dos {
            low,
            low_udp_new: quarter(cfg.udp_new_flows),
            cfg,
            quiet_secs: quiet_secs as i64,
            reflector,
            victims: CappedMap::new(cap),
            holds: CappedMap::new(cap),
            junk: CappedMap::new(cap),
            routers: [None; 4],
            carpets: vec![Carpet::empty(); CARPET_SLOTS],
            streams: CappedMap::new(cap),
            queries: CappedMap::new(cap),
            sprays: Vec::new(),
        }
    }

    /// Every packet: the router MACs learnt, then the ordinary TCP
    /// segments' few checks here, and everything else in
    /// [`Dos::counted_packet`] (out of line, so that the half of a capture
    /// that is ordinary does not pay for its large frame: saving and
    /// restoring its registers and copying the addresses it works on).
    pub fn on_packet(&mut self, ctx: &PacketContext<'_, '_>, out: &mut Vec<Draft>) {
        let pkt = ctx.pkt;
        let Net::Ip(ip) = &pkt.net else { return };
        // A LAN address sending off the LAN: the MAC the frame goes to is a
        // router. The known-router test comes before the destination's
        // (pure tests, any order gives the same answer): an outbound frame
        // nearly always goes to a router already known, often the first.
        if ctx.devices.is_local(ip.src) {
            if let Some(m) = pkt.link.dst.filter(|m| m.is_station()) {
                if !self.routers.contains(&Some(m))
                    && !ctx.devices.is_local(ip.dst)
                    && is_victim(ip.dst)
                {
                    self.routers.rotate_right(1);
                    self.routers[0] = Some(m);
                }
            }
        }
        // An ordinary TCP segment (`PacketContext::ordinary`: mid-flow, no
        // SYN, FIN or RST, no flag its direction had not sent, no
        // application event) is no connection request, SYN-ACK, answer to a
        // watched port or web request, so all it can be here is a stray
        // segment of a flow its server never answered, a client's data on a
        // connection that may be held, or the client's second packet (the
        // handshake check). Anything else returns before any lookup: these
        // are half of a typical capture's packets.
        if ctx.ordinary {
            if let (Transport::Tcp(_), Some(fl)) = (pkt.transport, ctx.flow) {
                let to_server = ctx.dir != Some(Dir::ToClient);
                let stray = to_server && fl.tcp_flags[0] & tcpflag::SYN == 0 && fl.pkts[1] == 0;
                // Data as sent: a header-only capture keeps none of it.
                let data = to_server && pkt.payload_len() > 0;
                let second = ctx.dir == Some(Dir::ToServer) && fl.pkts[0] == 2;
                if !(stray || data || second) {
                    return;
                }
                // A client's data on a flow its server answered, past the
                // handshake: only the held-connection and junk checks read
                // it (below it would be a web request with no request, and
                // return). Most data packets end here.
                if !(stray || second) {
                    self.held_connection(ctx, out);
                    if !pkt.payload.is_empty() {
                        self.junk_data(ctx, out);
                    }
                    return;
                }
            }
        }
        self.counted_packet(ctx, ip, out);
    }

    /// [`Dos::on_packet`] for a packet that may be counted against its
    /// destination: not an ordinary segment of an answered connection.
    #[inline(never)]
    fn counted_packet(
        &mut self,
        ctx: &PacketContext<'_, '_>,
        ip: &ward_core::decode::Ip,
        out: &mut Vec<Draft>,
    ) {
        let pkt = ctx.pkt;
        let (src, dst) = (ip.src, ip.dst);
        let sec = pkt.ts.0.div_euclid(1_000_000);
        let len = u64::from(pkt.wire_len);
        let (kind, port) = match pkt.transport {
            Transport::Tcp(t) => {
                let f = t.flags;
                let syn = f & tcpflag::SYN != 0;
                let ack = f & tcpflag::ACK != 0;
                // A watched victim answering a connection request.
                if !self.sprays.is_empty() && (f & tcpflag::RST != 0 || (syn && ack)) {
                    if let Some(s) = self.sprays.iter_mut().find(|s| s.victim == src) {
                        s.answer(t.src_port);
                    }
                }
                // With or without data: a PSH+ACK flood carries some, and is
                // as much a flood of segments no connection asked for.
                let stray = !syn
                    && (ack || f & tcpflag::RST != 0)
                    && ctx.dir != Some(Dir::ToClient)
                    && ctx
                        .flow
                        .is_some_and(|fl| fl.tcp_flags[0] & tcpflag::SYN == 0 && fl.pkts[1] == 0);
                if ctx.dir != Some(Dir::ToClient) {
                    // A held connection is judged by whether the client
                    // sent data (a snap length may have kept none of it);
                    // junk by what it sent.
                    if pkt.payload_len() > 0 {
                        self.held_connection(ctx, out);
                    }
                    if !pkt.payload.is_empty() {
                        self.junk_data(ctx, out);
                    }
                }
                // The client's ACK of the SYN-ACK (its second packet, the
                // server having sent a SYN): a completed handshake, which a
                // half-open flood lacks. Once per connection.
                let handshake = ack
                    && !syn
                    && f & tcpflag::RST == 0
                    && ctx.dir == Some(Dir::ToServer)
                    && ctx.flow.is_some_and(|fl| {
                        fl.pkts[0] == 2
                            && fl.tcp_flags[0] & tcpflag::SYN != 0
                            && fl.tcp_flags[1] & tcpflag::SYN != 0
                    });
                if handshake {
                    if let Some(v) = self.victims.get_mut(&dst) {
                        v.roll(sec, &self.low, self.low_udp_new);
                        v.est = v.est.saturating_add(1);
                    }
                    if self.cfg.carpet_victims > 0 {
                        let c = Carpet::slot(&mut self.carpets, dst, sec);
                        c.est = c.est.saturating_add(1);
                    }
                }
                // A SYN-ACK on a flow its receiver never sent on, or whose
                // SYN came from a MAC other than the one the SYN-ACK is
                // delivered to (a forger on the LAN): nobody there asked
                // for the connection.
                let unasked = syn && ack && ctx.flow.is_some_and(|fl| match ctx.dir {
                    Some(Dir::ToClient) => {
                        fl.pkts[0] == 0
                            || matches!((fl.src_mac, pkt.link.dst), (Some(a), Some(b)) if a != b)
                    }
                    _ => fl.pkts[1] == 0,
                });
                // Only a plain SYN (no ACK, RST or FIN) asks for a
                // connection: SYN+RST, SYN+FIN and other odd mixes are a
                // flag-combination scan's probes (recon's), and counting
                // them made one a half-open flood.
                if syn && f & (tcpflag::ACK | tcpflag::RST | tcpflag::FIN) == 0 {
                    (Kind::Syn, t.dst_port)
                } else if unasked {
                    (Kind::SynAck, t.src_port)
                } else if stray {
                    (Kind::AckRst, t.dst_port)
                } else {
                    (Kind::Http, t.dst_port) // counted below only for requests
                }
            }
            Transport::Udp(u) => {
                if self.reflector[u.dst_port as usize] && is_victim(src) {
                    // The (possible) victim asking a reflector service itself,
                    // or someone else asking in its name: a request sent by
                    // a MAC other than the one the address receives at.
                    let v = self.victims.entry(src, || Victim::new(sec));
                    v.roll(sec, &self.low, self.low_udp_new);
                    let sender = pkt.link.src.filter(|m| m.is_station());
                    match (v.own_mac, sender) {
                        (Some(own), Some(m)) if own != m => {
                            v.spoofer.vote(m);
                        }
                        _ => {
                            v.req_bytes = v.req_bytes.saturating_add(len);
                            if self.cfg.carpet_victims > 0 {
                                let c = Carpet::slot(&mut self.carpets, src, sec);
                                c.req_bytes = c.req_bytes.saturating_add(len);
                            }
                        }
                    }
                }
                if self.reflector[u.src_port as usize] && u.src_port != u.dst_port {
                    (Kind::Reflection, u.src_port)
                } else {
                    (Kind::Udp, u.dst_port)
                }
            }
            Transport::Icmp(i) if i.is_echo_request() => (Kind::Icmp, 0),
            // IGMP is multicast group chatter, never a victim's load. A
            // TCP, UDP or ICMP header cut short (nmap `-f`'s tiny first
            // fragments, or a snap length) is no other protocol: tiny
            // fragments are recon's.
            Transport::Other(p) if !matches!(p, 1 | 2 | 6 | 17 | 58) => {
                // What the address sends itself: a tunnel's far end answers.
                if let Some(v) = self.victims.get_mut(&src) {
                    v.roll(sec, &self.low, self.low_udp_new);
                    v.ip_sent = v.ip_sent.saturating_add(1);
                }
                // SCTP has ports: its destination port counts as one, so an
                // INIT scan (nmap `-sY`, many ports, small packets) looks
                // like the scan it is and an INIT flood at one port does not.
                let port = match (p, pkt.payload.get(2..4)) {
                    (132, Some(&[a, b])) => u16::from_be_bytes([a, b]),
                    _ => u16::from(p),
                };
                (Kind::Ip, port)
            }
            _ => return,
        };
        if !is_victim(dst) {
            return;
        }
        let mut http = 0u32;
        let mut query: Option<&str> = None;
        for e in ctx.app {
            match e {
                AppEvent::HttpRequest(_) => http += 1,
                AppEvent::Dns(d) if !d.response && !d.mdns => {
                    query = d.queries.first().map(String::as_str)
                }
                _ => {}
            }
        }
        if kind == Kind::Http && http == 0 {
            return;
        }
        let (kind, query) = match (kind, query) {
            (Kind::Udp, Some(q)) if port == 53 => (Kind::Dns, Some(q)),
            (kind, _) => (kind, None),
        };
        // Carpets count what no one on the receiving side asked for: UDP
        // only on flows the receiver never answered (a LAN's own lookups
        // and streams are answered), and every SYN, stray segment and ping.
        let carpet = self.cfg.carpet_victims > 0
            && match kind {
                // The receiving side's packets on the flow, whichever end
                // the flow table took for the client (a reply from port 389
                // makes the reflector the server).
                Kind::Udp | Kind::Reflection => ctx.flow.is_some_and(|f| {
                    let receiver = usize::from(ctx.dir != Some(Dir::ToClient));
                    f.pkts[receiver] == 0
                }),
                Kind::Http | Kind::Ip | Kind::Dns => false,
                _ => true,
            };
        if carpet {
            self.carpet(kind, ctx, sec, len, port, out);
        }
        let v = self.victims.entry(dst, || Victim::new(sec));
        v.roll(sec, &self.low, self.low_udp_new);
        // A packet to its own sender's address (masscan sweeping the subnet
        // it sits in, through its router's MAC; a LAND packet) says nothing
        // about where that address lives.
        if let Some(m) = pkt.link.dst.filter(|m| m.is_station() && src != dst) {
            v.own_mac = Some(m);
        }
        v.pkts = v.pkts.saturating_add(1);
        if pkt.payload_len() >= BULKY_PAYLOAD {
            v.bulky = v.bulky.saturating_add(1);
        }
        let k = kind as usize;
        let inc = if kind == Kind::Http { http } else { 1 };
        v.counts[k] = v.counts[k].saturating_add(inc);
        v.bytes[k] = v.bytes[k].saturating_add(u32::try_from(len).unwrap_or(u32::MAX));
        v.total[k] = v.total[k].saturating_add(inc);
        if matches!(kind, Kind::Udp | Kind::Dns)
            && ctx.dir != Some(Dir::ToClient)
            && ctx.flow.is_some_and(|f| f.pkts[1] == 0)
            && !(rtp_header(pkt.payload).is_some()
                && self
                    .streams
                    .entry((src, dst), Streams::default)
                    .continues_rtp(pkt.payload))
            && !is_mpeg_ts(pkt.payload, pkt.payload_len())
            && !looks_like_telemetry(pkt.payload, pkt.payload_len())
        {
            v.udp_oneway = v.udp_oneway.saturating_add(1);
        }
        if kind == Kind::Udp && ctx.new_flow {
            v.udp_new += 1;
        }
        if let (Kind::Ip, Transport::Other(p)) = (kind, pkt.transport) {
            v.ip_proto = p;
        }
        let mut names = 0;
        let mut one_parent = false;
        if let Some(q) = query {
            let d = self.queries.entry(dst, Queries::default);
            if d.sec != sec {
                *d = Queries {
                    sec,
                    ..Queries::default()
                };
            }
            d.names.insert(&q);
            // The name's parent: what water torture keeps fixed under a
            // random first label.
            let parent = q.split_once('.').map_or("", |(_, p)| p);
            d.parent.vote(hash_of(&parent));
            names = d.names.estimate();
            one_parent = d.parent.has_majority(v.counts[Kind::Dns as usize]);
        }
        // Reflection and DNS queries also count as UDP volume for the plain UDP check.
        if matches!(kind, Kind::Reflection | Kind::Dns) {
            v.counts[Kind::Udp as usize] += 1;
            if ctx.new_flow {
                v.udp_new += 1;
            }
        }
        v.sources.insert(&src);
        if matches!(kind, Kind::Reflection | Kind::SynAck) {
            if v.refl_port == 0 {
                v.refl_port = port;
            }
            v.one_refl_port &= v.refl_port == port;
        } else {
            v.ports.insert(&port);
        }
        if v.counts.iter().sum::<u32>() == inc {
            v.last_src = src;
            v.port = port;
        } else {
            v.one_src &= v.last_src == src;
            v.one_port &= v.port == port;
        }
        v.top_src.vote(src);
        if let Some(m) = pkt.link.src {
            v.top_mac.vote(m);
        }

        let c = v.counts[k];
        let cfg = &self.cfg;
        // Kept up for SUSTAINED_SECS and reached again this second.
        let sustained = v.low_run[k] >= SUSTAINED_SECS
            && c >= self.low[k]
            && (kind != Kind::Udp || v.udp_new >= self.low_udp_new);
        // Half-open: SYNs over this second and the one before that almost
        // never became connections (at most one in ten did).
        let half_open = {
            let syns = c.saturating_add(v.syn_prev);
            cfg.syn_half_open > 0
                && syns >= cfg.syn_half_open
                && v.est.saturating_add(v.est_prev).saturating_mul(10) <= syns
        };
        let over = match kind {
            Kind::Syn => c >= cfg.syn_pps || sustained || (half_open && !v.prev_scan),
            Kind::SynAck => c >= cfg.ack_rst_pps || sustained,
            // Unanswered: the address sent back under one in ten.
            Kind::Ip => {
                c >= cfg.ip_pps && v.ip_sent.saturating_add(v.ip_sent_prev).saturating_mul(10) <= c
            }
            // Many distinct names under one parent domain.
            Kind::Dns => {
                cfg.dns_qps > 0 && c >= cfg.dns_qps && names.saturating_mul(2) >= c && one_parent
            }
            Kind::AckRst => c >= cfg.ack_rst_pps || sustained,
            Kind::Udp => {
                (c >= cfg.udp_pps && v.udp_new >= cfg.udp_new_flows)
                    || c >= cfg.udp_pps_any
                    || sustained
                    || (v.udp_oneway >= cfg.udp_pps
                        && v.prev_udp_oneway >= cfg.udp_pps / 4
                        && v.udp_oneway.saturating_add(v.prev_udp_oneway)
                            >= cfg.udp_pps.saturating_mul(2))
            }
            Kind::Icmp => c >= cfg.icmp_pps || sustained,
            Kind::Http => c >= cfg.http_rps,
            // Volume in bytes, or (reflectors that do not amplify) in
            // packets at the plain UDP flood rate; unasked for either way.
            Kind::Reflection => {
                c >= cfg.reflection_pps
                    && (u64::from(v.bytes[k]) >= cfg.reflection_bytes || c >= cfg.udp_pps)
                    && (v.bytes[k] as f64) >= cfg.reflection_ratio * (v.req_bytes.max(1) as f64)
            }
        };
        // A reflection flood is also a UDP flood; report it as the former.
        // Replies nobody on the victim's side asked for are left to the
        // reflection check (the plain UDP count crosses first and would
        // name a reflector as the attacker).
        let unrequested = kind == Kind::Reflection
            && (v.bytes[k] as f64) >= cfg.reflection_ratio * (v.req_bytes.max(1) as f64);
        let udp_too = ((kind == Kind::Reflection && !unrequested) || kind == Kind::Dns) && {
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
        if v.looks_like_scan() && !matches!(kind, Kind::Reflection | Kind::SynAck) {
            // Many ports at once: a fast scan, not a flood — unless its
            // SYNs keep coming back to ports already answered.
            let sport = match pkt.transport {
                Transport::Tcp(t) => t.src_port,
                _ => 0,
            };
            if kind != Kind::Syn || !Self::spray(&mut self.sprays, dst, port, sport, sec) {
                return;
            }
        }
        // Who floods, per packet's tally: the vote can win and lose its
        // majority from one packet to the next, so only a *different* known
        // sender (address or MAC) makes another incident, not an unknown one.
        // Not from a second's first few packets: a vote of one is no
        // majority worth a new incident.
        let thin = v.pkts < THIN_PKTS;
        // 32 bits of the hashes (0: no majority; a real hash that ends in
        // 32 zero bits reads as unknown, which only merges incidents).
        let src_by = match v.top_src.winner(v.pkts) {
            Some(s) if !thin => hash_of(&s) as u32,
            _ => 0,
        };
        let mac_by = match v.top_mac.winner(v.pkts) {
            Some(m) if !thin => hash_of(&m) as u32,
            _ => 0,
        };
        let differs = |old: u32, new: u32| old != 0 && new != 0 && old != new;
        let ongoing = sec.saturating_sub(v.last_over[k]) <= self.quiet_secs
            && !differs(v.over_src[k], src_by)
            && !differs(v.over_mac[k], mac_by);
        v.last_over[k] = sec;
        if ongoing {
            if v.over_src[k] == 0 {
                v.over_src[k] = src_by;
            }
            if v.over_mac[k] == 0 {
                v.over_mac[k] = mac_by;
            }
            return;
        }
        v.over_src[k] = src_by;
        v.over_mac[k] = mac_by;
        v.first_over[k] = sec;
        let v = *v;
        // Is the flood's (majority) source address forged? Its owner's MAC
        // is known from frames delivered to it; another MAC sent the flood.
        let forged = v
            .top_src
            .winner(v.pkts)
            .and_then(|s| self.victims.get(&s).and_then(|o| o.own_mac))
            .zip(v.top_mac.winner(v.pkts))
            .is_some_and(|(own, sender)| own != sender);
        let mut d = self.draft(kind, dst, &v, forged, query, ctx);
        // A SYN-ACK reflection's forger: the MAC that sent the SYN of the
        // crossing SYN-ACK's flow in the victim's name (its initiator's
        // MAC, when that is not where the SYN-ACK is delivered). Read from
        // the flow at alert time: no lookup per SYN.
        if kind == Kind::SynAck && d.attacker_mac.is_none() {
            d.attacker_mac = ctx.flow.and_then(|f| f.src_mac).filter(|m| {
                m.is_station() && Some(*m) != pkt.link.dst && !self.routers.contains(&Some(*m))
            });
        }
        out.push(d);
    }

    /// Count a SYN to `victim`'s `port` in its spray slot (taking a free or
    /// idle one); true when it is a random-port flood (see [`Spray`]).
    fn spray(sprays: &mut Vec<Spray>, victim: IpAddr, port: u16, sport: u16, sec: i64) -> bool {
        let i = match sprays.iter().position(|s| s.victim == victim) {
            Some(i) => i,
            None if sprays.len() < SPRAY_SLOTS => {
                sprays.push(Spray::new(victim, sec));
                sprays.len() - 1
            }
            None => {
                // The longest idle, if idle for two seconds: a watched
                // flood under way is not pushed out by scans elsewhere.
                let Some((i, _)) = sprays
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| sec.saturating_sub(s.sec) >= 2)
                    .min_by_key(|(_, s)| s.sec)
                else {
                    return false;
                };
                if let Some(s) = sprays.get_mut(i) {
                    *s = Spray::new(victim, sec);
                }
                i
            }
        };
        sprays.get_mut(i).is_some_and(|s| s.syn(port, sport, sec))
    }

    /// Count a flood packet for its destination's network and report a
    /// carpet: `carpet_victims` addresses or more hit this second, at
    /// least [`CARPET_PER_VICTIM`] packets each on average, and together
    /// over the kind's per-address threshold.
    fn carpet(
        &mut self,
        kind: Kind,
        ctx: &PacketContext<'_, '_>,
        sec: i64,
        len: u64,
        port: u16,
        out: &mut Vec<Draft>,
    ) {
        let pkt = ctx.pkt;
        let Net::Ip(ip) = &pkt.net else { return };
        let dst = ip.dst;
        let c = Carpet::slot(&mut self.carpets, dst, sec);
        let k = kind as usize;
        let reflected = matches!(kind, Kind::Reflection | Kind::SynAck);
        c.pkts = c.pkts.saturating_add(1);
        if pkt.payload_len() >= BULKY_PAYLOAD {
            c.bulky = c.bulky.saturating_add(1);
        }
        if !reflected {
            c.ports.insert(&port);
            c.top_port.vote(port);
        }
        c.counts[k] = c.counts[k].saturating_add(1);
        c.total[k] = c.total[k].saturating_add(1);
        if kind == Kind::Reflection {
            c.refl_bytes = c.refl_bytes.saturating_add(len);
        }
        if kind == Kind::Udp && ctx.new_flow {
            c.udp_new = c.udp_new.saturating_add(1);
        }
        if c.victims.insert(&dst) {
            if c.pkts == 1 {
                c.first_victim = dst;
            }
            c.last_victim = dst;
        }
        if let Some(m) = pkt.link.src {
            c.top_mac.vote(m);
        }
        let n = c.victims.estimate();
        let cnt = c.counts[k];
        let cfg = &self.cfg;
        if n < cfg.carpet_victims || cnt < n.saturating_mul(CARPET_PER_VICTIM) {
            return;
        }
        // A port scan of many hosts (nmap `-sS` of a /24 sends the same
        // port order to each host in turn) has touched as many ports as
        // packets per address by the time it averages CARPET_PER_VICTIM
        // each, none of them a majority; a carpet hits one service (a
        // majority port, however many other ports the network's own
        // traffic adds) or, random-port floods, carries bulky payloads.
        // Reflected packets come from services.
        if !reflected
            && c.ports.estimate() >= CARPET_PER_VICTIM
            && !c.top_port.has_majority(c.pkts)
            && c.bulky.saturating_mul(2) < c.pkts
        {
            return;
        }
        let over = match kind {
            Kind::Syn => cnt >= cfg.syn_pps && c.est.saturating_mul(10) <= cnt,
            Kind::AckRst | Kind::SynAck => cnt >= cfg.ack_rst_pps,
            Kind::Udp => cnt >= cfg.udp_pps && c.udp_new >= cfg.udp_new_flows,
            Kind::Icmp => cnt >= cfg.icmp_pps,
            Kind::Reflection => {
                cnt >= cfg.reflection_pps
                    && c.refl_bytes >= cfg.reflection_bytes
                    && (c.refl_bytes as f64) >= cfg.reflection_ratio * (c.req_bytes.max(1) as f64)
            }
            Kind::Http | Kind::Ip | Kind::Dns => false,
        };
        if !over {
            return;
        }
        let ongoing = sec.saturating_sub(c.last_over[k]) <= self.quiet_secs;
        c.last_over[k] = sec;
        if ongoing {
            return;
        }
        let c = *c;
        let mut d = Draft::new(AlertCategory::Dos, kind.carpet_signature(), NAME, pkt.ts);
        d.attacker_mac = if reflected {
            self.victims
                .get(&c.last_victim)
                .and_then(|v| v.spoofer.leader())
        } else {
            c.top_mac
                .winner(c.pkts)
                .filter(|m| !self.routers.contains(&Some(*m)))
        };
        d.victims = vec![c.first_victim];
        if c.last_victim != c.first_victim {
            d.victims.push(c.last_victim);
        }
        d.proto = Some(kind.proto());
        d.per_victim = false;
        d.first_seen = Timestamp::from_secs(sec);
        d.count = c.total[k];
        d.severity = 1;
        d.confidence = 0.85;
        let net = match dst {
            IpAddr::V4(v4) => format!("{}/24", Ipv4Addr::from(u32::from(v4) & 0xffff_ff00)),
            IpAddr::V6(v6) => format!(
                "{}/64",
                std::net::Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))
            ),
        };
        d = d
            .ev("flood", kind.signature(false))
            .ev("network", net.clone())
            .ev("addresses_hit", n)
            .ev("packets_per_second", cnt);
        if let Some(m) = c.top_mac.leader() {
            d = d.ev("sender_mac", m.to_string());
        }
        d.summary = format!(
            "About {n} addresses in {net} are being flooded together with about {cnt} {} per second, a carpet-bombing denial-of-service attack (each address gets too little to stand out){}.",
            kind.words(),
            match d.attacker_mac {
                Some(m) => format!(", sent by {m}"),
                None => String::new(),
            }
        );
        out.push(d);
    }

    /// A client data packet on a connection whose server has sent no
    /// payload: counted for a junk flood (see the module docs).
    fn junk_data(&mut self, ctx: &PacketContext<'_, '_>, out: &mut Vec<Draft>) {
        let Some(flow) = ctx.flow else { return };
        // The flow's own counters first: nearly all client data is on
        // connections the server has answered.
        if flow.payload_bytes[1] != 0
            || flow.payload_bytes[0] < JUNK_FLOW_MIN
            || self.cfg.junk_bytes_per_sec == 0
            || ctx.dir != Some(Dir::ToServer)
            || flow.tcp_flags[0] & flow.tcp_flags[1] & tcpflag::SYN == 0
            || flow.app_proto == Some(ward_proto::AppProto::Http)
        {
            return;
        }
        let (Some(client), Some(server)) = (flow.src_ip, flow.dst_ip) else {
            return;
        };
        let pkt = ctx.pkt;
        let sec = pkt.ts.0.div_euclid(1_000_000);
        let port = flow.dst_port;
        let j = self.junk.entry((client, server, port), || Junk::new(sec));
        if j.sec != sec {
            *j = Junk {
                sec,
                total: j.total,
                last_over: j.last_over,
                ..Junk::new(sec)
            };
        }
        j.bytes = j.bytes.saturating_add(pkt.payload_len() as u64);
        j.packets = j.packets.saturating_add(1);
        j.total = j.total.saturating_add(1);
        j.conns.insert(&flow.src_port);
        if !j.read && pkt.payload.len() >= JUNK_ALPHABET_MIN {
            j.read = true;
            j.letters = is_junk_alphabet(pkt.payload);
        }
        let conns = j.conns.estimate();
        if j.bytes < self.cfg.junk_bytes_per_sec
            || (conns < self.cfg.junk_connections && !j.letters)
        {
            return;
        }
        let ongoing = sec.saturating_sub(j.last_over) <= self.quiet_secs;
        j.last_over = sec;
        if ongoing {
            return;
        }
        let j = *j;
        let mut d = Draft::new(AlertCategory::Dos, "tcp-junk-flood", NAME, pkt.ts);
        d.attacker = Some(client);
        d.victims = vec![server];
        d.victim_port = port;
        d.proto = Some(6);
        d.per_victim = true;
        d.first_seen = Timestamp::from_secs(sec);
        d.count = j.total;
        d.severity = 2;
        d.confidence = if j.letters { 0.9 } else { 0.85 };
        d = d
            .ev("bytes_per_second", j.bytes)
            .ev("packets_per_second", j.packets)
            .ev("connections", conns)
            .ev("port", port)
            .ev("junk_alphabet", j.letters);
        d.summary = format!(
            "{} is pushing {} bytes a second of data that gets no answer into port {port} of {} over {}, a junk-data denial-of-service attack{}.",
            who(ctx.devices, client),
            j.bytes,
            who(ctx.devices, server),
            // The client ports' sketch (256 bits) is near exact for a few
            // dozen ports. A bot's sockets get sequential ports, which fill
            // its bits evenly, without the collisions linear counting
            // corrects for: 64 read as 74, 100 as 127, 150 as 226, 512 as
            // 1 420 (stride 2, Linux's: 512 as 376). So only a few dozen
            // are a number; past that, a floor that holds either way.
            match conns {
                1 => "one connection".to_string(),
                2..=48 => format!("about {conns} connections"),
                49..=200 => "more than 40 connections".to_string(),
                _ => "more than a hundred connections".to_string(),
            },
            if j.letters {
                " (Gafgyt/Bashlite JUNK: nothing but random capital letters)"
            } else {
                " (Gafgyt/Bashlite JUNK-style)"
            }
        );
        out.push(d);
    }

    /// A client packet with data on a connection the server has answered
    /// with nothing for [`HOLD_SECS`]: count the connection as held.
    fn held_connection(&mut self, ctx: &PacketContext<'_, '_>, out: &mut Vec<Draft>) {
        let Some(flow) = ctx.flow else { return };
        let now = ctx.pkt.ts;
        if self.cfg.held_connections == 0
            || flow.payload_bytes[1] != 0
            || flow.pkts[1] == 0
            || now.since(flow.start) < HOLD_SECS * 1_000_000
        {
            return;
        }
        let (Some(client), Some(server)) = (flow.src_ip, flow.dst_ip) else {
            return;
        };
        let port = flow.dst_port;
        let h = self.holds.entry((client, server, port), || Hold {
            start: now,
            conns: Distinct::default(),
            packets: 0,
            reported: false,
        });
        if now.since(h.start) > HOLD_WINDOW_US {
            *h = Hold {
                start: now,
                conns: Distinct::default(),
                packets: 0,
                reported: false,
            };
        }
        h.conns.insert(&(flow.src_port, flow.start));
        h.packets = h.packets.saturating_add(1);
        let held = h.conns.estimate();
        if h.reported || held < self.cfg.held_connections {
            return;
        }
        h.reported = true;
        let (start, packets) = (h.start, h.packets);
        // A junk flood over these connections was reported: holding them
        // open is how it floods, not another attack.
        let sec = now.0.div_euclid(1_000_000);
        if self
            .junk
            .get(&(client, server, port))
            .is_some_and(|j| sec.saturating_sub(j.last_over) <= self.quiet_secs)
        {
            return;
        }
        let web = matches!(port, 80 | 443 | 8000 | 8080 | 8443)
            || flow.app_proto == Some(ward_proto::AppProto::Http);
        let sig = if web {
            "slow-http-dos"
        } else {
            "tcp-connection-exhaustion"
        };
        let mut d = Draft::new(AlertCategory::Dos, sig, NAME, now);
        d.attacker = Some(client);
        d.victims = vec![server];
        d.victim_port = port;
        d.proto = Some(6);
        d.first_seen = start;
        d.count = u64::from(held);
        d.severity = 2;
        d.confidence = 0.85;
        d = d
            .ev("held_connections", held)
            .ev("packets", packets)
            .ev("port", port)
            .ev("min_hold_s", HOLD_SECS);
        d.summary = format!(
            "{} is holding {held} connections to port {port} of {} open with requests it never finishes, a slow {}denial-of-service attack that ties up the service.",
            who(ctx.devices, client),
            who(ctx.devices, server),
            if web { "(slowloris-style) " } else { "" }
        );
        out.push(d);
    }

    fn draft(
        &self,
        kind: Kind,
        victim: IpAddr,
        v: &Victim,
        forged: bool,
        query: Option<&str>,
        ctx: &PacketContext<'_, '_>,
    ) -> Draft {
        let (now, devices) = (ctx.pkt.ts, ctx.devices);
        let k = kind as usize;
        // Reflected floods come from the reflectors; the attacker is whoever
        // sent the requests in the victim's name.
        let reflected = matches!(kind, Kind::Reflection | Kind::SynAck);
        let sources = v.sources.estimate().max(v.prev_sources);
        // Early in a second after one with many sources (a half-open check
        // crossing on the second's first packets), this second's few
        // packets say nothing about who sends.
        let thin = v.prev_sources > 1 && v.pkts < THIN_PKTS;
        let one_src = v.one_src && !thin;
        let spoofed = forged || (!one_src && sources >= self.cfg.spoofed_sources);
        // The attacker is the source that sent most of this second's packets
        // (a strict majority, so background traffic to the same victim does
        // not hide it), unless that address is forged. With spoofed sources
        // the addresses lie; on a LAN the sender's MAC does not, so name the
        // device that owns it. A reflection's senders are the reflectors: its
        // attacker is whoever forged the victim's address in the requests.
        let attacker =
            (!reflected && !forged && (one_src || (!thin && v.top_src.has_majority(v.pkts))))
                .then_some(v.top_src.candidate());
        let mut d = Draft::new(AlertCategory::Dos, kind.signature(spoofed), NAME, now);
        d.attacker = attacker;
        d.attacker_mac = match (attacker, kind) {
            (Some(_), _) => None,
            (None, Kind::Reflection | Kind::SynAck) => v.spoofer.leader(),
            (None, _) => v
                .top_mac
                .winner(v.pkts)
                .filter(|m| !self.routers.contains(&Some(*m))),
        };
        d.victims = vec![victim];
        d.proto = Some(match kind {
            Kind::Ip => v.ip_proto,
            _ => kind.proto(),
        });
        d.per_victim = true;
        if v.one_port && v.port != 0 && !reflected && kind != Kind::Ip {
            d.victim_port = v.port;
        }
        d.first_seen = Timestamp::from_secs(v.first_over[k]).max(Timestamp::from_secs(v.sec));
        d.count = u64::from(v.total[k]);
        d.severity = if spoofed || reflected { 1 } else { 2 };
        d.confidence = 0.9;
        d = d
            .ev("packets_per_second", v.counts[k])
            .ev("bytes_per_second", v.bytes[k])
            .ev("distinct_sources", sources)
            .ev("spoofed", spoofed);
        if let Some(m) = v.top_mac.leader() {
            d = d.ev("sender_mac", m.to_string());
            d.devices.push(m.to_string());
        }
        if reflected {
            if v.one_refl_port && v.refl_port != 0 {
                d = d.ev("reflector_port", v.refl_port);
            }
        } else if kind == Kind::Ip {
            d = d.ev("ip_protocol", v.ip_proto);
        } else if v.one_port && v.port != 0 {
            d = d.ev("port", v.port);
        }
        if kind == Kind::Dns {
            if let Some(q) = query {
                d = d.ev("domain", q.split_once('.').map_or(q, |(_, p)| p));
            }
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
            (None, _) if forged => format!("a device forging {}'s address", v.top_src.candidate()),
            (None, true) if d.attacker_mac.is_some() => {
                format!("a device hiding behind {sources} forged addresses")
            }
            (None, _) => format!("{sources} addresses"),
            (Some(a), false) => who(devices, a),
        };
        let port = if v.one_port && v.port != 0 && !reflected && kind != Kind::Ip {
            format!(" on port {}", v.port)
        } else {
            String::new()
        };
        d.summary = match kind {
            Kind::Reflection => format!(
                "{} is being flooded with {} unrequested replies per second ({} bytes/s) from {}, a reflection/amplification attack{}.",
                who(devices, victim),
                v.counts[k],
                v.bytes[k],
                if v.one_refl_port && v.refl_port != 0 {
                    format!("UDP port {} services", v.refl_port)
                } else {
                    "several UDP services".to_string()
                },
                match d.attacker_mac {
                    Some(m) => format!(" by {m}, which sent requests in the victim's name"),
                    None => String::new(),
                }
            ),
            Kind::SynAck => format!(
                "{} is being flooded with {} unrequested TCP SYN-ACKs per second from {} servers, a TCP reflection attack (SYNs sent to them in its name){}.",
                who(devices, victim),
                v.counts[k],
                sources,
                match d.attacker_mac {
                    Some(m) => format!(" by {m}"),
                    None => String::new(),
                }
            ),
            Kind::Dns => format!(
                "{from} is sending {} about {} DNS queries per second for random names under {}, a DNS water-torture attack on that domain's name servers.",
                who(devices, victim),
                v.counts[k],
                query.map_or("one domain", |q| q.split_once('.').map_or(q, |(_, p)| p))
            ),
            Kind::Ip => format!(
                "{from} is flooding {} with about {} {} per second that it does not answer, a denial-of-service attack.",
                who(devices, victim),
                v.counts[k],
                match v.ip_proto {
                    47 => "GRE packets".to_string(),
                    50 => "IPsec ESP packets".to_string(),
                    132 => "SCTP packets".to_string(),
                    p => format!("IP protocol {p} packets"),
                }
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

#[cfg(test)]
mod tests {
    use super::{is_junk_alphabet, is_mpeg_ts, looks_like_telemetry, Victim};

    #[test]
    fn the_junk_alphabet_is_random_capital_letters_only() {
        let mut x = 0x2545_f491_u32;
        let letters: Vec<u8> = (0..1024)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                b'A' + (x % 26) as u8
            })
            .collect();
        assert!(is_junk_alphabet(&letters));
        // One byte that is not a capital letter.
        let mut text = letters.clone();
        text[700] = b'a';
        assert!(!is_junk_alphabet(&text));
        // A fill of one letter, or a few (hping3's Xs, a constant payload).
        assert!(!is_junk_alphabet(&[b'Z'; 768]));
        assert!(!is_junk_alphabet(&b"ABCDEFGHIJKLMNO".repeat(64)));
        assert!(!is_junk_alphabet(&[0u8; 512]));
    }

    #[test]
    fn statsd_needs_a_colon_before_a_bar_in_printable_text() {
        let t = |p: &[u8]| looks_like_telemetry(p, p.len());
        assert!(t(b"lock.motor.current:12|g\nlock.events:1|c"));
        // A flood of letters (hping3, Mirai's fill) has no separators.
        assert!(!t(&[b'X'; 1024]));
        assert!(!t(b"metric|g:12"));
        assert!(!t(b"metric:12"));
        assert!(!t(b"metric:1\x01|c"));
        // Only the first 64 bytes are read.
        let mut late = vec![b'a'; 70];
        late.extend_from_slice(b":1|c");
        assert!(!t(&late));
    }

    #[test]
    fn a_cut_datagram_is_judged_by_its_size_as_sent() {
        // Seven TS packets, or an IPFIX message, of which a snap length
        // kept the first 86 bytes.
        let mut ts = [0u8; 1316];
        for c in ts.chunks_mut(188) {
            c[0] = 0x47;
        }
        assert!(is_mpeg_ts(&ts, 1316) && is_mpeg_ts(&ts[..86], 1316));
        assert!(!is_mpeg_ts(&ts[..86], 1300));
        let mut ipfix = [0u8; 400];
        ipfix[..4].copy_from_slice(&[0, 10, 1, 144]);
        assert!(looks_like_telemetry(&ipfix, 400));
        assert!(looks_like_telemetry(&ipfix[..86], 400));
        assert!(!looks_like_telemetry(&ipfix[..86], 86));
    }

    /// A victim record is read for every counted packet: keep it within
    /// the size it had before the fourth session's kinds were added, plus
    /// the 8 bytes of padding the three `Majority` votes brought in the
    /// sixth (a vote's candidate and tally can no longer share padding with
    /// the record's other small fields; printed, so a change shows up in
    /// the test log).
    #[test]
    fn a_victim_record_stays_small() {
        let size = std::mem::size_of::<Victim>();
        eprintln!("Victim: {size} bytes");
        assert!(size <= 584, "Victim grew to {size} bytes");
    }
}
