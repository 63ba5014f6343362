//! `ward train identify`: train a device-identification model.
//!
//! ```text
//! ward train identify --devices devices.csv CAPTURE... [--datasets DIR] --out model.json
//! ```
//!
//! `devices.csv` has columns `mac`, `model`, `category` (others ignored).
//! With `--datasets`, the IoT Sentinel captures under `DIR/iot-sentinel`
//! are added, labelled by the table shipped in ward-identify. The model is
//! scored by grouped cross-validation first; the scores, the data and the
//! command are written into the model file.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};
use ward_core::Timestamp;
use ward_identify::forest::ForestParams;
use ward_identify::train::{run_training, TrainRequest, SHARED_MAC_PAIRS};

#[derive(Args, Debug)]
pub struct TrainArgs {
    #[command(subcommand)]
    what: TrainWhat,
}

#[derive(Subcommand, Debug)]
enum TrainWhat {
    /// Train the device model/category classifier.
    Identify(IdentifyArgs),
}

#[derive(Args, Debug)]
struct IdentifyArgs {
    /// CSV of labelled devices: mac, model, category (extra columns allowed).
    #[arg(long, value_name = "CSV")]
    devices: Option<PathBuf>,
    /// Folder of the shared datasets; adds IoT Sentinel (DIR/iot-sentinel).
    #[arg(long, value_name = "DIR", env = "WARD_DATASETS")]
    datasets: Option<PathBuf>,
    /// Where to write the model (JSON).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Cross-validation folds.
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Trees per forest.
    #[arg(long, default_value_t = 60)]
    trees: usize,
    /// Random seed (the model is a function of data, parameters and seed).
    #[arg(long, default_value_t = ForestParams::default().seed)]
    seed: u64,
    /// Captures the devices CSV labels.
    captures: Vec<PathBuf>,
}

pub fn run(args: TrainArgs) -> anyhow::Result<ExitCode> {
    let TrainWhat::Identify(a) = args.what;
    if a.devices.is_none() && a.datasets.is_none() {
        anyhow::bail!("nothing to train on: give --devices CSV with captures, or --datasets DIR");
    }
    if a.devices.is_some() && a.captures.is_empty() {
        anyhow::bail!("--devices needs the captures it labels");
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    let req = TrainRequest {
        iot_sentinel: a.datasets.as_ref().map(|d| d.join("iot-sentinel")),
        devices_csv: a.devices.clone(),
        captures: a.captures.clone(),
        folds: a.folds,
        params: ForestParams {
            trees: a.trees,
            seed: a.seed,
            ..ForestParams::default()
        },
        command: std::env::args().collect::<Vec<_>>().join(" "),
        trained: Timestamp::from_nanos(now).to_string(),
    };
    let (model, eval) = run_training(&req, |m| eprintln!("{m}"))?;
    println!("{}", model.provenance.split);
    println!(
        "model accuracy {:.4} (shared-MAC pairs merged {:.4}, accepted answers only {:.4}), category accuracy {:.4}, over {} captures",
        eval.model_accuracy(),
        eval.merged_model_accuracy(&SHARED_MAC_PAIRS),
        eval.accepted_model_accuracy(),
        eval.category_accuracy(),
        eval.results.len()
    );
    if let (Some(m), Some(p)) = (eval.tti_percentile(0.5), eval.tti_percentile(0.9)) {
        println!("time to identify: median {m:.1} s, p90 {p:.1} s");
    }
    for ((truth, pred), n) in eval.confusions() {
        println!("  confused {truth} -> {pred}: {n}");
    }
    model.save(&a.out)?;
    println!(
        "wrote {} ({} labels, {} nodes)",
        a.out.display(),
        model.models.len(),
        model.node_count()
    );
    Ok(ExitCode::SUCCESS)
}
