//! `ward devices`: the device inventory, as a table or JSON.
//!
//! With captures, runs them through the pipeline first (loading and saving
//! the `--state` folder when given); without, prints the inventory the state
//! folder holds.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use ward_core::{Event, EventSink};
use ward_identify::{DeviceIdentifier, Inventory};

use crate::analyze::load_config;
use crate::pipeline::{run_paths, RunOptions};

#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  \
    ward devices demo/home-lab.pcap\n  \
    ward devices --state ~/.local/share/ward/state capture.pcap   # learn and remember\n  \
    ward devices --state ~/.local/share/ward/state --json         # show what is remembered")]
pub struct DevicesArgs {
    /// State folder (as for `ward analyze --state`): its inventory is read first and written after the run.
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,
    /// Print the inventory as JSON (the state file format) instead of a table.
    #[arg(long)]
    json: bool,
    /// Identification model file (default: the model built into ward).
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// Configuration file (TOML); `[detectors.identify]` sets the learning period and thresholds.
    #[arg(long, short, value_name = "FILE", env = "WARD_CONFIG")]
    config: Option<PathBuf>,
    /// Capture files (pcap or pcapng) to analyse first.
    captures: Vec<PathBuf>,
}

/// Alerts go to standard error as EVE lines; everything else is dropped.
struct AlertsToStderr;

impl EventSink for AlertsToStderr {
    fn emit(&mut self, event: &Event) {
        if event.alert.is_some() {
            eprintln!("{}", event.to_json());
        }
    }
}

pub fn run(args: DevicesArgs) -> anyhow::Result<ExitCode> {
    if args.captures.is_empty() && args.state.is_none() {
        anyhow::bail!("give capture files to analyse, or --state DIR to show a saved inventory");
    }
    let opts = RunOptions {
        scores: None,
        state: args.state.clone(),
        model: args.model.clone(),
        live: false,
    };
    let inventory = if args.captures.is_empty() {
        match opts.inventory_file() {
            Some(f) => Inventory::load_or_default(&f)
                .with_context(|| format!("device state {}", f.display()))?,
            None => Inventory::default(),
        }
    } else {
        let mut config = load_config(args.config.as_deref())?;
        config.engine.emit_flows = Some(false);
        let (engine, outcome) = run_paths(&args.captures, &config, &opts, &mut AlertsToStderr)?;
        for e in &outcome.errors {
            eprintln!("ward: warning: {e} (the rest of this file was skipped)");
        }
        DeviceIdentifier::of_engine(&engine)
            .map(|i| i.inventory().clone())
            .context("identifier missing after the run")?
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&inventory)?);
    } else {
        print!("{}", inventory.table());
    }
    Ok(ExitCode::SUCCESS)
}
