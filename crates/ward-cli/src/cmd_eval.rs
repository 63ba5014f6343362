//! `ward eval`: run the pipeline (or read its events) and score them
//! against labels.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use ward_core::{Event, EventSink};
use ward_eval::{evaluate, read_devices, read_events, read_labels, read_scores, Matching};

use crate::analyze::load_config;
use crate::eve::EveWriter;
use crate::pipeline;

#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  \
    ward eval --labels demo/labels.csv --devices demo/devices.csv demo/home-lab.pcap\n  \
    ward eval --labels labels.csv --events events.json --json scores.json\n\n\
labels.csv: label,category,start,end,attacker,victims,ports,tool,notes (see docs/evaluation.md)")]
pub struct EvalArgs {
    /// Captures to run the pipeline over (not needed with --events).
    #[arg(value_name = "CAPTURE")]
    pub captures: Vec<PathBuf>,
    /// Labelled attacks (CSV).
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
    /// Known devices (CSV: mac,ip,name,category,model,default_credentials) to score identification and credentials.
    #[arg(long, value_name = "FILE")]
    pub devices: Option<PathBuf>,
    /// Per-packet anomaly scores (CSV from `ward analyze --scores`) for ROC AUC and TPR at FPR 0.1 %.
    #[arg(long, value_name = "FILE")]
    pub scores: Option<PathBuf>,
    /// Score these EVE events instead of running the pipeline.
    #[arg(long, value_name = "FILE", conflicts_with = "captures")]
    pub events: Option<PathBuf>,
    /// Also write the pipeline's events here.
    #[arg(long, value_name = "FILE")]
    pub eve: Option<PathBuf>,
    /// Write the scores as JSON here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Seconds after a labelled attack's end that an alert still counts.
    #[arg(long, default_value_t = 30.0)]
    pub slack: f64,
    /// Identification model file (from `ward train identify`) instead of the built-in one.
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// State folder to start from (as for `ward analyze --state`), e.g. a
    /// behaviour model learned on benign traffic; it is updated at the end.
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Also write per-packet anomaly scores here (and score them with the labels).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["events", "scores"])]
    pub write_scores: Option<PathBuf>,
    /// Configuration file (TOML).
    #[arg(long, short, value_name = "FILE", env = "WARD_CONFIG")]
    pub config: Option<PathBuf>,
}

struct Collect<'a> {
    events: Vec<Event>,
    eve: Option<&'a mut EveWriter>,
}

impl EventSink for Collect<'_> {
    fn emit(&mut self, event: &Event) {
        if let Some(w) = self.eve.as_deref_mut() {
            w.emit(event);
        }
        if event.flow.is_none() {
            self.events.push(event.clone());
        }
    }
}

pub fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let labels = match &args.labels {
        Some(p) => read_labels(p)?,
        None => Vec::new(),
    };
    let devices = args.devices.as_deref().map(read_devices).transpose()?;
    let mut scores = args.scores.as_deref().map(read_scores).transpose()?;
    if args.labels.is_none() && devices.is_none() {
        anyhow::bail!("nothing to score against: give --labels and/or --devices");
    }
    let mut damaged = false;
    let events = match &args.events {
        Some(p) => read_events(p)?,
        None => {
            if args.captures.is_empty() {
                anyhow::bail!("give captures to analyse, or --events with a file of events");
            }
            let config = load_config(args.config.as_deref())?;
            let mut eve = args.eve.as_deref().map(EveWriter::create).transpose()?;
            let mut sink = Collect {
                events: Vec::new(),
                eve: eve.as_mut(),
            };
            let opts = pipeline::RunOptions {
                scores: args.write_scores.clone(),
                state: args.state.clone(),
                model: args.model.clone(),
                live: false,
            };
            let (_engine, outcome) =
                pipeline::run_paths(&args.captures, &config, &opts, &mut sink)?;
            for e in &outcome.errors {
                eprintln!("ward: warning: {e} (the rest of this file was skipped)");
            }
            damaged = !outcome.errors.is_empty();
            let events = sink.events;
            if let Some(w) = eve {
                w.finish().context("writing EVE output")?;
            }
            events
        }
    };
    if let Some(p) = &args.write_scores {
        scores = Some(read_scores(p)?);
    }
    let matching = Matching {
        after_s: args.slack,
        ..Matching::default()
    };
    let report = evaluate(
        &events,
        &labels,
        devices.as_deref(),
        scores.as_deref(),
        matching,
    );
    print!("{}", report.render());
    if let Some(p) = &args.json {
        let text = serde_json::to_string_pretty(&report)?;
        std::fs::write(p, text + "\n").with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(if damaged {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
