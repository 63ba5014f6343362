//! Small, deterministic machine-learning pieces shared by ward's
//! classifiers (device identification in `ward-identify`, supervised attack
//! recognition in `ward-detect`).
//!
//! * [`forest`]: a random forest (CART, Gini, bootstrap) that is
//!   bit-for-bit reproducible from a seed and explains its predictions.
#![forbid(unsafe_code)]

pub mod forest;
