//! `ward devices`: the device inventory, as a table or JSON.
//!
//! With captures, runs them through the engine with identification first
//! (loading and saving `--state` when given); without, prints the inventory
//! the state file holds.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use ward_capture::{MergedReader, RawPacket};
use ward_core::{Engine, EngineConfig, Event, EventSink, Timestamp};
use ward_identify::{DeviceIdentifier, IdentifyConfig, Inventory, Model};

#[derive(Args, Debug)]
pub struct DevicesArgs {
    /// Inventory state file: read first (if it exists), written after the run.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Print the inventory as JSON (the state file format) instead of a table.
    #[arg(long)]
    json: bool,
    /// Identification model file (default: the model built into ward).
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// Seconds of packet time, from the first packet ever seen, before a
    /// newly seen device raises a `new-device` alert.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    learning_period: u64,
    /// Capture files (pcap or pcapng) to analyse first.
    captures: Vec<PathBuf>,
}

/// Alerts go to standard error as EVE lines; everything else is dropped.
struct AlertsToStderr(u64);

impl EventSink for AlertsToStderr {
    fn emit(&mut self, event: &Event) {
        if event.alert.is_some() {
            self.0 += 1;
            eprintln!("{}", event.to_json());
        }
    }
}

pub fn run(args: DevicesArgs) -> anyhow::Result<ExitCode> {
    if args.captures.is_empty() && args.state.is_none() {
        anyhow::bail!("give capture files to analyse, or --state FILE to show a saved inventory");
    }
    let inventory = match &args.state {
        Some(p) => Inventory::load_or_default(p)?,
        None => Inventory::default(),
    };
    let inventory = if args.captures.is_empty() {
        inventory
    } else {
        let model = match &args.model {
            Some(p) => Model::load(p)?,
            None => Model::default_model().context("the built-in identification model")?,
        };
        let cfg = IdentifyConfig {
            learning_period_s: args.learning_period,
            ..Default::default()
        };
        let ident = DeviceIdentifier::new(model, cfg, inventory);
        let engine_cfg = EngineConfig {
            emit_flows: Some(false),
            ..Default::default()
        };
        let detectors = vec![ident.port_observer()];
        let mut engine = Engine::new(engine_cfg, crate::pipeline::random_seed(), detectors)
            .with_identifier(Box::new(ident));
        let mut reader = MergedReader::open(&args.captures)?;
        let mut pkt = RawPacket::default();
        let mut sink = AlertsToStderr(0);
        while reader.next_packet(&mut pkt) {
            engine.process(
                Timestamp::from_nanos(pkt.ts_nanos),
                pkt.linktype,
                &pkt.data,
                pkt.orig_len,
                &mut sink,
            );
        }
        engine.finish(&mut sink);
        DeviceIdentifier::of_engine(&engine)
            .map(|i| i.inventory().clone())
            .context("identifier missing after the run")?
    };
    if let Some(p) = &args.state {
        if !args.captures.is_empty() {
            inventory.save(p)?;
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&inventory)?);
    } else {
        print!("{}", inventory.table());
    }
    Ok(ExitCode::SUCCESS)
}
