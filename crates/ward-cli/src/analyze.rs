//! `ward analyze`: captures in, a summary and EVE events out.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use ward_core::{Config, Event, EventSink};

use crate::eve::EveWriter;
use crate::pipeline;
use crate::summary::{Collected, Summary};

#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  \
    ward analyze demo/home-lab.pcap\n  \
    ward analyze --eve events.json day1.pcapng day2.pcapng\n  \
    tcpdump -i eth0 -w - | ward analyze --eve - -\n\n\
Exit status: 0 success; 1 nothing could be read or written; 2 finished, but some input was damaged.")]
pub struct AnalyzeArgs {
    /// Capture files (pcap or pcapng); several are read in timestamp order; `-` reads standard input.
    #[arg(required = true, value_name = "CAPTURE")]
    pub captures: Vec<PathBuf>,
    /// Write events as NDJSON (one JSON object per line) to FILE, or `-` for standard output.
    #[arg(long, value_name = "FILE")]
    pub eve: Option<PathBuf>,
    /// Leave `flow` events out of the EVE output (alerts, findings, devices and stats stay).
    #[arg(long)]
    pub no_flows: bool,
    /// Configuration file (TOML); every setting has a default.
    #[arg(long, short, value_name = "FILE", env = "WARD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Write passwords and community strings in clear in findings (they are redacted by default).
    #[arg(long)]
    pub reveal_secrets: bool,
    /// Print no summary.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print the summary as JSON instead of tables.
    #[arg(long)]
    pub summary_json: bool,
    /// Write every packet's behavioural anomaly score to FILE (CSV: timestamp,score,threshold,src,dst,device,phase,src_mac), for research and `ward eval --scores`.
    #[arg(long, value_name = "FILE")]
    pub scores: Option<PathBuf>,
    /// Keep learned state in DIR (device inventory, behaviour model): loaded at the start if there, saved at the end, so the next run does not relearn from zero.
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Identification model file (from `ward train identify`) instead of the one built into ward.
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Also store the events in ward's database FILE (created if missing), for `ward serve`.
    /// `ward serve` uses $XDG_DATA_HOME/ward/ward.db when given no --db.
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
}

pub fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    let Some(path) = path else {
        return Ok(Config::default());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid config {}", path.display()))
}

/// Tees events into the EVE writer and the summary's collection.
struct Tee<'a> {
    eve: Option<&'a mut EveWriter>,
    store: Option<&'a mut ward_store::StoreSink>,
    /// The config's `[[sinks]]` (alert delivery).
    sinks: &'a mut ward_sinks::SinkSet,
    collected: &'a mut Collected,
}

impl EventSink for Tee<'_> {
    fn emit(&mut self, event: &Event) {
        self.collected.add(event);
        if let Some(w) = self.eve.as_deref_mut() {
            w.emit(event);
        }
        if let Some(s) = self.store.as_deref_mut() {
            s.emit(event);
        }
        self.sinks.emit(event);
    }
}

pub fn run(args: AnalyzeArgs) -> anyhow::Result<ExitCode> {
    let mut config = load_config(args.config.as_deref())?;
    if args.reveal_secrets {
        config.engine.reveal_secrets = true;
    }
    if config.engine.emit_flows.is_none() {
        // Build `flow` events only when an output keeps them: the summary
        // counts flows from the flow table, not from events, and building
        // one event per flow is a noticeable part of the pipeline's time.
        let sinks_want_flows = ward_sinks::parse_sinks(&config.sinks)
            .context("[[sinks]] in the config")?
            .iter()
            .any(|s| s.filter.event_types.contains(&ward_core::EventType::Flow));
        let eve_wants_flows = args.eve.is_some() && !args.no_flows;
        config.engine.emit_flows = Some(eve_wants_flows || args.db.is_some() || sinks_want_flows);
    }
    let mut eve = match &args.eve {
        Some(p) => {
            let mut w = EveWriter::create(p)?;
            w.flows = !args.no_flows;
            Some(w)
        }
        None => None,
    };
    let eve_on_stdout = args.eve.as_deref() == Some(Path::new("-"));
    let mut store = match &args.db {
        Some(p) => Some(ward_store::StoreSink::new(
            ward_store::Store::open(p)
                .with_context(|| format!("cannot open store {}", p.display()))?,
        )),
        None => None,
    };

    let mut sinks = ward_sinks::SinkSet::from_config(&config.sinks)
        .context("starting [[sinks]] from the config")?;

    let mut collected = Collected::default();
    let (engine, outcome) = {
        let mut tee = Tee {
            eve: eve.as_mut(),
            store: store.as_mut(),
            sinks: &mut sinks,
            collected: &mut collected,
        };
        pipeline::run_paths(
            &args.captures,
            &config,
            &pipeline::RunOptions {
                scores: args.scores.clone(),
                state: args.state.clone(),
                model: args.model.clone(),
                live: false,
            },
            &mut tee,
        )?
    };
    let written = match eve {
        Some(w) => Some(w.finish().with_context(|| {
            format!(
                "writing EVE output {}",
                args.eve.as_deref().unwrap_or(Path::new("-")).display()
            )
        })?),
        None => None,
    };
    if let (Some(sink), Some(path)) = (store, &args.db) {
        let (_, stored) = sink
            .finish()
            .with_context(|| format!("writing store {}", path.display()))?;
        if !args.quiet {
            eprintln!(
                "ward: stored {} events in {} ({} devices, {} alerts, {} findings)",
                stored.events,
                path.display(),
                stored.devices,
                stored.alerts_new + stored.alerts_updated + stored.alerts_suppressed,
                stored.findings
            );
        }
    }

    for r in sinks.finish(std::time::Duration::from_secs(10)) {
        if !args.quiet || r.failed + r.dropped > 0 {
            eprintln!(
                "ward: sink {} ({}): {} sent, {} failed, {} retried, {} dropped{}",
                r.name,
                r.kind,
                r.sent,
                r.failed,
                r.retried,
                r.dropped,
                r.last_error
                    .map(|e| format!(" (last error: {e})"))
                    .unwrap_or_default()
            );
        }
    }

    for e in &outcome.errors {
        eprintln!("ward: warning: {e} (the rest of this file was skipped)");
    }
    if outcome.interrupted {
        eprintln!("ward: interrupted: the summary and events cover the packets read so far");
    }
    if !args.quiet {
        let summary = Summary::new(&engine, &collected, outcome.wall, written);
        let text = if args.summary_json {
            summary.to_json()
        } else {
            summary.render(&args.captures)
        };
        if eve_on_stdout {
            eprint!("{text}");
        } else {
            print!("{text}");
        }
    }
    Ok(if outcome.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
