//! The event contract: what the engine tells the rest of the world.
//!
//! One JSON object per line (EVE-like NDJSON). Every event has `timestamp`
//! (RFC 3339, UTC, microseconds, packet time) and `event_type`, the common
//! address fields where they apply, and one body named after its type:
//! `flow`, `device`, `alert`, `finding` or `stats`. Documented with real
//! examples in `docs/events.md`. **Extend, don't break:** new optional
//! fields are fine; renaming or retyping a field is not.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::decode::MacAddr;
use crate::time::Timestamp;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    Flow,
    Device,
    Alert,
    Finding,
    Stats,
}

/// One event. Exactly one of the bodies is set, matching `event_type`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub timestamp: Timestamp,
    pub event_type: EventType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src_ip: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dest_ip: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dest_port: Option<u16>,
    /// `TCP`, `UDP`, `ICMP`, `IPv6-ICMP` or the protocol number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proto: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src_mac: Option<MacAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dest_mac: Option<MacAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<FlowRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<Alert>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding: Option<Finding>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<Stats>,
}

impl Event {
    /// An event with only the header set; fill in the addresses and one body.
    pub fn new(timestamp: Timestamp, event_type: EventType) -> Self {
        Event {
            timestamp,
            event_type,
            flow_id: None,
            src_ip: None,
            src_port: None,
            dest_ip: None,
            dest_port: None,
            proto: None,
            src_mac: None,
            dest_mac: None,
            flow: None,
            device: None,
            alert: None,
            finding: None,
            stats: None,
        }
    }

    pub fn alert(timestamp: Timestamp, alert: Alert) -> Self {
        let mut e = Event::new(timestamp, EventType::Alert);
        e.alert = Some(alert);
        e
    }

    pub fn finding(timestamp: Timestamp, finding: Finding) -> Self {
        let mut e = Event::new(timestamp, EventType::Finding);
        e.finding = Some(finding);
        e
    }

    /// Set the address fields.
    pub fn with_endpoints(
        mut self,
        src: Option<(IpAddr, u16)>,
        dest: Option<(IpAddr, u16)>,
        proto: Option<u8>,
    ) -> Self {
        if let Some((ip, port)) = src {
            self.src_ip = Some(ip);
            self.src_port = (port != 0).then_some(port);
        }
        if let Some((ip, port)) = dest {
            self.dest_ip = Some(ip);
            self.dest_port = (port != 0).then_some(port);
        }
        self.proto = proto.map(proto_name);
        self
    }

    /// One NDJSON line (without the newline).
    pub fn to_json(&self) -> String {
        // Serialising these types cannot fail: no maps with non-string keys,
        // no non-finite floats (confidences are clamped where they are made).
        serde_json::to_string(self).unwrap_or_else(|e| {
            format!(
                "{{\"timestamp\":\"{}\",\"event_type\":\"stats\",\"error\":\"{e}\"}}",
                self.timestamp
            )
        })
    }
}

/// Name of an IP protocol number as written in `proto`.
pub fn proto_name(p: u8) -> String {
    known_proto_name(p).map_or_else(|| p.to_string(), str::to_owned)
}

/// The name of an IP protocol number ward names, else `None` (the number
/// is written instead).
pub(crate) fn known_proto_name(p: u8) -> Option<&'static str> {
    Some(match p {
        6 => "TCP",
        17 => "UDP",
        1 => "ICMP",
        58 => "IPv6-ICMP",
        47 => "GRE",
        2 => "IGMP",
        132 => "SCTP",
        _ => return None,
    })
}

/// `flow`: a finished or expired flow. `src` is the initiator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlowRecord {
    pub pkts_toserver: u64,
    pub pkts_toclient: u64,
    pub bytes_toserver: u64,
    pub bytes_toclient: u64,
    pub start: Timestamp,
    pub end: Timestamp,
    /// `syn-sent`, `established`, `closed`, `reset` …
    pub state: String,
    /// `timeout`, `evicted`, `reused`, `shutdown`.
    pub reason: String,
    /// TCP flags seen, per direction and together, as hex (`"1b"`) like Suricata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_flags: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_flags_ts: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_flags_tc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_proto: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan: Option<u16>,
}

/// One piece of evidence behind a device conclusion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub source: String,
    pub value: String,
}

/// `device`: a device's identity as known at `timestamp`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeviceRecord {
    /// MAC, or absent for devices seen only at layer 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<MacAddr>,
    pub ips: Vec<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// Why this event was written: `new`, `changed` or `final`.
    pub reason: String,
    /// The MAC is locally administered (often randomised).
    #[serde(default)]
    pub random_mac: bool,
    #[serde(default)]
    pub pkts_sent: u64,
    #[serde(default)]
    pub bytes_sent: u64,
    #[serde(default)]
    pub pkts_received: u64,
    #[serde(default)]
    pub bytes_received: u64,
    /// Services it answered on (`TCP/80`, `UDP/1900`), bounded.
    #[serde(default)]
    pub services: Vec<String>,
    /// Application protocols it used as a client, bounded.
    #[serde(default)]
    pub protocols: Vec<String>,
}

/// `alert.category`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlertCategory {
    Recon,
    Bruteforce,
    Dos,
    Botnet,
    Spoofing,
    Exploit,
    Anomaly,
    Policy,
    NewDevice,
}

impl AlertCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertCategory::Recon => "recon",
            AlertCategory::Bruteforce => "bruteforce",
            AlertCategory::Dos => "dos",
            AlertCategory::Botnet => "botnet",
            AlertCategory::Spoofing => "spoofing",
            AlertCategory::Exploit => "exploit",
            AlertCategory::Anomaly => "anomaly",
            AlertCategory::Policy => "policy",
            AlertCategory::NewDevice => "new-device",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim() {
            "recon" => AlertCategory::Recon,
            "bruteforce" => AlertCategory::Bruteforce,
            "dos" => AlertCategory::Dos,
            "botnet" => AlertCategory::Botnet,
            "spoofing" => AlertCategory::Spoofing,
            "exploit" => AlertCategory::Exploit,
            "anomaly" => AlertCategory::Anomaly,
            "policy" => AlertCategory::Policy,
            "new-device" => AlertCategory::NewDevice,
            _ => return None,
        })
    }
}

/// `alert`: something happened that a person should know about.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub category: AlertCategory,
    /// Stable kebab-case id (`tcp-syn-flood`).
    pub signature: String,
    /// 1 (highest) … 4.
    pub severity: u8,
    /// 0 … 1.
    pub confidence: f32,
    /// One sentence a home user understands.
    pub summary: String,
    /// The numbers behind it.
    #[serde(default)]
    pub evidence: BTreeMap<String, serde_json::Value>,
    /// Devices involved (MACs or, for layer-3-only devices, IPs).
    #[serde(default)]
    pub devices: Vec<String>,
    /// The attacking/misbehaving side, where there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attacker: Option<IpAddr>,
    /// The targets (bounded list).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub victims: Vec<IpAddr>,
    /// First and last packet time of the evidence (an incident spans time).
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// Packets or events aggregated into this alert.
    #[serde(default)]
    pub count: u64,
    /// Which detector raised it.
    pub detector: String,
}

/// `finding.kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    CleartextCredentials,
    DefaultCredentials,
    WeakCredentials,
    InsecureProtocol,
    RiskyService,
    WeakTls,
    VulnerableSoftware,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::CleartextCredentials => "cleartext-credentials",
            FindingKind::DefaultCredentials => "default-credentials",
            FindingKind::WeakCredentials => "weak-credentials",
            FindingKind::InsecureProtocol => "insecure-protocol",
            FindingKind::RiskyService => "risky-service",
            FindingKind::WeakTls => "weak-tls",
            FindingKind::VulnerableSoftware => "vulnerable-software",
        }
    }
}

/// `finding`: a weakness of a device or service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub protocol: String,
    /// 1 (highest) … 4.
    pub severity: u8,
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Only with `--reveal-secrets`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The secret was seen and withheld from this event.
    #[serde(default)]
    pub secret_redacted: bool,
    /// `success`, `failure` or `unknown`, where a login was seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// The device the weakness belongs to (the server for credentials and services).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    #[serde(default)]
    pub evidence: BTreeMap<String, serde_json::Value>,
    /// What to do about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remedy: Option<String>,
}

/// `stats`: counters for the run so far.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub packets: u64,
    pub bytes: u64,
    /// Packets with no IP layer or an unknown link type are still counted here.
    pub decode_anomalies: BTreeMap<String, u64>,
    /// Flows created.
    pub flows: u64,
    pub flows_active: u64,
    pub flows_evicted: u64,
    pub flows_timed_out: u64,
    pub devices: u64,
    pub devices_evicted: u64,
    /// Networks learned to be the LAN's own (router advertisements'
    /// on-link prefixes, DHCP ACKs' public subnets), in the order learned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub local_networks_learned: Vec<String>,
    /// Networks announced after the learned list was full, not kept.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub local_networks_dropped: u64,
    pub alerts: u64,
    /// Alerts of a secondary detector (the machine-learned attack model)
    /// folded into an incident another detector had already alerted
    /// about, so one attack is one alert (not counted in `alerts`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub alerts_corroborated: u64,
    pub findings: u64,
    /// Capture span (packet time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_packet: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_packet: Option<Timestamp>,
    /// Wall-clock seconds spent (filled in by the runner, not the engine).
    pub wall_time_s: f64,
    pub packets_per_second: f64,
    /// Application protocols recognised, by flow count.
    #[serde(default)]
    pub app_protos: BTreeMap<String, u64>,
    /// Kernel/capture drops (live capture only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_dropped: Option<u64>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
