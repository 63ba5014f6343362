//! Training and evaluating the attack model: labelled runs in, an
//! [`AttackModel`] with provenance and held-out scores out.
//!
//! A *run* is one capture with its `labels.csv` (the lab's format:
//! `label,category,start,end,attacker,victims,ports,tool,notes`). Its
//! packets are replayed through the real engine with a recording
//! [`MlDetector`], so the model learns exactly the windows the detector
//! will see. A window is labelled with an attack's category when it
//! overlaps the attack's time span, the window's host is the attacker (by
//! one of its addresses), and — where the label names victims — one of the
//! window's main destinations is a victim. Other windows of the attacker
//! during an attack are ambiguous (it may be doing two things at once) and
//! are left out; everything else is benign.
//!
//! Scores are measured by run: the model is trained on some runs and tested
//! on others, never on random windows (neighbouring seconds of one flood are
//! near-copies, and a random split would measure memory, not recognition).
//!
//! No I/O here: callers read files and feed packets.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use ward_core::{Engine, EngineConfig, Event, EventSink, Timestamp};
use ward_ml::forest::{Forest, ForestParams};

use super::features::{WindowRecord, FEATURE_NAMES, FEATURE_VERSION};
use super::model::{category_of, AttackModel, ClassScore, Provenance, BENIGN, MODEL_FORMAT};
use super::MlDetector;

/// Windows with fewer packets sent are neither learnt nor classified.
pub const MIN_WINDOW_PACKETS: u32 = 4;

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Labels(#[from] ward_eval::EvalError),
    #[error("no training windows")]
    NoData,
    #[error("label {label:?}: {category:?} is not an attack category a model can learn")]
    Category { label: String, category: String },
}

// Labels are the lab's `labels.csv`, read by the same code `ward eval`
// scores against, so training and evaluation agree on what an attack is.
pub use ward_eval::{parse_labels, Label, Net};

/// What a window is, for training: a class, or left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WindowLabel {
    Benign,
    Attack(String),
    /// The attacker during an attack, doing something else as well.
    Ambiguous,
}

/// Label one window (see the module docs).
pub fn label_window(w: &WindowRecord, labels: &[Label]) -> WindowLabel {
    let w_end = w.start.plus_micros(1_000_000);
    let mut best: Option<&Label> = None;
    let mut ambiguous = false;
    for l in labels {
        let overlaps = w.start <= l.end && l.start < w_end;
        let is_attacker = l.attacker.is_some_and(|a| w.ips.contains(&a));
        if !overlaps || !is_attacker {
            continue;
        }
        let hits_victim = l.victims.is_empty()
            || w.top_destinations
                .iter()
                .any(|(ip, _)| l.victims.iter().any(|n| n.contains(*ip)));
        if !hits_victim {
            ambiguous = true;
            continue;
        }
        // Overlapping attacks of different kinds: the shorter, more
        // specific one names the window.
        if best.is_none_or(|b| l.end.since(l.start) < b.end.since(b.start)) {
            best = Some(l);
        }
    }
    match best {
        Some(l) => WindowLabel::Attack(l.category.as_str().to_string()),
        None if ambiguous => WindowLabel::Ambiguous,
        None => WindowLabel::Benign,
    }
}

struct NullSink;
impl EventSink for NullSink {
    fn emit(&mut self, _event: &Event) {}
}

/// Replays one capture's packets through the engine and keeps its windows.
pub struct WindowCollector {
    engine: Engine,
    windows: Arc<Mutex<Vec<WindowRecord>>>,
}

impl Default for WindowCollector {
    fn default() -> Self {
        Self::new()
    }
}

impl WindowCollector {
    pub fn new() -> Self {
        let windows: Arc<Mutex<Vec<WindowRecord>>> = Arc::default();
        let sink = windows.clone();
        let rec = MlDetector::recorder(
            MIN_WINDOW_PACKETS,
            Box::new(move |w| {
                if let Ok(mut v) = sink.lock() {
                    v.push(w.clone());
                }
            }),
        );
        let cfg = EngineConfig {
            emit_flows: Some(false),
            ..Default::default()
        };
        WindowCollector {
            engine: Engine::new(cfg, 0, vec![Box::new(rec)]),
            windows,
        }
    }

    pub fn process(&mut self, ts: Timestamp, linktype: u32, data: &[u8], wire_len: u32) {
        self.engine
            .process(ts, linktype, data, wire_len, &mut NullSink);
    }

    pub fn finish(mut self) -> Vec<WindowRecord> {
        self.engine.finish(&mut NullSink);
        let mut v = self.windows.lock().map(|mut v| std::mem::take(&mut *v));
        v.as_mut().map(std::mem::take).unwrap_or_default()
    }
}

/// One labelled run's windows.
#[derive(Clone, Debug)]
pub struct Run {
    /// How the run is named in provenance (its folder or capture).
    pub name: String,
    pub windows: Vec<WindowRecord>,
    pub labels: Vec<Label>,
}

impl Run {
    /// The run's windows with their classes (ambiguous ones left out).
    pub fn labelled(&self) -> impl Iterator<Item = (&WindowRecord, String)> + '_ {
        self.windows
            .iter()
            .filter_map(|w| match label_window(w, &self.labels) {
                WindowLabel::Benign => Some((w, BENIGN.to_string())),
                WindowLabel::Attack(c) => Some((w, c)),
                WindowLabel::Ambiguous => None,
            })
    }
}

/// Training settings.
#[derive(Clone, Debug)]
pub struct TrainRequest {
    pub params: ForestParams,
    /// A window is called an attack when that class gets this share of
    /// the votes (what the detector does; used for the scores).
    pub min_confidence: f32,
    pub command: String,
    pub trained: String,
}

/// Train on `train` runs; score on `test` runs (may be empty: no scores).
pub fn train(
    train: &[Run],
    test: &[Run],
    req: &TrainRequest,
) -> Result<(AttackModel, Evaluation), TrainError> {
    for l in train.iter().chain(test).flat_map(|r| &r.labels) {
        if category_of(l.category.as_str()).is_none() {
            return Err(TrainError::Category {
                label: l.label.clone(),
                category: l.category.as_str().to_string(),
            });
        }
    }
    let mut classes: BTreeSet<String> = BTreeSet::new();
    classes.insert(BENIGN.to_string());
    let mut pairs: Vec<(Vec<f32>, String)> = Vec::new();
    for r in train {
        for (w, c) in r.labelled() {
            classes.insert(c.clone());
            pairs.push((w.x.clone(), c));
        }
    }
    if pairs.is_empty() {
        return Err(TrainError::NoData);
    }
    let classes: Vec<String> = classes.into_iter().collect();
    let idx = |c: &str| classes.iter().position(|k| k == c).unwrap_or(0) as u32;
    let mut rows_per_class: BTreeMap<String, usize> = BTreeMap::new();
    let mut rows = Vec::with_capacity(pairs.len());
    let mut y = Vec::with_capacity(pairs.len());
    for (x, c) in pairs {
        *rows_per_class.entry(c.clone()).or_insert(0) += 1;
        y.push(idx(&c));
        rows.push(x);
    }
    let forest = Forest::train(&rows, &y, classes.len(), &req.params);
    let mut model = AttackModel {
        format: MODEL_FORMAT.to_string(),
        feature_version: FEATURE_VERSION,
        features: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
        classes,
        min_window_packets: MIN_WINDOW_PACKETS,
        provenance: Provenance {
            train: train.iter().map(|r| r.name.clone()).collect(),
            test: test.iter().map(|r| r.name.clone()).collect(),
            split: format!(
                "by run: trained on {} run(s), scored on {} other run(s); one-second host windows with at least {MIN_WINDOW_PACKETS} packets sent; a window is called an attack when the class has at least {:.2} of the votes",
                train.len(),
                test.len(),
                req.min_confidence
            ),
            command: req.command.clone(),
            trained: req.trained.clone(),
            params: req.params.clone(),
            rows: rows_per_class,
            scores: BTreeMap::new(),
            macro_f1: None,
        },
        forest,
    };
    let eval = evaluate(&model, test, req.min_confidence);
    model.provenance.scores = eval.scores();
    model.provenance.macro_f1 = eval.macro_f1();
    Ok((model, eval))
}

/// The class a window is given at a confidence threshold.
pub fn predict(model: &AttackModel, x: &[f32], min_confidence: f32) -> usize {
    let p = model.forest.predict_proba(x);
    let benign = model.benign_index();
    let (ci, conf) =
        p.iter()
            .enumerate()
            .filter(|(i, _)| *i != benign)
            .fold(
                (benign, 0.0f32),
                |b, (i, v)| if *v > b.1 { (i, *v) } else { b },
            );
    if conf >= min_confidence {
        ci
    } else {
        benign
    }
}

/// A confusion matrix over the model's classes.
#[derive(Clone, Debug)]
pub struct Evaluation {
    pub classes: Vec<String>,
    /// `confusion[truth][predicted]`; truths the model does not know are
    /// counted under `unknown`.
    pub confusion: Vec<Vec<usize>>,
    /// Held-out windows whose true class the model never saw, per class.
    pub unknown: BTreeMap<String, usize>,
}

/// Score `model` on `runs`.
pub fn evaluate(model: &AttackModel, runs: &[Run], min_confidence: f32) -> Evaluation {
    let n = model.classes.len();
    let mut confusion = vec![vec![0usize; n]; n];
    let mut unknown = BTreeMap::new();
    for r in runs {
        for (w, c) in r.labelled() {
            let p = predict(model, &w.x, min_confidence);
            match model.classes.iter().position(|k| *k == c) {
                Some(t) => confusion[t][p] += 1,
                None => *unknown.entry(c).or_insert(0) += 1,
            }
        }
    }
    Evaluation {
        classes: model.classes.clone(),
        confusion,
        unknown,
    }
}

impl Evaluation {
    /// Precision, recall, F1 and support per class.
    pub fn scores(&self) -> BTreeMap<String, ClassScore> {
        let n = self.classes.len();
        let mut out = BTreeMap::new();
        for (c, name) in self.classes.iter().enumerate() {
            let tp = self.confusion[c][c] as f64;
            let predicted: usize = (0..n).map(|t| self.confusion[t][c]).sum();
            let support: usize = self.confusion[c].iter().sum();
            let precision = if predicted > 0 {
                tp / predicted as f64
            } else {
                0.0
            };
            let recall = if support > 0 {
                tp / support as f64
            } else {
                0.0
            };
            let f1 = if precision + recall > 0.0 {
                2.0 * precision * recall / (precision + recall)
            } else {
                0.0
            };
            out.insert(
                name.clone(),
                ClassScore {
                    precision: round4(precision),
                    recall: round4(recall),
                    f1: round4(f1),
                    support,
                },
            );
        }
        out
    }

    /// Mean F1 over the attack classes with held-out windows.
    pub fn macro_f1(&self) -> Option<f64> {
        let s = self.scores();
        let f: Vec<f64> = s
            .iter()
            .filter(|(k, v)| k.as_str() != BENIGN && v.support > 0)
            .map(|(_, v)| v.f1)
            .collect();
        (!f.is_empty()).then(|| round4(f.iter().sum::<f64>() / f.len() as f64))
    }

    /// Benign held-out windows called an attack.
    pub fn benign_false_positives(&self) -> (usize, usize) {
        let Some(b) = self.classes.iter().position(|c| c == BENIGN) else {
            return (0, 0);
        };
        let row = &self.confusion[b];
        (row.iter().sum::<usize>() - row[b], row.iter().sum())
    }
}

fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}
