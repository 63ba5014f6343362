//! ward's attack detectors.
//!
//! One [`Detector`] (`attacks`) runs seven families of checks over the
//! engine's packets and flows and reports *incidents*, not packets:
//!
//! | module | category | signatures |
//! |---|---|---|
//! | [`recon`] | `recon` | `tcp-port-scan`, `udp-port-scan`, `tcp-host-sweep`, `udp-host-sweep`, `icmp-ping-sweep`, `arp-sweep`, `tcp-stealth-scan`, `nmap-os-fingerprint`, `mirai-telnet-scan`, `scan-tool-http-probe`, `scan-tool-service-probe`, `sctp-port-scan`, `sctp-host-sweep`, `ip-protocol-scan`, `tiny-fragment-evasion` |
//! | [`bruteforce`] | `bruteforce` | `<proto>-bruteforce`, `<proto>-bruteforce-success` (telnet, ssh, ftp, http, http-form, mqtt, rtsp, vnc, mail, login), `snmp-community-guessing` (also `-success`), `distributed-bruteforce` (many clients guessing one server together, or one guess per bot) |
//! | [`dos`], [`dos_shapes`] | `dos` | `tcp-syn-flood`, `tcp-ack-rst-flood`, `udp-flood`, `icmp-flood` (each also `-spoofed`), `http-flood`, `udp-reflection-amplification`, `tcp-synack-reflection`, `ip-protocol-flood` (also `-spoofed`), `dns-water-torture`, `*-carpet-bombing` (one per flood kind), `slow-http-dos`, `tcp-connection-exhaustion`, `tcp-junk-flood`, `tcp-stomp-flood`, `ip-fragment-flood`, `dhcp-flood` (from [`spoofing`]) |
//! | [`botnet`] | `botnet` | `mirai-telnet-infection`, `mirai-c2-session`, `c2-heartbeat`, `irc-c2`, and `infected-device-scanning` / `infected-device-flooding` (added here) |
//! | [`spoofing`] | `spoofing` | `arp-spoofing`, `gratuitous-arp-storm`, `rogue-dhcp-server`, `dhcp-starvation`, `dns-spoofing` |
//! | [`exploit`] | `exploit` | the rule ids of `data/exploits.toml` (IoT exploits; `web-path-traversal`, `web-command-injection`, `web-sql-injection`, `web-xss`, `web-shell-upload`) |
//! | [`webscan`] | `recon` | `web-vulnerability-scan` |
//!
//! Guarantees:
//! - **One alert per attack.** Each family reports a threshold crossing
//!   once per window, and [`table::Incidents`] then suppresses the same
//!   (signature, attacker, victim) until it has been quiet for
//!   `incident_quiet_secs`. Alerts carry the counts, rates and span at
//!   detection time.
//! - **Bounded state.** Every table is a [`table::CappedMap`] of at most
//!   `max_tracked` entries; spoofed floods churn them, never grow them.
//! - **Cheap per packet.** No allocation on the common path; a handful of
//!   hash lookups; work proportional to a packet's application events.
//! - **Packet time only**, and deterministic: the same capture gives the
//!   same alerts.
//!
//! A LAN device that scans or floods after it was itself the victim of a
//! successful login guess, an exploit or an infection (or that scans the way
//! Mirai does) is also reported as a probable bot (`botnet`).
#![forbid(unsafe_code)]

pub mod alert;
pub mod behaviour;
pub mod botnet;
pub mod bruteforce;
pub mod config;
pub mod dns_race;
pub mod dos;
pub mod dos_shapes;
pub mod exploit;
pub mod ml;
pub mod recon;
pub mod spoofing;
pub mod table;
pub mod webscan;

use std::net::IpAddr;
use std::path::PathBuf;

use ward_core::decode::Net;
use ward_core::devices::DeviceTable;
use ward_core::{
    AlertCategory, Detector, Event, FlowEndContext, MacAddr, PacketContext, Timestamp,
};

use crate::alert::{who, Draft};
pub use crate::config::Config;
use crate::table::{CappedMap, IncidentKey, Incidents};

/// Why the detectors could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid [detectors.attacks] settings: {0}")]
    Settings(#[from] serde_json::Error),
    #[error("invalid exploit rules in {origin}: {message}")]
    Rules { origin: String, message: String },
    #[error("cannot read exploit rules file {path}: {source}")]
    RulesFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The detectors of this crate, configured from `Config.detectors["attacks"]`
/// (absent: the defaults).
pub fn detectors(
    config: Option<&serde_json::Value>,
) -> Result<Vec<Box<dyn Detector>>, ConfigError> {
    let cfg: Config = match config {
        Some(v) => serde_json::from_value(v.clone())?,
        None => Config::default(),
    };
    Ok(vec![Box::new(Attacks::new(cfg)?)])
}

/// Everything in one detector, so that one family's alert can inform
/// another (a compromised device that starts scanning is a bot).
pub struct Attacks {
    recon: recon::Recon,
    brute: bruteforce::Bruteforce,
    dos: dos::Dos,
    shapes: dos_shapes::DosShapes,
    botnet: botnet::Botnet,
    spoof: spoofing::Spoofing,
    exploit: exploit::Exploit,
    webscan: webscan::WebScan,
    incidents: Incidents,
    /// Devices that lost a password guess, got exploited or infected: when.
    compromised: CappedMap<IpAddr, Timestamp>,
    /// Address each MAC first announced by ARP (to name senders of spoofed packets).
    mac_ip: CappedMap<MacAddr, IpAddr>,
    drafts: Vec<Draft>,
}

impl Attacks {
    pub fn new(cfg: Config) -> Result<Self, ConfigError> {
        let cap = cfg.max_tracked.max(64);
        let rules = exploit::load_rules(
            !cfg.exploit.no_builtin_rules,
            cfg.exploit.rules_file.as_deref(),
        )?;
        Ok(Attacks {
            recon: recon::Recon::new(cfg.recon, cap),
            brute: bruteforce::Bruteforce::new(cfg.bruteforce, cap),
            shapes: dos_shapes::DosShapes::new(&cfg.dos, cap),
            dos: dos::Dos::new(cfg.dos, cap, cfg.incident_quiet_secs),
            botnet: botnet::Botnet::new(cfg.botnet, cap),
            spoof: spoofing::Spoofing::new(cfg.spoofing, cap),
            exploit: exploit::Exploit::new(rules),
            webscan: webscan::WebScan::new(cap),
            incidents: Incidents::new(cap, cfg.incident_quiet_secs),
            compromised: CappedMap::new(1024),
            mac_ip: CappedMap::new(cap),
            drafts: Vec::new(),
        })
    }

    /// Turn proposed alerts into events: suppress repeats, name senders by
    /// MAC, link compromised devices that turn attacker.
    fn publish(&mut self, devices: &DeviceTable, out: &mut Vec<Event>) {
        let mut i = 0;
        while i < self.drafts.len() {
            let mut d = self.drafts[i].clone();
            i += 1;
            if d.attacker.is_none() {
                if let Some(ip) = d.attacker_mac.and_then(|m| self.mac_ip.get(&m).copied()) {
                    d.attacker = Some(ip);
                    let mac = d.attacker_mac.map(|m| m.to_string()).unwrap_or_default();
                    d.summary = format!("{} (MAC {mac}): {}", who(devices, ip), d.summary);
                }
            }
            let key = IncidentKey::new(
                &d.signature,
                d.attacker,
                if d.per_victim { d.victim() } else { None },
            );
            if !self.incidents.is_new(key, d.last_seen) {
                continue;
            }
            self.follow_up(&d, devices);
            out.push(d.into_event(devices));
        }
        self.drafts.clear();
    }

    /// What one alert implies for others.
    fn follow_up(&mut self, d: &Draft, devices: &DeviceTable) {
        let now = d.last_seen;
        let took_over = match d.category {
            AlertCategory::Exploit => true,
            AlertCategory::Bruteforce => d.signature.ends_with("-success"),
            AlertCategory::Botnet => d.signature == "mirai-telnet-infection",
            _ => false,
        };
        if took_over {
            for v in d.victims.iter().take(4) {
                *self.compromised.entry(*v, || now) = now;
            }
            return;
        }
        let Some(attacker) = d.attacker else { return };
        if !matches!(d.category, AlertCategory::Recon | AlertCategory::Dos)
            || !devices.is_local(attacker)
        {
            return;
        }
        let mirai = d.signature == "mirai-telnet-scan";
        let since = self.compromised.get(&attacker).copied();
        if since.is_none() && !mirai {
            return;
        }
        let (sig, doing) = if d.category == AlertCategory::Recon {
            ("infected-device-scanning", "started scanning other devices")
        } else {
            ("infected-device-flooding", "started flooding")
        };
        let mut b = Draft::new(AlertCategory::Botnet, sig, "botnet", now);
        b.attacker = Some(attacker);
        b.victims = d.victims.clone();
        b.victim_port = d.victim_port;
        b.proto = d.proto;
        b.per_victim = false;
        b.first_seen = d.first_seen;
        b.count = d.count;
        b.severity = 1;
        b.confidence = if mirai { 0.95 } else { 0.85 };
        b = b
            .ev("behaviour", d.signature.to_string())
            .ev("local_device", true);
        let why = match since {
            Some(t) => {
                b = b.ev("compromised_at", t.to_string());
                "after it was broken into"
            }
            None => "using Mirai's scanner",
        };
        let target = d
            .victims
            .first()
            .map(|v| format!(" {}", who(devices, *v)))
            .unwrap_or_default();
        b.summary = format!(
            "Your device {} {doing}{} {why}: it is probably part of a botnet now.",
            who(devices, attacker),
            if d.category == AlertCategory::Dos {
                target
            } else {
                String::new()
            },
        );
        // Queued behind the current drafts; `publish` applies the incident rule.
        self.drafts.push(b);
    }
}

impl Detector for Attacks {
    fn name(&self) -> &'static str {
        "attacks"
    }

    fn on_packet(&mut self, ctx: &PacketContext<'_, '_>, out: &mut Vec<Event>) {
        if let Net::Arp(arp) = &ctx.pkt.net {
            if arp.sender_mac.is_station() && !arp.sender_ip.is_unspecified() {
                // First address wins: a poisoner claims others' addresses later.
                self.mac_ip
                    .entry(arp.sender_mac, || IpAddr::V4(arp.sender_ip));
            }
        }
        self.recon.on_packet(ctx, &mut self.drafts);
        self.dos.on_packet(ctx, &mut self.drafts);
        // STOMP counts mid-connection data segments: ordinary packets too.
        self.shapes.on_packet(ctx, &mut self.drafts);
        self.spoof.on_packet(ctx, &mut self.drafts);
        if !ctx.app.is_empty() {
            self.brute.on_packet(ctx, &mut self.drafts);
            self.exploit.on_packet(ctx, &mut self.drafts);
            self.webscan.on_packet(ctx, &mut self.drafts);
        } else if self.exploit.awaits_body(ctx.pkt.ts) {
            // The body of a request the HTTP parser rejected (exploit rules read it).
            self.exploit.on_body(ctx, &mut self.drafts);
        }
        self.botnet.on_packet(ctx, &mut self.drafts);
        if !self.drafts.is_empty() {
            self.publish(ctx.devices, out);
        }
    }

    fn on_flow_end(&mut self, ctx: &FlowEndContext<'_>, out: &mut Vec<Event>) {
        self.brute.on_flow_end(ctx, &mut self.drafts);
        if !self.drafts.is_empty() {
            self.publish(ctx.devices, out);
        }
    }
}
