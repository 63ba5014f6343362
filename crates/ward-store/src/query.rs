//! Reading: the questions the dashboard and the JSON API ask.
//!
//! Every list is bounded by a caller-given limit (capped at [`MAX_LIMIT`]);
//! user text only ever reaches SQL as a bound parameter.

use std::collections::BTreeMap;

use rusqlite::{params, params_from_iter, OptionalExtension, Row};
use serde::Deserialize;
use ward_core::event::Stats;
use ward_core::Timestamp;

use crate::ingest::WEIGHT_SQL;
use crate::types::*;
use crate::{Result, Store};

/// The most rows one query returns.
pub const MAX_LIMIT: u32 = 1000;
/// Points in a traffic series (one day of minutes).
const SERIES_MINUTES: i64 = 1440;
const MICROS_PER_MINUTE: i64 = 60_000_000;

/// How the inventory is ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceSort {
    #[default]
    Risk,
    LastSeen,
    FirstSeen,
    Name,
    Category,
    Traffic,
}

impl DeviceSort {
    pub fn parse(s: &str) -> Option<DeviceSort> {
        Some(match s {
            "risk" => DeviceSort::Risk,
            "last_seen" => DeviceSort::LastSeen,
            "first_seen" => DeviceSort::FirstSeen,
            "name" => DeviceSort::Name,
            "category" => DeviceSort::Category,
            "traffic" => DeviceSort::Traffic,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceSort::Risk => "risk",
            DeviceSort::LastSeen => "last_seen",
            DeviceSort::FirstSeen => "first_seen",
            DeviceSort::Name => "name",
            DeviceSort::Category => "category",
            DeviceSort::Traffic => "traffic",
        }
    }
    fn order_by(self) -> &'static str {
        match self {
            DeviceSort::Risk => "risk",
            DeviceSort::LastSeen => "last_seen",
            DeviceSort::FirstSeen => "first_seen",
            DeviceSort::Name => "COALESCE(hostname, model, vendor, id) COLLATE NOCASE",
            DeviceSort::Category => "COALESCE(category, '~') COLLATE NOCASE",
            DeviceSort::Traffic => "(bytes_sent + bytes_received)",
        }
    }
}

/// Inventory filters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceQuery {
    /// Substring of id, MAC, IPs, vendor, hostname, category or model.
    pub search: Option<String>,
    /// Exact category; `"unknown"` means none.
    pub category: Option<String>,
    pub min_risk: Option<u32>,
    pub sort: DeviceSort,
    pub descending: bool,
    pub limit: u32,
    pub offset: u32,
}

/// Alert filters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AlertQuery {
    /// Any of these statuses; empty = all.
    pub statuses: Vec<AlertStatus>,
    pub category: Option<String>,
    /// Severity 1 … this (1 = only the most severe).
    pub max_severity: Option<u8>,
    pub signature: Option<String>,
    pub limit: u32,
    pub offset: u32,
}

/// Finding filters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FindingQuery {
    pub kind: Option<String>,
    pub device: Option<String>,
    pub max_severity: Option<u8>,
    pub limit: u32,
    pub offset: u32,
}

fn limit(l: u32) -> u32 {
    if l == 0 {
        100
    } else {
        l.min(MAX_LIMIT)
    }
}

fn json_or_default<T: serde::de::DeserializeOwned + Default>(s: &str) -> T {
    serde_json::from_str(s).unwrap_or_default()
}

fn u64_col(r: &Row<'_>, i: usize) -> rusqlite::Result<u64> {
    Ok(r.get::<_, i64>(i)?.max(0) as u64)
}

const DEVICE_COLS: &str = "id, mac, vendor, hostname, category, model, confidence, evidence, ips,
    services, protocols, random_mac, first_seen, last_seen, pkts_sent, bytes_sent,
    pkts_received, bytes_received, risk,
    (SELECT COUNT(*) FROM (SELECT DISTINCT ad.alert_id AS id FROM device_addrs da
        JOIN alert_devices ad ON ad.device_id = da.addr WHERE da.device_id = devices.id) x
        JOIN alerts a ON a.id = x.id WHERE a.status IN ('open', 'acknowledged')),
    (SELECT COUNT(*) FROM device_addrs da JOIN findings f ON f.device = da.addr
        WHERE da.device_id = devices.id)";

fn device_row(r: &Row<'_>) -> rusqlite::Result<DeviceRow> {
    Ok(DeviceRow {
        id: r.get(0)?,
        mac: r.get(1)?,
        vendor: r.get(2)?,
        hostname: r.get(3)?,
        category: r.get(4)?,
        model: r.get(5)?,
        confidence: r.get::<_, Option<f64>>(6)?.map(|c| c as f32),
        evidence: json_or_default(&r.get::<_, String>(7)?),
        ips: json_or_default(&r.get::<_, String>(8)?),
        services: json_or_default(&r.get::<_, String>(9)?),
        protocols: json_or_default(&r.get::<_, String>(10)?),
        random_mac: r.get(11)?,
        first_seen: Timestamp(r.get(12)?),
        last_seen: Timestamp(r.get(13)?),
        pkts_sent: u64_col(r, 14)?,
        bytes_sent: u64_col(r, 15)?,
        pkts_received: u64_col(r, 16)?,
        bytes_received: u64_col(r, 17)?,
        risk: r.get::<_, i64>(18)?.clamp(0, 100) as u32,
        open_alerts: u64_col(r, 19)?,
        findings: u64_col(r, 20)?,
    })
}

const ALERT_COLS: &str = "id, ts, category, signature, severity, confidence, summary, evidence,
    devices, attacker, victims, first_seen, last_seen, count, detector, status, note,
    status_changed, suppression_id";

fn alert_row(r: &Row<'_>) -> rusqlite::Result<AlertRow> {
    let status: String = r.get(15)?;
    Ok(AlertRow {
        id: r.get(0)?,
        ts: Timestamp(r.get(1)?),
        category: r.get(2)?,
        signature: r.get(3)?,
        severity: r.get::<_, i64>(4)?.clamp(0, 255) as u8,
        confidence: r.get::<_, f64>(5)? as f32,
        summary: r.get(6)?,
        evidence: json_or_default(&r.get::<_, String>(7)?),
        devices: json_or_default(&r.get::<_, String>(8)?),
        attacker: r.get(9)?,
        victims: json_or_default(&r.get::<_, String>(10)?),
        first_seen: Timestamp(r.get(11)?),
        last_seen: Timestamp(r.get(12)?),
        count: u64_col(r, 13)?,
        detector: r.get(14)?,
        // The CHECK constraint keeps the column to the four values.
        status: AlertStatus::parse(&status).unwrap_or(AlertStatus::Open),
        note: r.get(16)?,
        status_changed_unix: r.get(17)?,
        suppression_id: r.get(18)?,
    })
}

const FINDING_COLS: &str = "id, kind, device, protocol, username, severity, summary, outcome,
    secret_redacted, evidence, remedy, first_seen, last_seen, count";

fn finding_row(r: &Row<'_>) -> rusqlite::Result<FindingRow> {
    let device: String = r.get(2)?;
    let username: String = r.get(4)?;
    Ok(FindingRow {
        id: r.get(0)?,
        kind: r.get(1)?,
        device: (!device.is_empty()).then_some(device),
        protocol: r.get(3)?,
        username: (!username.is_empty()).then_some(username),
        severity: r.get::<_, i64>(5)?.clamp(0, 255) as u8,
        summary: r.get(6)?,
        outcome: r.get(7)?,
        secret_redacted: r.get(8)?,
        evidence: json_or_default::<BTreeMap<String, serde_json::Value>>(&r.get::<_, String>(9)?),
        remedy: r.get(10)?,
        first_seen: Timestamp(r.get(11)?),
        last_seen: Timestamp(r.get(12)?),
        count: u64_col(r, 13)?,
    })
}

/// `%` and `_` are literal in a search.
fn like_pattern(s: &str) -> String {
    let mut p = String::with_capacity(s.len() + 2);
    p.push('%');
    for c in s.chars().take(128) {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

impl Store {
    /// The inventory, filtered and sorted.
    pub fn devices(&self, q: &DeviceQuery) -> Result<Vec<DeviceRow>> {
        let mut sql = format!("SELECT {DEVICE_COLS} FROM devices WHERE 1=1");
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(s) = q.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            sql.push_str(
                " AND (id LIKE ?1 ESCAPE '\\' OR ips LIKE ?1 ESCAPE '\\'
                   OR vendor LIKE ?1 ESCAPE '\\' OR hostname LIKE ?1 ESCAPE '\\'
                   OR category LIKE ?1 ESCAPE '\\' OR model LIKE ?1 ESCAPE '\\')",
            );
            args.push(like_pattern(s).into());
        }
        match q.category.as_deref() {
            Some("unknown") => sql.push_str(" AND category IS NULL"),
            Some(c) => {
                args.push(c.to_string().into());
                sql.push_str(&format!(" AND category = ?{}", args.len()));
            }
            None => {}
        }
        if let Some(r) = q.min_risk {
            args.push(i64::from(r).into());
            sql.push_str(&format!(" AND risk >= ?{}", args.len()));
        }
        let dir = if q.descending { "DESC" } else { "ASC" };
        sql.push_str(&format!(
            " ORDER BY {} {dir}, id ASC LIMIT {} OFFSET {}",
            q.sort.order_by(),
            limit(q.limit),
            q.offset
        ));
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt
            .query_map(params_from_iter(args), device_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// One device by id or, failing that, the most recently seen device
    /// with that IP (alerts and findings may name a device by IP).
    pub fn device(&self, id: &str) -> Result<Option<DeviceRow>> {
        let by_id = self
            .conn
            .query_row(
                &format!("SELECT {DEVICE_COLS} FROM devices WHERE id = ?1"),
                [id],
                device_row,
            )
            .optional()?;
        if by_id.is_some() {
            return Ok(by_id);
        }
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {DEVICE_COLS} FROM devices
                     WHERE id IN (SELECT device_id FROM device_addrs WHERE addr = ?1)
                     ORDER BY last_seen DESC LIMIT 1"
                ),
                [id],
                device_row,
            )
            .optional()?)
    }

    /// Everything the device page shows: identity, history, findings,
    /// alerts and the traffic series.
    pub fn device_detail(&self, id: &str) -> Result<Option<DeviceDetail>> {
        let Some(device) = self.device(id)? else {
            return Ok(None);
        };
        // Alerts and findings may name the device by MAC or by any of its IPs.
        let keys = serde_json::to_string(
            &std::iter::once(device.id.clone())
                .chain(device.ips.iter().cloned())
                .collect::<Vec<_>>(),
        )?;
        let mut stmt = self.conn.prepare(
            "SELECT ts, field, old_value, new_value FROM device_history
             WHERE device_id = ?1 ORDER BY ts DESC, id DESC LIMIT 200",
        )?;
        let history = stmt
            .query_map([&device.id], |r| {
                Ok(HistoryRow {
                    ts: Timestamp(r.get(0)?),
                    field: r.get(1)?,
                    old_value: r.get(2)?,
                    new_value: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {FINDING_COLS} FROM findings
             WHERE device IN (SELECT value FROM json_each(?1))
             ORDER BY severity ASC, last_seen DESC LIMIT 200"
        ))?;
        let findings = stmt
            .query_map([&keys], finding_row)?
            .collect::<rusqlite::Result<_>>()?;
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {ALERT_COLS} FROM alerts WHERE id IN
               (SELECT alert_id FROM alert_devices WHERE device_id IN (SELECT value FROM json_each(?1)))
             ORDER BY last_seen DESC, id DESC LIMIT 200"
        ))?;
        let alerts = stmt
            .query_map([&keys], alert_row)?
            .collect::<rusqlite::Result<_>>()?;
        let traffic = self.traffic_series(Some(&device.id))?;
        Ok(Some(DeviceDetail {
            device,
            history,
            findings,
            alerts,
            traffic,
        }))
    }

    /// Per-minute traffic for one device (or, with `None`, the whole network,
    /// counting a flow between two known devices twice) over the last day
    /// of stored data, oldest first. Minutes without traffic are absent.
    pub fn traffic_series(&self, device: Option<&str>) -> Result<Vec<TrafficPoint>> {
        let last: Option<i64> = match device {
            Some(id) => self.conn.query_row(
                "SELECT MAX(minute) FROM traffic WHERE device_id = ?1",
                [id],
                |r| r.get(0),
            )?,
            None => self
                .conn
                .query_row("SELECT MAX(minute) FROM traffic", [], |r| r.get(0))?,
        };
        let Some(last) = last else {
            return Ok(Vec::new());
        };
        let from = last - (SERIES_MINUTES - 1);
        let map = |r: &Row<'_>| -> rusqlite::Result<TrafficPoint> {
            Ok(TrafficPoint {
                minute: Timestamp(r.get::<_, i64>(0)?.saturating_mul(MICROS_PER_MINUTE)),
                pkts: u64_col(r, 1)?,
                bytes: u64_col(r, 2)?,
            })
        };
        let rows = match device {
            Some(id) => self
                .conn
                .prepare(
                    "SELECT minute, pkts, bytes FROM traffic
                     WHERE device_id = ?1 AND minute >= ?2 ORDER BY minute",
                )?
                .query_map(params![id, from], map)?
                .collect::<rusqlite::Result<_>>()?,
            None => self
                .conn
                .prepare(
                    "SELECT minute, SUM(pkts), SUM(bytes) FROM traffic
                     WHERE minute >= ?1 GROUP BY minute ORDER BY minute",
                )?
                .query_map([from], map)?
                .collect::<rusqlite::Result<_>>()?,
        };
        Ok(rows)
    }

    /// Alerts, newest first.
    pub fn alerts(&self, q: &AlertQuery) -> Result<Vec<AlertRow>> {
        let mut sql = format!("SELECT {ALERT_COLS} FROM alerts WHERE 1=1");
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if !q.statuses.is_empty() {
            let list: Vec<String> = q
                .statuses
                .iter()
                .map(|s| format!("'{}'", s.as_str()))
                .collect();
            sql.push_str(&format!(" AND status IN ({})", list.join(",")));
        }
        if let Some(c) = &q.category {
            args.push(c.clone().into());
            sql.push_str(&format!(" AND category = ?{}", args.len()));
        }
        if let Some(s) = q.max_severity {
            args.push(i64::from(s).into());
            sql.push_str(&format!(" AND severity <= ?{}", args.len()));
        }
        if let Some(s) = &q.signature {
            args.push(s.clone().into());
            sql.push_str(&format!(" AND signature = ?{}", args.len()));
        }
        sql.push_str(&format!(
            " ORDER BY last_seen DESC, id DESC LIMIT {} OFFSET {}",
            limit(q.limit),
            q.offset
        ));
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt
            .query_map(params_from_iter(args), alert_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// One alert.
    pub fn alert(&self, id: i64) -> Result<Option<AlertRow>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {ALERT_COLS} FROM alerts WHERE id = ?1"),
                [id],
                alert_row,
            )
            .optional()?)
    }

    /// Findings, most severe first.
    pub fn findings(&self, q: &FindingQuery) -> Result<Vec<FindingRow>> {
        let mut sql = format!("SELECT {FINDING_COLS} FROM findings WHERE 1=1");
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(k) = &q.kind {
            args.push(k.clone().into());
            sql.push_str(&format!(" AND kind = ?{}", args.len()));
        }
        if let Some(d) = &q.device {
            args.push(d.clone().into());
            sql.push_str(&format!(" AND device = ?{}", args.len()));
        }
        if let Some(s) = q.max_severity {
            args.push(i64::from(s).into());
            sql.push_str(&format!(" AND severity <= ?{}", args.len()));
        }
        sql.push_str(&format!(
            " ORDER BY severity ASC, last_seen DESC, id DESC LIMIT {} OFFSET {}",
            limit(q.limit),
            q.offset
        ));
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt
            .query_map(params_from_iter(args), finding_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Device categories in use (for filters), with counts.
    pub fn categories(&self) -> Result<Vec<(String, u64)>> {
        let mut stmt = self.conn.prepare(
            "SELECT COALESCE(category, 'unknown'), COUNT(*) FROM devices
             GROUP BY 1 ORDER BY 2 DESC, 1",
        )?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, u64_col(r, 1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// The overview page's numbers.
    pub fn overview(&self) -> Result<Overview> {
        let devices_by_category = self.categories()?;
        let devices = devices_by_category.iter().map(|(_, n)| n).sum();
        let mut active = [0u64; 4];
        let mut stmt = self.conn.prepare(
            "SELECT MIN(MAX(severity, 1), 4), COUNT(*) FROM alerts
             WHERE status IN ('open', 'acknowledged') GROUP BY 1",
        )?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, u64_col(r, 1)?)))? {
            let (sev, n) = row?;
            active[(sev - 1).clamp(0, 3) as usize] += n;
        }
        let mut findings = [0u64; 4];
        let mut stmt = self
            .conn
            .prepare("SELECT MIN(MAX(severity, 1), 4), COUNT(*) FROM findings GROUP BY 1")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, u64_col(r, 1)?)))? {
            let (sev, n) = row?;
            findings[(sev - 1).clamp(0, 3) as usize] += n;
        }
        let penalty: i64 = self.conn.query_row(
            &format!(
                "SELECT COALESCE((SELECT SUM({WEIGHT_SQL}) FROM alerts
                                   WHERE status IN ('open', 'acknowledged')), 0)
                      + COALESCE((SELECT SUM({WEIGHT_SQL}) FROM findings), 0)"
            ),
            [],
            |r| r.get(0),
        )?;
        let penalty = u32::try_from(penalty.max(0)).unwrap_or(u32::MAX);
        let open_alerts: u64 = self.conn.query_row(
            "SELECT COUNT(*) FROM alerts WHERE status = 'open'",
            [],
            |r| u64_col(r, 0),
        )?;
        let latest_stats: Option<String> = self
            .conn
            .query_row(
                "SELECT body FROM stats ORDER BY ts DESC, id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        let latest_stats: Option<Stats> = latest_stats.and_then(|s| serde_json::from_str(&s).ok());
        let (batches, last_ingest_unix, data_until): (i64, Option<i64>, Option<i64>) =
            self.conn.query_row(
                "SELECT COUNT(*), MAX(wall), MAX(last_ts) FROM ingest_log",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
        let mut anomaly_scores = Vec::new();
        let mut stmt = self.conn.prepare(
            "SELECT last_seen, json_extract(evidence, '$.score') FROM alerts
             WHERE category = 'anomaly' AND json_type(evidence, '$.score') IN ('real', 'integer')
             ORDER BY last_seen DESC LIMIT 500",
        )?;
        for row in stmt.query_map([], |r| Ok((Timestamp(r.get(0)?), r.get::<_, f64>(1)?)))? {
            anomaly_scores.push(row?);
        }
        anomaly_scores.reverse();
        Ok(Overview {
            score: security_score(penalty),
            penalty,
            devices,
            devices_by_category,
            active_alerts_by_severity: active,
            open_alerts,
            findings_by_severity: findings,
            findings: findings.iter().sum(),
            traffic: self.traffic_series(None)?,
            anomaly_scores,
            latest_stats,
            data_until: data_until.map(Timestamp),
            batches: batches.max(0) as u64,
            last_ingest_unix,
        })
    }

    /// Active (open or acknowledged) alerts counted by category and
    /// severity, for metrics.
    pub fn active_alert_counts(&self) -> Result<Vec<(String, u8, u64)>> {
        let mut stmt = self.conn.prepare(
            "SELECT category, MIN(MAX(severity, 1), 4), COUNT(*) FROM alerts
             WHERE status IN ('open', 'acknowledged') GROUP BY 1, 2 ORDER BY 1, 2",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get::<_, i64>(1)?.clamp(1, 4) as u8,
                    u64_col(r, 2)?,
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Findings counted by kind, for metrics.
    pub fn finding_counts(&self) -> Result<Vec<(String, u64)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT kind, COUNT(*) FROM findings GROUP BY 1 ORDER BY 1")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, u64_col(r, 1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// A cheap marker that changes whenever something is stored or an
    /// alert's status changes (live updates poll it).
    pub fn change_marker(&self) -> Result<ChangeMarker> {
        Ok(self.conn.query_row(
            "SELECT (SELECT COALESCE(MAX(id), 0) FROM ingest_log),
                    (SELECT COALESCE(MAX(id), 0) FROM alerts),
                    (SELECT COUNT(*) FROM devices),
                    (SELECT COUNT(*) FROM alerts WHERE status = 'open')",
            [],
            |r| {
                Ok(ChangeMarker {
                    batch_id: r.get(0)?,
                    max_alert_id: r.get(1)?,
                    devices: u64_col(r, 2)?,
                    open_alerts: u64_col(r, 3)?,
                })
            },
        )?)
    }

    /// The id of the most recently acknowledged batch (0 when none).
    pub fn last_batch_id(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT COALESCE(MAX(id), 0) FROM ingest_log", [], |r| {
                r.get(0)
            })?)
    }

    /// Whether an acknowledged batch with this id exists.
    pub fn has_batch(&self, id: i64) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM ingest_log WHERE id = ?1")?
            .exists([id])?)
    }
}
