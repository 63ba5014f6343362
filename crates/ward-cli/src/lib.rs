//! The part of the `ward` command other tools reuse: [`pipeline`], which
//! builds the engine with every detector and identification exactly as
//! `ward analyze` and `ward watch` do. `ward-bench`'s `stage-bench --stage
//! pipeline` times that engine, so the benchmark cannot drift from what
//! the command runs.
#![forbid(unsafe_code)]

pub mod pipeline;
