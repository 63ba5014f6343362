//! Bidirectional flow tracking on packet time.
//!
//! [`FlowTable`] maps both directions of a conversation to one [`Flow`]. It
//! guarantees:
//! - **Bounded memory.** At most `max_flows` flows exist; when a new flow
//!   would exceed that, the oldest flow of the most expendable class is
//!   evicted (closed or reset TCP connections first, then handshakes that
//!   never completed, then other protocols and UDP, established TCP last),
//!   so a flood of spoofed SYNs churns through half-open flows without
//!   pushing out real conversations. Every eviction is counted.
//! - **O(1) per packet.** An open-addressing index of slab slots (see
//!   `index.rs`: one cache line per lookup before the flow itself), keyed by
//!   a seeded `foldhash` (the seed comes from the caller: attackers who
//!   cannot know it cannot aim collisions), plus one least-recently-used list
//!   per timeout class, so idle expiry and eviction only ever look at list tails.
//! - **Determinism.** Expiry, eviction and the order flows are reported in
//!   depend only on packet times and the packet sequence, never on the hash
//!   seed or the wall clock; flow ids are a fixed hash of the 5-tuple and
//!   start time.

use std::hash::{BuildHasher, Hash};
use std::net::IpAddr;

use foldhash::fast::FixedState;
use serde::{Deserialize, Serialize};
use ward_proto::{AppParser, AppProto};

use crate::decode::{tcpflag, MacAddr, Packet, Transport};
use crate::lru::LruLists;
use crate::time::Timestamp;

/// Flow table limits and idle timeouts (seconds of packet time).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct FlowConfig {
    /// Most flows tracked at once (at most 2^28 − 1, the recency lists' limit).
    pub max_flows: usize,
    /// Idle timeout of an established TCP connection.
    pub tcp_established_timeout: u64,
    /// Idle timeout of a TCP handshake that has not completed.
    pub tcp_opening_timeout: u64,
    /// How long a closed (FIN/RST) connection is kept to absorb stray packets.
    pub tcp_closed_timeout: u64,
    pub udp_timeout: u64,
    /// ICMP and other IP protocols.
    pub other_timeout: u64,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            max_flows: 1_000_000,
            tcp_established_timeout: 600,
            tcp_opening_timeout: 30,
            tcp_closed_timeout: 5,
            udp_timeout: 60,
            other_timeout: 30,
        }
    }
}

/// Connection state, as written in `flow.state`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FlowState {
    /// UDP/ICMP/other: only the initiator has spoken.
    #[default]
    New,
    SynSent,
    SynReceived,
    /// TCP handshake done (or joined mid-stream); UDP/ICMP: both sides spoke.
    Established,
    /// One side sent FIN.
    Closing,
    /// Both sides sent FIN.
    Closed,
    /// A RST ended it.
    Reset,
}

impl FlowState {
    pub fn as_str(self) -> &'static str {
        match self {
            FlowState::New => "new",
            FlowState::SynSent => "syn-sent",
            FlowState::SynReceived => "syn-received",
            FlowState::Established => "established",
            FlowState::Closing => "closing",
            FlowState::Closed => "closed",
            FlowState::Reset => "reset",
        }
    }
}

/// Why a flow was reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum EndReason {
    /// Idle longer than its class's timeout.
    Timeout,
    /// Pushed out to make room (see [`FlowConfig::max_flows`]).
    Evicted,
    /// The 5-tuple was reused by a new TCP connection.
    Reused,
    /// The input ended.
    #[default]
    Shutdown,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Timeout => "timeout",
            EndReason::Evicted => "evicted",
            EndReason::Reused => "reused",
            EndReason::Shutdown => "shutdown",
        }
    }
}

/// Direction of a packet relative to its flow's initiator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dir {
    ToServer = 0,
    ToClient = 1,
}

impl Dir {
    pub fn index(self) -> usize {
        self as usize
    }
    pub fn proto(self) -> ward_proto::Direction {
        match self {
            Dir::ToServer => ward_proto::Direction::ToServer,
            Dir::ToClient => ward_proto::Direction::ToClient,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    // Order = eviction preference.
    Closed = 0,
    Opening = 1,
    Other = 2,
    Udp = 3,
    Established = 4,
}
const CLASSES: usize = 5;

/// Normalised 5-tuple (plus VLAN): both directions give the same key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
struct Key {
    lo_ip: [u8; 16],
    hi_ip: [u8; 16],
    lo_port: u16,
    hi_port: u16,
    proto: u8,
    v6: bool,
    vlan: u16,
}

impl Key {
    /// Both orders of the endpoints give the same key.
    fn new(a: ([u8; 16], u16), b: ([u8; 16], u16), proto: u8, v6: bool, vlan: u16) -> Key {
        // Byte arrays order as their big-endian integers do: the same
        // order as comparing `a <= b` (which flow ids depend on), in two
        // integer compares instead of a byte-by-byte loop on every packet.
        let wide = |e: &([u8; 16], u16)| (u128::from_be_bytes(e.0), e.1);
        let (lo, hi) = if wide(&a) <= wide(&b) { (a, b) } else { (b, a) };
        Key {
            lo_ip: lo.0,
            hi_ip: hi.0,
            lo_port: lo.1,
            hi_port: hi.1,
            proto,
            v6,
            vlan,
        }
    }
}

impl Key {
    /// The key's seeded hash for the index, from three integers. The
    /// derived `Hash` (kept for flow ids, which are written in events and
    /// must not change) feeds each address as a length-prefixed byte
    /// string, several multiply rounds more on every packet.
    #[inline]
    fn index_hash(&self, hasher: &FixedState) -> u64 {
        let rest = u64::from(self.lo_port)
            | u64::from(self.hi_port) << 16
            | u64::from(self.vlan) << 32
            | u64::from(self.proto) << 48
            | u64::from(self.v6) << 56;
        hasher.hash_one((
            u128::from_le_bytes(self.lo_ip),
            u128::from_le_bytes(self.hi_ip),
            rest,
        ))
    }
}

fn ip_bytes(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// One tracked conversation.
///
/// Kept small because a full table holds a million of them (144 bytes each,
/// checked by a test): the 5-tuple lives only here (the index stores slab
/// slots and recomputes a flow's key from these fields when it needs it),
/// packet and payload-byte counters are `u32` (saturating: a flow would
/// need 4 G packets or 4 GiB of payload to reach the cap, and every reader
/// only compares them with small numbers), the retransmission tracker is
/// two `u32` and a bit mask, and the parser is allocated only once the flow
/// carries application payload. `repr(C)` puts what every packet reads or
/// writes (addresses, ports, state, counters, sequence tracking, parser,
/// MACs) in the first 128 bytes, and what only flow start and end use
/// (`start`, `id`) after them; the one-byte fields fill the gaps the
/// MACs and the VLAN leave, so the struct has no padding.
#[derive(Default)]
#[repr(C)]
pub struct Flow {
    /// Initiator (client) and responder (server) endpoints.
    pub src_ip: Option<IpAddr>,
    pub dst_ip: Option<IpAddr>,
    pub proto: u8,
    pub state: FlowState,
    /// OR of TCP flags seen per direction.
    pub tcp_flags: [u8; 2],
    pub src_port: u16,
    pub dst_port: u16,
    pub vlan: Option<u16>,
    /// Application protocol, once a parser recognised the flow.
    pub app_proto: Option<AppProto>,
    /// A parser was looked for already.
    pub app_probed: bool,
    /// Index 0: initiator → responder; 1: responder → initiator. Saturating.
    pub pkts: [u32; 2],
    /// Next expected TCP sequence number per direction (for dropping
    /// retransmissions), valid where [`Flow::seq_known`]'s bit is set.
    pub(crate) next_seq: [u32; 2],
    pub last: Timestamp,
    pub bytes: [u64; 2],
    /// Transport payload bytes per direction as sent (bytes a snap length
    /// cut off count: see [`Packet::missing`]). Saturating at `u32::MAX`.
    pub payload_bytes: [u32; 2],
    /// The flow's parser; `None` before the first payload or after it gave up.
    pub parser: Option<Box<dyn AppParser>>,
    pub src_mac: Option<MacAddr>,
    pub dst_mac: Option<MacAddr>,
    /// Bit `d` set: `next_seq[d]` holds a sequence number. Read with
    /// `next_seq` for every TCP packet: kept in the first 128 bytes with
    /// the other per-packet fields, in a byte the MACs leave before the
    /// next 8-byte field.
    pub(crate) seq_known: u8,
    /// Set when the flow leaves the table.
    pub end_reason: Option<EndReason>,
    pub start: Timestamp,
    pub id: u64,
}

impl Flow {
    /// Next expected TCP sequence number in direction `d` (0 or 1), if known.
    pub fn next_seq(&self, d: usize) -> Option<u32> {
        // Masked like `set_next_seq`: a `u8` shifted by 8 or more overflows.
        (self.seq_known & (1 << (d & 1)) != 0).then(|| self.next_seq[d & 1])
    }

    pub(crate) fn set_next_seq(&mut self, d: usize, seq: u32) {
        self.next_seq[d & 1] = seq;
        self.seq_known |= 1 << (d & 1);
    }

    /// The normalised key of this flow, as [`FlowTable::update`] computes it
    /// from any of its packets.
    fn key(&self) -> Key {
        let unspec = IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);
        let (a, b) = (self.src_ip.unwrap_or(unspec), self.dst_ip.unwrap_or(unspec));
        Key::new(
            (ip_bytes(a), self.src_port),
            (ip_bytes(b), self.dst_port),
            self.proto,
            a.is_ipv6(),
            self.vlan.unwrap_or(0),
        )
    }

    /// This flow is the packet's: same endpoints (either way round),
    /// protocol and VLAN. Equivalent to comparing normalised keys.
    #[inline]
    fn is(&self, src: (IpAddr, u16), dst: (IpAddr, u16), proto: u8, vlan: u16) -> bool {
        self.proto == proto
            && self.vlan.unwrap_or(0) == vlan
            && ((self.src_port == src.1
                && self.dst_port == dst.1
                && self.src_ip == Some(src.0)
                && self.dst_ip == Some(dst.0))
                || (self.src_port == dst.1
                    && self.dst_port == src.1
                    && self.src_ip == Some(dst.0)
                    && self.dst_ip == Some(src.0)))
    }
}

impl std::fmt::Debug for Flow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flow")
            .field("id", &self.id)
            .field("src", &(self.src_ip, self.src_port))
            .field("dst", &(self.dst_ip, self.dst_port))
            .field("proto", &self.proto)
            .field("state", &self.state)
            .field("pkts", &self.pkts)
            .finish()
    }
}

/// What [`FlowTable::update`] tells the caller about the packet's flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowHandle {
    /// Slab index, valid until the next call that can end flows.
    pub slot: u32,
    pub dir: Dir,
    /// The packet opened this flow.
    pub new: bool,
    /// The packet changed nothing about its flow but the counters and the
    /// last-seen time: it is not the flow's first packet in its direction,
    /// the flow's state did not change, and (TCP) it carries no SYN, FIN or
    /// RST and no flag its direction had not sent before. ICMP and other
    /// IP protocols never repeat (their messages are the news).
    pub repeat: bool,
}

/// Counters the table keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowCounters {
    pub created: u64,
    pub evicted: u64,
    pub timed_out: u64,
    pub reused: u64,
}

/// The flow table. See the module docs for its guarantees.
pub struct FlowTable {
    cfg: FlowConfig,
    hasher: FixedState,
    index: Index,
    slab: Slab,
    free: Vec<u32>,
    lru: LruLists<CLASSES>,
    timeouts_us: [i64; CLASSES],
    next_expiry_check: Timestamp,
    pub counters: FlowCounters,
}

impl FlowTable {
    /// `seed` keys the hash of the index; pass a secret random value in production.
    pub fn new(cfg: FlowConfig, seed: u64) -> Self {
        let s = |secs: u64| (secs as i64).saturating_mul(1_000_000);
        let timeouts_us = [
            s(cfg.tcp_closed_timeout),
            s(cfg.tcp_opening_timeout),
            s(cfg.other_timeout),
            s(cfg.udp_timeout),
            s(cfg.tcp_established_timeout),
        ];
        FlowTable {
            hasher: FixedState::with_seed(seed),
            index: Index::new(),
            slab: Slab::default(),
            free: Vec::new(),
            lru: LruLists::new(),
            timeouts_us,
            next_expiry_check: Timestamp(i64::MIN),
            counters: FlowCounters::default(),
            cfg,
        }
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.len() == 0
    }

    pub fn config(&self) -> &FlowConfig {
        &self.cfg
    }

    /// Every flow in the table, in an order that depends only on the
    /// packets (timeout class, then least recently active first).
    pub fn iter(&self) -> impl Iterator<Item = &Flow> + '_ {
        (0..CLASSES)
            .flat_map(move |c| self.lru.iter_oldest_first(c))
            .map(move |slot| self.slab.get(slot))
    }

    pub fn get(&self, slot: u32) -> &Flow {
        self.slab.get(slot)
    }

    pub fn get_mut(&mut self, slot: u32) -> &mut Flow {
        self.slab.get_mut(slot)
    }

    /// Account `pkt` to its flow, creating it if needed. Flows ended on the
    /// way (expired, evicted, reused) are pushed to `ended`. Returns `None`
    /// for packets without an IP layer.
    pub fn update(&mut self, pkt: &Packet<'_>, ended: &mut Vec<Flow>) -> Option<FlowHandle> {
        let ip = pkt.ip()?;
        let now = pkt.ts;
        if now >= self.next_expiry_check {
            self.expire_idle(now, ended);
            self.next_expiry_check = now.plus_micros(100_000);
        }
        let (sport, dport) = pkt.transport.ports();
        let vlan = pkt.link.vlan.unwrap_or(0);
        let key = Key::new(
            (ip_bytes(ip.src), sport),
            (ip_bytes(ip.dst), dport),
            ip.proto,
            ip.is_v6(),
            vlan,
        );
        let hash = key.index_hash(&self.hasher);
        let flags = pkt.tcp().map(|t| t.flags).unwrap_or(0);
        let pure_syn = flags & (tcpflag::SYN | tcpflag::ACK) == tcpflag::SYN;

        let found = {
            let slab = &self.slab;
            let (src, dst) = ((ip.src, sport), (ip.dst, dport));
            self.index
                .find(hash, |i| slab.get(i).is(src, dst, ip.proto, vlan))
        };
        if let Some(slot) = found {
            let f = self.slab.get(slot);
            // A fresh SYN on a finished connection starts a new one.
            let reused = pure_syn
                && matches!(f.state, FlowState::Closed | FlowState::Reset)
                && f.src_ip == Some(ip.src);
            if !reused {
                let dir = if f.src_ip == Some(ip.src) && f.src_port == sport {
                    Dir::ToServer
                } else {
                    Dir::ToClient
                };
                let repeat = self.account(slot, pkt, dir);
                return Some(FlowHandle {
                    slot,
                    dir,
                    new: false,
                    repeat,
                });
            }
            self.counters.reused += 1;
            ended.push(self.remove(slot, EndReason::Reused));
        }

        if self.index.len() >= self.cfg.max_flows.clamp(1, crate::lru::MAX_SLOTS) {
            self.evict_one(ended);
        }
        // Who opened it: the SYN's sender; the SYN-ACK's receiver; otherwise
        // the sender, unless it speaks from a well-known port to an
        // ephemeral one (we joined mid-conversation).
        let syn_ack = flags & (tcpflag::SYN | tcpflag::ACK) == (tcpflag::SYN | tcpflag::ACK);
        let sender_is_server = syn_ack
            || (!pure_syn && sport < 1024 && dport >= 1024)
            || (!pure_syn && is_service_port(sport) && !is_service_port(dport));
        let (cip, cport, sip, sport2, cmac, smac) = if sender_is_server {
            (ip.dst, dport, ip.src, sport, pkt.link.dst, pkt.link.src)
        } else {
            (ip.src, sport, ip.dst, dport, pkt.link.src, pkt.link.dst)
        };
        let id = flow_id(&key, now);
        let flow = Flow {
            id,
            src_ip: Some(cip),
            dst_ip: Some(sip),
            src_port: cport,
            dst_port: sport2,
            proto: ip.proto,
            vlan: pkt.link.vlan,
            src_mac: cmac,
            dst_mac: smac,
            start: now,
            last: now,
            state: if pkt.tcp().is_some() && !syn_ack && !pure_syn {
                FlowState::Established
            } else {
                FlowState::New
            },
            ..Flow::default()
        };
        let slot = match self.free.pop() {
            Some(s) => {
                *self.slab.get_mut(s) = flow;
                s
            }
            None => self.slab.push(flow),
        };
        self.index.insert(hash, slot);
        self.counters.created += 1;
        let dir = if sender_is_server {
            Dir::ToClient
        } else {
            Dir::ToServer
        };
        self.account(slot, pkt, dir);
        Some(FlowHandle {
            slot,
            dir,
            new: true,
            repeat: false,
        })
    }

    /// Count `pkt` in its flow and move the flow's state; returns whether
    /// the packet only repeated what the flow had shown (see
    /// [`FlowHandle::repeat`]).
    fn account(&mut self, slot: u32, pkt: &Packet<'_>, dir: Dir) -> bool {
        let f = self.slab.get_mut(slot);
        let d = dir.index();
        let seen_before = f.pkts[d] > 0;
        f.pkts[d] = f.pkts[d].saturating_add(1);
        f.bytes[d] += pkt.wire_len as u64;
        // As sent: a snap length cut does not make an exchange smaller.
        let payload = u32::try_from(pkt.payload_len()).unwrap_or(u32::MAX);
        f.payload_bytes[d] = f.payload_bytes[d].saturating_add(payload);
        if pkt.ts > f.last {
            f.last = pkt.ts;
        }
        // `repeat` is judged in the arms, from values they load anyway.
        let repeat = match pkt.transport {
            Transport::Tcp(t) => {
                let news = t.flags & !f.tcp_flags[d];
                f.tcp_flags[d] |= t.flags;
                let syn = t.flags & tcpflag::SYN != 0;
                let ack = t.flags & tcpflag::ACK != 0;
                let old = f.state;
                f.state = if t.flags & tcpflag::RST != 0 {
                    FlowState::Reset
                } else {
                    match (old, dir) {
                        (FlowState::New, Dir::ToServer) if syn && !ack => FlowState::SynSent,
                        (FlowState::New | FlowState::SynSent, Dir::ToClient) if syn && ack => {
                            FlowState::SynReceived
                        }
                        (FlowState::SynReceived, Dir::ToServer) if ack && !syn => {
                            FlowState::Established
                        }
                        (s, _) if t.flags & tcpflag::FIN != 0 => {
                            let both = f.tcp_flags[0] & f.tcp_flags[1] & tcpflag::FIN != 0;
                            match s {
                                FlowState::Closed | FlowState::Reset => s,
                                _ if both => FlowState::Closed,
                                _ => FlowState::Closing,
                            }
                        }
                        (s, _) => s,
                    }
                };
                let loud = t.flags & (tcpflag::SYN | tcpflag::FIN | tcpflag::RST) | news;
                seen_before && loud == 0 && f.state == old
            }
            ref other => {
                // Only the first answer changes a UDP/ICMP/other flow's
                // state, and it is its direction's first packet.
                if f.state == FlowState::New && f.pkts[1] > 0 && f.pkts[0] > 0 {
                    f.state = FlowState::Established;
                }
                seen_before && matches!(other, Transport::Udp(_))
            }
        };
        let class = match (f.proto, f.state) {
            (6, FlowState::Closed | FlowState::Reset) => Class::Closed,
            (6, FlowState::Established | FlowState::Closing) => Class::Established,
            (6, _) => Class::Opening,
            (17, _) => Class::Udp,
            _ => Class::Other,
        };
        self.lru.touch(slot, class as usize);
        repeat
    }

    /// End every flow idle for longer than its class's timeout at `now`.
    pub fn expire_idle(&mut self, now: Timestamp, ended: &mut Vec<Flow>) {
        for c in 0..CLASSES {
            while let Some(tail) = self.lru.oldest(c) {
                if now.since(self.slab.get(tail).last) <= self.timeouts_us[c] {
                    break;
                }
                self.counters.timed_out += 1;
                ended.push(self.remove(tail, EndReason::Timeout));
            }
        }
    }

    fn evict_one(&mut self, ended: &mut Vec<Flow>) {
        for c in 0..CLASSES {
            if let Some(tail) = self.lru.oldest(c) {
                self.counters.evicted += 1;
                ended.push(self.remove(tail, EndReason::Evicted));
                return;
            }
        }
    }

    /// End every flow (the input is over), oldest activity first.
    pub fn drain(&mut self, ended: &mut Vec<Flow>) {
        for i in self.drain_order() {
            ended.push(self.remove(i, EndReason::Shutdown));
        }
    }

    /// The slots of every flow in the order [`FlowTable::drain`] ends them.
    fn drain_order(&self) -> Vec<u32> {
        let mut all = self.live_slots();
        self.sort_for_drain(&mut all);
        all
    }

    /// Every flow's slot, by class and then least recently active first.
    fn live_slots(&self) -> Vec<u32> {
        let mut all: Vec<u32> = Vec::with_capacity(self.index.len());
        for c in 0..CLASSES {
            all.extend(self.lru.iter_oldest_first(c));
        }
        all
    }

    /// Oldest activity first (a stable sort of [`FlowTable::live_slots`]).
    fn sort_for_drain(&self, slots: &mut [u32]) {
        slots.sort_by_key(|&i| (self.slab.get(i).last, self.slab.get(i).id));
    }

    /// The input is over: the slots of every flow in the order
    /// [`FlowTable::drain`] ends them, for the engine to end them a batch at
    /// a time with [`FlowTable::end_at_shutdown`] (so a full table's flows
    /// are never all out of it at once), then [`FlowTable::finish_shutdown`].
    ///
    /// Ending flows in a known order needs neither the index nor the
    /// recency lists, so both are released here: at a million flows they
    /// are ≈ 30 MB that the end of input — when detectors and parsers
    /// report what is pending — would otherwise hold on top of everything
    /// else (it was the run's peak). Until `finish_shutdown` the table
    /// reads as empty (`len`, `iter`) and must not be updated.
    pub(crate) fn begin_shutdown(&mut self) -> Vec<u32> {
        let mut order = self.live_slots();
        // Released before the sort, whose scratch buffer is as large as the list.
        self.index = Index::new();
        self.lru = LruLists::new();
        self.sort_for_drain(&mut order);
        order
    }

    /// End the flow in `slot`, one of [`FlowTable::begin_shutdown`]'s.
    pub(crate) fn end_at_shutdown(&mut self, slot: u32) -> Flow {
        let mut f = std::mem::take(self.slab.get_mut(slot));
        f.end_reason = Some(EndReason::Shutdown);
        f
    }

    /// Every flow [`FlowTable::begin_shutdown`] listed has ended: release
    /// the slab, leaving an empty table (counters kept) that takes packets again.
    pub(crate) fn finish_shutdown(&mut self) {
        self.slab = Slab::default();
        self.free = Vec::new();
    }

    fn remove(&mut self, slot: u32, reason: EndReason) -> Flow {
        self.lru.remove(slot);
        let hash = self.slab.get(slot).key().index_hash(&self.hasher);
        self.index.remove(hash, slot);
        self.free.push(slot);
        let mut f = std::mem::take(self.slab.get_mut(slot));
        f.end_reason = Some(reason);
        f
    }
}

/// Slots per slab chunk.
const CHUNK: usize = 4096;

/// The flows, in fixed chunks of [`CHUNK`]: growing never moves (or
/// briefly doubles) what is already there, so a table filling up to a
/// million flows costs a million flows of memory, not 1.5 million while a
/// doubled `Vec` copies itself.
#[derive(Default)]
struct Slab {
    chunks: Vec<Box<[Flow]>>,
    /// Slots handed out so far (`0..len`).
    len: usize,
}

impl Slab {
    #[inline]
    fn get(&self, slot: u32) -> &Flow {
        let i = slot as usize;
        &self.chunks[i / CHUNK][i % CHUNK]
    }

    #[inline]
    fn get_mut(&mut self, slot: u32) -> &mut Flow {
        let i = slot as usize;
        &mut self.chunks[i / CHUNK][i % CHUNK]
    }

    /// Store `flow` in a new slot and return it.
    fn push(&mut self, flow: Flow) -> u32 {
        let i = self.len;
        if i / CHUNK == self.chunks.len() {
            self.chunks
                .push(std::iter::repeat_with(Flow::default).take(CHUNK).collect());
        }
        self.len += 1;
        let slot = i as u32;
        *self.get_mut(slot) = flow;
        slot
    }
}

/// Ports whose owner is a server even above 1023 (so a capture that starts
/// mid-conversation still gets client and server right).
fn is_service_port(p: u16) -> bool {
    p < 1024
        || matches!(
            p,
            1883 | 8883 | 1900 | 5353 | 5355 | 3478 | 5683 | 8080 | 8000 | 8008 | 8081 | 8443 | 8888
                | 2323 | 5555 | 5900..=5903 | 8554 | 37215 | 37810 | 49152..=49153 | 11211 | 3702
        )
}

/// A stable 53-bit flow id (JSON-safe integer), the same on every run.
fn flow_id(key: &Key, start: Timestamp) -> u64 {
    let h = FixedState::with_seed(0x5741_5244_464c_4f57).hash_one((key, start.0));
    h & ((1 << 53) - 1)
}

mod index;
use index::Index;

#[cfg(test)]
mod tests;
