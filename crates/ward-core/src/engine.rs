//! The per-packet pipeline.
//!
//! [`Engine::process`] takes one captured frame and drives it through
//! decoding, the device inventory, the flow table, the application parser of
//! its flow and every [`Detector`], handing the resulting [`Event`]s to an
//! [`EventSink`]. It is synchronous and deterministic: the same frames in
//! the same order give the same events, byte for byte, whatever the hash
//! seed. Time only moves with the packets.
//!
//! Adding a detector means implementing [`Detector`] and passing it to
//! [`Engine::new`]; the loop here does not change.

use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::net::IpAddr;

use foldhash::fast::FixedState;
use hashbrown::HashTable;
use serde::{Deserialize, Serialize};
use ward_proto::{About, AppEvent, HintKind, Transport as AppTransport};

use crate::correlate::Correlator;
use crate::decode::ndp::ROUTER_ADVERTISEMENT;
use crate::decode::{self, Anomaly, MacAddr, Net, OuterIp, Packet, Transport};
use crate::devices::{Claim, DeviceConfig, DeviceId, DeviceKey, DeviceTable};
use crate::event::{Event, EventType, FlowRecord, Stats};
use crate::flow::{Dir, Flow, FlowConfig, FlowHandle, FlowState, FlowTable};
use crate::scope::{self, Cidr};
use crate::time::Timestamp;

/// Engine settings (the `[engine]`-level parts of the TOML config).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    pub flow: FlowConfig,
    pub devices: DeviceConfig,
    /// Write `flow` events.
    pub emit_flows: Option<bool>,
    /// Write secrets (passwords, community strings) in clear in findings.
    pub reveal_secrets: bool,
}

/// What a detector sees for each packet.
pub struct PacketContext<'p, 'a> {
    pub pkt: &'p Packet<'a>,
    /// The outermost IP header when the packet came through a tunnel the
    /// decoder opened (GRE, IP-in-IP, VXLAN, ERSPAN): where it really went,
    /// whatever the inner addresses say.
    pub outer: Option<OuterIp>,
    /// The packet's flow after accounting the packet (None without an IP layer).
    pub flow: Option<&'p Flow>,
    pub dir: Option<Dir>,
    /// The packet opened its flow.
    pub new_flow: bool,
    /// An *ordinary* packet: a mid-flow TCP or UDP packet that tells
    /// nothing new about its flow beyond its counters and its payload. All
    /// of: not the flow's first packet in its direction; the flow's state
    /// did not change; TCP without SYN, FIN or RST and no flag its
    /// direction had not sent before; no application event (`app` is
    /// empty: the parser, if any, saw its payload and had nothing to
    /// report); the MAC addresses the flow was opened with (swapped for a
    /// packet going the other way); not an IP fragment; no decode anomaly.
    /// ICMP, other IP protocols and non-IP frames are never ordinary.
    ///
    /// The flow's first payload can be ordinary (a segment without PSH,
    /// such as the first of a large request or TLS hello): its parser is
    /// chosen then, so `flow.app_proto` can become known in an ordinary
    /// packet. A detector that needs a flow's first data must look for it
    /// itself (as recon does, comparing `flow.payload_bytes` with the
    /// payload).
    ///
    /// A detector whose state only moves on flow starts, state changes,
    /// flags, application events or address changes can return at once for
    /// these packets; one that counts packets or bytes (rates, floods on a
    /// single 5-tuple) or reads raw payloads cannot skip them (the flow's
    /// own counters, `flow.pkts` and `flow.bytes`, are up to date).
    pub ordinary: bool,
    /// What the flow's application parser made of this packet.
    pub app: &'p [AppEvent],
    /// The sending and receiving devices, where known.
    pub src_device: Option<DeviceId>,
    pub dst_device: Option<DeviceId>,
    pub devices: &'p DeviceTable,
    pub reveal_secrets: bool,
}

impl PacketContext<'_, '_> {
    /// The device an [`About`] of this packet's flow refers to.
    pub fn device_about(&self, about: About) -> Option<DeviceId> {
        device_about(
            about,
            self.dir,
            self.src_device,
            self.dst_device,
            self.devices,
        )
    }
}

/// The device an [`About`] refers to, for a packet travelling in `dir` from
/// `src` to `dst`.
fn device_about(
    about: About,
    dir: Option<Dir>,
    src: Option<DeviceId>,
    dst: Option<DeviceId>,
    devices: &DeviceTable,
) -> Option<DeviceId> {
    let sender_is_initiator = dir != Some(Dir::ToClient);
    match about {
        About::Initiator if sender_is_initiator => src,
        About::Initiator => dst,
        About::Responder if sender_is_initiator => dst,
        About::Responder => src,
        About::Mac(m) => devices.find(DeviceKey::Mac(MacAddr(m))),
    }
}

/// A flow leaving the table, as detectors see it.
pub struct FlowEndContext<'p> {
    pub flow: &'p Flow,
    /// Events the flow's parser reported when told the flow ended.
    pub app: &'p [AppEvent],
    pub client_device: Option<DeviceId>,
    pub server_device: Option<DeviceId>,
    pub devices: &'p DeviceTable,
    pub now: Timestamp,
    pub reveal_secrets: bool,
}

/// A detector: looks at packets and flows, emits alerts and findings.
///
/// Detectors are synchronous and use packet time only. They must bound
/// their own state (per source, per target …) the way the flow table does.
pub trait Detector: Send {
    /// Stable name (`scan`, `bruteforce` …), written in `alert.detector`.
    fn name(&self) -> &'static str;
    fn on_packet(&mut self, ctx: &PacketContext<'_, '_>, out: &mut Vec<Event>);
    fn on_flow_end(&mut self, _ctx: &FlowEndContext<'_>, _out: &mut Vec<Event>) {}
    /// Called once per second of packet time, before the packet that crossed it.
    fn on_tick(&mut self, _now: Timestamp, _devices: &DeviceTable, _out: &mut Vec<Event>) {}
    /// The input ended: report what is pending.
    fn finish(&mut self, _now: Timestamp, _devices: &DeviceTable, _out: &mut Vec<Event>) {}
    /// [`Detector::finish`] in parts, as the engine calls it: write part of
    /// what is pending and return `true` if more is left; the engine hands
    /// `out` to the sinks and calls again, so a long report (thousands of
    /// findings) never sits in memory whole. The parts together must be
    /// what `finish` writes, in the same order. By default, `finish` at once.
    fn finish_part(&mut self, now: Timestamp, devices: &DeviceTable, out: &mut Vec<Event>) -> bool {
        self.finish(now, devices, out);
        false
    }
    /// A secondary detector only corroborates: its alert about an attacker
    /// (and victim) a primary detector already alerted about is folded
    /// into that incident (see [`crate::correlate`]).
    fn secondary(&self) -> bool {
        false
    }
}

/// Device identification: names the category and model of inventory devices.
///
/// Unlike a [`Detector`], an identifier may write to the inventory (through
/// [`DeviceTable::set_identity`], which makes the engine write a `device`
/// event with reason `changed`). It runs once per second of packet time,
/// after the detectors' ticks, and once more when the input ends, so its
/// cost does not grow with the packet rate; it should re-examine only the
/// devices whose evidence changed since it last looked.
pub trait Identifier: Send + std::any::Any {
    fn identify(&mut self, now: Timestamp, devices: &mut DeviceTable, out: &mut Vec<Event>);
    /// The input ended: conclude on all evidence (by default, one more pass).
    fn finish(&mut self, now: Timestamp, devices: &mut DeviceTable, out: &mut Vec<Event>) {
        self.identify(now, devices, out);
    }
}

/// Where events go. The engine knows nothing about files, sockets or formats.
pub trait EventSink {
    fn emit(&mut self, event: &Event);
}

/// A sink that keeps every event (tests, small runs).
#[derive(Default, Debug)]
pub struct VecSink(pub Vec<Event>);

impl EventSink for VecSink {
    fn emit(&mut self, event: &Event) {
        self.0.push(event.clone());
    }
}

const MAX_TALKERS: usize = 65_536;

/// Flows ended per flush when the input is over (bounds the memory of `finish`).
const FINISH_BATCH: usize = 4_096;

/// Per-address traffic for the "top talkers" table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Talker {
    pub pkts: u64,
    pub bytes: u64,
}

/// The pipeline. See the module docs.
pub struct Engine {
    cfg: EngineConfig,
    flows: FlowTable,
    devices: DeviceTable,
    detectors: Vec<Box<dyn Detector>>,
    identifier: Option<Box<dyn Identifier>>,
    stats: Stats,
    anomalies: [u64; 32],
    /// Packets per [`PROTOCOL_LABELS`] entry (an array, not a map keyed by
    /// string: it is counted for every packet).
    protocols: [u64; PROTOCOL_LABELS.len()],
    /// Flows per application protocol (few: a short list, no `String` per flow).
    app_protos: Vec<(ward_proto::AppProto, u64)>,
    /// Traffic per address of the flows that have ended; flows still in the
    /// table are added when the table is read (see [`Engine::top_talkers`]).
    talkers: HashTable<(IpAddr, Talker)>,
    talker_hasher: FixedState,
    now: Timestamp,
    next_tick: Option<Timestamp>,
    ended: Vec<Flow>,
    /// Ended flows whose `flow` event is still to be written, each with
    /// the length `out` had when its event was due (its place among the
    /// other events). The event is built at [`Engine::flush`], in
    /// `flow_scratch`, and handed to the sinks there: an `Event` is
    /// ≈ 1.5 KB and a flow event had seven `String`s of its own, built and
    /// freed for every flow (one every five packets in a home mix).
    flow_events: Vec<(usize, Flow)>,
    /// The one `flow` event, refilled for every flow (its strings keep
    /// their buffers); see [`fill_flow_event`].
    flow_scratch: FlowEventScratch,
    app_buf: Vec<AppEvent>,
    out: Vec<Event>,
    correlator: Correlator,
    emit_flows: bool,
    /// Wall-clock seconds the runner spent, for the final `stats` (an input,
    /// like packet time: the engine never reads a clock).
    wall_time_s: f64,
}

impl Engine {
    /// `seed` keys the hash tables; pass a secret random value in
    /// production (it does not change any output).
    pub fn new(cfg: EngineConfig, seed: u64, detectors: Vec<Box<dyn Detector>>) -> Self {
        let secondary = detectors
            .iter()
            .filter(|d| d.secondary())
            .map(|d| d.name())
            .collect();
        Engine {
            correlator: Correlator::new(secondary),
            flows: FlowTable::new(cfg.flow.clone(), seed),
            devices: DeviceTable::new(cfg.devices.clone(), seed),
            detectors,
            identifier: None,
            stats: Stats::default(),
            anomalies: [0; 32],
            protocols: [0; PROTOCOL_LABELS.len()],
            app_protos: Vec::new(),
            talkers: HashTable::new(),
            talker_hasher: FixedState::with_seed(seed ^ 0x7461_6c6b),
            now: Timestamp(i64::MIN),
            next_tick: None,
            ended: Vec::new(),
            flow_events: Vec::new(),
            flow_scratch: FlowEventScratch::default(),
            app_buf: Vec::new(),
            out: Vec::new(),
            emit_flows: cfg.emit_flows.unwrap_or(true),
            wall_time_s: 0.0,
            cfg,
        }
    }

    /// Run `identifier` every second of packet time and at the end.
    pub fn with_identifier(mut self, identifier: Box<dyn Identifier>) -> Self {
        self.identifier = Some(identifier);
        self
    }

    /// Treat addresses in `networks` as the LAN's own, besides the private,
    /// link-local, CGNAT and ULA ranges (`[network] local_networks`; see
    /// [`crate::scope`]). Set before the first packet: it replaces what the
    /// scope has learned.
    pub fn with_local_networks(mut self, networks: &[Cidr]) -> Self {
        self.devices.set_local_networks(networks);
        self
    }

    /// The identifier, to read its state back (downcast through `dyn Any`).
    pub fn identifier(&self) -> Option<&dyn Identifier> {
        self.identifier.as_deref()
    }

    pub fn identifier_mut(&mut self) -> Option<&mut (dyn Identifier + 'static)> {
        self.identifier.as_deref_mut()
    }

    pub fn devices(&self) -> &DeviceTable {
        &self.devices
    }

    pub fn devices_mut(&mut self) -> &mut DeviceTable {
        &mut self.devices
    }

    pub fn flows(&self) -> &FlowTable {
        &self.flows
    }

    /// Tell the engine how long the run took, for `stats.wall_time_s`.
    pub fn set_wall_time(&mut self, secs: f64) {
        self.wall_time_s = secs;
    }

    /// Packet time of the latest packet.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Addresses by bytes sent + received, largest first.
    ///
    /// Traffic is credited to addresses per flow, when the flow ends (every
    /// IP packet belongs to a flow, and every packet of a flow is between
    /// its two endpoints), instead of two hash lookups per packet; flows
    /// still open are added here, so the table is complete at any time.
    /// When more than `MAX_TALKERS` addresses are seen, those of the flows
    /// that ended first are kept.
    pub fn top_talkers(&self, n: usize) -> Vec<(IpAddr, Talker)> {
        let mut all = self.talkers.clone();
        for flow in self.flows.iter() {
            credit_flow(&mut all, &self.talker_hasher, flow);
        }
        let mut v: Vec<(IpAddr, Talker)> = all.iter().copied().collect();
        v.sort_by(|a, b| b.1.bytes.cmp(&a.1.bytes).then(a.0.cmp(&b.0)));
        v.truncate(n);
        v
    }

    /// Packets per protocol (`TCP`, `UDP`, `ICMP`, `ARP`, `LLDP` …), for
    /// the protocols seen.
    pub fn protocols(&self) -> BTreeMap<&'static str, u64> {
        PROTOCOL_LABELS
            .iter()
            .zip(self.protocols)
            .filter(|(_, n)| *n > 0)
            .map(|(l, n)| (*l, n))
            .collect()
    }

    /// Process one captured frame.
    pub fn process(
        &mut self,
        ts: Timestamp,
        linktype: u32,
        data: &[u8],
        wire_len: u32,
        sink: &mut dyn EventSink,
    ) {
        let mut outer = None;
        let pkt = decode::decode_with_outer(ts, linktype, data, wire_len, &mut outer);
        self.process_packet(&pkt, outer, sink);
    }

    /// Process an already decoded packet; `outer` is the outermost header
    /// of the tunnel it came through, as [`decode::decode_with_outer`] gives
    /// it (`None` if it was not tunnelled).
    pub fn process_packet(
        &mut self,
        pkt: &Packet<'_>,
        outer: Option<OuterIp>,
        sink: &mut dyn EventSink,
    ) {
        let ts = pkt.ts;
        if ts > self.now {
            self.now = ts;
        }
        self.run_ticks(sink);

        self.stats.packets += 1;
        self.stats.bytes += pkt.wire_len as u64;
        if self.stats.first_packet.is_none_or(|f| ts < f) {
            self.stats.first_packet = Some(ts);
        }
        if self.stats.last_packet.is_none_or(|l| ts > l) {
            self.stats.last_packet = Some(ts);
        }
        if let Some(a) = pkt.anomaly {
            self.anomalies[a as usize] += 1;
        }
        self.protocols[protocol_index(pkt)] += 1;

        if let Transport::Icmp(icmp) = pkt.transport {
            if icmp.kind == ROUTER_ADVERTISEMENT && icmp.v6 {
                // Before the inventory sees the packet: a station's global
                // address is bound from its first packet after the prefix.
                self.devices
                    .scope_mut()
                    .learn_router_advertisement(pkt, outer.as_ref());
            }
        }
        let (src_dev, dst_dev) = self.devices.observe(pkt);
        let handle = self.flows.update(pkt, &mut self.ended);

        if let Some(h) = handle {
            self.learn_service(h, pkt);
        }
        self.app_buf.clear();
        if let Some(h) = handle {
            self.run_parser(h, pkt);
        }
        match pkt.net {
            Net::Lldp(b) => self.app_buf.extend(ward_proto::lldp::parse_lldp(b)),
            Net::Cdp(b) => self.app_buf.extend(ward_proto::lldp::parse_cdp(b)),
            _ => {}
        }
        if let Some(id) = src_dev {
            self.fingerprint_syn(id, pkt);
        }
        if !self.app_buf.is_empty() {
            let app = std::mem::take(&mut self.app_buf);
            self.learn_dhcp_subnets(&app, pkt, outer.as_ref());
            let dir = handle.map(|h| h.dir);
            let responder = handle.and_then(|h| self.flows.get(h.slot).dst_ip);
            self.apply_app_events(&app, dir, src_dev, dst_dev, responder);
            self.app_buf = app;
        }

        {
            let flow = handle.map(|h| self.flows.get(h.slot));
            let ordinary = match (handle, flow) {
                (Some(h), Some(f)) => {
                    h.repeat && self.app_buf.is_empty() && is_ordinary(pkt, f, h.dir)
                }
                _ => false,
            };
            let ctx = PacketContext {
                pkt,
                outer,
                flow,
                dir: handle.map(|h| h.dir),
                new_flow: handle.is_some_and(|h| h.new),
                ordinary,
                app: &self.app_buf,
                src_device: src_dev,
                dst_device: dst_dev,
                devices: &self.devices,
                reveal_secrets: self.cfg.reveal_secrets,
            };
            for d in self.detectors.iter_mut() {
                d.on_packet(&ctx, &mut self.out);
            }
        }
        // Most packets end no flow and leave nothing to write: skip the calls.
        if !self.ended.is_empty() {
            self.finish_ended_flows();
        }
        if !self.out.is_empty() || !self.flow_events.is_empty() || self.devices.any_changed() {
            self.flush(sink);
        }
    }

    /// The server's first answer (a SYN-ACK, or a UDP reply to a request)
    /// shows it offers the service: record it now, as flow end does, so
    /// identification can use it seconds after it shows rather than when
    /// the flow times out (a DHCP or DNS server's flows idle out only after
    /// minutes).
    fn learn_service(&mut self, h: FlowHandle, pkt: &Packet<'_>) {
        if h.dir != Dir::ToClient {
            return;
        }
        let flow = self.flows.get(h.slot);
        let answered = match pkt.transport {
            Transport::Tcp(t) => t.flags & 0x12 == 0x12,
            Transport::Udp(_) => flow.pkts[1] == 1 && flow.pkts[0] > 0,
            _ => false,
        };
        if !answered || flow.dst_port == 0 {
            return;
        }
        let (proto, port) = (flow.proto, flow.dst_port);
        if let Some(id) = self.devices.find_endpoint_cached(flow.dst_mac, flow.dst_ip) {
            self.devices.add_service(id, proto, port);
        }
    }

    /// p0f-style signature of a device's first SYNs (a few per device: a
    /// SYN flood must not cost a string per packet).
    fn fingerprint_syn(&mut self, id: DeviceId, pkt: &Packet<'_>) {
        let (Some(tcp), Some(ip)) = (pkt.tcp(), pkt.ip()) else {
            return;
        };
        if tcp.flags & 0x12 != 0x02 {
            return;
        }
        // Options cut short (a snap length below the SYN's 74 bytes, or a
        // data offset beyond the segment): a signature of part of them
        // would be a wrong fingerprint.
        if pkt.anomaly == Some(Anomaly::TruncatedTcp) {
            return;
        }
        let Some(dev) = self.devices.get_mut(id) else {
            return;
        };
        if dev.syn_signatures >= 2 {
            return;
        }
        dev.syn_signatures += 1;
        let sig = ward_proto::tcpfp::syn_signature(&ward_proto::tcpfp::SynPacket {
            ip_version: if ip.is_v6() { 6 } else { 4 },
            ttl: ip.ttl,
            ip_opts_len: if ip.is_v6() {
                0
            } else {
                ip.options_len as usize
            },
            df: ip.dont_fragment,
            ip_id: ip.ident as u16,
            ip_reserved_bit: false,
            ip_ecn: ip.tos & 0x03,
            flow_label: ip.flow_label,
            seq: tcp.seq,
            ack: tcp.ack,
            tcp_flags: tcp.flags,
            window: tcp.window,
            urgent_ptr: tcp.urgent,
            options: tcp.options,
            payload_len: pkt.payload.len(),
        });
        self.devices.add_hint(id, HintKind::TcpSyn, &sig);
    }

    fn run_ticks(&mut self, sink: &mut dyn EventSink) {
        let now = self.now;
        // The first tick is worked out once (a division), not for every packet.
        let next = *self
            .next_tick
            .get_or_insert_with(|| Timestamp::from_secs(now.0.div_euclid(1_000_000) + 1));
        if now < next {
            return;
        }
        // Tick once for the second just crossed; long silent gaps do not
        // replay thousands of empty seconds.
        let tick = Timestamp::from_secs(now.0.div_euclid(1_000_000));
        self.next_tick = Some(tick.plus_secs(1));
        for d in self.detectors.iter_mut() {
            d.on_tick(tick, &self.devices, &mut self.out);
        }
        if let Some(i) = self.identifier.as_mut() {
            i.identify(tick, &mut self.devices, &mut self.out);
        }
        self.flows.expire_idle(now, &mut self.ended);
        self.finish_ended_flows();
        self.flush(sink);
    }

    /// Feed the packet's payload to its flow's parser, dropping TCP
    /// retransmissions (bytes before the next expected sequence number).
    fn run_parser(&mut self, h: FlowHandle, pkt: &Packet<'_>) {
        // The flow has no parser and will get none (no protocol matched
        // its first payload, or its parser said it has nothing more to
        // learn, as TLS does after both hellos): its later packets skip
        // the sequence tracking too, which exists only to feed a parser.
        let flow = self.flows.get_mut(h.slot);
        if flow.app_probed && flow.parser.is_none() {
            return;
        }
        let (transport, seq, syn_or_fin) = match pkt.transport {
            Transport::Tcp(t) => (AppTransport::Tcp, Some(t.seq), t.flags & 0x03),
            Transport::Udp(_) => (AppTransport::Udp, None, 0),
            _ => return,
        };
        let d = h.dir.index();
        let mut data = pkt.payload;
        // A snap length cut the segment: it goes on for `missing` bytes the
        // parser never sees (0 for every packet captured whole).
        let mut missing = pkt.missing;
        if let Some(seq) = seq {
            let syn = syn_or_fin & 0x02 != 0;
            let start = if syn { seq.wrapping_add(1) } else { seq };
            match flow.next_seq(d) {
                Some(next) => {
                    let behind = next.wrapping_sub(start) as i32;
                    if behind > 0 {
                        // Retransmitted (partly): skip what was already fed.
                        let skip = behind as usize;
                        if skip >= data.len() {
                            // Every captured byte was fed before; what a
                            // snap length cut off may still go on past them
                            // (a retransmission that carries more): the
                            // parser learns of that gap.
                            let sent = data.len() as u64 + u64::from(missing);
                            let Some(new) = sent.checked_sub(skip as u64).filter(|n| *n > 0) else {
                                return;
                            };
                            missing = new as u32;
                            data = &[];
                        } else {
                            data = &data[skip..];
                        }
                        let sent = (data.len() as u32).wrapping_add(missing);
                        flow.set_next_seq(d, next.wrapping_add(sent));
                    } else {
                        // In order, or after a gap we cannot fill: go on from here.
                        let sent = (data.len() as u32).wrapping_add(missing);
                        flow.set_next_seq(d, start.wrapping_add(sent));
                    }
                }
                None => {
                    let sent = (data.len() as u32).wrapping_add(missing);
                    flow.set_next_seq(d, start.wrapping_add(sent));
                }
            }
        }
        if data.is_empty() {
            // Headers only: a parser already on the flow learns of the gap.
            if missing > 0 {
                if let Some(p) = flow.parser.as_mut() {
                    if !p.feed_cut(h.dir.proto(), data, missing, &mut self.app_buf) {
                        flow.parser = None;
                    }
                }
            }
            return;
        }
        if !flow.app_probed {
            flow.app_probed = true;
            flow.parser =
                ward_proto::detect(transport, flow.src_port, flow.dst_port, data, h.dir.proto());
            if let Some(p) = &flow.parser {
                let proto = p.protocol();
                flow.app_proto = Some(proto);
                match self.app_protos.iter_mut().find(|(p, _)| *p == proto) {
                    Some((_, n)) => *n += 1,
                    None => self.app_protos.push((proto, 1)),
                }
            }
        }
        if let Some(p) = flow.parser.as_mut() {
            let more = if missing == 0 {
                p.feed(h.dir.proto(), data, &mut self.app_buf)
            } else {
                p.feed_cut(h.dir.proto(), data, missing, &mut self.app_buf)
            };
            if !more {
                flow.parser = None;
            }
        }
    }

    /// A DHCP ACK's public subnet is the LAN's own (the fixed rule's
    /// ranges already are), when the packet came the way a real ACK comes
    /// ([`scope::dhcp_ack_sent_on_link`]): not from the internet, not out
    /// of a tunnel.
    fn learn_dhcp_subnets(&mut self, app: &[AppEvent], pkt: &Packet<'_>, outer: Option<&OuterIp>) {
        for ev in app {
            if let AppEvent::Dhcp(d) = ev {
                if d.msg_type == 5 && scope::dhcp_ack_sent_on_link(pkt, outer, d.your_ip) {
                    self.devices
                        .scope_mut()
                        .learn_dhcp_ack(d.your_ip, d.subnet_mask);
                }
            }
        }
    }

    /// Identity hints and protocol facts that update the inventory.
    fn apply_app_events(
        &mut self,
        app: &[AppEvent],
        dir: Option<Dir>,
        src_dev: Option<DeviceId>,
        dst_dev: Option<DeviceId>,
        responder_ip: Option<IpAddr>,
    ) {
        let about =
            |devices: &DeviceTable, a: About| device_about(a, dir, src_dev, dst_dev, devices);
        for ev in app {
            match ev {
                AppEvent::Hint(h) => {
                    if let Some(id) = about(&self.devices, h.about) {
                        // Parsers see no addresses; "the server of this flow" is ours to fill in.
                        if h.value == ward_proto::ntp::RESPONDER_ADDRESS {
                            if let Some(ip) = responder_ip {
                                // Written on the stack: most such hints repeat.
                                let mut buf = [0u8; 48];
                                if let Some(text) = ip_text(ip, &mut buf) {
                                    self.devices.add_hint(id, h.kind, text);
                                }
                            }
                        } else {
                            self.devices.add_hint(id, h.kind, &h.value);
                        }
                    }
                }
                AppEvent::Dhcp(d) if matches!(d.msg_type, 5) && !d.your_ip.is_unspecified() => {
                    // DHCPACK: the address now belongs to the client.
                    if let Some(id) = self.devices.find(DeviceKey::Mac(MacAddr(d.client_mac))) {
                        let now = self.now;
                        self.devices
                            .bind_ip(id, IpAddr::V4(d.your_ip), now, Claim::Assigned);
                    }
                }
                AppEvent::Dns(d) if d.response => {
                    // A resolver's answer naming a LAN device tells us its name.
                    for (name, ip) in &d.answers {
                        if let Some(id) = self.devices.find_ip(*ip) {
                            if !name.ends_with(".arpa") {
                                let short = name.trim_end_matches('.').trim_end_matches(".local");
                                self.devices.add_hint(id, HintKind::Hostname, short);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn finish_ended_flows(&mut self) {
        if self.ended.is_empty() {
            return;
        }
        let mut ended = std::mem::take(&mut self.ended);
        let now = self.now;
        for mut flow in ended.drain(..) {
            credit_flow(&mut self.talkers, &self.talker_hasher, &flow);
            self.app_buf.clear();
            if let Some(mut p) = flow.parser.take() {
                p.finish(&mut self.app_buf);
            }
            let client = self.devices.find_endpoint_cached(flow.src_mac, flow.src_ip);
            let server = self.devices.find_endpoint_cached(flow.dst_mac, flow.dst_ip);
            if !self.app_buf.is_empty() {
                let app = std::mem::take(&mut self.app_buf);
                self.apply_app_events(&app, Some(Dir::ToServer), client, server, flow.dst_ip);
                self.app_buf = app;
            }
            // The server answered: it offers this service.
            if let Some(id) = server {
                let answered = match flow.proto {
                    6 => flow.tcp_flags[1] & 0x12 == 0x12,
                    // Both sides spoke: a one-way flood whose source port
                    // happens to be a service port is not a service.
                    17 => flow.pkts[0] > 0 && flow.pkts[1] > 0,
                    _ => false,
                };
                if answered && flow.dst_port != 0 {
                    self.devices.add_service(id, flow.proto, flow.dst_port);
                }
            }
            if let (Some(id), Some(p)) = (client, flow.app_proto) {
                self.devices.add_protocol(id, p);
            }
            let ctx = FlowEndContext {
                flow: &flow,
                app: &self.app_buf,
                client_device: client,
                server_device: server,
                devices: &self.devices,
                now,
                reveal_secrets: self.cfg.reveal_secrets,
            };
            for d in self.detectors.iter_mut() {
                d.on_flow_end(&ctx, &mut self.out);
            }
            if self.emit_flows {
                // Its parser is gone (finished above): what stays is plain data.
                self.flow_events.push((self.out.len(), flow));
            }
        }
        self.ended = ended;
    }

    fn flush(&mut self, sink: &mut dyn EventSink) {
        for id in self.devices.take_changed() {
            if let Some(d) = self.devices.get_mut(id) {
                let reason = if d.announced { "changed" } else { "new" };
                d.announced = true;
                let ev = device_event(d.last_seen, d, reason);
                self.out.push(ev);
            }
        }
        // By reference, then cleared: an `Event` is ≈ 1.5 KB (every body
        // is inline), and moving each out of the queue copied all of it.
        // Flow events go out in their places between the queued events
        // (they are neither alerts nor findings: the correlator keeps them
        // and the counters do not count them).
        let mut flows = self.flow_events.iter().peekable();
        for (i, ev) in self.out.iter().enumerate() {
            while let Some((_, flow)) = flows.next_if(|(at, _)| *at <= i) {
                sink.emit(self.flow_scratch.fill(flow));
            }
            if !self.correlator.keep(ev) {
                continue;
            }
            match ev.event_type {
                EventType::Alert => self.stats.alerts += 1,
                EventType::Finding => self.stats.findings += 1,
                _ => {}
            }
            sink.emit(ev);
        }
        for (_, flow) in flows {
            sink.emit(self.flow_scratch.fill(flow));
        }
        self.flow_events.clear();
        self.out.clear();
    }

    /// The input is over: end every flow, let detectors report what is
    /// pending, write one `device` event per device and a final `stats`.
    pub fn finish(&mut self, sink: &mut dyn EventSink) {
        // End the remaining flows a batch at a time and flush in between:
        // ending a full table at once built a million flow events (≈ 1.5 KB
        // each) before writing the first, 1.6 GB at the default flow cap.
        let order = self.flows.begin_shutdown();
        for batch in order.chunks(FINISH_BATCH) {
            for &slot in batch {
                let flow = self.flows.end_at_shutdown(slot);
                self.ended.push(flow);
            }
            self.finish_ended_flows();
            self.flush(sink);
        }
        drop(order);
        self.flows.finish_shutdown();
        let now = self.now.max(Timestamp::ZERO);
        for i in 0..self.detectors.len() {
            while self.detectors[i].finish_part(now, &self.devices, &mut self.out) {
                self.flush(sink);
            }
        }
        if let Some(i) = self.identifier.as_mut() {
            i.finish(now, &mut self.devices, &mut self.out);
        }
        self.flush(sink);
        let finals: Vec<Event> = self
            .devices
            .iter()
            .map(|(_, d)| device_event(now, d, "final"))
            .collect();
        for ev in &finals {
            sink.emit(ev);
        }
        let stats = self.stats_event();
        sink.emit(&stats);
    }

    /// Counters so far.
    pub fn stats(&self) -> Stats {
        let mut s = self.stats.clone();
        for &(p, n) in &self.app_protos {
            s.app_protos.insert(p.as_str().to_string(), n);
        }
        for a in Anomaly::ALL {
            let n = self.anomalies[*a as usize];
            if n > 0 {
                s.decode_anomalies.insert(a.as_str().to_string(), n);
            }
        }
        s.flows = self.flows.counters.created;
        s.flows_active = self.flows.len() as u64;
        s.flows_evicted = self.flows.counters.evicted;
        s.flows_timed_out = self.flows.counters.timed_out;
        s.devices = self.devices.len() as u64;
        s.devices_evicted = self.devices.counters.evicted;
        s.local_networks_learned = self
            .devices
            .scope()
            .learned()
            .map(|(c, _)| c.to_string())
            .collect();
        s.local_networks_dropped = self.devices.scope().dropped();
        s.alerts_corroborated = self.correlator.corroborated;
        s.wall_time_s = self.wall_time_s;
        s.packets_per_second = if self.wall_time_s > 0.0 {
            (s.packets as f64 / self.wall_time_s).round()
        } else {
            0.0
        };
        s
    }

    /// A `stats` event at the latest packet time (wall time left for the runner).
    pub fn stats_event(&self) -> Event {
        let mut e = Event::new(self.now.max(Timestamp::ZERO), EventType::Stats);
        e.stats = Some(self.stats());
        e
    }
}

/// The packet-level half of [`PacketContext::ordinary`] (the flow table
/// judged the flow-level half, [`FlowHandle::repeat`]): no decode anomaly,
/// not a fragment, and the link addresses the flow was opened with, swapped
/// for the other direction (so a forged sender inside a known conversation
/// is news; so is an answer through another router, which is only cost).
fn is_ordinary(pkt: &Packet<'_>, flow: &Flow, dir: Dir) -> bool {
    let (src, dst) = match dir {
        Dir::ToServer => (flow.src_mac, flow.dst_mac),
        Dir::ToClient => (flow.dst_mac, flow.src_mac),
    };
    pkt.anomaly.is_none()
        && pkt
            .ip()
            .is_some_and(|ip| !ip.fragmented && !ip.later_fragment)
        && pkt.link.src == src
        && pkt.link.dst == dst
}

/// `ip` as text in `buf` (no allocation); `None` cannot happen for the
/// longest address (45 bytes) but is not worth a panic.
fn ip_text(ip: IpAddr, buf: &mut [u8; 48]) -> Option<&str> {
    use std::io::Write;
    let mut w: &mut [u8] = &mut buf[..];
    write!(w, "{ip}").ok()?;
    let n = 48 - w.len();
    std::str::from_utf8(&buf[..n]).ok()
}

/// The names [`Engine::protocols`] counts packets under, indexed by
/// [`protocol_index`].
const PROTOCOL_LABELS: [&str; 13] = [
    "ARP",
    "LLDP",
    "CDP",
    "EAPOL",
    "other-L2",
    "undecoded",
    "TCP",
    "UDP",
    "ICMPv6",
    "ICMP",
    "IP-fragment",
    "IGMP",
    "other-IP",
];

/// The packet's entry in [`PROTOCOL_LABELS`].
fn protocol_index(pkt: &Packet<'_>) -> usize {
    match (&pkt.net, &pkt.transport) {
        (Net::Arp(_), _) => 0,
        (Net::Lldp(_), _) => 1,
        (Net::Cdp(_), _) => 2,
        (Net::Other(0x888e), _) => 3,
        (Net::Other(_), _) => 4,
        (Net::None, _) => 5,
        (Net::Ip(_), Transport::Tcp(_)) => 6,
        (Net::Ip(_), Transport::Udp(_)) => 7,
        (Net::Ip(ip), Transport::Icmp(_)) if ip.is_v6() => 8,
        (Net::Ip(_), Transport::Icmp(_)) => 9,
        (Net::Ip(ip), _) if ip.later_fragment => 10,
        (Net::Ip(ip), _) if ip.proto == 2 => 11,
        (Net::Ip(_), _) => 12,
    }
}

/// Credit a flow's packets and bytes (both directions) to both its
/// endpoints in `talkers`, as counting each packet for its source and its
/// destination would. A full table (`MAX_TALKERS` addresses) takes no new one.
fn credit_flow(talkers: &mut HashTable<(IpAddr, Talker)>, hasher: &FixedState, flow: &Flow) {
    let pkts = u64::from(flow.pkts[0]) + u64::from(flow.pkts[1]);
    let bytes = flow.bytes[0] + flow.bytes[1];
    for ip in [flow.src_ip, flow.dst_ip].into_iter().flatten() {
        let h = talker_hash(hasher, ip);
        if let Some((_, t)) = talkers.find_mut(h, |(a, _)| *a == ip) {
            t.pkts += pkts;
            t.bytes += bytes;
        } else if talkers.len() < MAX_TALKERS {
            talkers.insert_unique(h, (ip, Talker { pkts, bytes }), |(a, _)| {
                talker_hash(hasher, *a)
            });
        }
    }
}

/// An address's seeded hash as one integer (the derived `Hash` feeds the
/// enum tag and each byte; two addresses are hashed per ended flow). The
/// table's contents and `top_talkers` do not depend on the hash.
#[inline]
fn talker_hash(hasher: &FixedState, ip: IpAddr) -> u64 {
    match ip {
        IpAddr::V4(v4) => hasher.hash_one(v4.to_bits()),
        IpAddr::V6(v6) => hasher.hash_one(v6.to_bits()),
    }
}

/// TCP flags as two lower-case hex digits (`None` for none), without the
/// formatting machinery: three of these are written for every TCP flow.
fn flags_hex(f: u8) -> Option<String> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    (f != 0).then(|| {
        let mut s = String::with_capacity(2);
        s.push(char::from(HEX[usize::from(f >> 4)]));
        s.push(char::from(HEX[usize::from(f & 0x0f)]));
        s
    })
}

/// A `flow` event refilled in place for flow after flow: the same event
/// [`flow_event`] builds, without allocating once its strings have grown
/// (a string an absent field had is kept aside for the next flow that has
/// the field).
struct FlowEventScratch {
    event: Event,
    spare: [String; 5],
}

impl Default for FlowEventScratch {
    fn default() -> Self {
        let mut event = Event::new(Timestamp::ZERO, EventType::Flow);
        event.flow = Some(empty_flow_record());
        FlowEventScratch {
            event,
            spare: Default::default(),
        }
    }
}

fn empty_flow_record() -> FlowRecord {
    FlowRecord {
        pkts_toserver: 0,
        pkts_toclient: 0,
        bytes_toserver: 0,
        bytes_toclient: 0,
        start: Timestamp::ZERO,
        end: Timestamp::ZERO,
        state: String::new(),
        reason: String::new(),
        tcp_flags: None,
        tcp_flags_ts: None,
        tcp_flags_tc: None,
        app_proto: None,
        vlan: None,
    }
}

impl FlowEventScratch {
    /// The `flow` event of `flow`: equal to `flow_event(flow)`.
    fn fill(&mut self, flow: &Flow) -> &Event {
        let e = &mut self.event;
        e.timestamp = flow.last;
        e.flow_id = Some(flow.id);
        // As `Event::with_endpoints` sets them.
        e.src_ip = flow.src_ip;
        e.src_port = flow
            .src_ip
            .and((flow.src_port != 0).then_some(flow.src_port));
        e.dest_ip = flow.dst_ip;
        e.dest_port = flow
            .dst_ip
            .and((flow.dst_port != 0).then_some(flow.dst_port));
        let [proto_spare, flags, flags_ts, flags_tc, app] = &mut self.spare;
        put(
            &mut e.proto,
            proto_spare,
            Some(proto_str(flow.proto, &mut [0; 3])),
        );
        e.src_mac = flow.src_mac;
        e.dest_mac = flow.dst_mac;
        let tcp = flow.proto == 6;
        let r = e.flow.get_or_insert_with(empty_flow_record);
        r.pkts_toserver = flow.pkts[0].into();
        r.pkts_toclient = flow.pkts[1].into();
        r.bytes_toserver = flow.bytes[0];
        r.bytes_toclient = flow.bytes[1];
        r.start = flow.start;
        r.end = flow.last;
        r.state.clear();
        r.state.push_str(match (flow.state, tcp) {
            (FlowState::New, false) => "new",
            (s, _) => s.as_str(),
        });
        r.reason.clear();
        r.reason
            .push_str(flow.end_reason.unwrap_or_default().as_str());
        let (f0, f1) = if tcp {
            (flow.tcp_flags[0], flow.tcp_flags[1])
        } else {
            (0, 0)
        };
        put(&mut r.tcp_flags, flags, hex_byte(f0 | f1));
        put(&mut r.tcp_flags_ts, flags_ts, hex_byte(f0));
        put(&mut r.tcp_flags_tc, flags_tc, hex_byte(f1));
        put(&mut r.app_proto, app, flow.app_proto.map(|p| p.as_str()));
        r.vlan = flow.vlan;
        &self.event
    }
}

/// Set `slot` to `value`, reusing `slot`'s string or `spare`'s buffer;
/// clearing `slot` keeps its buffer in `spare`.
fn put(slot: &mut Option<String>, spare: &mut String, value: Option<&str>) {
    match value {
        Some(v) => {
            let s = slot.get_or_insert_with(|| std::mem::take(spare));
            s.clear();
            s.push_str(v);
        }
        None => {
            if let Some(s) = slot.take() {
                *spare = s;
            }
        }
    }
}

/// [`crate::event::proto_name`] without allocating: the name, or the
/// number written in `buf`.
fn proto_str(p: u8, buf: &mut [u8; 3]) -> &str {
    if let Some(name) = crate::event::known_proto_name(p) {
        return name;
    }
    let digits = [p / 100, p / 10 % 10, p % 10];
    let skip = if p >= 100 {
        0
    } else if p >= 10 {
        1
    } else {
        2
    };
    for (b, d) in buf.iter_mut().zip(digits) {
        *b = b'0' + d;
    }
    // ASCII digits: always UTF-8.
    std::str::from_utf8(&buf[skip..]).unwrap_or("")
}

/// Every byte as two lower-case hex digits, `00` to `ff`, one after the other.
const HEX_PAIRS: &str = {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    const BYTES: [u8; 512] = {
        let mut b = [0u8; 512];
        let mut i = 0;
        while i < 256 {
            b[2 * i] = HEX[i >> 4];
            b[2 * i + 1] = HEX[i & 0x0f];
            i += 1;
        }
        b
    };
    match std::str::from_utf8(&BYTES) {
        Ok(s) => s,
        Err(_) => panic!("hex digits are ASCII"),
    }
};

/// `f` as two lower-case hex digits (`None` for no flags), as [`flags_hex`]
/// writes them, taken from a table built at compile time (three of these
/// are written for every TCP flow; checking a fresh buffer as UTF-8 cost
/// more than the rest of the job).
fn hex_byte(f: u8) -> Option<&'static str> {
    let i = 2 * usize::from(f);
    (f != 0).then(|| HEX_PAIRS.get(i..i + 2)).flatten()
}

/// The `flow` event for a flow leaving the table.
pub fn flow_event(flow: &Flow) -> Event {
    let mut e = Event::new(flow.last, EventType::Flow).with_endpoints(
        flow.src_ip.map(|ip| (ip, flow.src_port)),
        flow.dst_ip.map(|ip| (ip, flow.dst_port)),
        Some(flow.proto),
    );
    e.flow_id = Some(flow.id);
    e.src_mac = flow.src_mac;
    e.dest_mac = flow.dst_mac;
    let tcp = flow.proto == 6;
    e.flow = Some(FlowRecord {
        pkts_toserver: flow.pkts[0].into(),
        pkts_toclient: flow.pkts[1].into(),
        bytes_toserver: flow.bytes[0],
        bytes_toclient: flow.bytes[1],
        start: flow.start,
        end: flow.last,
        state: match (flow.state, tcp) {
            (FlowState::New, false) => "new".into(),
            (s, _) => s.as_str().into(),
        },
        reason: flow.end_reason.unwrap_or_default().as_str().into(),
        tcp_flags: if tcp {
            flags_hex(flow.tcp_flags[0] | flow.tcp_flags[1])
        } else {
            None
        },
        tcp_flags_ts: if tcp {
            flags_hex(flow.tcp_flags[0])
        } else {
            None
        },
        tcp_flags_tc: if tcp {
            flags_hex(flow.tcp_flags[1])
        } else {
            None
        },
        app_proto: flow.app_proto.map(|p| p.as_str().to_string()),
        vlan: flow.vlan,
    });
    e
}

/// A `device` event.
pub fn device_event(ts: Timestamp, d: &crate::devices::Device, reason: &str) -> Event {
    let mut e = Event::new(ts, EventType::Device);
    e.src_mac = d.mac();
    e.src_ip = d
        .ips
        .iter()
        .find(|ip| ip.is_ipv4())
        .or(d.ips.first())
        .copied();
    e.device = Some(d.record(reason));
    e
}

#[cfg(test)]
mod tests;
