//! ward's configuration file (TOML).
//!
//! Every section and field is optional; a missing file means the defaults,
//! which are meant to be right for a home network. Unknown fields are an
//! error, so a typo never silently falls back to a default.

use serde::{Deserialize, Serialize};

use crate::engine::EngineConfig;
use crate::scope::NetworkConfig;

/// The whole configuration file.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub engine: EngineConfig,
    /// The LAN's addresses (`local_networks`), see [`crate::scope`].
    pub network: NetworkConfig,
    /// Detector settings, one table per detector, passed to them as they are
    /// (each detector validates its own table).
    pub detectors: toml_table::Table,
    /// Alert delivery (`[[sinks]]`), kept as JSON values and validated by
    /// ward-sinks, so ward-core stays free of sink client libraries.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sinks: Vec<serde_json::Value>,
}

/// A loosely typed TOML table (kept as JSON values so ward-core does not
/// depend on a TOML parser).
pub mod toml_table {
    pub type Table = std::collections::BTreeMap<String, serde_json::Value>;
}

impl Config {
    /// The defaults as a commented TOML-ready structure (for `ward config --default`).
    pub fn defaults() -> Self {
        Config::default()
    }
}
