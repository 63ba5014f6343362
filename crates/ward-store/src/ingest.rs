//! Writing: events in, rows out, one transaction per batch.
//!
//! What each event becomes:
//! * `device` → an upsert of `devices` (identity fields only move forward:
//!   an absent field never erases a known one) and a `device_history` row per
//!   identity field that changed;
//! * `flow` → per-minute packets/bytes for each end that is a known device,
//!   spread evenly over the minutes the flow lasted;
//! * `alert` → a new incident row, or an update of the same incident (same
//!   signature, detector, attacker and start) when a detector reports it
//!   again; a matching suppression rule stores it as `normal`;
//! * `finding` → an upsert on kind + device + protocol + username that
//!   counts repeats. A revealed `secret` is never stored;
//! * `stats` → a snapshot row.

use std::collections::BTreeSet;

use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};
use ward_core::event::{DeviceRecord, FlowRecord, Stats};
use ward_core::{Alert, Event, Finding, Timestamp};

use crate::types::{AlertStatus, IngestReport, PruneReport, Retention, Suppression};
use crate::{Result, Store};

/// IPs kept per device (newest first).
const MAX_IPS: usize = 16;
/// Items kept in any other per-row list (evidence, services, devices of an alert).
const MAX_LIST: usize = 64;
/// Characters kept of any one string from the wire (hostnames, models…).
const MAX_STR: usize = 512;
/// Minutes a single flow's traffic is spread over at most (one day).
const MAX_SPREAD_MINUTES: i64 = 1440;
const MICROS_PER_MINUTE: i64 = 60_000_000;
const MICROS_PER_DAY: i64 = 86_400 * 1_000_000;

/// The SQL for a severity's penalty weight; must match
/// [`crate::severity_weight`].
pub(crate) const WEIGHT_SQL: &str =
    "CASE WHEN severity <= 1 THEN 25 WHEN severity = 2 THEN 10 WHEN severity = 3 THEN 4 ELSE 1 END";

/// The distinct alert ids naming `devices.id` by any of its addresses, as a
/// subquery `x(id)`. Driving from the device's few addresses through the
/// indexes keeps this independent of how many alerts are stored.
pub(crate) const DEVICE_ALERTS: &str = "(SELECT DISTINCT ad.alert_id AS id FROM device_addrs da
      JOIN alert_devices ad ON ad.device_id = da.addr WHERE da.device_id = devices.id) x";

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn cap(s: &str) -> String {
    match s.char_indices().nth(MAX_STR) {
        Some((i, _)) => s[..i].to_string(),
        None => s.to_string(),
    }
}

fn cap_opt(s: &Option<String>) -> Option<String> {
    s.as_deref().map(cap)
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The id a device record is stored under: its MAC, else its first IP.
pub fn device_id(d: &DeviceRecord) -> Option<String> {
    d.mac
        .map(|m| m.to_string())
        .or_else(|| d.ips.first().map(|ip| ip.to_string()))
}

impl Store {
    /// Store a batch of events in one transaction. Returns after the commit:
    /// from then on the batch survives a crash (see the crate docs). On error
    /// nothing of the batch is stored.
    pub fn ingest(&mut self, events: &[Event]) -> Result<IngestReport> {
        // IMMEDIATE takes the write lock up front, so a concurrent writer
        // waits (busy timeout) instead of failing half-way on upgrade.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut report = IngestReport {
            events: events.len() as u64,
            ..Default::default()
        };
        let mut touched = BTreeSet::new();
        let mut last_ts: Option<Timestamp> = None;
        for e in events {
            last_ts = Some(last_ts.map_or(e.timestamp, |t| t.max(e.timestamp)));
            // The body decides, not `event_type`: a mislabelled event is still
            // stored for what it carries.
            if let Some(d) = &e.device {
                if ingest_device(&tx, e.timestamp, d, &mut touched)? {
                    report.devices += 1;
                }
            }
            if let Some(f) = &e.flow {
                ingest_flow(&tx, e, f)?;
                report.flows += 1;
            }
            if let Some(a) = &e.alert {
                match ingest_alert(&tx, e.timestamp, a, &mut touched)? {
                    AlertOutcome::New => report.alerts_new += 1,
                    AlertOutcome::Updated => report.alerts_updated += 1,
                    AlertOutcome::Suppressed => report.alerts_suppressed += 1,
                }
            }
            if let Some(f) = &e.finding {
                ingest_finding(&tx, e.timestamp, f, &mut touched)?;
                report.findings += 1;
            }
            if let Some(s) = &e.stats {
                ingest_stats(&tx, e.timestamp, s)?;
                report.stats += 1;
            }
        }
        recompute_risk(&tx, Some(&touched))?;
        tx.execute(
            "INSERT INTO ingest_log(wall, events, last_ts) VALUES (?1, ?2, ?3)",
            params![unix_now(), to_i64(report.events), last_ts.map(|t| t.0)],
        )?;
        report.batch_id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(report)
    }

    /// Set an alert's status and note (`None` keeps the note). Returns
    /// `false` when there is no such alert.
    pub fn set_alert_status(
        &mut self,
        id: i64,
        status: AlertStatus,
        note: Option<&str>,
    ) -> Result<bool> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx.execute(
            "UPDATE alerts SET status = ?2, note = COALESCE(?3, note), status_changed = ?4
             WHERE id = ?1",
            params![id, status.as_str(), note.map(cap), unix_now()],
        )?;
        if n > 0 {
            let touched = alert_device_ids(&tx, id)?;
            recompute_risk(&tx, Some(&touched))?;
        }
        tx.commit()?;
        Ok(n > 0)
    }

    /// "This is normal": mark alert `id` as `normal`, add a suppression rule
    /// for its signature limited to its attacker (or, without one, its first
    /// device), and close the other active alerts the rule matches. Returns
    /// the rule's id, or `None` when there is no such alert.
    pub fn mark_normal(&mut self, id: i64, note: Option<&str>) -> Result<Option<i64>> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row: Option<(String, Option<String>, String)> = tx
            .query_row(
                "SELECT signature, attacker, devices FROM alerts WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((signature, attacker, devices)) = row else {
            return Ok(None);
        };
        let devices: Vec<String> = serde_json::from_str(&devices).unwrap_or_default();
        let subject = attacker.or_else(|| devices.into_iter().next());
        let rule = insert_suppression(&tx, &signature, subject.as_deref(), note)?;
        let now = unix_now();
        let mut ids = vec![id];
        {
            let mut stmt = tx.prepare(
                "SELECT id FROM alerts WHERE signature = ?1 AND status IN ('open', 'acknowledged')
                 AND (?2 IS NULL OR attacker = ?2
                      OR id IN (SELECT alert_id FROM alert_devices WHERE device_id = ?2))",
            )?;
            let more = stmt.query_map(params![signature, subject], |r| r.get::<_, i64>(0))?;
            for m in more {
                ids.push(m?);
            }
        }
        let mut touched = BTreeSet::new();
        for a in ids {
            tx.execute(
                "UPDATE alerts SET status = 'normal', note = COALESCE(?2, note),
                   status_changed = ?3, suppression_id = COALESCE(suppression_id, ?4)
                 WHERE id = ?1",
                params![
                    a,
                    note.map(cap),
                    now,
                    if a == id { None } else { Some(rule) }
                ],
            )?;
            touched.extend(alert_device_ids(&tx, a)?);
        }
        recompute_risk(&tx, Some(&touched))?;
        tx.commit()?;
        Ok(Some(rule))
    }

    /// Add a suppression rule: future alerts with `signature` whose attacker
    /// or one of whose devices is `subject` (any, when `None`) are stored as
    /// `normal`. Adding an existing rule returns its id.
    pub fn add_suppression(
        &mut self,
        signature: &str,
        subject: Option<&str>,
        note: Option<&str>,
    ) -> Result<i64> {
        let tx = self.conn.transaction()?;
        let id = insert_suppression(&tx, signature, subject, note)?;
        tx.commit()?;
        Ok(id)
    }

    /// Delete a suppression rule; `false` when there was none.
    pub fn remove_suppression(&mut self, id: i64) -> Result<bool> {
        Ok(self
            .conn
            .execute("DELETE FROM suppressions WHERE id = ?1", [id])?
            > 0)
    }

    /// Every suppression rule, newest first.
    pub fn suppressions(&self) -> Result<Vec<Suppression>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, signature, subject, note, created FROM suppressions ORDER BY id DESC",
        )?;
        let rows = stmt
            .query_map([], |r| {
                let subject: String = r.get(2)?;
                Ok(Suppression {
                    id: r.get(0)?,
                    signature: r.get(1)?,
                    subject: (!subject.is_empty()).then_some(subject),
                    note: r.get(3)?,
                    created_unix: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// The id of the suppression rule matching `alert`, if any. The engine-
    /// side runner may call this to drop or mark repeats before they are
    /// sent anywhere; [`Store::ingest`] applies it on its own as well.
    pub fn suppression_for(&self, alert: &Alert) -> Result<Option<i64>> {
        let attacker = alert.attacker.map(|ip| ip.to_string());
        find_suppression(
            &self.conn,
            &alert.signature,
            attacker.as_deref(),
            &alert.devices,
        )
    }

    /// Whether a "this is normal" rule covers `alert`.
    pub fn is_suppressed(&self, alert: &Alert) -> Result<bool> {
        Ok(self.suppression_for(alert)?.is_some())
    }

    /// Delete what is older than `retention` allows, counted back from
    /// `now`. Risk scores are recomputed afterwards.
    pub fn prune(&mut self, now: Timestamp, retention: &Retention) -> Result<PruneReport> {
        let cutoff = |days: u32| now.0.saturating_sub(i64::from(days) * MICROS_PER_DAY);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut r = PruneReport {
            traffic: tx.execute(
                "DELETE FROM traffic WHERE minute < ?1",
                [cutoff(retention.traffic_days).div_euclid(MICROS_PER_MINUTE)],
            )? as u64,
            stats: tx.execute(
                "DELETE FROM stats WHERE ts < ?1",
                [cutoff(retention.stats_days)],
            )? as u64,
            ..Default::default()
        };
        r.alerts = tx.execute(
            "DELETE FROM alerts WHERE last_seen < ?2
               OR (status IN ('muted', 'normal') AND last_seen < ?1)",
            params![
                cutoff(retention.closed_alert_days),
                cutoff(retention.alert_days)
            ],
        )? as u64;
        r.findings = tx.execute(
            "DELETE FROM findings WHERE last_seen < ?1",
            [cutoff(retention.finding_days)],
        )? as u64;
        r.history = tx.execute(
            "DELETE FROM device_history WHERE ts < ?1",
            [cutoff(retention.history_days)],
        )? as u64;
        recompute_risk(&tx, None)?;
        tx.commit()?;
        Ok(r)
    }
}

fn insert_suppression(
    tx: &Transaction<'_>,
    signature: &str,
    subject: Option<&str>,
    note: Option<&str>,
) -> Result<i64> {
    let subject = subject.map(cap).unwrap_or_default();
    tx.execute(
        "INSERT INTO suppressions(signature, subject, note, created) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(signature, subject) DO NOTHING",
        params![cap(signature), subject, note.map(cap), unix_now()],
    )?;
    Ok(tx.query_row(
        "SELECT id FROM suppressions WHERE signature = ?1 AND subject = ?2",
        params![cap(signature), subject],
        |r| r.get(0),
    )?)
}

fn find_suppression(
    conn: &rusqlite::Connection,
    signature: &str,
    attacker: Option<&str>,
    devices: &[String],
) -> Result<Option<i64>> {
    let mut stmt = conn
        .prepare_cached("SELECT id, subject FROM suppressions WHERE signature = ?1 ORDER BY id")?;
    let rules = stmt.query_map([signature], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
    })?;
    for rule in rules {
        let (id, subject) = rule?;
        if subject.is_empty() || attacker == Some(subject.as_str()) || devices.contains(&subject) {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

/// Returns `true` when the record had an id and was stored.
fn ingest_device(
    tx: &Transaction<'_>,
    ts: Timestamp,
    d: &DeviceRecord,
    touched: &mut BTreeSet<String>,
) -> Result<bool> {
    let Some(id) = device_id(d) else {
        return Ok(false);
    };
    type Identity = [Option<String>; 4];
    let old: Option<(Identity, String)> = tx
        .query_row(
            "SELECT vendor, hostname, category, model, ips FROM devices WHERE id = ?1",
            [&id],
            |r| Ok(([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?], r.get(4)?)),
        )
        .optional()?;
    let new: Identity = [
        cap_opt(&d.vendor),
        cap_opt(&d.hostname),
        cap_opt(&d.category),
        cap_opt(&d.model),
    ];
    const FIELDS: [&str; 4] = ["vendor", "hostname", "category", "model"];
    let mut ips: Vec<String> = d.ips.iter().map(|ip| ip.to_string()).collect();
    match &old {
        None => {
            tx.execute(
                "INSERT INTO device_history(device_id, ts, field, old_value, new_value)
                 VALUES (?1, ?2, 'first-seen', NULL, ?3)",
                params![
                    id,
                    d.first_seen.0,
                    d.mac.map(|m| m.to_string()).or(ips.first().cloned())
                ],
            )?;
        }
        Some((old_ident, old_ips)) => {
            for ((field, old_v), new_v) in FIELDS.iter().zip(old_ident).zip(&new) {
                if new_v.is_some() && new_v != old_v {
                    tx.execute(
                        "INSERT INTO device_history(device_id, ts, field, old_value, new_value)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![id, ts.0, field, old_v, new_v],
                    )?;
                }
            }
            let old_ips: Vec<String> = serde_json::from_str(old_ips).unwrap_or_default();
            for ip in old_ips {
                if !ips.contains(&ip) {
                    ips.push(ip);
                }
            }
        }
    }
    ips.truncate(MAX_IPS);
    let evidence: Vec<_> = d
        .evidence
        .iter()
        .take(MAX_LIST)
        .map(|e| ward_core::event::Evidence {
            source: cap(&e.source),
            value: cap(&e.value),
        })
        .collect();
    let list = |v: &[String]| -> Vec<String> { v.iter().take(MAX_LIST).map(|s| cap(s)).collect() };
    tx.execute(
        "INSERT INTO devices(id, mac, vendor, hostname, category, model, confidence, evidence,
            ips, services, protocols, random_mac, first_seen, last_seen,
            pkts_sent, bytes_sent, pkts_received, bytes_received)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)
         ON CONFLICT(id) DO UPDATE SET
            mac = COALESCE(excluded.mac, mac),
            vendor = COALESCE(excluded.vendor, vendor),
            hostname = COALESCE(excluded.hostname, hostname),
            category = COALESCE(excluded.category, category),
            model = COALESCE(excluded.model, model),
            confidence = COALESCE(excluded.confidence, confidence),
            evidence = CASE WHEN excluded.evidence = '[]' THEN evidence ELSE excluded.evidence END,
            ips = excluded.ips,
            services = CASE WHEN excluded.services = '[]' THEN services ELSE excluded.services END,
            protocols = CASE WHEN excluded.protocols = '[]' THEN protocols ELSE excluded.protocols END,
            random_mac = excluded.random_mac,
            first_seen = MIN(first_seen, excluded.first_seen),
            last_seen = MAX(last_seen, excluded.last_seen),
            pkts_sent = excluded.pkts_sent,
            bytes_sent = excluded.bytes_sent,
            pkts_received = excluded.pkts_received,
            bytes_received = excluded.bytes_received",
        params![
            id,
            d.mac.map(|m| m.to_string()),
            new[0],
            new[1],
            new[2],
            new[3],
            d.confidence.filter(|c| c.is_finite()).map(f64::from),
            serde_json::to_string(&evidence)?,
            serde_json::to_string(&ips)?,
            serde_json::to_string(&list(&d.services))?,
            serde_json::to_string(&list(&d.protocols))?,
            d.random_mac,
            d.first_seen.0,
            d.last_seen.0.max(d.first_seen.0),
            to_i64(d.pkts_sent),
            to_i64(d.bytes_sent),
            to_i64(d.pkts_received),
            to_i64(d.bytes_received),
        ],
    )?;
    tx.prepare_cached("DELETE FROM device_addrs WHERE device_id = ?1")?
        .execute([&id])?;
    let mut addr =
        tx.prepare_cached("INSERT OR IGNORE INTO device_addrs(addr, device_id) VALUES (?1, ?2)")?;
    addr.execute([&id, &id])?;
    for ip in &ips {
        addr.execute([ip, &id])?;
    }
    touched.insert(id);
    Ok(true)
}

/// The stored device id for one end of a flow, if that end is a known device.
fn flow_end_device(
    tx: &Transaction<'_>,
    mac: Option<ward_core::MacAddr>,
    ip: Option<std::net::IpAddr>,
) -> Result<Option<String>> {
    let mut stmt = tx.prepare_cached("SELECT 1 FROM devices WHERE id = ?1")?;
    let candidates = [
        mac.filter(|m| m.is_station()).map(|m| m.to_string()),
        ip.map(|ip| ip.to_string()),
    ];
    for id in candidates.into_iter().flatten() {
        if stmt.exists([&id])? {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

fn ingest_flow(tx: &Transaction<'_>, e: &Event, f: &FlowRecord) -> Result<()> {
    let pkts = f.pkts_toserver.saturating_add(f.pkts_toclient);
    let bytes = f.bytes_toserver.saturating_add(f.bytes_toclient);
    if pkts == 0 && bytes == 0 {
        return Ok(());
    }
    let end_min = f.end.0.max(f.start.0).div_euclid(MICROS_PER_MINUTE);
    let start_min = f
        .start
        .0
        .div_euclid(MICROS_PER_MINUTE)
        .max(end_min - (MAX_SPREAD_MINUTES - 1));
    let minutes = (end_min - start_min + 1) as u64;
    let src = flow_end_device(tx, e.src_mac, e.src_ip)?;
    let dst = flow_end_device(tx, e.dest_mac, e.dest_ip)?;
    let ends: Vec<String> = match (src, dst) {
        (Some(a), Some(b)) if a == b => vec![a],
        (a, b) => a.into_iter().chain(b).collect(),
    };
    let mut stmt = tx.prepare_cached(
        "INSERT INTO traffic(device_id, minute, pkts, bytes) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(device_id, minute) DO UPDATE SET
           pkts = pkts + excluded.pkts, bytes = bytes + excluded.bytes",
    )?;
    for id in &ends {
        for (i, minute) in (start_min..=end_min).enumerate() {
            // Even shares; the remainder goes to the last minute.
            let last = i as u64 + 1 == minutes;
            let share = |total: u64| total / minutes + if last { total % minutes } else { 0 };
            let (p, b) = (share(pkts), share(bytes));
            if p == 0 && b == 0 {
                continue;
            }
            stmt.execute(params![id, minute, to_i64(p), to_i64(b)])?;
        }
    }
    Ok(())
}

enum AlertOutcome {
    New,
    Updated,
    Suppressed,
}

fn ingest_alert(
    tx: &Transaction<'_>,
    ts: Timestamp,
    a: &Alert,
    touched: &mut BTreeSet<String>,
) -> Result<AlertOutcome> {
    let attacker = a.attacker.map(|ip| ip.to_string());
    let devices: Vec<String> = a.devices.iter().take(MAX_LIST).map(|s| cap(s)).collect();
    let victims: Vec<String> = a
        .victims
        .iter()
        .take(MAX_LIST)
        .map(|ip| ip.to_string())
        .collect();
    let evidence = serde_json::to_string(&a.evidence)?;
    let confidence = if a.confidence.is_finite() {
        f64::from(a.confidence.clamp(0.0, 1.0))
    } else {
        0.0
    };
    let existing: Option<i64> = tx
        .query_row(
            "SELECT id FROM alerts WHERE signature = ?1 AND detector = ?2 AND attacker IS ?3
               AND first_seen = ?4 ORDER BY id DESC LIMIT 1",
            params![a.signature, a.detector, attacker, a.first_seen.0],
            |r| r.get(0),
        )
        .optional()?;
    let (id, outcome) = match existing {
        Some(id) => {
            tx.execute(
                "UPDATE alerts SET ts = MAX(ts, ?2), severity = MIN(severity, ?3), confidence = ?4,
                   summary = ?5, evidence = ?6, devices = ?7, victims = ?8,
                   last_seen = MAX(last_seen, ?9), count = MAX(count, ?10)
                 WHERE id = ?1",
                params![
                    id,
                    ts.0,
                    a.severity,
                    confidence,
                    cap(&a.summary),
                    evidence,
                    serde_json::to_string(&devices)?,
                    serde_json::to_string(&victims)?,
                    a.last_seen.0,
                    to_i64(a.count)
                ],
            )?;
            (id, AlertOutcome::Updated)
        }
        None => {
            let rule = find_suppression(tx, &a.signature, attacker.as_deref(), &a.devices)?;
            let (status, note) = match rule {
                Some(r) => (
                    AlertStatus::Normal,
                    Some(format!("marked normal by suppression rule #{r}")),
                ),
                None => (AlertStatus::Open, None),
            };
            tx.execute(
                "INSERT INTO alerts(ts, category, signature, severity, confidence, summary,
                   evidence, devices, attacker, victims, first_seen, last_seen, count, detector,
                   status, note, suppression_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
                params![
                    ts.0,
                    a.category.as_str(),
                    cap(&a.signature),
                    a.severity,
                    confidence,
                    cap(&a.summary),
                    evidence,
                    serde_json::to_string(&devices)?,
                    attacker,
                    serde_json::to_string(&victims)?,
                    a.first_seen.0,
                    a.last_seen.0.max(a.first_seen.0),
                    to_i64(a.count),
                    cap(&a.detector),
                    status.as_str(),
                    note,
                    rule
                ],
            )?;
            let outcome = if rule.is_some() {
                AlertOutcome::Suppressed
            } else {
                AlertOutcome::New
            };
            (tx.last_insert_rowid(), outcome)
        }
    };
    let mut link = tx.prepare_cached(
        "INSERT OR IGNORE INTO alert_devices(alert_id, device_id) VALUES (?1, ?2)",
    )?;
    for dev in devices.iter().chain(attacker.iter()).chain(victims.iter()) {
        link.execute(params![id, dev])?;
        touched.insert(dev.clone());
    }
    Ok(outcome)
}

fn ingest_finding(
    tx: &Transaction<'_>,
    ts: Timestamp,
    f: &Finding,
    touched: &mut BTreeSet<String>,
) -> Result<()> {
    let device = f.device.as_deref().map(cap).unwrap_or_default();
    // `secret` is deliberately not stored: the database outlives the run and
    // is readable by whoever can read the dashboard's files.
    tx.execute(
        "INSERT INTO findings(kind, device, protocol, username, severity, summary, outcome,
           secret_redacted, evidence, remedy, first_seen, last_seen, count)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, 1)
         ON CONFLICT(kind, device, protocol, username) DO UPDATE SET
           severity = MIN(severity, excluded.severity),
           summary = excluded.summary,
           outcome = COALESCE(excluded.outcome, outcome),
           secret_redacted = MAX(secret_redacted, excluded.secret_redacted),
           evidence = excluded.evidence,
           remedy = COALESCE(excluded.remedy, remedy),
           first_seen = MIN(first_seen, excluded.first_seen),
           last_seen = MAX(last_seen, excluded.last_seen),
           count = count + 1",
        params![
            f.kind.as_str(),
            device,
            cap(&f.protocol),
            f.username.as_deref().map(cap).unwrap_or_default(),
            f.severity,
            cap(&f.summary),
            cap_opt(&f.outcome),
            f.secret_redacted || f.secret.is_some(),
            serde_json::to_string(&f.evidence)?,
            cap_opt(&f.remedy),
            ts.0
        ],
    )?;
    if !device.is_empty() {
        touched.insert(device);
    }
    Ok(())
}

fn ingest_stats(tx: &Transaction<'_>, ts: Timestamp, s: &Stats) -> Result<()> {
    tx.execute(
        "INSERT INTO stats(ts, body) VALUES (?1, ?2)",
        params![ts.0, serde_json::to_string(s)?],
    )?;
    Ok(())
}

/// Device ids (and IPs) linked to an alert.
fn alert_device_ids(tx: &Transaction<'_>, alert_id: i64) -> Result<BTreeSet<String>> {
    let mut stmt = tx.prepare_cached("SELECT device_id FROM alert_devices WHERE alert_id = ?1")?;
    let ids = stmt
        .query_map([alert_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(ids)
}

/// Recompute `devices.risk` for the devices whose id or one of whose IPs is
/// in `keys` (every device when `None`).
fn recompute_risk(tx: &Transaction<'_>, keys: Option<&BTreeSet<String>>) -> Result<()> {
    // DISTINCT counts an alert once even when it names the device by both
    // MAC and IP.
    let set_risk = format!(
        "UPDATE devices SET risk = MIN(100,
           COALESCE((SELECT SUM({WEIGHT_SQL}) FROM {DEVICE_ALERTS} JOIN alerts a ON a.id = x.id
                     WHERE a.status IN ('open', 'acknowledged')), 0)
         + COALESCE((SELECT SUM({WEIGHT_SQL}) FROM device_addrs da
                     JOIN findings f ON f.device = da.addr
                     WHERE da.device_id = devices.id), 0))"
    );
    match keys {
        None => {
            tx.execute(&set_risk, [])?;
        }
        Some(keys) => {
            let one = format!(
                "{set_risk} WHERE id IN (SELECT device_id FROM device_addrs WHERE addr = ?1)"
            );
            let mut stmt = tx.prepare_cached(&one)?;
            for k in keys {
                stmt.execute([k])?;
            }
        }
    }
    Ok(())
}
