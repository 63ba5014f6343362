//! The terminal summary of a run.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use ward_core::event::{Alert, Finding, Stats};
use ward_core::{Engine, Event, EventType};

/// Most alerts/findings kept for the summary (the EVE output has them all).
const KEEP: usize = 1000;

/// Alerts and findings seen during a run (bounded).
#[derive(Default)]
pub struct Collected {
    pub alerts: Vec<Alert>,
    pub findings: Vec<Finding>,
    pub alerts_total: u64,
    pub findings_total: u64,
}

impl Collected {
    pub fn add(&mut self, e: &Event) {
        match e.event_type {
            EventType::Alert => {
                self.alerts_total += 1;
                if let (Some(a), true) = (&e.alert, self.alerts.len() < KEEP) {
                    self.alerts.push(a.clone());
                }
            }
            EventType::Finding => {
                self.findings_total += 1;
                if let (Some(f), true) = (&e.finding, self.findings.len() < KEEP) {
                    self.findings.push(f.clone());
                }
            }
            _ => {}
        }
    }
}

#[derive(Serialize)]
pub struct DeviceRow {
    pub id: String,
    pub ips: Vec<String>,
    pub vendor: Option<String>,
    pub hostname: Option<String>,
    pub category: Option<String>,
    pub model: Option<String>,
    pub pkts_sent: u64,
}

#[derive(Serialize)]
pub struct Summary {
    pub stats: Stats,
    pub devices: Vec<DeviceRow>,
    pub top_talkers: Vec<(String, u64, u64)>,
    pub protocols: BTreeMap<String, u64>,
    pub alerts: Vec<Alert>,
    pub findings: Vec<Finding>,
    pub alerts_total: u64,
    pub findings_total: u64,
    pub events_written: Option<u64>,
}

impl Summary {
    pub fn new(engine: &Engine, c: &Collected, wall: Duration, written: Option<u64>) -> Self {
        let mut stats = engine.stats();
        stats.wall_time_s = wall.as_secs_f64();
        let devices = engine
            .devices()
            .iter()
            .map(|(_, d)| DeviceRow {
                id: d.label(),
                // IPv4 first: it is what people recognise.
                ips: d
                    .ips
                    .iter()
                    .filter(|ip| ip.is_ipv4())
                    .chain(d.ips.iter().filter(|ip| ip.is_ipv6()))
                    .map(|ip| ip.to_string())
                    .collect(),
                vendor: d.vendor.map(str::to_string),
                hostname: d.hostname().map(str::to_string),
                category: d.category.clone(),
                model: d.model.clone(),
                pkts_sent: d.pkts_sent,
            })
            .collect();
        Summary {
            stats,
            devices,
            top_talkers: engine
                .top_talkers(10)
                .into_iter()
                .map(|(ip, t)| (ip.to_string(), t.pkts, t.bytes))
                .collect(),
            protocols: engine
                .protocols()
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            alerts: c.alerts.clone(),
            findings: c.findings.clone(),
            alerts_total: c.alerts_total,
            findings_total: c.findings_total,
            events_written: written,
        }
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    pub fn render(&self, inputs: &[PathBuf]) -> String {
        let st = &self.stats;
        let mut o = String::new();
        let names: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
        let what = if names.len() <= 3 {
            names.join(", ")
        } else {
            format!(
                "{}, {} and {} more captures",
                names[0],
                names[1],
                names.len() - 2
            )
        };
        let _ = writeln!(o, "ward {} — {}", env!("CARGO_PKG_VERSION"), what);
        match (st.first_packet, st.last_packet) {
            (Some(a), Some(b)) => {
                let _ = writeln!(
                    o,
                    "Capture    {} → {} ({})",
                    a,
                    b,
                    human_duration(b.since(a) as f64 / 1e6)
                );
            }
            _ => {
                let _ = writeln!(o, "Capture    no packets");
            }
        }
        let _ = writeln!(
            o,
            "Traffic    {} packets, {}, {} flows ({} evicted); read in {} ({} packets/s)",
            thousands(st.packets),
            human_bytes(st.bytes),
            thousands(st.flows),
            thousands(st.flows_evicted),
            human_duration(st.wall_time_s),
            thousands(if st.wall_time_s > 0.0 {
                (st.packets as f64 / st.wall_time_s) as u64
            } else {
                0
            })
        );
        let anomalies: Vec<String> = st
            .decode_anomalies
            .iter()
            .map(|(k, v)| format!("{k} {}", thousands(*v)))
            .collect();
        let _ = writeln!(
            o,
            "Anomalies  {}",
            if anomalies.is_empty() {
                "none".to_string()
            } else {
                anomalies.join(", ")
            }
        );
        if let Some(n) = self.events_written {
            let _ = writeln!(o, "Events     {} written", thousands(n));
        }

        let _ = writeln!(o, "\nDevices ({})", self.devices.len());
        let rows: Vec<Vec<String>> = self
            .devices
            .iter()
            .map(|d| {
                vec![
                    d.id.clone(),
                    d.ips.iter().take(2).cloned().collect::<Vec<_>>().join(" "),
                    d.vendor.clone().unwrap_or_default(),
                    d.hostname.clone().unwrap_or_default(),
                    d.category.clone().unwrap_or_default(),
                    d.model.clone().unwrap_or_default(),
                    thousands(d.pkts_sent),
                ]
            })
            .collect();
        table(
            &mut o,
            &[
                "device",
                "addresses",
                "vendor",
                "hostname",
                "category",
                "model",
                "pkts sent",
            ],
            &rows,
            40,
        );

        let _ = writeln!(o, "\nTop talkers");
        let rows: Vec<Vec<String>> = self
            .top_talkers
            .iter()
            .map(|(ip, p, b)| vec![ip.clone(), thousands(*p), human_bytes(*b)])
            .collect();
        table(&mut o, &["address", "packets", "bytes"], &rows, 10);

        let total: u64 = self.protocols.values().sum::<u64>().max(1);
        let mut protos: Vec<(&String, &u64)> = self.protocols.iter().collect();
        protos.sort_by(|a, b| b.1.cmp(a.1));
        let line: Vec<String> = protos
            .iter()
            .map(|(k, v)| format!("{k} {:.1}%", **v as f64 * 100.0 / total as f64))
            .collect();
        let _ = writeln!(o, "\nProtocols  {}", line.join(", "));
        let mut apps: Vec<(&String, &u64)> = st.app_protos.iter().collect();
        apps.sort_by(|a, b| b.1.cmp(a.1));
        let line: Vec<String> = apps.iter().map(|(k, v)| format!("{k} {v}")).collect();
        if !line.is_empty() {
            let _ = writeln!(o, "Apps       {} (flows)", line.join(", "));
        }

        let _ = writeln!(o, "\nAlerts ({})", thousands(self.alerts_total));
        let mut alerts: Vec<&Alert> = self.alerts.iter().collect();
        alerts.sort_by_key(|a| (a.severity, a.first_seen));
        for a in alerts.iter().take(30) {
            let _ = writeln!(
                o,
                "  [{}] {:<11} {:<28} {}",
                a.severity,
                a.category.as_str(),
                a.signature,
                a.summary
            );
        }
        if alerts.len() > 30 {
            let _ = writeln!(o, "  … {} more in the EVE output", alerts.len() - 30);
        }
        let _ = writeln!(o, "\nFindings ({})", thousands(self.findings_total));
        let mut findings: Vec<&Finding> = self.findings.iter().collect();
        findings.sort_by_key(|f| f.severity);
        for f in findings.iter().take(30) {
            let _ = writeln!(
                o,
                "  [{}] {:<22} {:<8} {}",
                f.severity,
                f.kind.as_str(),
                f.protocol,
                f.summary
            );
        }
        if findings.len() > 30 {
            let _ = writeln!(o, "  … {} more in the EVE output", findings.len() - 30);
        }
        o
    }
}

fn table(o: &mut String, header: &[&str], rows: &[Vec<String>], max_rows: usize) {
    if rows.is_empty() {
        let _ = writeln!(o, "  (none)");
        return;
    }
    let cap = |s: &str| -> String {
        if s.chars().count() > 32 {
            let mut t: String = s.chars().take(31).collect();
            t.push('…');
            t
        } else {
            s.to_string()
        }
    };
    let shown: Vec<Vec<String>> = rows
        .iter()
        .take(max_rows)
        .map(|r| r.iter().map(|c| cap(c)).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &shown {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let mut s = String::from(" ");
        for (i, c) in cells.iter().enumerate() {
            let pad = widths[i] - c.chars().count();
            s.push(' ');
            s.push_str(c);
            s.push_str(&" ".repeat(pad + 1));
        }
        s.trim_end().to_string()
    };
    let _ = writeln!(o, "{}", line(header.to_vec()));
    for r in &shown {
        let _ = writeln!(o, "{}", line(r.iter().map(|s| s.as_str()).collect()));
    }
    if rows.len() > max_rows {
        let _ = writeln!(o, "  … {} more", rows.len() - max_rows);
    }
}

pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

pub fn human_bytes(b: u64) -> String {
    const U: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1000.0 && i < U.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", U[i])
    }
}

pub fn human_duration(s: f64) -> String {
    if s < 1.0 {
        format!("{:.0} ms", s * 1000.0)
    } else if s < 120.0 {
        format!("{s:.1} s")
    } else if s < 7200.0 {
        format!("{:.0} min {:.0} s", (s / 60.0).floor(), s % 60.0)
    } else if s < 172_800.0 {
        format!("{:.1} h", s / 3600.0)
    } else {
        format!("{:.1} days", s / 86400.0)
    }
}
