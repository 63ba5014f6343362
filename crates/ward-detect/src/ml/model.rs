//! The attack-recognition model: a random forest over
//! [`super::features`], its class names and the provenance of the training
//! run.
//!
//! A model file is JSON. It records the feature version it was trained on;
//! loading a model made for another feature version (or with classes ward
//! does not know) is an error, never a silent mis-prediction. The default
//! model is compiled into the binary from `models/attacks.json`
//! (`models/README.md` gives the command that reproduces it). This module
//! does no I/O: callers read the file and hand over its bytes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ward_core::AlertCategory;
use ward_ml::forest::{Forest, ForestParams};

use super::features::{FEATURE_NAMES, FEATURE_VERSION};

pub const MODEL_FORMAT: &str = "ward-attacks-model";

/// The class for traffic that is not an attack.
pub const BENIGN: &str = "benign";

/// Per-class scores on the held-out split.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ClassScore {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Held-out windows of this class.
    pub support: usize,
}

/// Where a model came from and how good it measured.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Provenance {
    /// Training runs (capture + labels), as given on the command line.
    pub train: Vec<String>,
    /// Held-out runs the scores were measured on.
    pub test: Vec<String>,
    /// How the scores were measured.
    pub split: String,
    /// The command that made it.
    pub command: String,
    /// Training date (UTC, as given by the trainer).
    pub trained: String,
    pub params: ForestParams,
    /// Training windows per class.
    pub rows: BTreeMap<String, usize>,
    /// Window-level scores on the held-out runs, per attack class.
    pub scores: BTreeMap<String, ClassScore>,
    /// Mean F1 over the attack classes present in the held-out runs.
    pub macro_f1: Option<f64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AttackModel {
    pub format: String,
    pub feature_version: u32,
    /// Feature names in vector order (for explanations; checked on load).
    pub features: Vec<String>,
    /// Class names, indexed by the forest's classes; one is [`BENIGN`],
    /// the others are alert categories.
    pub classes: Vec<String>,
    /// Windows with fewer packets sent are not classified (they are too
    /// thin to say anything and make most of a quiet network).
    pub min_window_packets: u32,
    pub provenance: Provenance,
    pub forest: Forest,
}

/// Why a model could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("attack model is not valid JSON: {0}")]
    Parse(#[from] serde_json::Error),
    #[error("not a ward attack model (format {0:?})")]
    Format(String),
    #[error("attack model was built for feature version {found}, this build uses {expected}")]
    FeatureVersion { found: u32, expected: u32 },
    #[error("attack model is inconsistent: {0}")]
    Inconsistent(String),
}

static DEFAULT_MODEL: &str = include_str!("../../models/attacks.json");

/// The alert category a class name stands for.
/// Only attack categories: a model never learns `anomaly`, `policy` or
/// `new-device`.
pub fn category_of(class: &str) -> Option<AlertCategory> {
    AlertCategory::parse(class)
        .filter(|c| class == c.as_str())
        .filter(|c| {
            !matches!(
                c,
                AlertCategory::Anomaly | AlertCategory::Policy | AlertCategory::NewDevice
            )
        })
}

impl AttackModel {
    /// The model compiled into the binary.
    pub fn default_model() -> Result<AttackModel, ModelError> {
        AttackModel::from_json(DEFAULT_MODEL.as_bytes())
    }

    pub fn from_json(bytes: &[u8]) -> Result<AttackModel, ModelError> {
        let m: AttackModel = serde_json::from_slice(bytes)?;
        m.validate()?;
        Ok(m)
    }

    pub fn to_json(&self) -> Result<String, ModelError> {
        let mut s = serde_json::to_string(self)?;
        s.push('\n');
        Ok(s)
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
        if self.features.iter().map(String::as_str).ne(FEATURE_NAMES) {
            return Err(ModelError::Inconsistent("feature names differ".into()));
        }
        if self.forest.classes != self.classes.len() || self.classes.is_empty() {
            return Err(ModelError::Inconsistent("class counts differ".into()));
        }
        for c in &self.classes {
            if c != BENIGN && category_of(c).is_none() {
                return Err(ModelError::Inconsistent(format!("unknown class {c:?}")));
            }
        }
        if !self.classes.iter().any(|c| c == BENIGN) {
            return Err(ModelError::Inconsistent("no benign class".into()));
        }
        Ok(())
    }

    pub fn benign_index(&self) -> usize {
        self.classes.iter().position(|c| c == BENIGN).unwrap_or(0)
    }

    pub fn node_count(&self) -> usize {
        self.forest.node_count()
    }
}

#[cfg(test)]
mod tests {
    use super::AttackModel;

    #[test]
    fn the_shipped_forest_takes_the_short_walk() {
        // Each closed window walks it: a model file whose trees list a
        // child before its parent would fall back to the checked walk.
        let m = AttackModel::default_model().expect("built-in model");
        assert!(m.forest.compile().is_forward());
    }
}
