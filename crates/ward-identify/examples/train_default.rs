//! Train (and evaluate) the default identification model.
//!
//! ```text
//! cargo run --release -p ward-identify --example train_default -- \
//!     --datasets "$WARD_DATASETS" --devices crates/ward-identify/data/lab-devices.csv \
//!     --capture demo/home-lab.pcap \
//!     [--out crates/ward-identify/models/default.json]
//! ```
//!
//! Prints grouped cross-validation accuracy (model and category), the
//! confusions (same-vendor siblings first), time-to-identify, and the model
//! size; with `--out`, writes the model trained on everything.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use ward_core::Timestamp;
use ward_identify::forest::ForestParams;
use ward_identify::train::{run_training, TrainRequest, SHARED_MAC_PAIRS};

fn main() {
    let mut args = std::env::args().skip(1);
    let mut req = TrainRequest {
        folds: 5,
        params: ForestParams::default(),
        command: std::env::args().collect::<Vec<_>>().join(" "),
        ..Default::default()
    };
    let mut out = None;
    let mut datasets = std::env::var_os("WARD_DATASETS").map(PathBuf::from);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--datasets" => datasets = args.next().map(PathBuf::from),
            "--devices" => req.devices_csv = args.next().map(PathBuf::from),
            "--capture" => req.captures.extend(args.next().map(PathBuf::from)),
            "--out" => out = args.next().map(PathBuf::from),
            "--folds" => req.folds = args.next().and_then(|v| v.parse().ok()).unwrap_or(5),
            "--trees" => req.params.trees = args.next().and_then(|v| v.parse().ok()).unwrap_or(60),
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    req.iot_sentinel = datasets.map(|d| d.join("iot-sentinel"));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    req.trained = Timestamp::from_nanos(now).to_string();
    // The shipped model's command, with the datasets folder as a variable.
    req.command = format!(
        "cargo run --release -p ward-identify --example train_default -- --datasets $WARD_DATASETS{}{} --out crates/ward-identify/models/default.json",
        req.devices_csv
            .as_ref()
            .map(|p| format!(" --devices {}", p.display()))
            .unwrap_or_default(),
        req.captures
            .iter()
            .map(|p| format!(" --capture {}", p.display()))
            .collect::<String>()
    );

    let t0 = std::time::Instant::now();
    let (model, eval) = match run_training(&req, |m| eprintln!("{m}")) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("training failed: {e}");
            std::process::exit(1);
        }
    };
    println!("split: {}", model.provenance.split);
    println!("test captures: {}", eval.results.len());
    println!(
        "model accuracy (closed set):      {:.4}",
        eval.model_accuracy()
    );
    println!(
        "model accuracy, shared-MAC pairs merged: {:.4}",
        eval.merged_model_accuracy(&SHARED_MAC_PAIRS)
    );
    println!(
        "model accuracy (accepted only):   {:.4}",
        eval.accepted_model_accuracy()
    );
    println!(
        "category accuracy:                {:.4}",
        eval.category_accuracy()
    );
    for (q, name) in [(0.5, "median"), (0.9, "p90"), (1.0, "max")] {
        if let Some(t) = eval.tti_percentile(q) {
            println!("time to identify ({name}): {t:.1} s");
        }
    }
    println!("confusions (truth -> predicted: captures):");
    for ((t, p), n) in eval.confusions() {
        println!("  {t} -> {p}: {n}");
    }
    let cat_err: Vec<_> = eval
        .results
        .iter()
        .filter(|r| r.category != r.truth_category)
        .map(|r| {
            format!(
                "{} ({} -> {})",
                r.capture.display(),
                r.truth_category,
                r.category
            )
        })
        .collect();
    println!("category errors: {}", cat_err.len());
    for e in cat_err {
        println!("  {e}");
    }
    let mut rejected: std::collections::BTreeMap<&str, usize> = Default::default();
    for r in eval.results.iter().filter(|r| !r.accepted) {
        *rejected.entry(r.truth_model.as_str()).or_insert(0) += 1;
    }
    println!("answers the identifier would not accept (novelty/vote check), by true model:");
    for (m, n) in rejected {
        println!("  {m}: {n}");
    }
    let json = serde_json::to_string(&model).unwrap_or_default();
    println!(
        "model: {} labels, {} categories, {} nodes, {} bytes JSON; took {:.1} s",
        model.models.len(),
        model.categories.len(),
        model.node_count(),
        json.len(),
        t0.elapsed().as_secs_f64()
    );
    if let Some(path) = out {
        if let Err(e) = model.save(&path) {
            eprintln!("{e}");
            std::process::exit(1);
        }
        println!("wrote {}", path.display());
    }
}
