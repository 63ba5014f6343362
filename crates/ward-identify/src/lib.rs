//! Device discovery and identification for ward.
//!
//! * [`features`]: a fixed-length, versioned feature vector from a device's
//!   identity evidence (hashed tokens + counts).
//! * [`forest`]: a small deterministic random forest.
//! * [`model`]: the shipped/trained model (model + category forests,
//!   labels, novelty check, provenance); the default is compiled in.
//! * [`ports`]: client-port evidence gathered by a small flow-end
//!   detector ([`DeviceIdentifier::port_observer`]).
//! * [`rules`]: explicit evidence for kinds the model has not seen.
//! * [`identifier`]: [`DeviceIdentifier`], the engine's
//!   [`ward_core::Identifier`]: classifies devices whose evidence changed,
//!   merges randomised MACs, raises `new-device` and
//!   `device-identity-changed`.
//! * [`inventory`]: the persistent, versioned inventory (state file).
//! * [`train`]: building training sets from captures, cross-validation,
//!   and the training command behind `ward train identify`.
#![forbid(unsafe_code)]

pub mod features;
/// The random forest lives in `ward-ml` (shared with attack recognition).
pub use ward_ml::forest;
pub mod identifier;
pub mod inventory;
pub mod model;
pub mod ports;
pub mod rules;
pub mod train;

pub use identifier::{DeviceIdentifier, IdentifyConfig, IdentifyCounters};
pub use inventory::{Inventory, InventoryEntry, StateError};
pub use model::{Model, ModelError, Prediction, CATEGORIES};
