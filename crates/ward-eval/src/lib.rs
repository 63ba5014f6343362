//! Scoring ward's events against ground truth.
//!
//! Inputs are the event contract (whatever produced the events) and label
//! files, so the same scorer serves the lab, the shared datasets and anyone's
//! own captures:
//! - `labels.csv`: `label,category,start,end,attacker,victims,ports,tool,notes`
//!   (times RFC 3339; victims `;`-separated addresses or CIDRs);
//! - `devices.csv`: `mac,ip,name,category,model,default_credentials`
//!   (`proto:user:pass` separated by `;`), extra columns ignored;
//! - per-packet anomaly scores: `timestamp,score,src,dst,device[,phase][,src_mac]`.
//!
//! An alert *matches* a labelled attack when its time span overlaps the
//! attack's (widened by [`Matching`]'s slack) and it names the attacker or a
//! victim (by address, or by a device whose addresses include one); a label
//! that names neither matches on time alone. Each alert is credited to one
//! label: its own category first, then one whose attacker and victim it both
//! names, then one under way when the alert was raised, then the nearest start.
//! Alerts that match no label are false alarms; benign time is the capture
//! span minus every widened attack window.
//!
//! Per-packet scores are measured per label. An attack's *positives* are its
//! own packets: rows inside the labelled window (widened by `before_s` on
//! both sides, for clock skew) that come from or go to the attacker's
//! address, or that were sent from the attacker's MAC (spoofed floods and
//! ARP poisoning use other addresses; the attacker's MAC is the one most
//! often seen with its address in the same scores file). Background traffic
//! of other devices that merely overlaps the window is not a positive, even
//! when the label's victims are a whole subnet. A label without an attacker
//! falls back to rows naming a victim. The *negatives* are every row outside
//! all attack windows widened by `before_s` before and `residue_s` (default
//! 300 s, three half-lives of the model's slowest window) after: packets
//! right after an attack score the attack's residue in the features, which
//! is neither the attack nor benign behaviour.
#![forbid(unsafe_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::Path;

use serde::Serialize;
use ward_core::event::{AlertCategory, EventType, FindingKind};
use ward_core::{Event, MacAddr, Timestamp};

mod roc;
pub use roc::{roc_auc, tpr_at_fpr};

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("{path}: {msg}")]
    Input { path: String, msg: String },
}

fn input_err(path: &Path, msg: impl Into<String>) -> EvalError {
    EvalError::Input {
        path: path.display().to_string(),
        msg: msg.into(),
    }
}

/// An address or a network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Net {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Net {
    pub fn parse(s: &str) -> Option<Net> {
        let s = s.trim();
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max)?,
            None => max,
        };
        Some(Net { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - self.prefix as u32)
                };
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u128::MAX << (128 - self.prefix as u32)
                };
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// One labelled attack.
#[derive(Clone, Debug, Serialize)]
pub struct Label {
    pub label: String,
    pub category: AlertCategory,
    pub start: Timestamp,
    pub end: Timestamp,
    pub attacker: Option<IpAddr>,
    pub victims: Vec<Net>,
    pub ports: String,
    pub tool: String,
    pub notes: String,
}

/// Read a labels file.
pub fn read_labels(path: &Path) -> Result<Vec<Label>, EvalError> {
    labels_from(CsvTable::read(path, true)?)
}

/// Parse the text of a labels file; errors name `origin` and the line.
pub fn parse_labels(text: &str, origin: &str) -> Result<Vec<Label>, EvalError> {
    labels_from(CsvTable::parse(text, origin, true)?)
}

fn labels_from(t: CsvTable) -> Result<Vec<Label>, EvalError> {
    let (c_label, c_cat) = (t.need("label")?, t.need("category")?);
    let (c_start, c_end) = (t.need("start")?, t.need("end")?);
    let (c_att, c_vic) = (t.col("attacker"), t.col("victims"));
    let (c_ports, c_tool, c_notes) = (t.col("ports"), t.col("tool"), t.col("notes"));
    let mut out = Vec::new();
    for row in t.rows() {
        let category = AlertCategory::parse(row.get(c_cat))
            .ok_or_else(|| row.err(format!("unknown category {:?}", row.get(c_cat))))?;
        let ts = |c: Option<usize>| {
            Timestamp::parse_rfc3339(row.get(c))
                .ok_or_else(|| row.err(format!("bad time {:?}", row.get(c))))
        };
        let attacker = match row.get(c_att) {
            "" => None,
            a => Some(
                a.parse()
                    .map_err(|_| row.err(format!("bad attacker address {a:?}")))?,
            ),
        };
        let mut victims = Vec::new();
        for v in row
            .get(c_vic)
            .split(';')
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            victims.push(Net::parse(v).ok_or_else(|| row.err(format!("bad victim {v:?}")))?);
        }
        out.push(Label {
            label: row.get(c_label).to_string(),
            category,
            start: ts(c_start)?,
            end: ts(c_end)?,
            attacker,
            victims,
            ports: row.get(c_ports).to_string(),
            tool: row.get(c_tool).to_string(),
            notes: row.get(c_notes).to_string(),
        });
    }
    Ok(out)
}

/// A CSV file read whole, with columns found by header name (so extra
/// columns and any column order are fine) and errors naming file and line.
struct CsvTable {
    origin: String,
    headers: Vec<String>,
    records: Vec<csv::StringRecord>,
}

/// One data row of a [`CsvTable`].
struct CsvRow<'t> {
    origin: &'t str,
    line: usize,
    rec: &'t csv::StringRecord,
}

impl CsvTable {
    fn builder(comments: bool) -> csv::ReaderBuilder {
        let mut b = csv::ReaderBuilder::new();
        b.comment(comments.then_some(b'#')).flexible(true);
        b
    }

    fn read(path: &Path, comments: bool) -> Result<Self, EvalError> {
        let rdr = Self::builder(comments)
            .from_path(path)
            .map_err(|e| input_err(path, e.to_string()))?;
        Self::from_reader(rdr, path.display().to_string())
    }

    fn parse(text: &str, origin: &str, comments: bool) -> Result<Self, EvalError> {
        Self::from_reader(
            Self::builder(comments).from_reader(text.as_bytes()),
            origin.to_string(),
        )
    }

    fn from_reader<R: std::io::Read>(
        mut rdr: csv::Reader<R>,
        origin: String,
    ) -> Result<Self, EvalError> {
        let err = |msg: String| EvalError::Input {
            path: origin.clone(),
            msg,
        };
        let headers = rdr
            .headers()
            .map_err(|e| err(e.to_string()))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        let mut records = Vec::new();
        for (i, rec) in rdr.records().enumerate() {
            records.push(rec.map_err(|e| err(format!("line {}: {e}", i + 2)))?);
        }
        Ok(CsvTable {
            origin,
            headers,
            records,
        })
    }

    fn err(&self, msg: String) -> EvalError {
        EvalError::Input {
            path: self.origin.clone(),
            msg,
        }
    }

    fn col(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name)
    }

    fn need(&self, name: &str) -> Result<Option<usize>, EvalError> {
        self.col(name)
            .map(Some)
            .ok_or_else(|| self.err(format!("no `{name}` column")))
    }

    fn rows(&self) -> impl Iterator<Item = CsvRow<'_>> {
        self.records.iter().enumerate().map(|(i, rec)| CsvRow {
            origin: &self.origin,
            line: rec.position().map(|p| p.line() as usize).unwrap_or(i + 2),
            rec,
        })
    }
}

impl CsvRow<'_> {
    /// The trimmed cell of column `c`, empty when the column or cell is missing.
    fn get(&self, c: Option<usize>) -> &str {
        c.and_then(|c| self.rec.get(c)).unwrap_or("").trim()
    }

    fn err(&self, msg: String) -> EvalError {
        EvalError::Input {
            path: self.origin.to_string(),
            msg: format!("line {}: {msg}", self.line),
        }
    }
}

/// One device with known identity.
#[derive(Clone, Debug, Serialize)]
pub struct TruthDevice {
    pub mac: MacAddr,
    pub ip: Option<IpAddr>,
    pub name: String,
    pub category: String,
    pub model: String,
    /// (protocol, username, password) pairs that are factory defaults.
    pub default_credentials: Vec<(String, String, String)>,
}

/// Read a devices file.
pub fn read_devices(path: &Path) -> Result<Vec<TruthDevice>, EvalError> {
    let t = CsvTable::read(path, true)?;
    let c_mac = t.need("mac")?;
    let (c_ip, c_name, c_cat, c_model) = (
        t.col("ip"),
        t.col("name"),
        t.col("category"),
        t.col("model"),
    );
    let c_creds = t.col("default_credentials");
    let mut out = Vec::new();
    for row in t.rows() {
        let mac = MacAddr::parse(row.get(c_mac))
            .ok_or_else(|| row.err(format!("bad MAC {:?}", row.get(c_mac))))?;
        let creds = row
            .get(c_creds)
            .split(';')
            .filter_map(|c| {
                let mut it = c.trim().splitn(3, ':');
                Some((
                    it.next()?.to_string(),
                    it.next()?.to_string(),
                    it.next()?.to_string(),
                ))
            })
            .collect();
        out.push(TruthDevice {
            mac,
            ip: row.get(c_ip).parse().ok(),
            name: row.get(c_name).to_string(),
            category: row.get(c_cat).to_string(),
            model: row.get(c_model).to_string(),
            default_credentials: creds,
        });
    }
    Ok(out)
}

/// One per-packet anomaly score.
#[derive(Clone, Debug)]
pub struct ScoreRow {
    pub ts: Timestamp,
    pub score: f64,
    pub src: Option<IpAddr>,
    pub dst: Option<IpAddr>,
    /// Source MAC of the frame, when the file has a `src_mac` column.
    pub src_mac: Option<MacAddr>,
}

/// Read a scores file (`timestamp,score,src,dst,device[,phase][,src_mac]`). Rows whose
/// `phase` says the model was still learning (`mapping`, `training`,
/// `calibrating`) are skipped; `scoring` and `device-learning` rows (a
/// calibrated model, a device still building its own baseline) count.
pub fn read_scores(path: &Path) -> Result<Vec<ScoreRow>, EvalError> {
    let t = CsvTable::read(path, false)?;
    let (c_ts, c_score) = (t.need("timestamp")?, t.need("score")?);
    let (c_src, c_dst, c_phase) = (t.col("src"), t.col("dst"), t.col("phase"));
    let c_mac = t.col("src_mac");
    let mut out = Vec::new();
    for row in t.rows() {
        // Only packets scored by a trained, calibrated model count.
        if c_phase.is_some() && !matches!(row.get(c_phase), "score" | "scoring" | "device-learning")
        {
            continue;
        }
        let ts = Timestamp::parse_rfc3339(row.get(c_ts))
            .ok_or_else(|| row.err("bad timestamp".into()))?;
        let score: f64 = row
            .get(c_score)
            .parse()
            .map_err(|_| row.err("bad score".into()))?;
        if !score.is_finite() {
            continue;
        }
        out.push(ScoreRow {
            ts,
            score,
            src: row.get(c_src).parse().ok(),
            dst: row.get(c_dst).parse().ok(),
            src_mac: MacAddr::parse(row.get(c_mac)),
        });
    }
    Ok(out)
}

/// Read EVE NDJSON; lines that are not events are an error naming the line.
pub fn read_events(path: &Path) -> Result<Vec<Event>, EvalError> {
    let text = std::fs::read_to_string(path).map_err(|e| input_err(path, e.to_string()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| input_err(path, format!("line {}: {e}", i + 1)))
        })
        .collect()
}

/// How generous matching is.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Matching {
    /// Seconds an alert may precede the labelled start (clock skew between the
    /// labeller and the capture).
    pub before_s: f64,
    /// Seconds after the labelled end an alert still counts (aggregation delay).
    pub after_s: f64,
    /// Seconds after the labelled end whose per-packet scores are neither
    /// positives nor negatives: the behaviour model's slowest feature window
    /// (100 s half-life) still remembers the attack, so the victims' and the
    /// attacker's next packets score its residue, not benign behaviour.
    pub residue_s: f64,
}

impl Default for Matching {
    fn default() -> Self {
        Matching {
            before_s: 2.0,
            after_s: 30.0,
            residue_s: 300.0,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct AttackResult {
    pub label: String,
    pub category: String,
    pub detected: bool,
    pub right_category: bool,
    pub right_attacker: bool,
    pub right_victim: bool,
    /// Seconds from the labelled start to the first matching alert's emission.
    pub time_to_detect_s: Option<f64>,
    pub signatures: Vec<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct CategoryScore {
    pub labels: usize,
    pub detected: usize,
    pub alerts: usize,
    pub alerts_matching: usize,
    pub recall: Option<f64>,
    pub precision: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct UnmatchedAlert {
    pub timestamp: Timestamp,
    pub category: String,
    pub signature: String,
    pub summary: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ScoreResult {
    pub label: String,
    pub positives: usize,
    pub negatives: usize,
    pub roc_auc: Option<f64>,
    pub tpr_at_fpr_0_1pct: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct DeviceResult {
    pub mac: String,
    pub name: String,
    pub truth_category: String,
    pub truth_model: String,
    pub category: Option<String>,
    pub model: Option<String>,
    /// Seconds from the device's first packet to the first `device` event
    /// carrying the right category.
    pub time_to_identify_s: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct IdentificationReport {
    pub devices: Vec<DeviceResult>,
    pub seen: usize,
    pub category_accuracy: Option<f64>,
    pub model_accuracy: Option<f64>,
    /// truth category → predicted category → count.
    pub confusion: BTreeMap<String, BTreeMap<String, usize>>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CredentialResult {
    pub device: String,
    pub protocol: String,
    pub username: String,
    pub found: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub matching: Matching,
    pub span_s: f64,
    pub benign_hours: f64,
    pub attacks: Vec<AttackResult>,
    pub categories: BTreeMap<String, CategoryScore>,
    pub alerts: usize,
    pub false_alarms: usize,
    pub false_alarms_per_benign_hour: Option<f64>,
    pub unmatched: Vec<UnmatchedAlert>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scores: Option<Vec<ScoreResult>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identification: Option<IdentificationReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials: Option<Vec<CredentialResult>>,
}

fn secs(us: i64) -> f64 {
    us as f64 / 1e6
}

/// Everything known about one alert for matching.
struct AlertView<'a> {
    event: &'a Event,
    category: AlertCategory,
    signature: &'a str,
    first: Timestamp,
    last: Timestamp,
    attackers: Vec<IpAddr>,
    victims: Vec<IpAddr>,
}

/// Score `events` against `labels` (and optionally devices and scores).
pub fn evaluate(
    events: &[Event],
    labels: &[Label],
    devices: Option<&[TruthDevice]>,
    scores: Option<&[ScoreRow]>,
    m: Matching,
) -> Report {
    let before = (m.before_s * 1e6) as i64;
    let after = (m.after_s * 1e6) as i64;
    // MAC → addresses, from device events, so alerts naming devices can match.
    let mut mac_ips: HashMap<String, BTreeSet<IpAddr>> = HashMap::new();
    for e in events {
        if let Some(d) = &e.device {
            if let Some(mac) = d.mac {
                mac_ips
                    .entry(mac.to_string())
                    .or_default()
                    .extend(d.ips.iter().copied());
            }
        }
    }
    let alerts: Vec<AlertView> = events
        .iter()
        .filter_map(|e| {
            let a = e.alert.as_ref()?;
            let mut attackers: Vec<IpAddr> = a.attacker.into_iter().chain(e.src_ip).collect();
            let mut victims: Vec<IpAddr> = a.victims.iter().copied().chain(e.dest_ip).collect();
            for d in &a.devices {
                if let Some(ips) = mac_ips.get(d) {
                    attackers.extend(ips.iter().copied());
                    victims.extend(ips.iter().copied());
                } else if let Ok(ip) = d.parse::<IpAddr>() {
                    attackers.push(ip);
                    victims.push(ip);
                }
            }
            Some(AlertView {
                event: e,
                category: a.category,
                signature: &a.signature,
                first: a.first_seen.min(e.timestamp),
                last: a.last_seen.max(a.first_seen),
                attackers,
                victims,
            })
        })
        .collect();

    let overlaps =
        |a: &AlertView, l: &Label| a.first.0 <= l.end.0 + after && a.last.0 >= l.start.0 - before;
    let names_attacker =
        |a: &AlertView, l: &Label| l.attacker.is_some_and(|x| a.attackers.contains(&x));
    let names_victim = |a: &AlertView, l: &Label| {
        a.victims
            .iter()
            .chain(a.attackers.iter())
            .any(|ip| l.victims.iter().any(|n| n.contains(*ip)))
    };

    // Each alert is credited to one label: among the labels it could match
    // (time overlap, and it names the attacker or a victim), one of its own
    // category if any, then one it names both attacker and victim of, then
    // one under way when the alert was raised, then the nearest start. Back-to-back attacks from one attacker then do not all
    // claim every alert.
    let anyone = |l: &Label| l.attacker.is_none() && l.victims.is_empty();
    let assigned: Vec<Option<usize>> = alerts
        .iter()
        .map(|a| {
            labels
                .iter()
                .enumerate()
                .filter(|(_, l)| {
                    overlaps(a, l) && (anyone(l) || names_attacker(a, l) || names_victim(a, l))
                })
                .min_by_key(|(_, l)| {
                    // When the alert was raised says most about which attack raised it.
                    let t = a.event.timestamp;
                    let inside = t >= l.start && t.0 <= l.end.0 + before;
                    let names = names_attacker(a, l) as u8 + names_victim(a, l) as u8;
                    (
                        l.category != a.category,
                        2 - names,
                        !inside,
                        t.since(l.start).abs(),
                    )
                })
                .map(|(j, _)| j)
        })
        .collect();
    let matched: Vec<bool> = assigned.iter().map(Option::is_some).collect();
    let matched_cat: Vec<bool> = assigned
        .iter()
        .zip(&alerts)
        .map(|(j, a)| j.is_some_and(|j| labels[j].category == a.category))
        .collect();
    let mut results = Vec::new();
    for (j, l) in labels.iter().enumerate() {
        let mut r = AttackResult {
            label: l.label.clone(),
            category: l.category.as_str().to_string(),
            detected: false,
            right_category: false,
            right_attacker: false,
            right_victim: false,
            time_to_detect_s: None,
            signatures: Vec::new(),
        };
        let mut best: Option<(bool, i64)> = None;
        for (a, _) in alerts.iter().zip(&assigned).filter(|(_, x)| **x == Some(j)) {
            let cat_ok = a.category == l.category;
            r.detected = true;
            r.right_category |= cat_ok;
            r.right_attacker |= names_attacker(a, l);
            r.right_victim |= names_victim(a, l);
            if !r.signatures.iter().any(|s| s == a.signature) {
                r.signatures.push(a.signature.to_string());
            }
            let ttd = a.event.timestamp.since(l.start);
            best = match best {
                None => Some((cat_ok, ttd)),
                Some((bc, bt)) if (cat_ok && !bc) || (cat_ok == bc && ttd < bt) => {
                    Some((cat_ok, ttd))
                }
                keep => keep,
            };
        }
        r.time_to_detect_s = best.map(|(_, t)| secs(t.max(0)));
        results.push(r);
    }

    let mut categories: BTreeMap<String, CategoryScore> = BTreeMap::new();
    for (l, r) in labels.iter().zip(&results) {
        let c = categories
            .entry(l.category.as_str().to_string())
            .or_default();
        c.labels += 1;
        if r.right_category {
            c.detected += 1;
        }
    }
    for (i, a) in alerts.iter().enumerate() {
        let c = categories
            .entry(a.category.as_str().to_string())
            .or_default();
        c.alerts += 1;
        if matched_cat[i] {
            c.alerts_matching += 1;
        }
    }
    for c in categories.values_mut() {
        c.recall = (c.labels > 0).then(|| c.detected as f64 / c.labels as f64);
        c.precision = (c.alerts > 0).then(|| c.alerts_matching as f64 / c.alerts as f64);
    }

    // Span from stats, else from every event's time.
    let (lo, hi) = events
        .iter()
        .filter_map(|e| {
            e.stats
                .as_ref()
                .and_then(|s| Some((s.first_packet?, s.last_packet?)))
        })
        .next_back()
        .unwrap_or_else(|| {
            let lo = events.iter().map(|e| e.timestamp).min().unwrap_or_default();
            let hi = events.iter().map(|e| e.timestamp).max().unwrap_or_default();
            (lo, hi)
        });
    let span = hi.since(lo).max(0);
    let mut windows: Vec<(i64, i64)> = labels
        .iter()
        .map(|l| ((l.start.0 - before).max(lo.0), (l.end.0 + after).min(hi.0)))
        .filter(|(a, b)| b > a)
        .collect();
    windows.sort();
    let mut attack_us = 0i64;
    let mut cur: Option<(i64, i64)> = None;
    for (a, b) in windows {
        cur = match cur {
            Some((ca, cb)) if a <= cb => Some((ca, cb.max(b))),
            Some((ca, cb)) => {
                attack_us += cb - ca;
                Some((a, b))
            }
            None => Some((a, b)),
        };
    }
    if let Some((ca, cb)) = cur {
        attack_us += cb - ca;
    }
    let benign_hours = secs(span - attack_us) / 3600.0;

    let unmatched: Vec<UnmatchedAlert> = alerts
        .iter()
        .zip(&matched)
        .filter(|(_, m)| !**m)
        .map(|(a, _)| UnmatchedAlert {
            timestamp: a.event.timestamp,
            category: a.category.as_str().to_string(),
            signature: a.signature.to_string(),
            summary: a
                .event
                .alert
                .as_ref()
                .map(|x| x.summary.clone())
                .unwrap_or_default(),
        })
        .collect();
    let false_alarms = unmatched.len();

    let residue = (m.residue_s.max(m.after_s) * 1e6) as i64;
    let scores = scores.map(|rows| score_results(rows, labels, before, residue));
    let identification = devices.map(|d| identification(events, d));
    let credentials = devices.map(|d| credential_results(events, d));

    Report {
        matching: m,
        span_s: secs(span),
        benign_hours,
        attacks: results,
        categories,
        alerts: alerts.len(),
        false_alarms,
        false_alarms_per_benign_hour: (benign_hours > 0.0)
            .then(|| false_alarms as f64 / benign_hours),
        unmatched,
        scores,
        identification,
        credentials,
    }
}

fn score_results(rows: &[ScoreRow], labels: &[Label], before: i64, after: i64) -> Vec<ScoreResult> {
    let in_any_window = |t: Timestamp| {
        labels
            .iter()
            .any(|l| t.0 >= l.start.0 - before && t.0 <= l.end.0 + after)
    };
    let negatives: Vec<f64> = rows
        .iter()
        .filter(|r| !in_any_window(r.ts))
        .map(|r| r.score)
        .collect();
    // The MAC each address is most often sent from: the attacker's own MAC,
    // which its spoofed and forwarded frames carry too.
    let mut seen: HashMap<(IpAddr, MacAddr), usize> = HashMap::new();
    for r in rows {
        if let (Some(ip), Some(mac)) = (r.src, r.src_mac) {
            *seen.entry((ip, mac)).or_insert(0) += 1;
        }
    }
    let mut mac_of: HashMap<IpAddr, (usize, MacAddr)> = HashMap::new();
    for (&(ip, mac), &n) in &seen {
        let e = mac_of.entry(ip).or_insert((n, mac));
        if (n, mac.0) > (e.0, e.1 .0) {
            *e = (n, mac);
        }
    }
    labels
        .iter()
        .map(|l| {
            let attacker_mac = l.attacker.and_then(|a| mac_of.get(&a)).map(|e| e.1);
            let is_attack_packet = |r: &ScoreRow| match l.attacker {
                Some(a) => {
                    r.src == Some(a)
                        || r.dst == Some(a)
                        || (attacker_mac.is_some() && r.src_mac == attacker_mac)
                }
                None => [r.src, r.dst]
                    .iter()
                    .flatten()
                    .any(|&ip| l.victims.iter().any(|n| n.contains(ip))),
            };
            let positives: Vec<f64> = rows
                .iter()
                .filter(|r| {
                    r.ts.0 >= l.start.0 - before
                        && r.ts.0 <= l.end.0 + before
                        && is_attack_packet(r)
                })
                .map(|r| r.score)
                .collect();
            ScoreResult {
                label: l.label.clone(),
                positives: positives.len(),
                negatives: negatives.len(),
                roc_auc: roc_auc(&positives, &negatives),
                tpr_at_fpr_0_1pct: tpr_at_fpr(&positives, &negatives, 0.001),
            }
        })
        .collect()
}

fn norm(s: &str) -> String {
    s.trim().to_ascii_lowercase()
}

/// A model name without trailing notes in parentheses (`Hikvision
/// DS-2CD2042WD (busybox httpd …)` names the model `Hikvision DS-2CD2042WD`).
fn model_name(s: &str) -> String {
    let s = s.trim();
    let base = match (s.ends_with(')'), s.find(" (")) {
        (true, Some(i)) => &s[..i],
        _ => s,
    };
    norm(base)
}

fn identification(events: &[Event], truth: &[TruthDevice]) -> IdentificationReport {
    let mut out = Vec::new();
    let mut confusion: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let (mut seen, mut cat_ok, mut model_n, mut model_ok) = (0, 0, 0, 0);
    for t in truth {
        let evs: Vec<&ward_core::event::DeviceRecord> = events
            .iter()
            .filter_map(|e| e.device.as_ref())
            .filter(|d| d.mac == Some(t.mac))
            .collect();
        let last = evs
            .iter()
            .rev()
            .find(|d| d.reason == "final")
            .or(evs.last())
            .copied();
        let first_seen = evs.first().map(|d| d.first_seen);
        let tti = evs
            .iter()
            .zip(
                events
                    .iter()
                    .filter(|e| e.device.as_ref().is_some_and(|d| d.mac == Some(t.mac))),
            )
            .find(|(d, _)| d.category.as_deref().map(norm) == Some(norm(&t.category)))
            .and_then(|(_, e)| first_seen.map(|f| secs(e.timestamp.since(f).max(0))));
        let r = DeviceResult {
            mac: t.mac.to_string(),
            name: t.name.clone(),
            truth_category: t.category.clone(),
            truth_model: t.model.clone(),
            category: last.and_then(|d| d.category.clone()),
            model: last.and_then(|d| d.model.clone()),
            time_to_identify_s: tti,
        };
        if last.is_some() {
            seen += 1;
            let pred = r.category.clone().unwrap_or_else(|| "unknown".into());
            *confusion
                .entry(t.category.clone())
                .or_default()
                .entry(pred.clone())
                .or_insert(0) += 1;
            if norm(&pred) == norm(&t.category) {
                cat_ok += 1;
            }
            if !t.model.is_empty() {
                model_n += 1;
                if r.model.as_deref().map(model_name) == Some(model_name(&t.model)) {
                    model_ok += 1;
                }
            }
        }
        out.push(r);
    }
    IdentificationReport {
        devices: out,
        seen,
        category_accuracy: (seen > 0).then(|| cat_ok as f64 / seen as f64),
        model_accuracy: (model_n > 0).then(|| model_ok as f64 / model_n as f64),
        confusion,
    }
}

fn credential_results(events: &[Event], truth: &[TruthDevice]) -> Vec<CredentialResult> {
    let findings: Vec<(&Event, &ward_core::Finding)> = events
        .iter()
        .filter(|e| e.event_type == EventType::Finding)
        .filter_map(|e| e.finding.as_ref().map(|f| (e, f)))
        .filter(|(_, f)| f.kind == FindingKind::DefaultCredentials)
        .collect();
    let mut out = Vec::new();
    for t in truth {
        for (proto, user, _) in &t.default_credentials {
            let found = findings.iter().any(|(e, f)| {
                let same_device = f.device.as_deref() == Some(&t.mac.to_string())
                    || (t.ip.is_some() && e.dest_ip == t.ip);
                same_device
                    && norm(&f.protocol) == norm(proto)
                    && f.username.as_deref().map(norm) == Some(norm(user))
            });
            out.push(CredentialResult {
                device: t.name.clone(),
                protocol: proto.clone(),
                username: user.clone(),
                found,
            });
        }
    }
    out
}

fn pct(x: Option<f64>) -> String {
    x.map(|v| format!("{:.1}%", v * 100.0))
        .unwrap_or_else(|| "—".into())
}

impl Report {
    /// The readable table.
    pub fn render(&self) -> String {
        let mut o = String::new();
        let detected = self.attacks.iter().filter(|a| a.right_category).count();
        let _ = writeln!(
            o,
            "Attacks: {} labelled, {} detected with the right category, {} detected at all",
            self.attacks.len(),
            detected,
            self.attacks.iter().filter(|a| a.detected).count()
        );
        if !self.attacks.is_empty() {
            let _ = writeln!(
                o,
                "  {:<26} {:<11} {:<9} {:<9} {:<8} {:<7} {:>8}  signatures",
                "label", "category", "detected", "category", "attacker", "victim", "ttd (s)"
            );
            let yn = |b: bool| if b { "yes" } else { "NO" };
            for a in &self.attacks {
                let _ = writeln!(
                    o,
                    "  {:<26} {:<11} {:<9} {:<9} {:<8} {:<7} {:>8}  {}",
                    a.label,
                    a.category,
                    yn(a.detected),
                    yn(a.right_category),
                    yn(a.right_attacker),
                    yn(a.right_victim),
                    a.time_to_detect_s
                        .map(|t| format!("{t:.1}"))
                        .unwrap_or_else(|| "—".into()),
                    a.signatures.join(",")
                );
            }
        }
        let _ = writeln!(o, "\nPer category");
        let _ = writeln!(
            o,
            "  {:<11} {:>6} {:>9} {:>7} {:>9} {:>9}",
            "category", "labels", "recall", "alerts", "precision", "matching"
        );
        for (c, s) in &self.categories {
            let _ = writeln!(
                o,
                "  {:<11} {:>6} {:>9} {:>7} {:>9} {:>9}",
                c,
                s.labels,
                pct(s.recall),
                s.alerts,
                pct(s.precision),
                s.alerts_matching
            );
        }
        let _ = writeln!(
            o,
            "\nFalse alarms: {} of {} alerts over {:.2} benign hours ({} per hour)",
            self.false_alarms,
            self.alerts,
            self.benign_hours,
            self.false_alarms_per_benign_hour
                .map(|v| format!("{v:.2}"))
                .unwrap_or_else(|| "—".into())
        );
        for u in self.unmatched.iter().take(40) {
            let _ = writeln!(
                o,
                "  {} {:<10} {:<28} {}",
                u.timestamp, u.category, u.signature, u.summary
            );
        }
        if self.unmatched.len() > 40 {
            let _ = writeln!(o, "  … {} more (see --json)", self.unmatched.len() - 40);
        }
        if let Some(scores) = &self.scores {
            let _ = writeln!(o, "\nAnomaly scores (per packet)");
            let _ = writeln!(
                o,
                "  {:<26} {:>9} {:>9} {:>8} {:>15}",
                "label", "attack", "benign", "ROC AUC", "TPR@FPR 0.1%"
            );
            for s in scores {
                let _ = writeln!(
                    o,
                    "  {:<26} {:>9} {:>9} {:>8} {:>15}",
                    s.label,
                    s.positives,
                    s.negatives,
                    s.roc_auc
                        .map(|v| format!("{v:.4}"))
                        .unwrap_or_else(|| "—".into()),
                    pct(s.tpr_at_fpr_0_1pct)
                );
            }
        }
        if let Some(id) = &self.identification {
            let _ = writeln!(
                o,
                "\nIdentification: {} of {} devices seen; category accuracy {}, model accuracy {}",
                id.seen,
                id.devices.len(),
                pct(id.category_accuracy),
                pct(id.model_accuracy)
            );
            for d in &id.devices {
                let _ = writeln!(
                    o,
                    "  {} {:<16} truth {}/{} → {}/{} {}",
                    d.mac,
                    d.name,
                    d.truth_category,
                    d.truth_model,
                    d.category.as_deref().unwrap_or("?"),
                    d.model.as_deref().unwrap_or("?"),
                    d.time_to_identify_s
                        .map(|t| format!("(identified after {t:.1} s)"))
                        .unwrap_or_default()
                );
            }
        }
        if let Some(creds) = &self.credentials {
            if !creds.is_empty() {
                let found = creds.iter().filter(|c| c.found).count();
                let _ = writeln!(o, "\nDefault credentials: {found} of {} found", creds.len());
                for c in creds {
                    let _ = writeln!(
                        o,
                        "  {:<16} {:<8} {:<12} {}",
                        c.device,
                        c.protocol,
                        c.username,
                        if c.found { "found" } else { "MISSED" }
                    );
                }
            }
        }
        o
    }
}
