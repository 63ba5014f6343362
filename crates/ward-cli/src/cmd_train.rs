//! `ward train identify`: train a device-identification model.
//! `ward train attacks`: train the supervised attack-recognition model.
//!
//! ```text
//! ward train identify --devices devices.csv CAPTURE... [--datasets DIR] --out model.json
//! ward train attacks --run DIR... [--labels labels.csv CAPTURE...] [--test-run DIR...] --out attacks.json
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
    /// Train the attack classifier over time-window features.
    Attacks(attacks::AttacksArgs),
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
    let a = match args.what {
        TrainWhat::Identify(a) => a,
        TrainWhat::Attacks(a) => return attacks::run(a),
    };
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

/// `ward train attacks`.
mod attacks {
    use std::path::{Path, PathBuf};
    use std::process::ExitCode;
    use std::time::{SystemTime, UNIX_EPOCH};

    use anyhow::Context;
    use clap::Args;
    use ward_capture::{MergedReader, RawPacket};
    use ward_core::Timestamp;
    use ward_detect::ml::train::{self, parse_labels, Run, TrainRequest, WindowCollector};
    use ward_identify::forest::ForestParams;

    #[derive(Args, Debug)]
    pub struct AttacksArgs {
        /// A lab run folder (capture.pcap + labels.csv) to train on; repeatable.
        #[arg(long = "run", value_name = "DIR")]
        runs: Vec<PathBuf>,
        /// A labels.csv for the CAPTUREs given as arguments (trained on too).
        #[arg(long, value_name = "CSV", requires = "captures")]
        labels: Option<PathBuf>,
        /// A run folder held out for scoring (never trained on); repeatable.
        #[arg(long = "test-run", value_name = "DIR")]
        test_runs: Vec<PathBuf>,
        /// Where to write the model (JSON).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Trees in the forest.
        #[arg(long, default_value_t = 30)]
        trees: usize,
        /// Deepest tree level.
        #[arg(long, default_value_t = 14)]
        max_depth: usize,
        /// Fewest windows a node needs to be split.
        #[arg(long, default_value_t = 4)]
        min_samples_split: usize,
        /// Random seed (the model is a function of data, parameters and seed).
        #[arg(long, default_value_t = ForestParams::default().seed)]
        seed: u64,
        /// Vote share that makes a window an attack when scoring (the
        /// detector's `min_confidence`).
        #[arg(long, default_value_t = 0.8)]
        min_confidence: f32,
        /// Captures the --labels file labels (never silently ignored:
        /// without --labels they are an error).
        #[arg(requires = "labels")]
        captures: Vec<PathBuf>,
    }

    /// Replay `captures` and keep their windows, labelled by `labels`.
    fn load(name: String, captures: &[PathBuf], labels: &Path) -> anyhow::Result<Run> {
        let text = std::fs::read_to_string(labels)
            .with_context(|| format!("cannot read {}", labels.display()))?;
        let labels = parse_labels(&text, &labels.display().to_string())?;
        // In timestamp order across files, as `ward analyze` reads them, so
        // the model learns the windows the detector will see (captures read
        // one after another would go back in time, and windows of a second
        // already past are never closed).
        let mut reader = MergedReader::open(captures)?;
        let mut collector = WindowCollector::new();
        let mut pkt = RawPacket::default();
        while reader.next_packet(&mut pkt) {
            collector.process(
                Timestamp::from_nanos(pkt.ts_nanos),
                pkt.linktype,
                &pkt.data,
                pkt.orig_len,
            );
        }
        // A damaged tail ends that capture; what came before counts.
        for e in &reader.errors {
            eprintln!("ward: warning: {e}");
        }
        Ok(Run {
            name,
            windows: collector.finish(),
            labels,
        })
    }

    fn load_run(dir: &Path) -> anyhow::Result<Run> {
        load(
            dir.display().to_string(),
            &[dir.join("capture.pcap")],
            &dir.join("labels.csv"),
        )
    }

    fn describe(run: &Run) -> String {
        let mut per: std::collections::BTreeMap<String, usize> = Default::default();
        for (_, c) in run.labelled() {
            *per.entry(c).or_insert(0) += 1;
        }
        let parts: Vec<String> = per.iter().map(|(c, n)| format!("{c} {n}")).collect();
        format!(
            "{}: {} windows ({})",
            run.name,
            run.windows.len(),
            parts.join(", ")
        )
    }

    pub fn run(a: AttacksArgs) -> anyhow::Result<ExitCode> {
        if a.runs.is_empty() && a.labels.is_none() {
            anyhow::bail!("nothing to train on: give --run DIR, or --labels CSV with captures");
        }
        let mut train_runs = Vec::new();
        for dir in &a.runs {
            let r = load_run(dir)?;
            eprintln!("train {}", describe(&r));
            train_runs.push(r);
        }
        if let Some(labels) = &a.labels {
            let name = a
                .captures
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" + ");
            let r = load(name, &a.captures, labels)?;
            eprintln!("train {}", describe(&r));
            train_runs.push(r);
        }
        let mut test_runs = Vec::new();
        for dir in &a.test_runs {
            let r = load_run(dir)?;
            eprintln!("test  {}", describe(&r));
            test_runs.push(r);
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as i64)
            .unwrap_or(0);
        let req = TrainRequest {
            params: ForestParams {
                trees: a.trees,
                max_depth: a.max_depth,
                min_samples_split: a.min_samples_split,
                features_per_split: 0,
                seed: a.seed,
            },
            min_confidence: a.min_confidence,
            command: std::env::args().collect::<Vec<_>>().join(" "),
            trained: Timestamp::from_nanos(now).to_string(),
        };
        let (model, eval) = train::train(&train_runs, &test_runs, &req)?;
        if !test_runs.is_empty() {
            println!("{}", model.provenance.split);
            println!("| class | precision | recall | F1 | held-out windows |");
            println!("|---|---|---|---|---|");
            for (c, s) in &model.provenance.scores {
                println!(
                    "| {c} | {:.3} | {:.3} | {:.3} | {} |",
                    s.precision, s.recall, s.f1, s.support
                );
            }
            match model.provenance.macro_f1 {
                Some(f) => println!("macro-F1 over the attack classes: {f:.3}"),
                None => println!("macro-F1: no attack windows held out"),
            }
            let (fp, benign) = eval.benign_false_positives();
            println!("benign windows called an attack: {fp} of {benign}");
            for (c, n) in &eval.unknown {
                println!("held-out {c} windows the model has no class for: {n}");
            }
            println!(
                "confusion (rows: truth, columns: predicted {:?}):",
                eval.classes
            );
            for (c, row) in eval.classes.iter().zip(&eval.confusion) {
                println!("  {c:>10} {row:?}");
            }
        }
        let json = model.to_json()?;
        std::fs::write(&a.out, &json)
            .with_context(|| format!("cannot write {}", a.out.display()))?;
        println!(
            "wrote {} ({} classes, {} nodes, {} KiB)",
            a.out.display(),
            model.classes.len(),
            model.node_count(),
            json.len() / 1024
        );
        Ok(ExitCode::SUCCESS)
    }
}
