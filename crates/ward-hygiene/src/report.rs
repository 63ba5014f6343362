//! The security report: EVE events in, one [`Report`] out, written as
//! `report.json` and a self-contained `report.html` (inline CSS, no
//! scripts, no external resources).
//!
//! The event contract is the interface: [`ReportBuilder::add`] takes
//! [`ward_core::Event`]s (as parsed from `ward analyze --eve` or
//! `ward audit --eve` lines) and keeps only `device`, `finding` and `alert`
//! bodies, so memory grows with devices and findings, not with traffic.
//! Devices are keyed by their label (MAC, else IP); findings and alerts
//! that name an IP are attached to the device owning that IP. Per device
//! and per vendor/model the report says what is wrong, why it matters and
//! what to do; scores follow [`crate::risk`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::IpAddr;

use serde::Serialize;
use ward_core::event::{Alert, DeviceRecord};
use ward_core::{Event, EventType, Finding, FindingKind};

use crate::risk::{self, Risk, RiskBuilder};

/// At most this many findings and alerts are kept per device (the report
/// says how many were left out).
pub const MAX_ITEMS_PER_DEVICE: usize = 200;
/// At most this many devices.
pub const MAX_DEVICES: usize = 10_000;

/// Why a kind of finding matters, in words a home user understands.
pub fn why_it_matters(kind: FindingKind) -> &'static str {
    match kind {
        FindingKind::DefaultCredentials => "Factory passwords are public: botnets such as Mirai try them on every device they can reach, and take it over within minutes.",
        FindingKind::WeakCredentials => "Short or common passwords are guessed by automated attacks in seconds to hours.",
        FindingKind::CleartextCredentials => "Anyone who can see the traffic (a compromised device on the same network, a shared Wi-Fi) can read the password and reuse it.",
        FindingKind::InsecureProtocol => "Unencrypted protocols expose what the device sends and let an attacker on the network read or change it.",
        FindingKind::RiskyService => "Services like Telnet, ADB or exposed admin pages are how most IoT devices get hijacked.",
        FindingKind::WeakTls => "Old TLS versions and ciphers can be broken or downgraded, so the encryption does not protect the data.",
        FindingKind::VulnerableSoftware => "Known vulnerabilities have public exploits; attackers scan for exactly these versions.",
    }
}

/// One finding as the report shows it.
#[derive(Clone, Debug, Serialize)]
pub struct ReportFinding {
    pub kind: FindingKind,
    pub severity: u8,
    pub protocol: String,
    pub summary: String,
    pub why: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remedy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    pub first_seen: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    pub evidence: BTreeMap<String, serde_json::Value>,
}

/// One alert as the report shows it.
#[derive(Clone, Debug, Serialize)]
pub struct ReportAlert {
    pub category: String,
    pub signature: String,
    pub severity: u8,
    pub summary: String,
    /// `attacker` or `target`.
    pub role: &'static str,
    pub first_seen: String,
    pub count: u64,
}

/// One device.
#[derive(Clone, Debug, Serialize)]
pub struct ReportDevice {
    pub label: String,
    pub ips: Vec<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    pub risk: Risk,
    pub findings: Vec<ReportFinding>,
    pub alerts: Vec<ReportAlert>,
    /// Findings and alerts left out past [`MAX_ITEMS_PER_DEVICE`].
    pub omitted: u64,
    /// What to do first: the remedies of the heaviest issues, distinct.
    pub todo: Vec<String>,
}

/// Devices of one vendor and model.
#[derive(Clone, Debug, Serialize)]
pub struct ReportVendor {
    pub vendor: String,
    pub model: String,
    pub devices: Vec<String>,
    pub max_risk: u8,
    pub findings_by_kind: BTreeMap<String, u64>,
    pub todo: Vec<String>,
}

/// The network as a whole.
#[derive(Clone, Debug, Serialize)]
pub struct ReportNetwork {
    /// 100 = nothing found; see [`crate::risk`].
    pub score: u8,
    pub grade: &'static str,
    pub devices: usize,
    pub devices_at_risk: usize,
    pub findings_by_kind: BTreeMap<String, u64>,
    pub alerts_by_category: BTreeMap<String, u64>,
    pub first_event: Option<String>,
    pub last_event: Option<String>,
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub network: ReportNetwork,
    /// Highest risk first.
    pub devices: Vec<ReportDevice>,
    pub vendors: Vec<ReportVendor>,
    pub formula: &'static str,
}

#[derive(Default)]
struct DeviceAcc {
    record: Option<DeviceRecord>,
    ips: BTreeSet<IpAddr>,
    findings: Vec<(Finding, String, Option<IpAddr>)>,
    alerts: Vec<(Alert, bool)>,
    omitted: u64,
}

/// Collects events; [`ReportBuilder::build`] makes the report.
#[derive(Default)]
pub struct ReportBuilder {
    devices: BTreeMap<String, DeviceAcc>,
    ip_owner: BTreeMap<IpAddr, String>,
    first: Option<ward_core::Timestamp>,
    last: Option<ward_core::Timestamp>,
    /// Events whose device could not be kept (past [`MAX_DEVICES`]).
    pub dropped: u64,
}

impl ReportBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    fn device(&mut self, label: &str) -> Option<&mut DeviceAcc> {
        if !self.devices.contains_key(label) && self.devices.len() >= MAX_DEVICES {
            self.dropped += 1;
            return None;
        }
        Some(self.devices.entry(label.to_string()).or_default())
    }

    /// The device an IP belongs to (its label), creating an IP-only device.
    fn owner(&mut self, ip: IpAddr) -> String {
        self.ip_owner
            .get(&ip)
            .cloned()
            .unwrap_or_else(|| ip.to_string())
    }

    pub fn add(&mut self, e: &Event) {
        if !matches!(
            e.event_type,
            EventType::Device | EventType::Finding | EventType::Alert
        ) {
            return;
        }
        self.first = Some(self.first.map_or(e.timestamp, |f| f.min(e.timestamp)));
        self.last = Some(self.last.map_or(e.timestamp, |l| l.max(e.timestamp)));
        match (&e.device, &e.finding, &e.alert) {
            (Some(d), _, _) => {
                let label = d
                    .mac
                    .map(|m| m.to_string())
                    .or_else(|| d.ips.first().map(|ip| ip.to_string()));
                let Some(label) = label else { return };
                for ip in &d.ips {
                    self.ip_owner.insert(*ip, label.clone());
                }
                // A device seen first as a bare IP (by a finding) merges into its MAC record.
                let mut merged = DeviceAcc::default();
                for ip in &d.ips {
                    let key = ip.to_string();
                    if key != label {
                        if let Some(old) = self.devices.remove(&key) {
                            merged.findings.extend(old.findings);
                            merged.alerts.extend(old.alerts);
                            merged.omitted += old.omitted;
                        }
                    }
                }
                if let Some(acc) = self.device(&label) {
                    acc.ips.extend(d.ips.iter().copied());
                    acc.record = Some(d.clone());
                    acc.findings.extend(merged.findings);
                    acc.alerts.extend(merged.alerts);
                    acc.omitted += merged.omitted;
                }
            }
            (_, Some(f), _) => {
                let label = match (&f.device, e.dest_ip) {
                    (Some(l), _) if self.devices.contains_key(l) => l.clone(),
                    (Some(l), _) => match l.parse::<IpAddr>() {
                        Ok(ip) => self.owner(ip),
                        Err(_) => l.clone(),
                    },
                    (None, Some(ip)) => self.owner(ip),
                    (None, None) => "unknown".into(),
                };
                let ts = e.timestamp.to_string();
                let server = e.dest_ip;
                if let Some(acc) = self.device(&label) {
                    if let Ok(ip) = label.parse::<IpAddr>() {
                        acc.ips.insert(ip);
                    }
                    if acc.findings.len() + acc.alerts.len() < MAX_ITEMS_PER_DEVICE {
                        acc.findings.push((f.clone(), ts, server));
                    } else {
                        acc.omitted += 1;
                    }
                }
            }
            (_, _, Some(a)) => {
                let mut labels: BTreeSet<String> = a.devices.iter().cloned().collect();
                let attacker = a.attacker.map(|ip| self.owner(ip));
                if let Some(l) = &attacker {
                    labels.insert(l.clone());
                }
                for l in labels {
                    let role = attacker.as_deref() == Some(l.as_str());
                    if let Some(acc) = self.device(&l) {
                        if acc.findings.len() + acc.alerts.len() < MAX_ITEMS_PER_DEVICE {
                            acc.alerts.push((a.clone(), role));
                        } else {
                            acc.omitted += 1;
                        }
                    }
                }
            }
            _ => {}
        }
    }

    pub fn build(self) -> Report {
        let mut devices: Vec<ReportDevice> = Vec::new();
        let mut net_findings: BTreeMap<String, u64> = BTreeMap::new();
        let mut net_alerts: BTreeMap<String, u64> = BTreeMap::new();
        for (label, acc) in self.devices {
            let mut rb = RiskBuilder::default();
            let mut findings: Vec<ReportFinding> = Vec::new();
            for (f, ts, server) in acc.findings {
                *net_findings.entry(f.kind.as_str().to_string()).or_insert(0) += 1;
                rb.add(
                    format!("finding:{}/{}", f.kind.as_str(), f.protocol),
                    risk::finding_weight(f.kind, f.severity),
                    &f.summary,
                );
                findings.push(ReportFinding {
                    kind: f.kind,
                    severity: f.severity,
                    protocol: f.protocol,
                    summary: f.summary,
                    why: why_it_matters(f.kind),
                    remedy: f.remedy,
                    username: f.username,
                    first_seen: ts,
                    server: server.map(|s| s.to_string()),
                    evidence: f.evidence,
                });
            }
            findings.sort_by(|a, b| a.severity.cmp(&b.severity).then(a.kind.cmp(&b.kind)));
            let mut alerts = Vec::new();
            for (a, attacker) in acc.alerts {
                *net_alerts
                    .entry(a.category.as_str().to_string())
                    .or_insert(0) += 1;
                let role = if attacker { "attacker" } else { "target" };
                rb.add(
                    format!("alert:{role}/{}", a.category.as_str()),
                    risk::alert_weight(a.category, attacker),
                    &a.summary,
                );
                alerts.push(ReportAlert {
                    category: a.category.as_str().to_string(),
                    signature: a.signature,
                    severity: a.severity,
                    summary: a.summary,
                    role,
                    first_seen: a.first_seen.to_string(),
                    count: a.count,
                });
            }
            let risk = rb.finish();
            let mut todo: Vec<String> = Vec::new();
            for f in &findings {
                if let Some(r) = &f.remedy {
                    if !todo.contains(r) && todo.len() < 5 {
                        todo.push(r.clone());
                    }
                }
            }
            let rec = acc.record;
            devices.push(ReportDevice {
                label,
                ips: acc.ips.into_iter().collect(),
                vendor: rec.as_ref().and_then(|r| r.vendor.clone()),
                model: rec.as_ref().and_then(|r| r.model.clone()),
                category: rec.as_ref().and_then(|r| r.category.clone()),
                hostname: rec.as_ref().and_then(|r| r.hostname.clone()),
                risk,
                findings,
                alerts,
                omitted: acc.omitted,
                todo,
            });
        }
        devices.sort_by(|a, b| b.risk.score.cmp(&a.risk.score).then(a.label.cmp(&b.label)));
        let risks: Vec<u8> = devices.iter().map(|d| d.risk.score).collect();
        let score = risk::network_score(&risks);

        let mut vendors: BTreeMap<(String, String), ReportVendor> = BTreeMap::new();
        for d in &devices {
            let vendor = d.vendor.clone().unwrap_or_else(|| "unknown vendor".into());
            let model = d
                .model
                .clone()
                .or_else(|| d.category.clone())
                .unwrap_or_else(|| "unknown model".into());
            let v = vendors
                .entry((vendor.clone(), model.clone()))
                .or_insert_with(|| ReportVendor {
                    vendor,
                    model,
                    devices: Vec::new(),
                    max_risk: 0,
                    findings_by_kind: BTreeMap::new(),
                    todo: Vec::new(),
                });
            v.devices.push(d.label.clone());
            v.max_risk = v.max_risk.max(d.risk.score);
            for f in &d.findings {
                *v.findings_by_kind
                    .entry(f.kind.as_str().to_string())
                    .or_insert(0) += 1;
            }
            for t in &d.todo {
                if !v.todo.contains(t) && v.todo.len() < 5 {
                    v.todo.push(t.clone());
                }
            }
        }
        let mut vendors: Vec<ReportVendor> = vendors.into_values().collect();
        vendors.sort_by(|a, b| b.max_risk.cmp(&a.max_risk).then(a.vendor.cmp(&b.vendor)));

        Report {
            network: ReportNetwork {
                score,
                grade: risk::grade(100 - score),
                devices: devices.len(),
                devices_at_risk: devices.iter().filter(|d| d.risk.score >= 20).count(),
                findings_by_kind: net_findings,
                alerts_by_category: net_alerts,
                first_event: self.first.map(|t| t.to_string()),
                last_event: self.last.map(|t| t.to_string()),
            },
            devices,
            vendors,
            formula: "device risk = round(100 × (1 − Π(1 − w))) over distinct issues; network score = round(100 − (0.6 × max risk + 0.4 × mean risk)); weights in docs/hygiene.md",
        }
    }
}

impl Report {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// A self-contained HTML page (inline CSS, no scripts).
    pub fn to_html(&self) -> String {
        let mut h = String::with_capacity(16 * 1024);
        let n = &self.network;
        h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>ward security report</title>\n<style>\n");
        h.push_str(CSS);
        h.push_str("</style></head><body>\n<h1>ward security report</h1>\n");
        let _ = writeln!(
            h,
            "<section class=\"net\"><div class=\"score g-{}\"><span>{}</span>/100</div><div><p><b>Network security score</b> (100 = nothing found).</p><p>{} devices, {} at risk.</p><p class=\"muted\">Events from {} to {}.</p></div></section>",
            esc(risk::grade(100 - n.score)),
            n.score,
            n.devices,
            n.devices_at_risk,
            esc(n.first_event.as_deref().unwrap_or("-")),
            esc(n.last_event.as_deref().unwrap_or("-")),
        );
        if !n.findings_by_kind.is_empty() || !n.alerts_by_category.is_empty() {
            h.push_str("<h2>What was found</h2><table><tr><th>finding</th><th>count</th><th>why it matters</th></tr>\n");
            for (k, c) in &n.findings_by_kind {
                let why = kind_from_str(k).map(why_it_matters).unwrap_or("");
                let _ = writeln!(
                    h,
                    "<tr><td>{}</td><td>{c}</td><td>{}</td></tr>",
                    esc(k),
                    esc(why)
                );
            }
            for (k, c) in &n.alerts_by_category {
                let _ = writeln!(h, "<tr><td>alert: {}</td><td>{c}</td><td>Something attacked or misbehaved; see the devices below.</td></tr>", esc(k));
            }
            h.push_str("</table>\n");
        }
        h.push_str("<h2>Devices</h2>\n<table><tr><th>risk</th><th>device</th><th>vendor / model</th><th>addresses</th><th>top issue</th></tr>\n");
        for d in &self.devices {
            let _ = writeln!(
                h,
                "<tr><td><span class=\"pill g-{}\">{}</span></td><td><a href=\"#d-{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                d.risk.grade,
                d.risk.score,
                esc(&anchor(&d.label)),
                esc(d.hostname.as_deref().unwrap_or(&d.label)),
                esc(&vendor_model(d)),
                esc(&short_ips(&d.ips)),
                esc(d.risk.reasons.first().map(|r| r.summary.as_str()).unwrap_or("nothing found")),
            );
        }
        h.push_str("</table>\n");
        for d in self
            .devices
            .iter()
            .filter(|d| !d.findings.is_empty() || !d.alerts.is_empty())
        {
            let _ = writeln!(
                h,
                "<section class=\"dev\" id=\"d-{}\"><h3><span class=\"pill g-{}\">{}</span> {} <span class=\"muted\">{} · {}</span></h3>",
                esc(&anchor(&d.label)),
                d.risk.grade,
                d.risk.score,
                esc(d.hostname.as_deref().unwrap_or(&d.label)),
                esc(&d.label),
                esc(&vendor_model(d)),
            );
            if !d.todo.is_empty() {
                h.push_str("<p><b>What to do</b></p><ol>");
                for t in &d.todo {
                    let _ = write!(h, "<li>{}</li>", esc(t));
                }
                h.push_str("</ol>\n");
            }
            h.push_str("<table><tr><th>sev</th><th>what is wrong</th><th>why it matters</th><th>what to do</th></tr>\n");
            for f in &d.findings {
                let user = f
                    .username
                    .as_deref()
                    .map(|u| format!(" (user <code>{}</code>)", esc(u)))
                    .unwrap_or_default();
                let _ = writeln!(
                    h,
                    "<tr><td>{}</td><td><b>{}</b> {}{}<br><span class=\"muted\">{} · first seen {}</span></td><td>{}</td><td>{}</td></tr>",
                    f.severity,
                    esc(f.kind.as_str()),
                    esc(&f.summary),
                    user,
                    esc(&f.protocol),
                    esc(&f.first_seen),
                    esc(f.why),
                    esc(f.remedy.as_deref().unwrap_or("")),
                );
            }
            for a in &d.alerts {
                let _ = writeln!(
                    h,
                    "<tr><td>{}</td><td><b>alert {}</b> ({}, {}) {}<br><span class=\"muted\">{} · ×{}</span></td><td>{}</td><td>{}</td></tr>",
                    a.severity,
                    esc(&a.category),
                    esc(a.role),
                    esc(&a.signature),
                    esc(&a.summary),
                    esc(&a.first_seen),
                    a.count,
                    if a.role == "attacker" { "A device that attacks others is probably compromised." } else { "The device was targeted; check it is not weak in the ways listed here." },
                    if a.role == "attacker" { "Disconnect the device, reset it to factory settings, update its firmware and change its password before reconnecting." } else { "Fix the weaknesses above; block the attacker if it is on your network." },
                );
            }
            h.push_str("</table>\n");
            if d.omitted > 0 {
                let _ = writeln!(
                    h,
                    "<p class=\"muted\">{} more findings and alerts left out.</p>",
                    d.omitted
                );
            }
            h.push_str("<details><summary>Why this score</summary><ul>");
            for r in &d.risk.reasons {
                let _ = write!(
                    h,
                    "<li><code>{}</code> weight {:.2}</li>",
                    esc(&r.issue),
                    r.weight
                );
            }
            h.push_str("</ul></details></section>\n");
        }
        if !self.vendors.is_empty() {
            h.push_str("<h2>By vendor and model</h2><table><tr><th>vendor</th><th>model</th><th>devices</th><th>worst risk</th><th>findings</th><th>what to do</th></tr>\n");
            for v in &self.vendors {
                let _ = writeln!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&v.vendor),
                    esc(&v.model),
                    v.devices.len(),
                    v.max_risk,
                    esc(&v
                        .findings_by_kind
                        .iter()
                        .map(|(k, c)| format!("{k} {c}"))
                        .collect::<Vec<_>>()
                        .join(", ")),
                    esc(v.todo.first().map(String::as_str).unwrap_or("")),
                );
            }
            h.push_str("</table>\n");
        }
        let _ = writeln!(
            h,
            "<p class=\"muted\">How scores are computed: {}.</p>\n</body></html>",
            esc(self.formula)
        );
        h
    }
}

fn vendor_model(d: &ReportDevice) -> String {
    [
        d.vendor.as_deref(),
        d.model.as_deref().or(d.category.as_deref()),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" / ")
}

/// IPv4 first, at most four addresses, then how many more.
fn short_ips(ips: &[IpAddr]) -> String {
    let mut v: Vec<&IpAddr> = ips.iter().collect();
    v.sort_by_key(|ip| (!ip.is_ipv4(), **ip));
    let mut s: Vec<String> = v.iter().take(4).map(|i| i.to_string()).collect();
    if v.len() > 4 {
        s.push(format!("+{} more", v.len() - 4));
    }
    s.join(", ")
}

fn anchor(label: &str) -> String {
    label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

fn kind_from_str(s: &str) -> Option<FindingKind> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
}

/// Escape text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

const CSS: &str = "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}th,td{border-bottom:1px solid #ddd;padding:.35em .5em;text-align:left;vertical-align:top}
th{background:#f4f4f4}.muted{color:#777;font-size:.9em}code{background:#f4f4f4;padding:0 .2em}
.net{display:flex;gap:1.5em;align-items:center}.score{font-size:1.2em;border-radius:8px;padding:.6em 1em;color:#fff}.score span{font-size:2.4em;font-weight:bold}
.pill{display:inline-block;min-width:2.2em;text-align:center;border-radius:1em;color:#fff;padding:0 .4em}
.g-low{background:#2e7d32}.g-medium{background:#f9a825}.g-high{background:#ef6c00}.g-critical{background:#c62828}
.dev{border:1px solid #ddd;border-radius:8px;padding:0 1em;margin:1em 0}
";

#[cfg(test)]
mod tests {
    use super::*;
    use ward_core::{Event, Timestamp};

    fn finding(kind: FindingKind, sev: u8, device: &str, summary: &str) -> Event {
        Event::finding(
            Timestamp::from_secs(1_700_000_000),
            Finding {
                kind,
                protocol: "telnet".into(),
                severity: sev,
                summary: summary.into(),
                username: Some("root".into()),
                secret: None,
                secret_redacted: true,
                outcome: Some("success".into()),
                device: Some(device.into()),
                evidence: BTreeMap::new(),
                remedy: Some("Turn Telnet off.".into()),
            },
        )
        .with_endpoints(None, Some(("192.168.1.64".parse().unwrap(), 23)), Some(6))
    }

    #[test]
    fn findings_attach_to_devices_and_scores_follow_the_formula() {
        let mut b = ReportBuilder::new();
        b.add(&finding(
            FindingKind::DefaultCredentials,
            1,
            "192.168.1.64",
            "<script>x</script>",
        ));
        b.add(&finding(
            FindingKind::RiskyService,
            2,
            "192.168.1.64",
            "telnet open",
        ));
        b.add(&finding(
            FindingKind::DefaultCredentials,
            1,
            "192.168.1.64",
            "again",
        ));
        let r = b.build();
        assert_eq!(r.devices.len(), 1);
        let d = &r.devices[0];
        assert_eq!(d.risk.score, 74, "{:?}", d.risk);
        assert_eq!(r.network.score, 100 - 74);
        assert_eq!(d.todo, ["Turn Telnet off."]);
        let html = r.to_html();
        assert!(html.contains("&lt;script&gt;") && !html.contains("<script>"));
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "self-contained"
        );
        let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(json["devices"][0]["risk"]["score"], 74);
    }

    #[test]
    fn empty_input_is_a_clean_report() {
        let r = ReportBuilder::new().build();
        assert_eq!(r.network.score, 100);
        assert!(r.to_html().contains("</html>"));
    }
}
