//! Spoofing on the LAN: ARP poisoning and gratuitous-ARP storms, rogue
//! DHCP servers, DHCP starvation, and DNS answers that contradict each other.
//!
//! - **ARP.** The IP → MAC binding each address announced is remembered
//!   (capped). A *different* MAC claiming an address whose binding is still
//!   current is a conflict; DHCP handing an old address to a new device is
//!   not (the old binding has gone stale). A conflict is an alert when the
//!   address was the gateway's, when one MAC has taken over addresses of two
//!   or more others (the two-way man-in-the-middle of `arpspoof -r`,
//!   ettercap, bettercap), or when the address flip-flops.
//! - **Rogue DHCP.** The first DHCP server seen is taken as the network's;
//!   OFFER/ACKs from another server id *and* MAC are a rogue server.
//! - **Starvation.** DISCOVER/REQUESTs with many distinct client MACs in a
//!   short window.
//! - **DNS race** ([`crate::dns_race`], shared with the behaviour model).
//!   Two answers to the same client, query id and name that share no
//!   address, within seconds, are an alert in two cases: a sender is shown
//!   not to own the answer's source address (its ARP binding, or the
//!   router's MAC for an off-LAN resolver), and that sender is the forger;
//!   or both answers carry the source address of the one resolver asked,
//!   which answers a query once: the forger is the sender that does not own
//!   it, else the first (a forger must win the race to be of use), and when
//!   both came through the router's MAC it is beyond the router and is not
//!   named. Two *different* resolvers answering differently, each from its
//!   owner (a client asking its router and a public resolver or a Pi-hole
//!   with one query id, at once or after a timeout), are no alert.

use std::net::{IpAddr, Ipv4Addr};

use ward_core::decode::Net;
use ward_core::devices::DeviceKey;
use ward_core::scope::LocalScope;
use ward_core::{AlertCategory, MacAddr, PacketContext, Timestamp};
use ward_proto::{AppEvent, DhcpSummary, DnsSummary};

use crate::alert::{secs, span, who, Draft};
use crate::config::SpoofingConfig;
use crate::dns_race::{off_lan_next_hop, DnsAnswer, DnsRace};
use crate::table::{CappedMap, Distinct};

const NAME: &str = "spoofing";
const MAX_DHCP_SERVERS: usize = 8;

#[derive(Clone, Copy)]
struct Binding {
    mac: MacAddr,
    /// The MAC that held the address before any conflict (its owner).
    owner: MacAddr,
    last: Timestamp,
    conflicts: u32,
    first_conflict: Timestamp,
}

#[derive(Clone, Copy)]
struct Claimant {
    stolen: Distinct,
    first: Timestamp,
    garp_window: Timestamp,
    garps: u32,
}

#[derive(Clone, Copy)]
struct DhcpServer {
    id: Ipv4Addr,
    mac: Option<MacAddr>,
    first: Timestamp,
    last: Timestamp,
    answers: u32,
}

pub struct Spoofing {
    cfg: SpoofingConfig,
    bindings: CappedMap<Ipv4Addr, Binding>,
    claimants: CappedMap<MacAddr, Claimant>,
    /// Next hop for off-LAN traffic: the MAC local devices send it to.
    gateway_mac: Option<MacAddr>,
    gateway_ips: [Option<Ipv4Addr>; 4],
    servers: Vec<DhcpServer>,
    dhcp_start: Timestamp,
    dhcp_clients: Distinct,
    dhcp_senders: Distinct,
    dhcp_msgs: u32,
    /// Client messages in the current 10-second flood window.
    flood_start: Timestamp,
    flood_msgs: u32,
    dhcp_one_sender: Option<MacAddr>,
    dhcp_many_senders: bool,
    /// Client messages from 0.0.0.0 whose client hardware address is not
    /// the frame's sender (a NIC asking in others' names: starvation tools;
    /// relay agents send from their own address), and a majority vote over
    /// their sender MACs.
    dhcp_foreign: u32,
    dhcp_foreign_top: Option<MacAddr>,
    dhcp_foreign_votes: u32,
    dhcp_reported: bool,
    dhcp_flood_reported: bool,
    dns: DnsRace,
}

impl Spoofing {
    pub fn new(cfg: SpoofingConfig, cap: usize) -> Self {
        let dns = DnsRace::new(cap, cfg.dns_race_secs);
        Spoofing {
            cfg,
            bindings: CappedMap::new(cap),
            claimants: CappedMap::new(cap / 4),
            gateway_mac: None,
            gateway_ips: [None; 4],
            servers: Vec::new(),
            dhcp_start: Timestamp(i64::MIN),
            dhcp_clients: Distinct::default(),
            dhcp_senders: Distinct::default(),
            dhcp_msgs: 0,
            flood_start: Timestamp(i64::MIN),
            flood_msgs: 0,
            dhcp_one_sender: None,
            dhcp_many_senders: false,
            dhcp_foreign: 0,
            dhcp_foreign_top: None,
            dhcp_foreign_votes: 0,
            dhcp_reported: false,
            dhcp_flood_reported: false,
            dns,
        }
    }

    /// Whether a DNS answer came from the MAC that owns its source address
    /// (by ARP; a resolver outside `scope` through the gateway): `None`
    /// when that cannot be told.
    fn genuine(&self, a: &DnsAnswer, scope: &LocalScope) -> Option<bool> {
        let bindings = &self.bindings;
        a.sent_by_owner(
            |ip| match ip {
                IpAddr::V4(v4) => bindings.get(&v4).map(|b| b.owner),
                IpAddr::V6(_) => None,
            },
            self.gateway_mac,
            scope,
        )
    }

    fn is_gateway(&self, ip: Ipv4Addr, old_mac: MacAddr) -> bool {
        self.gateway_ips.contains(&Some(ip)) || self.gateway_mac == Some(old_mac)
    }

    pub fn on_packet(&mut self, ctx: &PacketContext<'_, '_>, out: &mut Vec<Draft>) {
        let pkt = ctx.pkt;
        match &pkt.net {
            Net::Arp(arp) => self.arp(ctx, arp, out),
            Net::Ip(_) => {
                // Learn the gateway's MAC from traffic leaving the LAN.
                if self.gateway_mac.is_none() {
                    self.gateway_mac = off_lan_next_hop(pkt, ctx.devices.scope());
                }
                for ev in ctx.app {
                    match ev {
                        AppEvent::Dhcp(d) => self.dhcp(ctx, d, out),
                        AppEvent::Dns(d) => self.dns(ctx, d, out),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }

    fn arp(
        &mut self,
        ctx: &PacketContext<'_, '_>,
        arp: &ward_core::decode::Arp,
        out: &mut Vec<Draft>,
    ) {
        let now = ctx.pkt.ts;
        let mac = arp.sender_mac;
        if arp.sender_ip.is_unspecified() || !mac.is_station() || !matches!(arp.op, 1 | 2) {
            return;
        }
        let ip = arp.sender_ip;
        let ttl = (self.cfg.arp_binding_secs as i64).saturating_mul(1_000_000);

        // Gratuitous ARP (sender = target address) storm per MAC.
        if arp.sender_ip == arp.target_ip {
            let c = self.claimants.entry(mac, || Claimant {
                stolen: Distinct::default(),
                first: now,
                garp_window: now,
                garps: 0,
            });
            if now.since(c.garp_window) > 10_000_000 {
                c.garp_window = now;
                c.garps = 0;
            }
            c.garps += 1;
            if c.garps == self.cfg.garp_per_10s.max(2) {
                let mut d = Draft::new(AlertCategory::Spoofing, "gratuitous-arp-storm", NAME, now);
                d.attacker_mac = Some(mac);
                d.devices.push(mac.to_string());
                d.victims = vec![IpAddr::V4(ip)];
                d.first_seen = c.garp_window;
                d.count = u64::from(c.garps);
                d.severity = 3;
                d.confidence = 0.7;
                d = d.ev("gratuitous_arps", c.garps).ev("mac", mac.to_string());
                d.summary = format!(
                    "The device {mac} sent {} unsolicited ARP announcements for {ip} in 10 seconds, a sign of ARP cache poisoning.",
                    c.garps
                );
                out.push(d);
            }
        }

        let b = self.bindings.entry(ip, || Binding {
            mac,
            owner: mac,
            last: now,
            conflicts: 0,
            first_conflict: now,
        });
        if b.mac == mac {
            b.last = now;
            return;
        }
        let old = b.owner;
        let current = now.since(b.last) <= ttl;
        b.mac = mac;
        b.last = now;
        if !current {
            b.conflicts = 0;
            b.owner = mac;
            return; // the address moved on after the old owner left
        }
        if mac == b.owner {
            return; // the owner taking its address back (a poisoner's clean-up)
        }
        if b.conflicts == 0 {
            b.first_conflict = now;
        }
        b.conflicts += 1;
        let conflicts = b.conflicts;
        let first_conflict = b.first_conflict;
        let gateway = self.is_gateway(ip, old);
        let c = self.claimants.entry(mac, || Claimant {
            stolen: Distinct::default(),
            first: now,
            garp_window: now,
            garps: 0,
        });
        c.stolen.insert(&ip);
        let stolen = c.stolen.estimate();
        let claim_first = c.first;
        if !(gateway || stolen >= 2 || conflicts >= self.cfg.arp_conflicts.max(1)) {
            return;
        }
        let mut d = Draft::new(AlertCategory::Spoofing, "arp-spoofing", NAME, now);
        d.attacker_mac = Some(mac);
        d.devices.push(mac.to_string());
        d.per_victim = false;
        d.victims = vec![IpAddr::V4(ip)];
        let target = IpAddr::V4(arp.target_ip);
        if !arp.target_ip.is_unspecified() && arp.target_ip != ip {
            d.victims.push(target);
        }
        d.first_seen = first_conflict.min(claim_first);
        d.count = u64::from(conflicts);
        d.severity = if gateway { 1 } else { 2 };
        d.confidence = if gateway || stolen >= 2 { 0.9 } else { 0.7 };
        d = d
            .ev("claimed_ip", ip.to_string())
            .ev("new_mac", mac.to_string())
            .ev("previous_mac", old.to_string())
            .ev("conflicts", conflicts)
            .ev("addresses_taken_over", stolen)
            .ev("gateway", gateway);
        let what = if gateway {
            format!("your router's address {ip}")
        } else {
            format!("the address {ip} of {}", who(ctx.devices, IpAddr::V4(ip)))
        };
        d.summary = format!(
            "The device {mac} is claiming {what}, which belongs to {old}: an ARP-poisoning attack to intercept traffic.",
        );
        out.push(d);
    }

    fn dhcp(&mut self, ctx: &PacketContext<'_, '_>, m: &DhcpSummary, out: &mut Vec<Draft>) {
        let now = ctx.pkt.ts;
        let src_mac = ctx.pkt.link.src;
        let src_ip = ctx.pkt.ip().map(|i| i.src);
        for r in &m.routers {
            if !self.gateway_ips.contains(&Some(*r)) {
                if let Some(slot) = self.gateway_ips.iter_mut().find(|s| s.is_none()) {
                    *slot = Some(*r);
                }
            }
        }
        match m.msg_type {
            // OFFER, ACK, NAK; or a server's message whose type the snap
            // length cut off (its sender is still the server).
            t @ (0 | 2 | 5 | 6) if t != 0 || (m.cut && m.op == 2) => {
                let id = m.server_id.or(match src_ip {
                    Some(IpAddr::V4(v4)) => Some(v4),
                    _ => None,
                });
                let Some(id) = id else { return };
                if let Some(s) = self
                    .servers
                    .iter_mut()
                    .find(|s| s.id == id || (src_mac.is_some() && s.mac == src_mac))
                {
                    s.last = now;
                    s.answers += 1;
                    return;
                }
                let first = self.servers.first().copied();
                if self.servers.len() < MAX_DHCP_SERVERS {
                    self.servers.push(DhcpServer {
                        id,
                        mac: src_mac,
                        first: now,
                        last: now,
                        answers: 1,
                    });
                }
                let Some(legit) = first else { return };
                // A cut reply without its server id (option 54) names only
                // its sender, which can be any relay agent when there is no
                // MAC (raw IP) or the reply is on a relay's leg (to or from
                // its giaddr; each agent has its own MAC): enough to know
                // a server, not a rogue one.
                let relay = IpAddr::V4(m.relay);
                let relay_leg = !m.relay.is_unspecified()
                    && ctx
                        .pkt
                        .ip()
                        .is_some_and(|i| i.src == relay || i.dst == relay);
                if m.cut && m.server_id.is_none() && (src_mac.is_none() || relay_leg) {
                    return;
                }
                let mut d = Draft::new(AlertCategory::Spoofing, "rogue-dhcp-server", NAME, now);
                d.attacker = Some(IpAddr::V4(id));
                d.attacker_port = 67;
                d.attacker_mac = src_mac;
                d.proto = Some(17);
                d.per_victim = false;
                if let Some(client) = ctx
                    .devices
                    .find(DeviceKey::Mac(MacAddr(m.client_mac)))
                    .and_then(|i| ctx.devices.get(i))
                {
                    let v4 = client
                        .ips
                        .iter()
                        .find(|ip| ip.is_ipv4() && ctx.devices.is_local(**ip));
                    if let Some(ip) =
                        v4.or_else(|| client.ips.iter().find(|ip| ctx.devices.is_local(**ip)))
                    {
                        d.victims.push(*ip);
                    }
                    d.devices.push(client.label());
                }
                if let Some(mac) = src_mac {
                    d.devices.push(mac.to_string());
                }
                // A rogue server competing for the same clients hands out
                // addresses of the same network; one on another subnet is
                // as often a device's own set-up network seen by the tap.
                let same_net = m.your_ip.octets()[..2] == legit.id.octets()[..2];
                d.severity = if same_net { 1 } else { 2 };
                d.confidence = if same_net { 0.85 } else { 0.6 };
                let routers: Vec<String> = m.routers.iter().map(|r| r.to_string()).collect();
                let dns: Vec<String> = m.dns_servers.iter().map(|r| r.to_string()).collect();
                d = d
                    .ev("server_id", id.to_string())
                    .ev("known_server", legit.id.to_string())
                    .ev("known_server_since", legit.first.to_string())
                    .ev("offered_ip", m.your_ip.to_string())
                    .ev("offered_router", routers)
                    .ev("offered_dns", dns)
                    .ev("client_mac", MacAddr(m.client_mac).to_string())
                    .ev("same_network", same_net);
                d.summary = format!(
                    "A second DHCP server at {} is handing out network settings (address {}, router {}) next to your network's server {}: clients that take them can be redirected through the attacker.",
                    who(ctx.devices, IpAddr::V4(id)),
                    m.your_ip,
                    m.routers.first().map(|r| r.to_string()).unwrap_or_else(|| "none".into()),
                    legit.id
                );
                out.push(d);
            }
            // Client messages: DISCOVER, REQUEST, DECLINE, RELEASE, INFORM;
            // or a client's message whose type the snap length cut off.
            t @ (0 | 1 | 3 | 4 | 7 | 8) if t != 0 || (m.cut && m.op == 1) => {
                let window = (self.cfg.dhcp_window_secs.max(1) as i64).saturating_mul(1_000_000);
                if now.since(self.dhcp_start) > window {
                    self.dhcp_start = now;
                    self.dhcp_clients.clear();
                    self.dhcp_senders.clear();
                    self.dhcp_msgs = 0;
                    self.dhcp_one_sender = src_mac;
                    self.dhcp_many_senders = false;
                    self.dhcp_foreign = 0;
                    self.dhcp_foreign_top = None;
                    self.dhcp_foreign_votes = 0;
                    self.dhcp_reported = false;
                    self.dhcp_flood_reported = false;
                }
                self.dhcp_msgs += 1;
                if now.since(self.flood_start) > 10_000_000 {
                    self.flood_start = now;
                    self.flood_msgs = 0;
                }
                self.flood_msgs += 1;
                if matches!(m.msg_type, 1 | 3) || m.msg_type == 0 {
                    self.dhcp_clients.insert(&m.client_mac);
                }
                if let Some(mac) = src_mac {
                    self.dhcp_senders.insert(&mac);
                    if self.dhcp_one_sender != Some(mac) {
                        self.dhcp_many_senders = true;
                    }
                    let unaddressed = ctx.pkt.ip().is_some_and(|ip| ip.src.is_unspecified());
                    if unaddressed && m.client_mac != mac.0 {
                        self.dhcp_foreign += 1;
                        if self.dhcp_foreign_votes == 0 {
                            self.dhcp_foreign_top = Some(mac);
                        }
                        if self.dhcp_foreign_top == Some(mac) {
                            self.dhcp_foreign_votes += 1;
                        } else {
                            self.dhcp_foreign_votes -= 1;
                        }
                    }
                }
                let clients = self.dhcp_clients.estimate();
                let starving = clients >= self.cfg.dhcp_clients && !self.dhcp_reported;
                let flooding =
                    self.flood_msgs >= self.cfg.dhcp_messages && !self.dhcp_flood_reported;
                if !(starving || flooding) {
                    return;
                }
                let start = if starving {
                    self.dhcp_start
                } else {
                    self.flood_start
                };
                let msgs = if starving {
                    self.dhcp_msgs
                } else {
                    self.flood_msgs
                };
                let (sig, cat) = if starving {
                    self.dhcp_reported = true;
                    self.dhcp_flood_reported = true;
                    ("dhcp-starvation", AlertCategory::Spoofing)
                } else {
                    self.dhcp_flood_reported = true;
                    ("dhcp-flood", AlertCategory::Dos)
                };
                let mut d = Draft::new(cat, sig, NAME, now);
                d.per_victim = false;
                d.proto = Some(17);
                // One NIC sent everything, or (devices renewing meanwhile)
                // one NIC sent most of the messages made in others' names.
                let sender = if !self.dhcp_many_senders {
                    self.dhcp_one_sender
                } else if self.dhcp_foreign_votes.saturating_mul(2) >= self.dhcp_foreign
                    && self.dhcp_foreign.saturating_mul(2) >= clients
                {
                    self.dhcp_foreign_top
                } else {
                    None
                };
                if let Some(m) = sender {
                    d.attacker_mac = Some(m);
                    d.devices.push(m.to_string());
                }
                if let Some(s) = self.servers.first() {
                    d.victims.push(IpAddr::V4(s.id));
                }
                d.first_seen = start;
                d.count = u64::from(msgs);
                d.severity = 2;
                d.confidence = 0.85;
                d = d
                    .ev("distinct_client_macs", clients)
                    .ev("messages", msgs)
                    .ev("sender_macs", self.dhcp_senders.estimate())
                    .ev("duration_s", secs(start, now));
                d.summary = if starving {
                    format!(
                        "{} different devices asked for an address by DHCP in {}: someone is trying to use up all addresses so real devices cannot join (DHCP starvation).",
                        clients,
                        span(start, now)
                    )
                } else {
                    format!(
                        "{} DHCP requests in {}, far more than devices need: a flood aimed at the DHCP server.",
                        msgs,
                        span(start, now)
                    )
                };
                out.push(d);
            }
            _ => {}
        }
    }

    fn dns(&mut self, ctx: &PacketContext<'_, '_>, m: &DnsSummary, out: &mut Vec<Draft>) {
        let Some(race) = self.dns.observe(ctx, m) else {
            return;
        };
        let Some(name) = m.queries.first() else {
            return;
        };
        let now = ctx.pkt.ts;
        let p = race.earlier;
        // The forged answer is the one whose sender MAC does not own its
        // source address: a LAN resolver's address is bound to its MAC by
        // ARP, a remote one's answers come through the gateway's MAC.
        // With nothing to tell, the first: a forger wins the race to be useful.
        let (odd, shown) = race.forged(|a| self.genuine(a, ctx.devices.scope()));
        let one_resolver = race.same_source();
        if !shown && !one_resolver {
            // Two resolvers, each answering from its own MAC (or nothing
            // shows otherwise): a client asking two servers, not a forgery.
            return;
        }
        let odd = *odd;
        // Both answers through one MAC under one address: the forger is
        // beyond that MAC (the router, for a remote resolver) and unnamed.
        let unnamed = !shown && p.mac == race.later.mac;
        let mut d = Draft::new(AlertCategory::Spoofing, "dns-spoofing", NAME, now);
        if !unnamed {
            d.attacker = if odd.mac.is_some() {
                None
            } else {
                Some(odd.src)
            };
            d.attacker_mac = odd.mac;
            if let Some(m) = odd.mac {
                d.devices.push(m.to_string());
            }
        }
        // Both answers' addresses: which one is forged is only known when
        // a sender is shown not to own its address.
        let listed = |a: &DnsAnswer| -> Vec<String> {
            a.addrs()
                .iter()
                .flatten()
                .map(|ip| ip.to_string())
                .collect()
        };
        d.victims = vec![race.client];
        d.proto = Some(17);
        d.severity = 2;
        d.confidence = if shown { 0.85 } else { 0.7 };
        d.first_seen = p.at;
        d.count = 2;
        d = d
            .ev("query", name.clone())
            .ev("dns_id", m.id)
            .ev("first_sender", p.src.to_string())
            .ev("second_sender", race.later.src.to_string())
            .ev("first_addresses", listed(&p))
            .ev("second_addresses", listed(&race.later))
            .ev(
                "evidence",
                if shown {
                    "sender-does-not-own-address"
                } else if unnamed {
                    "one-resolver-answered-twice-through-one-mac"
                } else {
                    "one-resolver-answered-twice"
                },
            );
        let from = if !unnamed {
            String::new()
        } else if ctx.devices.is_local(p.src) {
            format!(" (both from {})", who(ctx.devices, p.src))
        } else {
            format!(
                " (both from {} through your router: the forger is beyond your network)",
                p.src
            )
        };
        d.summary = format!(
            "{} got two different answers for {name} within {}{from}: someone is forging DNS replies to send it to the wrong server.",
            who(ctx.devices, race.client),
            span(p.at, now)
        );
        out.push(d);
    }
}
