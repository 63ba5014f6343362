//! Training and evaluation: labelled captures in, a [`Model`] with
//! provenance and measured scores out.
//!
//! Each labelled capture is replayed through the real engine
//! ([`ward_core::Engine`]) with a recording [`Identifier`] that takes a
//! feature snapshot of the labelled device every time its evidence grows,
//! so the model learns from what the pipeline really sees, from the first
//! packets to the end (several snapshots per capture, which is what lets it
//! classify early and refine).
//!
//! Evaluation is per capture and grouped: all captures of one set-up
//! number (IoT Sentinel `Setup-C-<n>-STA.pcap`: group `n`), or one capture
//! file for other data, fall in the same fold, so no set-up is ever in both
//! training and test data.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use ward_capture::{CaptureReader, RawPacket};
use ward_core::devices::{DeviceKey, DeviceTable};
use ward_core::{Engine, EngineConfig, Event, EventSink, Identifier, MacAddr, Timestamp};

use crate::features::{self, Features};
use crate::forest::{Forest, ForestParams};
use crate::identifier::generation;
use crate::model::{Model, Provenance, CATEGORIES, MODEL_FORMAT};
use crate::ports::{PortEvidence, PortObserver};

/// The hand-made IoT Sentinel folder → model, category table (with reasons).
pub const IOT_SENTINEL_LABELS: &str = include_str!("../data/iot-sentinel-labels.csv");

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("capture {path}: {message}")]
    Capture { path: String, message: String },
    #[error("{path} line {line}: {message}")]
    Csv {
        path: String,
        line: usize,
        message: String,
    },
    #[error("no labelled device was found in the captures")]
    NoData,
}

/// One device to learn, in one capture.
#[derive(Clone, Debug, PartialEq)]
pub struct Labelled {
    pub mac: MacAddr,
    pub model: String,
    pub category: String,
}

/// A labelled device's evidence over one capture.
#[derive(Clone, Debug)]
pub struct Trace {
    pub capture: PathBuf,
    /// Set-up group (never split between training and test).
    pub group: String,
    pub label: Labelled,
    /// Feature snapshots in time order: (seconds since the device was first seen, features).
    pub snapshots: Vec<(f64, Features)>,
}

/// Parse a small CSV (quoted fields with `""` escapes; first line is the header).
pub fn parse_csv(text: &str, path: &str) -> Result<Vec<BTreeMap<String, String>>, TrainError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, head)) = lines.next() else {
        return Ok(Vec::new());
    };
    let header: Vec<String> = split_csv_line(head)
        .into_iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let mut rows = Vec::new();
    for (i, line) in lines {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let cells = split_csv_line(line);
        if cells.len() > header.len() {
            return Err(TrainError::Csv {
                path: path.into(),
                line: i + 1,
                message: format!("{} fields, header has {}", cells.len(), header.len()),
            });
        }
        rows.push(
            header
                .iter()
                .cloned()
                .zip(cells.into_iter().map(|c| c.trim().to_string()))
                .collect(),
        );
    }
    Ok(rows)
}

fn split_csv_line(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// Read a `devices.csv` (columns `mac`, `model`, `category`; others ignored).
pub fn read_devices_csv(path: &Path) -> Result<Vec<Labelled>, TrainError> {
    let p = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| TrainError::Read {
        path: p.clone(),
        source,
    })?;
    let mut out = Vec::new();
    for (i, row) in parse_csv(&text, &p)?.into_iter().enumerate() {
        let get = |k: &str| row.get(k).map(String::as_str).unwrap_or("");
        let err = |message: String| TrainError::Csv {
            path: p.clone(),
            line: i + 2,
            message,
        };
        let mac =
            MacAddr::parse(get("mac")).ok_or_else(|| err(format!("bad mac {:?}", get("mac"))))?;
        let category = get("category");
        if !CATEGORIES.contains(&category) {
            return Err(err(format!(
                "category {category:?} is not one of {}",
                CATEGORIES.join(", ")
            )));
        }
        if get("model").is_empty() {
            return Err(err("empty model".into()));
        }
        out.push(Labelled {
            mac,
            model: get("model").to_string(),
            category: category.to_string(),
        });
    }
    Ok(out)
}

/// The IoT Sentinel captures under `root`, labelled by the folder table.
pub fn iot_sentinel(root: &Path) -> Result<Vec<(PathBuf, String, Labelled)>, TrainError> {
    let rows = parse_csv(IOT_SENTINEL_LABELS, "iot-sentinel-labels.csv")?;
    let mut out = Vec::new();
    for row in rows {
        let folder = row.get("folder").cloned().unwrap_or_default();
        let dir = root.join(&folder);
        let mac_path = dir.join("_iotdevice-mac.txt");
        let text = std::fs::read_to_string(&mac_path).map_err(|source| TrainError::Read {
            path: mac_path.display().to_string(),
            source,
        })?;
        let mac = MacAddr::parse(text.trim()).ok_or_else(|| TrainError::Csv {
            path: mac_path.display().to_string(),
            line: 1,
            message: "not a MAC".into(),
        })?;
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|source| TrainError::Read {
                path: dir.display().to_string(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
            .collect();
        files.sort();
        for f in files {
            // Setup-C-<n>-STA.pcap → group n.
            let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let group = name.split('-').nth(2).unwrap_or(name).to_string();
            out.push((
                f,
                group,
                Labelled {
                    mac,
                    model: row.get("model").cloned().unwrap_or_default(),
                    category: row.get("category").cloned().unwrap_or_default(),
                },
            ));
        }
    }
    Ok(out)
}

/// Records feature snapshots of chosen devices whenever their evidence grows.
struct Recorder {
    ports: PortEvidence,
    macs: Vec<MacAddr>,
    seen: Vec<(usize, usize, usize, usize)>,
    snaps: Vec<Vec<(f64, Features)>>,
}

impl Identifier for Recorder {
    fn identify(&mut self, now: Timestamp, devices: &mut DeviceTable, _out: &mut Vec<Event>) {
        for (i, mac) in self.macs.iter().enumerate() {
            let Some(d) = devices
                .find(DeviceKey::Mac(*mac))
                .and_then(|id| devices.get(id))
            else {
                continue;
            };
            let gen = generation(d, self.ports.count(d.key));
            if self.seen[i] != gen {
                self.seen[i] = gen;
                let t = now.since(d.first_seen).max(0) as f64 / 1e6;
                let f = features::extract_with_ports(d, &self.ports.of(d.key));
                self.snaps[i].push((t, f));
            }
        }
    }
}

struct NullSink;
impl EventSink for NullSink {
    fn emit(&mut self, _event: &Event) {}
}

/// Replay `path` through the engine; feature snapshots of each MAC in `macs`
/// (empty for MACs never seen).
pub fn trace_capture(
    path: &Path,
    macs: &[MacAddr],
) -> Result<Vec<Vec<(f64, Features)>>, TrainError> {
    let cerr = |message: String| TrainError::Capture {
        path: path.display().to_string(),
        message,
    };
    let mut reader = CaptureReader::open(path, 0).map_err(|e| cerr(e.to_string()))?;
    let cfg = EngineConfig {
        emit_flows: Some(false),
        ..Default::default()
    };
    let ports = PortEvidence::default();
    let rec = Recorder {
        ports: ports.clone(),
        macs: macs.to_vec(),
        seen: vec![(usize::MAX, 0, 0, 0); macs.len()],
        snaps: vec![Vec::new(); macs.len()],
    };
    let observer: Box<dyn ward_core::Detector> = Box::new(PortObserver::new(ports));
    let mut engine = Engine::new(cfg, 0, vec![observer]).with_identifier(Box::new(rec));
    let mut pkt = RawPacket::default();
    let mut sink = NullSink;
    // A damaged tail ends the capture; what came before still counts.
    while let Ok(true) = reader.next_packet(&mut pkt) {
        engine.process(
            Timestamp::from_nanos(pkt.ts_nanos),
            pkt.linktype,
            &pkt.data,
            pkt.orig_len,
            &mut sink,
        );
    }
    engine.finish(&mut sink);
    let any: &dyn std::any::Any = engine
        .identifier()
        .ok_or_else(|| cerr("identifier missing".into()))?;
    let rec: &Recorder = any
        .downcast_ref()
        .ok_or_else(|| cerr("identifier of another type".into()))?;
    Ok(rec.snaps.clone())
}

/// Trace every labelled capture; captures where the device never appears are skipped.
pub fn collect(
    items: &[(PathBuf, String, Labelled)],
    mut progress: impl FnMut(usize, usize),
) -> Result<Vec<Trace>, TrainError> {
    let mut traces = Vec::new();
    for (i, (path, group, label)) in items.iter().enumerate() {
        progress(i, items.len());
        let snaps = trace_capture(path, std::slice::from_ref(&label.mac))?;
        if let Some(s) = snaps.into_iter().next().filter(|s| !s.is_empty()) {
            traces.push(Trace {
                capture: path.clone(),
                group: group.clone(),
                label: label.clone(),
                snapshots: s,
            });
        }
    }
    Ok(traces)
}

/// Captures × device labels from a devices.csv: every labelled MAC that
/// appears in a capture is a trace, grouped by capture file.
pub fn collect_devices_csv(
    labels: &[Labelled],
    captures: &[PathBuf],
) -> Result<Vec<Trace>, TrainError> {
    let macs: Vec<MacAddr> = labels.iter().map(|l| l.mac).collect();
    let mut traces = Vec::new();
    for path in captures {
        let snaps = trace_capture(path, &macs)?;
        for (label, s) in labels.iter().zip(snaps) {
            if !s.is_empty() {
                traces.push(Trace {
                    capture: path.clone(),
                    group: path.display().to_string(),
                    label: label.clone(),
                    snapshots: s,
                });
            }
        }
    }
    Ok(traces)
}

/// Snapshots used for training from one trace: the last, and up to
/// `early` evenly spaced earlier ones (so early evidence is learnt too).
fn training_snapshots(t: &Trace, early: usize) -> Vec<&Features> {
    let n = t.snapshots.len();
    let mut idx: BTreeSet<usize> = BTreeSet::new();
    if n == 0 {
        return Vec::new();
    }
    idx.insert(n - 1);
    for k in 0..early {
        idx.insert(k * n / early.max(1));
    }
    idx.into_iter().map(|i| &t.snapshots[i].1).collect()
}

/// Earlier snapshots taken per capture (besides the last one).
pub const EARLY_SNAPSHOTS: usize = 6;

/// Train a model on `traces`.
pub fn train(traces: &[Trace], params: &ForestParams, provenance: Provenance) -> Model {
    let models: Vec<String> = traces
        .iter()
        .map(|t| t.label.model.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let model_category: Vec<String> = models
        .iter()
        .map(|m| {
            traces
                .iter()
                .find(|t| &t.label.model == m)
                .map(|t| t.label.category.clone())
                .unwrap_or_default()
        })
        .collect();
    let categories: Vec<String> = model_category
        .iter()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut rows = Vec::new();
    let mut ym = Vec::new();
    let mut yc = Vec::new();
    let mut support: Vec<BTreeSet<u32>> = vec![BTreeSet::new(); models.len()];
    for t in traces {
        let mi = models.iter().position(|m| *m == t.label.model).unwrap_or(0);
        let ci = categories
            .iter()
            .position(|c| *c == t.label.category)
            .unwrap_or(0);
        for f in training_snapshots(t, EARLY_SNAPSHOTS) {
            support[mi].extend(f.tokens.iter().copied());
            rows.push(f.x.clone());
            ym.push(mi as u32);
            yc.push(ci as u32);
        }
    }
    let model_forest = Forest::train(&rows, &ym, models.len(), params);
    let cat_params = ForestParams {
        seed: params.seed ^ 0xca7e,
        ..params.clone()
    };
    let category_forest = Forest::train(&rows, &yc, categories.len(), &cat_params);
    let mut provenance = provenance;
    provenance.params = params.clone();
    provenance.rows = rows.len();
    provenance.captures = traces.len();
    Model {
        format: MODEL_FORMAT.to_string(),
        feature_version: features::FEATURE_VERSION,
        provenance,
        models,
        model_category,
        categories,
        model_forest,
        category_forest,
        support: support
            .into_iter()
            .map(|s| s.into_iter().collect())
            .collect(),
        compiled: Default::default(),
    }
}

/// One test capture's outcome.
#[derive(Clone, Debug)]
pub struct CaptureResult {
    pub capture: PathBuf,
    pub truth_model: String,
    pub truth_category: String,
    /// The model's best answer at the end of the capture (closed set).
    pub model: String,
    pub category: String,
    /// The identifier would accept the model answer (vote share and novelty check).
    pub accepted: bool,
    /// Seconds from first sight until the model answer became right and stayed right.
    pub time_to_identify: Option<f64>,
}

/// Cross-validation results.
#[derive(Clone, Debug, Default)]
pub struct Evaluation {
    pub folds: usize,
    pub results: Vec<CaptureResult>,
}

impl Evaluation {
    pub fn model_accuracy(&self) -> f64 {
        self.share(|r| r.model == r.truth_model)
    }
    pub fn category_accuracy(&self) -> f64 {
        self.share(|r| r.category == r.truth_category)
    }
    /// Model accuracy counting an answer the identifier would reject as wrong.
    pub fn accepted_model_accuracy(&self) -> f64 {
        self.share(|r| r.accepted && r.model == r.truth_model)
    }
    /// Model accuracy when labels that share one physical device (`pairs`) count as one.
    pub fn merged_model_accuracy(&self, pairs: &[(&str, &str)]) -> f64 {
        let same = |a: &str, b: &str| {
            a == b
                || pairs
                    .iter()
                    .any(|(x, y)| (a == *x && b == *y) || (a == *y && b == *x))
        };
        self.share(|r| same(&r.model, &r.truth_model))
    }
    fn share(&self, ok: impl Fn(&CaptureResult) -> bool) -> f64 {
        if self.results.is_empty() {
            return 0.0;
        }
        self.results.iter().filter(|r| ok(r)).count() as f64 / self.results.len() as f64
    }
    /// (truth, predicted) → count, errors only.
    pub fn confusions(&self) -> BTreeMap<(String, String), usize> {
        let mut m = BTreeMap::new();
        for r in &self.results {
            if r.model != r.truth_model {
                *m.entry((r.truth_model.clone(), r.model.clone()))
                    .or_insert(0) += 1;
            }
        }
        m
    }
    /// Time-to-identify percentiles (seconds) over captures identified in the end.
    pub fn tti_percentile(&self, q: f64) -> Option<f64> {
        let mut v: Vec<f64> = self
            .results
            .iter()
            .filter_map(|r| r.time_to_identify)
            .collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let i = ((v.len() - 1) as f64 * q).round() as usize;
        v.get(i).copied()
    }
    pub fn scores(&self) -> BTreeMap<String, f64> {
        let mut s = BTreeMap::new();
        s.insert("model_accuracy".into(), self.model_accuracy());
        s.insert("category_accuracy".into(), self.category_accuracy());
        s.insert(
            "accepted_model_accuracy".into(),
            self.accepted_model_accuracy(),
        );
        s.insert("test_captures".into(), self.results.len() as f64);
        if let Some(t) = self.tti_percentile(0.5) {
            s.insert("time_to_identify_median_s".into(), t);
        }
        if let Some(t) = self.tti_percentile(0.9) {
            s.insert("time_to_identify_p90_s".into(), t);
        }
        s
    }
}

fn fold_of(group: &str, k: usize) -> usize {
    match group.parse::<usize>() {
        Ok(n) => n % k,
        // Not a set-up number: a stable hash of the group name.
        Err(_) => {
            let h = group.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
            });
            (h % k as u64) as usize
        }
    }
}

/// Grouped k-fold cross-validation (see the module docs).
pub fn cross_validate(
    traces: &[Trace],
    k: usize,
    params: &ForestParams,
    min_probability: f32,
    min_coverage: f32,
    min_matched: usize,
) -> Evaluation {
    let k = k.max(2);
    let mut results = Vec::new();
    for fold in 0..k {
        let (test, train_set): (Vec<&Trace>, Vec<&Trace>) =
            traces.iter().partition(|t| fold_of(&t.group, k) == fold);
        if test.is_empty() || train_set.is_empty() {
            continue;
        }
        let train_owned: Vec<Trace> = train_set.into_iter().cloned().collect();
        let model = train(&train_owned, params, Provenance::default());
        for t in test {
            let Some((_, last)) = t.snapshots.last() else {
                continue;
            };
            let p = model.predict(last);
            // Time to identify: the first snapshot from which every later
            // answer is right.
            let mut tti = None;
            for (ts, f) in t.snapshots.iter().rev() {
                if model.predict(f).model.name == t.label.model {
                    tti = Some(*ts);
                } else {
                    break;
                }
            }
            results.push(CaptureResult {
                capture: t.capture.clone(),
                truth_model: t.label.model.clone(),
                truth_category: t.label.category.clone(),
                accepted: p.model.probability >= min_probability
                    && p.coverage >= min_coverage
                    && p.enough_evidence(min_matched),
                model: p.model.name,
                category: p.category.name,
                time_to_identify: tti,
            });
        }
    }
    results.sort_by(|a, b| a.capture.cmp(&b.capture));
    Evaluation { folds: k, results }
}

/// What `ward train identify` is asked to do.
#[derive(Clone, Debug, Default)]
pub struct TrainRequest {
    /// The IoT Sentinel folder (`$WARD_DATASETS/iot-sentinel`), if used.
    pub iot_sentinel: Option<PathBuf>,
    /// A devices.csv and the captures it labels.
    pub devices_csv: Option<PathBuf>,
    pub captures: Vec<PathBuf>,
    /// Folds for the grouped cross-validation (the scores in the provenance).
    pub folds: usize,
    pub params: ForestParams,
    /// The command line, recorded in the provenance.
    pub command: String,
    /// The date, recorded in the provenance (the caller reads the clock).
    pub trained: String,
}

/// Label pairs that are one physical device in IoT Sentinel (the accessory
/// talks through the hub, so the capture's MAC is the hub's).
pub const SHARED_MAC_PAIRS: [(&str, &str); 2] = [
    ("D-Link DCH-Z110 door sensor", "D-Link DCH-G020 hub"),
    ("Philips Hue switch", "Philips Hue bridge"),
];

/// Collect, cross-validate and train: the model (scores in its provenance)
/// and the evaluation behind them.
pub fn run_training(
    req: &TrainRequest,
    mut progress: impl FnMut(&str),
) -> Result<(Model, Evaluation), TrainError> {
    let mut traces = Vec::new();
    let mut data = Vec::new();
    if let Some(root) = &req.iot_sentinel {
        let items = iot_sentinel(root)?;
        traces.extend(collect(&items, |i, n| {
            if i % 50 == 0 {
                progress(&format!("iot-sentinel: capture {i}/{n}"));
            }
        })?);
        data.push(format!(
            "IoT Sentinel (Miettinen et al., ICDCS 2017), person C set-ups: {} captures, labels crates/ward-identify/data/iot-sentinel-labels.csv",
            items.len()
        ));
    }
    if let Some(csv) = &req.devices_csv {
        let labels = read_devices_csv(csv)?;
        progress(&format!(
            "{}: {} labelled devices",
            csv.display(),
            labels.len()
        ));
        let t = collect_devices_csv(&labels, &req.captures)?;
        data.push(format!(
            "{} over {} capture(s): {} labelled device traces",
            csv.display(),
            req.captures.len(),
            t.len()
        ));
        traces.extend(t);
    }
    if traces.is_empty() {
        return Err(TrainError::NoData);
    }
    progress(&format!("{} traces; cross-validating", traces.len()));
    let folds = req.folds.max(2);
    let defaults = crate::IdentifyConfig::default();
    let eval = cross_validate(
        &traces,
        folds,
        &req.params,
        defaults.min_probability,
        defaults.min_coverage,
        defaults.min_matched_tokens,
    );
    let mut scores = eval.scores();
    scores.insert(
        "model_accuracy_shared_mac_merged".into(),
        eval.merged_model_accuracy(&SHARED_MAC_PAIRS),
    );
    progress("training the final model on all traces");
    let provenance = Provenance {
        data,
        split: format!(
            "grouped {folds}-fold cross-validation: IoT Sentinel by set-up number n of Setup-C-<n>-STA.pcap (fold = n mod {folds}), other captures by file; scores are per capture (the labelled device's prediction at the end of the capture)"
        ),
        command: req.command.clone(),
        trained: req.trained.clone(),
        scores,
        ..Default::default()
    };
    let model = train(&traces, &req.params, provenance);
    Ok((model, eval))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_extra_columns() {
        let rows = parse_csv(
            "mac,model,category,notes\naa:bb:cc:dd:ee:ff,\"Cam, v2\",camera,\"says \"\"hi\"\"\"\n",
            "t",
        )
        .unwrap();
        assert_eq!(rows[0]["model"], "Cam, v2");
        assert_eq!(rows[0]["notes"], "says \"hi\"");
    }

    #[test]
    fn shipped_label_table_is_complete() {
        let rows = parse_csv(IOT_SENTINEL_LABELS, "labels").unwrap();
        assert_eq!(rows.len(), 31, "one row per IoT Sentinel folder");
        let models: BTreeSet<&str> = rows.iter().map(|r| r["model"].as_str()).collect();
        assert_eq!(models.len(), 27, "27 device types");
        for r in &rows {
            assert!(CATEGORIES.contains(&r["category"].as_str()), "{r:?}");
            assert!(!r["reasoning"].is_empty(), "{r:?}");
        }
    }

    #[test]
    fn devices_csv_is_checked() {
        let dir = std::env::temp_dir().join(format!("ward-identify-csv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.csv");
        std::fs::write(
            &good,
            "name,mac,category,model\ncam,AA:BB:CC:00:11:22,camera,Acme Cam 2\n",
        )
        .unwrap();
        let labels = read_devices_csv(&good).unwrap();
        assert_eq!(labels[0].model, "Acme Cam 2");
        assert_eq!(labels[0].mac, MacAddr([0xaa, 0xbb, 0xcc, 0, 0x11, 0x22]));
        let bad = dir.join("bad.csv");
        std::fs::write(&bad, "mac,model,category\naa:bb:cc:00:11:22,X,toaster\n").unwrap();
        let err = read_devices_csv(&bad).unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("toaster"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn folds_never_split_a_group() {
        for g in ["1", "7", "12", "a.pcap"] {
            assert_eq!(fold_of(g, 5), fold_of(g, 5));
        }
        assert_eq!(fold_of("7", 5), 2);
    }
}
