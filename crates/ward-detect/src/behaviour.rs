//! Behavioural anomaly detection as an engine [`Detector`]: the glue between
//! ward-core's packets and devices and ward-anomaly's online models.
//!
//! Every IP packet and every ARP message (sender and target protocol
//! addresses as source and destination, as Kitsune reads ARP: ARP sweeps
//! and ARP poisoning are ARP traffic) becomes a [`PacketObs`] for
//! [`AnomalyEngine::process`];
//! once per second of packet time the engine's closed incidents become
//! `anomaly` alerts naming the device, with the plain-words explanation of
//! the features that departed most from the device's normal. Per-packet
//! scores (for research and `ward eval --scores`) and the model state (so a
//! restart does not relearn) leave through callbacks the caller supplies:
//! this module does no I/O.
//!
//! Three facts beyond the headers go with each packet
//! ([`ward_anomaly::PacketHints`]): the sending device's category from the
//! inventory (identification), so a device still in its own learning
//! period is judged against its category's normal; the client hardware
//! address of a DHCP DISCOVER or REQUEST (from the DHCP parser), which is
//! how DHCP starvation becomes visible to the model; and, on the DNS answer
//! that reveals a race ([`crate::dns_race`], the check behind the
//! `dns-spoofing` alert), the addresses the forged answer gave its client,
//! so that the client's packets to them are not ordinary traffic to the
//! model. Only a forgery the senders show is handed on: the blamed answer
//! came under an address its MAC does not own (the inventory's owner of a
//! LAN address, the gateway's MAC for a remote resolver). Two genuine
//! resolvers disagreeing (DNS load balancing) hand nothing on.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ward_anomaly::{
    AnomalyAlert, AnomalyConfig, AnomalyEngine, CategoryId, ContradictedAnswer, PacketHints,
    PacketObs, Phase, PROTO_ARP,
};
use ward_core::decode::Net;
use ward_core::devices::{DeviceId, DeviceTable};
use ward_core::event::Alert;
use ward_core::{AlertCategory, Detector, Event, MacAddr, PacketContext, Timestamp};
use ward_proto::AppEvent;

use crate::config::SpoofingConfig;
use crate::dns_race::{off_lan_next_hop, DnsRace};

/// DNS answers the race check remembers (client, query id, name).
const DNS_ANSWERS: usize = 4096;

/// One per-packet score, as written to a `--scores` file.
#[derive(Debug, Clone, Copy)]
pub struct ScoreRow {
    pub ts: Timestamp,
    pub score: f32,
    pub threshold: f32,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// The engine's device index, or `u32::MAX`.
    pub device: u32,
    pub phase: Phase,
    /// Source MAC of the frame (all zero when the link has none); lets the
    /// evaluation find an attacker's spoofed and forwarded packets.
    pub src_mac: [u8; 6],
}

impl ScoreRow {
    /// Header of the CSV `Display` writes (the format `ward eval --scores` reads).
    pub const CSV_HEADER: &'static str = "timestamp,score,threshold,src,dst,device,phase,src_mac";
}

impl std::fmt::Display for ScoreRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dev = if self.device == u32::MAX {
            String::new()
        } else {
            self.device.to_string()
        };
        let m = self.src_mac;
        write!(
            f,
            "{},{},{},{},{},{},{},{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            self.ts,
            self.score,
            self.threshold,
            self.src,
            self.dst,
            dev,
            self.phase.as_str(),
            m[0],
            m[1],
            m[2],
            m[3],
            m[4],
            m[5]
        )
    }
}

type ScoreHook = Box<dyn FnMut(&ScoreRow) + Send>;
type FinishHook = Box<dyn FnOnce(&AnomalyEngine) + Send>;

/// The detector. See the module docs.
pub struct BehaviourDetector {
    engine: AnomalyEngine,
    /// Each device's category as last read from the inventory (indexed by
    /// device id, so bounded by the device table), with its engine id.
    categories: Vec<Option<(String, CategoryId)>>,
    /// DNS answers, for races (the same check as `dns-spoofing`'s).
    dns: DnsRace,
    /// The MAC local devices send off-LAN traffic to (a remote resolver's
    /// answers come from it).
    gateway_mac: Option<MacAddr>,
    on_score: Option<ScoreHook>,
    on_finish: Option<FinishHook>,
}

impl BehaviourDetector {
    pub fn new(config: AnomalyConfig) -> Result<Self, ward_anomaly::AnomalyError> {
        Ok(Self::from_engine(AnomalyEngine::new(config)?))
    }

    /// Continue from a saved engine (`ward analyze --state`).
    pub fn from_engine(engine: AnomalyEngine) -> Self {
        BehaviourDetector {
            engine,
            categories: Vec::new(),
            dns: DnsRace::new(DNS_ANSWERS, SpoofingConfig::default().dns_race_secs),
            gateway_mac: None,
            on_score: None,
            on_finish: None,
        }
    }

    /// Answers further apart than `secs` are no DNS race (the signature
    /// check's `spoofing.dns_race_secs`, so both judge races alike).
    pub fn dns_race_secs(mut self, secs: u64) -> Self {
        self.dns = DnsRace::new(DNS_ANSWERS, secs);
        self
    }

    /// Called with every packet's score.
    pub fn on_score(mut self, hook: impl FnMut(&ScoreRow) + Send + 'static) -> Self {
        self.on_score = Some(Box::new(hook));
        self
    }

    /// Called once with the engine when the input ends (to save its state).
    pub fn on_finish(mut self, hook: impl FnOnce(&AnomalyEngine) + Send + 'static) -> Self {
        self.on_finish = Some(Box::new(hook));
        self
    }

    /// Reads identified categories from the inventory (once per second:
    /// identification runs on the same tick).
    fn refresh_categories(&mut self, devices: &DeviceTable) {
        // Device ids are slots the inventory reuses: a slot whose device is
        // gone, or whose (new) device has no category, must not keep the
        // category of the device that held it before.
        for (i, slot) in self.categories.iter_mut().enumerate() {
            let has_category = u32::try_from(i)
                .ok()
                .and_then(|id| devices.get(id))
                .is_some_and(|d| d.category.is_some());
            if !has_category {
                *slot = None;
            }
        }
        // Once a second over every device: the unordered pass, which
        // neither sorts nor allocates (`DeviceTable::iter` does both).
        for id in devices.ids_unordered() {
            let Some(cat) = devices.get(id).and_then(|d| d.category.as_deref()) else {
                continue;
            };
            let Ok(i) = usize::try_from(id) else { continue };
            if self.categories.len() <= i {
                self.categories.resize(i + 1, None);
            }
            let Some(slot) = self.categories.get_mut(i) else {
                continue;
            };
            if slot.as_ref().is_some_and(|(name, _)| name == cat) {
                continue;
            }
            *slot = self.engine.category_id(cat).map(|c| (cat.to_string(), c));
        }
    }

    /// The forged answer a DNS answer in this packet reveals, when the
    /// senders show which one it was (see the module docs).
    fn contradicted_dns(&mut self, ctx: &PacketContext<'_, '_>) -> Option<ContradictedAnswer> {
        let devices = ctx.devices;
        let owner_of = |ip: IpAddr| {
            devices
                .find_ip(ip)
                .and_then(|id| devices.get(id))
                .and_then(|d| d.mac())
        };
        for e in ctx.app {
            let AppEvent::Dns(m) = e else { continue };
            let Some(race) = self.dns.observe(ctx, m) else {
                continue;
            };
            let gateway = self.gateway_mac;
            let (forged, shown) =
                race.forged(|a| a.sent_by_owner(owner_of, gateway, devices.scope()));
            if shown {
                return Some(ContradictedAnswer {
                    client: race.client,
                    addrs: forged.addrs(),
                });
            }
        }
        None
    }

    fn category_of(&self, device: Option<DeviceId>) -> Option<CategoryId> {
        let i = usize::try_from(device?).ok()?;
        self.categories.get(i)?.as_ref().map(|(_, c)| *c)
    }

    fn emit(&mut self, devices: &DeviceTable, out: &mut Vec<Event>) {
        for a in self.engine.drain_alerts() {
            out.push(to_event(&a, devices));
        }
    }
}

/// The device's name for sentences: hostname, else its label.
fn device_name(devices: &DeviceTable, id: u32) -> Option<(String, String)> {
    let d = devices.get(id)?;
    let label = d.label();
    let name = match (d.hostname(), d.ips.iter().find(|ip| ip.is_ipv4())) {
        (Some(h), Some(ip)) => format!("{h} ({ip})"),
        (Some(h), None) => h.to_string(),
        (None, Some(ip)) => ip.to_string(),
        (None, None) => label.clone(),
    };
    Some((name, label))
}

fn to_event(a: &AnomalyAlert, devices: &DeviceTable) -> Event {
    let (name, label) = device_name(devices, a.device)
        .unwrap_or_else(|| ("Unattributed traffic".to_string(), String::new()));
    // The engine says "Device N"; people know the device by name.
    let explanation = match a.explanation.split_once(" behaved unlike ") {
        Some((_, rest)) => format!("{name} behaved unlike {rest}"),
        None => a.explanation.clone(),
    };
    let unlike = match &a.judged_by_category {
        Some(c) => format!("a normal {c} (it is new, and judged by its category)"),
        None => "its normal".to_string(),
    };
    let most = explanation
        .split_once(". Most unusual: ")
        .map(|(_, r)| r.split(". Also:").next().unwrap_or(r).trim_end_matches('.'))
        .unwrap_or("");
    let summary = if most.is_empty() {
        format!("{name} behaved unlike {unlike}, for {} packets.", a.packets)
    } else {
        format!("{name} behaved unlike {unlike}: {most}.")
    };
    let mut evidence: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    evidence.insert("peak_score".into(), serde_json::json!(a.peak_score));
    evidence.insert("threshold".into(), serde_json::json!(a.threshold));
    evidence.insert("anomalous_packets".into(), serde_json::json!(a.packets));
    evidence.insert("total_packets".into(), serde_json::json!(a.total_packets));
    evidence.insert("explanation".into(), serde_json::json!(explanation));
    // Which normal judged it: the device's own, or its category's while the
    // device was still in its own learning period.
    match &a.judged_by_category {
        Some(c) => {
            evidence.insert("baseline".into(), serde_json::json!("category"));
            evidence.insert("category".into(), serde_json::json!(c));
        }
        None => {
            evidence.insert("baseline".into(), serde_json::json!("device"));
        }
    }
    evidence.insert(
        "top_features".into(),
        serde_json::json!(a
            .top_features
            .iter()
            .map(|f| serde_json::json!({"name": f.name, "value": f.value, "normal": f.baseline}))
            .collect::<Vec<_>>()),
    );
    let ratio = if a.threshold > 0.0 {
        a.peak_score / a.threshold
    } else {
        1.0
    };
    let (first, last) = (Timestamp(a.start_micros), Timestamp(a.end_micros));
    let alert = Alert {
        category: AlertCategory::Anomaly,
        signature: "behaviour-anomaly".into(),
        severity: if ratio >= 10.0 { 2 } else { 3 },
        confidence: (1.0 - 1.0 / ratio.max(1.0)).clamp(0.0, 0.99),
        summary,
        evidence,
        devices: if label.is_empty() {
            vec![]
        } else {
            vec![label]
        },
        attacker: Some(a.peak_src),
        victims: vec![a.peak_dst],
        first_seen: first,
        last_seen: last,
        count: a.packets,
        detector: "behaviour".into(),
    };
    Event::alert(last, alert).with_endpoints(Some((a.peak_src, 0)), Some((a.peak_dst, 0)), None)
}

impl Detector for BehaviourDetector {
    fn name(&self) -> &'static str {
        "behaviour"
    }

    fn on_packet(&mut self, ctx: &PacketContext<'_, '_>, _out: &mut Vec<Event>) {
        let src_mac = ctx.pkt.link.src.map(|m| m.0).unwrap_or([0; 6]);
        let device = ctx.src_device.unwrap_or(u32::MAX);
        let obs = if let Some(ip) = ctx.pkt.ip() {
            let (src_port, dst_port) = ctx.pkt.transport.ports();
            PacketObs {
                ts_micros: ctx.pkt.ts.0,
                src_mac,
                src_ip: ip.src,
                dst_ip: ip.dst,
                src_port,
                dst_port,
                proto: ip.proto,
                len: ctx.pkt.wire_len,
                tcp_flags: ctx.pkt.tcp().map(|t| t.flags).unwrap_or(0),
                device,
            }
        } else if let Net::Arp(arp) = &ctx.pkt.net {
            PacketObs {
                ts_micros: ctx.pkt.ts.0,
                src_mac,
                src_ip: IpAddr::V4(arp.sender_ip),
                dst_ip: IpAddr::V4(arp.target_ip),
                src_port: 0,
                dst_port: 0,
                proto: PROTO_ARP,
                len: ctx.pkt.wire_len,
                tcp_flags: 0,
                device,
            }
        } else {
            return;
        };
        // A DHCP client message's hardware address (DISCOVER, REQUEST).
        let dhcp_client_mac = ctx.app.iter().find_map(|e| match e {
            AppEvent::Dhcp(d) if matches!(d.msg_type, 1 | 3) => Some(d.client_mac),
            _ => None,
        });
        if self.gateway_mac.is_none() {
            self.gateway_mac = off_lan_next_hop(ctx.pkt, ctx.devices.scope());
        }
        let contradicted_dns = if ctx.app.is_empty() {
            None
        } else {
            self.contradicted_dns(ctx)
        };
        let hints = PacketHints {
            category: self.category_of(ctx.src_device),
            dhcp_client_mac,
            contradicted_dns,
        };
        let s = self.engine.process_with(&obs, &hints);
        if let Some(hook) = self.on_score.as_mut() {
            hook(&ScoreRow {
                ts: ctx.pkt.ts,
                score: s.score,
                threshold: s.threshold,
                src: obs.src_ip,
                dst: obs.dst_ip,
                device: obs.device,
                phase: s.phase,
                src_mac,
            });
        }
    }

    fn on_tick(&mut self, now: Timestamp, devices: &DeviceTable, out: &mut Vec<Event>) {
        self.refresh_categories(devices);
        self.engine.poll(now.0);
        self.emit(devices, out);
    }

    fn finish(&mut self, _now: Timestamp, devices: &DeviceTable, out: &mut Vec<Event>) {
        self.engine.finish();
        self.emit(devices, out);
        if let Some(hook) = self.on_finish.take() {
            hook(&self.engine);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ward_core::devices::DeviceConfig;

    /// Ethernet + IPv4 + UDP from `mac` / 192.168.1.`host`.
    fn frame(mac: [u8; 6], host: u8) -> Vec<u8> {
        let mut f = vec![0x02, 0, 0, 0, 0, 0x01];
        f.extend_from_slice(&mac);
        f.extend_from_slice(&[0x08, 0x00]);
        let ip = [
            0x45, 0, 0, 29, 0, 0, 0x40, 0, 64, 17, 0, 0, 192, 168, 1, host, 192, 168, 1, 1,
        ];
        f.extend_from_slice(&ip);
        f.extend_from_slice(&[0x30, 0x39, 0x00, 0x35, 0, 9, 0, 0, b'x']);
        f
    }

    fn observe(t: &mut DeviceTable, mac: [u8; 6], host: u8, ts: i64) -> DeviceId {
        let f = frame(mac, host);
        let p = ward_core::decode::decode(
            Timestamp(ts),
            ward_core::decode::linktype::ETHERNET,
            &f,
            f.len() as u32,
        );
        t.observe(&p).0.expect("the sender is a device")
    }

    /// A DNS answer from `mac` / `src` to 192.168.1.20, as the DNS parser
    /// reports it: query `id` for `name`, answered with `addr`.
    fn answer(
        mac: [u8; 6],
        src: [u8; 4],
        id: u16,
        name: &str,
        addr: [u8; 4],
    ) -> (Vec<u8>, AppEvent) {
        let b = etherparse::PacketBuilder::ethernet2(mac, [0x02, 0, 0, 0, 0, 0x20])
            .ipv4(src, [192, 168, 1, 20], 64)
            .udp(53, 40_000);
        let mut f = Vec::new();
        b.write(&mut f, b"answer").unwrap();
        let ev = AppEvent::Dns(ward_proto::DnsSummary {
            id,
            response: true,
            rcode: 0,
            mdns: false,
            queries: vec![name.to_string()],
            answers: vec![(name.to_string(), IpAddr::from(addr))],
        });
        (f, ev)
    }

    /// What the behaviour detector hands the model for each of `answers`,
    /// 100 µs apart, on a LAN whose router (192.168.1.1) and second
    /// resolver (192.168.1.2) the inventory knows, and whose devices reach
    /// the internet through the router's MAC.
    fn hand_on(answers: &[(Vec<u8>, AppEvent)]) -> Vec<Option<ContradictedAnswer>> {
        let det = BehaviourDetector::new(AnomalyConfig::default()).unwrap();
        hand_on_to(det, answers, 100)
    }

    /// [`hand_on`] with a given detector and `gap_us` between the answers.
    fn hand_on_to(
        mut det: BehaviourDetector,
        answers: &[(Vec<u8>, AppEvent)],
        gap_us: i64,
    ) -> Vec<Option<ContradictedAnswer>> {
        let mut t = DeviceTable::new(DeviceConfig::default(), 1);
        observe(&mut t, ROUTER, 1, 1_000_000);
        observe(&mut t, PIHOLE, 2, 1_000_000);
        // A device's packet to the internet: the router is the next hop.
        let out = etherparse::PacketBuilder::ethernet2([0x02, 0, 0, 0, 0, 0x20], ROUTER)
            .ipv4([192, 168, 1, 20], [93, 184, 216, 34], 64)
            .tcp(40_001, 443, 1, 64_240);
        let mut f = Vec::new();
        out.write(&mut f, b"").unwrap();
        let p = ward_core::decode::decode(Timestamp(1_000_500), 1, &f, f.len() as u32);
        if det.gateway_mac.is_none() {
            det.gateway_mac = off_lan_next_hop(&p, &ward_core::scope::LocalScope::default());
        }
        answers
            .iter()
            .enumerate()
            .map(|(i, (frame, ev))| {
                let ts = Timestamp(2_000_000 + i as i64 * gap_us);
                let p = ward_core::decode::decode(ts, 1, frame, frame.len() as u32);
                t.observe(&p);
                let app = std::slice::from_ref(ev);
                let ctx = PacketContext {
                    pkt: &p,
                    outer: None,
                    flow: None,
                    dir: None,
                    new_flow: false,
                    ordinary: false,
                    app,
                    src_device: None,
                    dst_device: None,
                    devices: &t,
                    reveal_secrets: false,
                };
                det.contradicted_dns(&ctx)
            })
            .collect()
    }

    const ROUTER: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
    const PIHOLE: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
    const FORGER: [u8; 6] = [0x02, 0, 0, 0, 0, 0x66];
    const ROUTER_IP: [u8; 4] = [192, 168, 1, 1];
    const PIHOLE_IP: [u8; 4] = [192, 168, 1, 2];

    /// The lab's dns-spoof: the forger answers under the router's address,
    /// before or after the router; the forged address goes to the model
    /// with whichever answer reveals the race.
    #[test]
    fn a_forged_dns_answer_hands_its_addresses_to_the_model_in_either_order() {
        let real = answer(ROUTER, ROUTER_IP, 7, "www.apple.com", [203, 0, 113, 22]);
        let forged = answer(FORGER, ROUTER_IP, 7, "www.apple.com", [192, 168, 1, 66]);
        let expect = Some(ContradictedAnswer {
            client: IpAddr::from([192, 168, 1, 20]),
            addrs: [Some(IpAddr::from([192, 168, 1, 66])), None, None, None],
        });
        for pair in [[forged.clone(), real.clone()], [real, forged]] {
            assert_eq!(hand_on(&pair), [None, expect]);
        }
    }

    /// The race window is the user's `spoofing.dns_race_secs`: answers 3 s
    /// apart are a race at the default 5 s and none at 2 s.
    #[test]
    fn the_race_window_is_configurable() {
        let real = answer(ROUTER, ROUTER_IP, 7, "www.apple.com", [203, 0, 113, 22]);
        let forged = answer(FORGER, ROUTER_IP, 7, "www.apple.com", [192, 168, 1, 66]);
        let pair = [forged, real];
        let new = || BehaviourDetector::new(AnomalyConfig::default()).unwrap();
        let at_default = hand_on_to(new(), &pair, 3_000_000);
        assert!(at_default[1].is_some(), "{at_default:?}");
        assert_eq!(
            hand_on_to(new().dns_race_secs(2), &pair, 3_000_000),
            [None, None]
        );
    }

    /// Two genuine resolvers answering one query with different CDN
    /// addresses (the router and a public resolver, or the router and a
    /// Pi-hole; DNS load balancing) are a race for the signature check, but
    /// nothing says either answer is forged: nothing reaches the model.
    #[test]
    fn two_genuine_resolvers_that_disagree_hand_nothing_on() {
        let router = answer(ROUTER, ROUTER_IP, 9, "cdn.example.com", [203, 0, 113, 1]);
        let public = answer(
            ROUTER,
            [8, 8, 8, 8],
            9,
            "cdn.example.com",
            [198, 51, 100, 7],
        );
        let pihole = answer(PIHOLE, PIHOLE_IP, 9, "cdn.example.com", [198, 51, 100, 9]);
        assert_eq!(hand_on(&[router.clone(), public.clone()]), [None, None]);
        assert_eq!(hand_on(&[public, router.clone()]), [None, None]);
        assert_eq!(hand_on(&[router, pihole]), [None, None]);
    }

    /// A device id the inventory reuses for a new, unidentified device does
    /// not carry the category of the device that held it before.
    #[test]
    fn a_reused_device_id_does_not_keep_the_old_category() {
        let cfg = DeviceConfig {
            max_devices: 1,
            ..DeviceConfig::default()
        };
        let mut t = DeviceTable::new(cfg, 1);
        let mut det = BehaviourDetector::new(AnomalyConfig::default()).unwrap();
        let a = observe(&mut t, [0x02, 0, 0, 0, 0, 0x0a], 10, 1_000_000);
        t.get_mut(a).unwrap().category = Some("camera".to_string());
        det.refresh_categories(&t);
        assert!(det.category_of(Some(a)).is_some());
        // A second device evicts the first and takes its slot.
        let b = observe(&mut t, [0x02, 0, 0, 0, 0, 0x0b], 11, 2_000_000);
        assert_eq!(a, b, "the slot is reused");
        assert!(t.get(b).unwrap().category.is_none());
        det.refresh_categories(&t);
        assert_eq!(det.category_of(Some(b)), None);
    }
}
