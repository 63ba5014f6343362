//! The identification model: two random forests (model label, category)
//! over [`crate::features`], the label names, a novelty check, and the
//! provenance of the training run.
//!
//! A model file is JSON. It records the feature version it was trained on;
//! loading a model made for another feature version is an error, never a
//! silent mis-prediction. The default model is compiled into the binary
//! from `models/default.json` (see `models/README.md` for the command that
//! reproduces it).
//!
//! The forests always vote for *some* training label, so a device unlike
//! anything in the training data would still get a label. The novelty check
//! guards that: the model keeps, per label, the hashed feature slots its
//! training rows used, and a prediction is only accepted when most of the
//! device's own slots are among them ([`Prediction::coverage`]).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::features::{Features, FEATURE_VERSION};
use crate::forest::{CompiledForest, Forest, ForestParams};

/// Categories a device can be given (the `device.category` values).
pub const CATEGORIES: [&str; 17] = [
    "camera",
    "doorbell",
    "plug/switch",
    "light",
    "hub/bridge",
    "sensor",
    "lock",
    "speaker/assistant",
    "TV/media",
    "printer",
    "thermostat",
    "appliance",
    "health/wearable",
    "network equipment",
    "phone/computer",
    "server",
    "unknown",
];

pub const MODEL_FORMAT: &str = "ward-identify-model";

/// Where a model came from and how good it measured.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Provenance {
    /// Data sets / label files / captures it was trained on.
    pub data: Vec<String>,
    /// How the scores were measured (the split).
    pub split: String,
    /// The command that made it.
    pub command: String,
    /// Training date (UTC, as given by the trainer).
    pub trained: String,
    pub params: ForestParams,
    /// Training rows (feature snapshots) and captures.
    pub rows: usize,
    pub captures: usize,
    /// Measured scores (`model_accuracy`, `category_accuracy`, …).
    pub scores: BTreeMap<String, f64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Model {
    pub format: String,
    pub feature_version: u32,
    pub provenance: Provenance,
    /// Model labels, indexed by the model forest's classes.
    pub models: Vec<String>,
    /// Category of each model label.
    pub model_category: Vec<String>,
    /// Category labels, indexed by the category forest's classes.
    pub categories: Vec<String>,
    pub model_forest: Forest,
    pub category_forest: Forest,
    /// Per model label: the token ids its training rows had (sorted).
    pub support: Vec<Vec<u32>>,
    /// What prediction reads, derived from the fields above on first use
    /// (never serialised): change no field of a model after predicting
    /// with it.
    #[serde(skip)]
    pub compiled: Compiled,
}

/// The forests in their flat layout and, per category label, the union
/// of its models' token ids, built once per model so each prediction
/// is two forest walks and a few binary searches (not one search in every
/// model's support per token).
#[derive(Clone, Default)]
pub struct Compiled(std::sync::OnceLock<CompiledParts>);

#[derive(Clone)]
struct CompiledParts {
    model_forest: CompiledForest,
    category_forest: CompiledForest,
    /// Indexed like `Model::categories`.
    category_support: Vec<Vec<u32>>,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.get().is_some() {
            "Compiled(ready)"
        } else {
            "Compiled(not yet)"
        })
    }
}

/// A cache of the model's own fields: two models are equal when their
/// fields are, whether or not either has been used yet.
impl PartialEq for Compiled {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Why a model file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot read model file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write model file {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("model file is not valid: {0}")]
    Parse(#[from] serde_json::Error),
    #[error("not a ward identification model (format {0:?})")]
    Format(String),
    #[error("model was built for feature version {found}, this build uses {expected}")]
    FeatureVersion { found: u32, expected: u32 },
    #[error("model is inconsistent: {0}")]
    Inconsistent(&'static str),
}

/// One accepted or rejected conclusion.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    pub name: String,
    pub probability: f32,
}

/// What the model makes of one device.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// Best model label and its vote share.
    pub model: Label,
    /// Best category and its vote share.
    pub category: Label,
    /// Share of the device's evidence tokens the predicted model's
    /// training rows also had (1 = nothing unfamiliar).
    pub coverage: f32,
    /// How many of the device's tokens other than its OUI vendor the
    /// predicted model knows, and how many such tokens it has.
    pub matched: usize,
    pub evidence_tokens: usize,
    /// The same for the predicted category (all its models' slots).
    pub category_coverage: f32,
    /// Evidence sources the deciding trees tested, most used first.
    pub sources: Vec<&'static str>,
}

/// The model forest's answer ([`Model::vote_model`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ModelVote {
    /// Index into [`Model::models`].
    pub index: usize,
    pub probability: f32,
    /// As [`Prediction::coverage`].
    pub coverage: f32,
    /// As [`Prediction::matched`] and [`Prediction::evidence_tokens`].
    pub matched: usize,
    pub evidence_tokens: usize,
}

impl ModelVote {
    /// As [`Prediction::enough_evidence`].
    pub fn enough_evidence(&self, min_matched: usize) -> bool {
        enough_evidence(self.matched, self.evidence_tokens, min_matched)
    }
}

/// The category forest's answer ([`Model::vote_category`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CategoryVote {
    /// Index into [`Model::categories`].
    pub index: usize,
    pub probability: f32,
    /// As [`Prediction::category_coverage`].
    pub coverage: f32,
}

static DEFAULT_MODEL: &[u8] = include_bytes!("../models/default.json");

impl Prediction {
    /// Enough of the device's own evidence (beyond its vendor) is known to
    /// the predicted model: at least `min_matched` tokens, or all of them
    /// when it has fewer — and at least one.
    pub fn enough_evidence(&self, min_matched: usize) -> bool {
        enough_evidence(self.matched, self.evidence_tokens, min_matched)
    }
}

impl Model {
    /// The model compiled into the binary.
    pub fn default_model() -> Result<Model, ModelError> {
        Model::from_json(DEFAULT_MODEL)
    }

    pub fn from_json(bytes: &[u8]) -> Result<Model, ModelError> {
        let m: Model = serde_json::from_slice(bytes)?;
        m.validate()?;
        Ok(m)
    }

    pub fn load(path: &Path) -> Result<Model, ModelError> {
        let bytes = std::fs::read(path).map_err(|source| ModelError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Model::from_json(&bytes)
    }

    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        let mut s = serde_json::to_string(self)?;
        s.push('\n');
        std::fs::write(path, s).map_err(|source| ModelError::Write {
            path: path.display().to_string(),
            source,
        })
    }

    fn validate(&self) -> Result<(), ModelError> {
        if self.format != MODEL_FORMAT {
            return Err(ModelError::Format(self.format.clone()));
        }
        if self.feature_version != FEATURE_VERSION {
            return Err(ModelError::FeatureVersion {
                found: self.feature_version,
                expected: FEATURE_VERSION,
            });
        }
        if self.models.len() != self.model_category.len()
            || self.models.len() != self.support.len()
            || self.model_forest.classes != self.models.len()
            || self.category_forest.classes != self.categories.len()
        {
            return Err(ModelError::Inconsistent("label and class counts differ"));
        }
        if self.models.is_empty() || self.categories.is_empty() {
            return Err(ModelError::Inconsistent("no labels"));
        }
        Ok(())
    }

    fn compiled(&self) -> &CompiledParts {
        self.compiled.0.get_or_init(|| {
            let category_support = self
                .categories
                .iter()
                .map(|cat| {
                    let mut all: Vec<u32> = self
                        .support
                        .iter()
                        .zip(&self.model_category)
                        .filter(|(_, c)| *c == cat)
                        .flat_map(|(sup, _)| sup.iter().copied())
                        .collect();
                    all.sort_unstable();
                    all.dedup();
                    all
                })
                .collect();
            CompiledParts {
                model_forest: self.model_forest.compile(),
                category_forest: self.category_forest.compile(),
                category_support,
            }
        })
    }

    /// Predict model and category for one device's features: the three
    /// steps below, all taken. The identifier takes them one at a time and
    /// stops at the first that decides (most classifications never need
    /// the category forest or the explanation); each step gives the same
    /// bits whether taken alone or here.
    pub fn predict(&self, f: &Features) -> Prediction {
        let m = self.vote_model(f);
        let c = self.vote_category(f);
        Prediction {
            model: self.model_label(&m),
            category: self.category_label(&c),
            coverage: m.coverage,
            matched: m.matched,
            evidence_tokens: m.evidence_tokens,
            category_coverage: c.coverage,
            sources: self.sources(f),
        }
    }

    /// Step one: the model forest's best label and how much of the
    /// device's evidence that label's training rows knew.
    pub fn vote_model(&self, f: &Features) -> ModelVote {
        let pm = self.compiled().model_forest.predict_proba(&f.x);
        let (index, probability) = argmax(&pm);
        let set = &f.tokens;
        // One pass over the tokens and one search each gives the three
        // counts (they were three passes and two searches per token).
        let support = self.support.get(index);
        let (mut evidence_tokens, mut matched, mut known) = (0usize, 0usize, 0usize);
        for t in set {
            let is_known = support.is_some_and(|sup| sup.binary_search(t).is_ok());
            known += usize::from(is_known);
            if Some(*t) != f.oui_token {
                evidence_tokens += 1;
                matched += usize::from(is_known);
            }
        }
        let coverage = match support {
            Some(_) if !set.is_empty() => known as f32 / set.len() as f32,
            _ => 0.0,
        };
        ModelVote {
            index,
            probability,
            coverage,
            matched,
            evidence_tokens,
        }
    }

    /// Step two: the category forest's best category and its coverage.
    pub fn vote_category(&self, f: &Features) -> CategoryVote {
        let c = self.compiled();
        let pc = c.category_forest.predict_proba(&f.x);
        let (index, probability) = argmax(&pc);
        let set = &f.tokens;
        let coverage = match c.category_support.get(index) {
            Some(sup) if !set.is_empty() => {
                set.iter().filter(|t| sup.binary_search(t).is_ok()).count() as f32
                    / set.len() as f32
            }
            _ => 0.0,
        };
        CategoryVote {
            index,
            probability,
            coverage,
        }
    }

    /// Step three: which evidence sources the model forest's paths tested,
    /// most used first, counting only slots the device actually has (a
    /// path that went "slot absent" says little about the device's own
    /// evidence).
    pub fn sources(&self, f: &Features) -> Vec<&'static str> {
        let mut used = Vec::new();
        self.compiled()
            .model_forest
            .predict_explained(&f.x, &mut used);
        let mut by_source: BTreeMap<&'static str, u32> = BTreeMap::new();
        for (_, feat) in &used {
            let v = f.x.get(*feat as usize).copied().unwrap_or(0.0);
            if v <= 0.0 {
                continue;
            }
            if let Some(name) = Features::dense_name(*feat) {
                *by_source.entry(name).or_insert(0) += 1;
            } else {
                for s in f.sources_of(*feat) {
                    *by_source.entry(s).or_insert(0) += 1;
                }
            }
        }
        let mut sources: Vec<(&'static str, u32)> = by_source.into_iter().collect();
        sources.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        sources.into_iter().map(|(s, _)| s).collect()
    }

    /// The model label of a vote.
    pub fn model_label(&self, m: &ModelVote) -> Label {
        Label {
            name: self.models.get(m.index).cloned().unwrap_or_default(),
            probability: m.probability,
        }
    }

    /// The category label of a vote.
    pub fn category_label(&self, c: &CategoryVote) -> Label {
        Label {
            name: self.categories.get(c.index).cloned().unwrap_or_default(),
            probability: c.probability,
        }
    }

    /// Model size in forest nodes (for reports).
    pub fn node_count(&self) -> usize {
        self.model_forest.node_count() + self.category_forest.node_count()
    }
}

fn enough_evidence(matched: usize, evidence_tokens: usize, min_matched: usize) -> bool {
    matched >= 1 && matched >= min_matched.min(evidence_tokens)
}

fn argmax(p: &[f32]) -> (usize, f32) {
    let mut best = (0usize, 0.0f32);
    for (i, v) in p.iter().enumerate() {
        // Ties go to the lower index, so equal votes are deterministic.
        if *v > best.1 {
            best = (i, *v);
        }
    }
    (best.0, best.1.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::Model;

    #[test]
    fn the_shipped_forests_take_the_short_walk() {
        // Every classification walks them (see ward_ml's CompiledForest).
        let m = Model::default_model().expect("built-in model");
        assert!(m.model_forest.compile().is_forward());
        assert!(m.category_forest.compile().is_forward());
    }
}
