//! Rows the store hands out. They serialise to the JSON the API serves
//! (documented in `crates/ward-web/openapi.yaml`); times are packet time
//! in RFC 3339 unless the field name says `_unix` (wall-clock seconds).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ward_core::event::Evidence;
use ward_core::Timestamp;

use crate::StoreError;

/// What a person decided about an alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    /// Nobody has looked at it yet.
    Open,
    /// Seen; still counts as a known problem until resolved.
    Acknowledged,
    /// Hidden from the open list; repeats still arrive as new incidents.
    Muted,
    /// "This is normal": closed, and a suppression rule marks repeats.
    Normal,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Open => "open",
            AlertStatus::Acknowledged => "acknowledged",
            AlertStatus::Muted => "muted",
            AlertStatus::Normal => "normal",
        }
    }
    pub fn parse(s: &str) -> Result<AlertStatus, StoreError> {
        Ok(match s {
            "open" => AlertStatus::Open,
            "acknowledged" => AlertStatus::Acknowledged,
            "muted" => AlertStatus::Muted,
            "normal" => AlertStatus::Normal,
            other => return Err(StoreError::BadStatus(other.chars().take(32).collect())),
        })
    }
    /// Counts towards the security score and the "open alerts" lists.
    pub fn is_active(self) -> bool {
        matches!(self, AlertStatus::Open | AlertStatus::Acknowledged)
    }
}

/// A device as the inventory shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeviceRow {
    pub id: String,
    pub mac: Option<String>,
    pub vendor: Option<String>,
    pub hostname: Option<String>,
    pub category: Option<String>,
    pub model: Option<String>,
    pub confidence: Option<f32>,
    pub evidence: Vec<Evidence>,
    pub ips: Vec<String>,
    pub services: Vec<String>,
    pub protocols: Vec<String>,
    pub random_mac: bool,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub pkts_sent: u64,
    pub bytes_sent: u64,
    pub pkts_received: u64,
    pub bytes_received: u64,
    /// 0 … 100 from the device's active alerts and findings (see docs/dashboard.md).
    pub risk: u32,
    pub open_alerts: u64,
    pub findings: u64,
}

impl DeviceRow {
    /// The best name a person would recognise.
    pub fn display_name(&self) -> String {
        match (&self.hostname, &self.model, &self.vendor) {
            (Some(h), _, _) => h.clone(),
            (None, Some(m), _) => m.clone(),
            (None, None, Some(v)) => format!("{v} device"),
            _ => self.id.clone(),
        }
    }
}

/// One change of a device's identity.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HistoryRow {
    pub ts: Timestamp,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

/// Packets and bytes of one device (or the whole network) in one minute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct TrafficPoint {
    /// Start of the minute (packet time).
    pub minute: Timestamp,
    pub pkts: u64,
    pub bytes: u64,
}

/// An incident.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlertRow {
    pub id: i64,
    pub ts: Timestamp,
    pub category: String,
    pub signature: String,
    pub severity: u8,
    pub confidence: f32,
    pub summary: String,
    pub evidence: BTreeMap<String, serde_json::Value>,
    pub devices: Vec<String>,
    pub attacker: Option<String>,
    pub victims: Vec<String>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub count: u64,
    pub detector: String,
    pub status: AlertStatus,
    pub note: Option<String>,
    pub status_changed_unix: Option<i64>,
    /// The suppression rule that marked it `normal` on arrival.
    pub suppression_id: Option<i64>,
}

/// A weakness, deduplicated on kind + device + protocol + username.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FindingRow {
    pub id: i64,
    pub kind: String,
    pub device: Option<String>,
    pub protocol: String,
    pub username: Option<String>,
    pub severity: u8,
    pub summary: String,
    pub outcome: Option<String>,
    pub secret_redacted: bool,
    pub evidence: BTreeMap<String, serde_json::Value>,
    pub remedy: Option<String>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub count: u64,
}

/// Everything the device page shows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeviceDetail {
    pub device: DeviceRow,
    pub history: Vec<HistoryRow>,
    pub findings: Vec<FindingRow>,
    pub alerts: Vec<AlertRow>,
    /// Per-minute traffic over the device's last day of activity.
    pub traffic: Vec<TrafficPoint>,
}

/// A "this is normal" rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    pub id: i64,
    pub signature: String,
    /// Attacker IP or device id the rule is limited to; `None` = anyone.
    pub subject: Option<String>,
    pub note: Option<String>,
    pub created_unix: i64,
}

/// Where a model's saved state lives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelState {
    pub name: String,
    pub path: String,
    pub version: String,
    /// Wall-clock Unix seconds.
    pub updated: i64,
}

/// How long things are kept. Counted back from the `now` given to
/// [`crate::Store::prune`] (packet time for traffic/stats, so replayed
/// captures are not deleted the moment they are stored).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Retention {
    /// Per-minute traffic summaries.
    pub traffic_days: u32,
    /// `stats` snapshots.
    pub stats_days: u32,
    /// Alerts that are no longer open or acknowledged (muted, normal).
    pub closed_alert_days: u32,
    /// Every alert, whatever its status.
    pub alert_days: u32,
    /// Findings not seen again for this long.
    pub finding_days: u32,
    /// Identity history rows.
    pub history_days: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            traffic_days: 14,
            stats_days: 14,
            closed_alert_days: 90,
            alert_days: 365,
            finding_days: 365,
            history_days: 365,
        }
    }
}

/// Rows deleted by [`crate::Store::prune`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    pub traffic: u64,
    pub stats: u64,
    pub alerts: u64,
    pub findings: u64,
    pub history: u64,
}

/// What one acknowledged [`crate::Store::ingest`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct IngestReport {
    /// Row id in `ingest_log`; increases with every batch.
    pub batch_id: i64,
    pub events: u64,
    pub devices: u64,
    pub alerts_new: u64,
    pub alerts_updated: u64,
    /// Alerts that arrived already marked `normal` by a suppression rule.
    pub alerts_suppressed: u64,
    pub findings: u64,
    pub flows: u64,
    pub stats: u64,
}

/// The overview page and `/api/stats` in one query.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Overview {
    /// 0 … 100; see [`security_score`].
    pub score: u32,
    /// The penalty points behind the score.
    pub penalty: u32,
    pub devices: u64,
    pub devices_by_category: Vec<(String, u64)>,
    /// Active (open or acknowledged) alerts by severity 1 … 4.
    pub active_alerts_by_severity: [u64; 4],
    pub open_alerts: u64,
    pub findings_by_severity: [u64; 4],
    pub findings: u64,
    /// Network-wide traffic per minute over the last day of data.
    pub traffic: Vec<TrafficPoint>,
    /// Anomaly scores carried by anomaly alerts (`evidence.score`), oldest first.
    pub anomaly_scores: Vec<(Timestamp, f64)>,
    pub latest_stats: Option<ward_core::event::Stats>,
    /// Newest packet time stored.
    pub data_until: Option<Timestamp>,
    pub batches: u64,
    pub last_ingest_unix: Option<i64>,
}

/// Penalty points for one active alert or finding of a severity (1 highest).
pub fn severity_weight(severity: u8) -> u32 {
    match severity {
        0 | 1 => 25,
        2 => 10,
        3 => 4,
        _ => 1,
    }
}

/// The network security score from penalty points: 100 with nothing open,
/// halved for every 50 points (two severity-1 problems), never below 0.
/// `score = round(100 × 0.5^(penalty / 50))`.
pub fn security_score(penalty: u32) -> u32 {
    (100.0 * 0.5f64.powf(penalty as f64 / 50.0)).round() as u32
}

/// Device risk 0 … 100: the sum of its active alerts' and findings'
/// weights, capped.
pub fn device_risk(penalty: u32) -> u32 {
    penalty.min(100)
}

/// A change marker for live updates: when any part changes, something new
/// was stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ChangeMarker {
    pub batch_id: i64,
    pub max_alert_id: i64,
    pub devices: u64,
    pub open_alerts: u64,
}
