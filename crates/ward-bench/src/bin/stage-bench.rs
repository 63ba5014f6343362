//! Time one stage of ward's pipeline over a capture file, on the calling
//! thread, excluding file reading: packets are read in batches of 65 536
//! into memory, and only the stage's work on each batch is timed.
//!
//! Stages: `decode` (decode only), `flow` (decode + `FlowTable::update`,
//! the "decode + flow tracking" target), `engine` (`Engine::process`
//! without detectors: decode, inventory, flows, application parsers,
//! events to a counting sink), `pipeline` (`Engine::process` with the
//! detectors and the identifier `ward analyze` runs, built by the same code,
//! `ward_cli::pipeline`, from `--config` or the defaults; `--skip NAME`
//! leaves one detector out and `--no-identify` identification, to see what
//! each costs). `--no-flow-events` makes the engine build no `flow` events,
//! as `ward analyze` does when nothing it writes to wants them.
//!
//! Two clocks are reported: wall time of the stage, and the CPU time the
//! thread actually got during it (Linux `/proc/thread-self/schedstat`). On a
//! machine shared with other work the second is the honest one-core figure.
//!
//! `cargo run --release -p ward-bench --bin stage-bench -- --stage flow FILE`

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, ValueEnum};
use ward_capture::{CaptureReader, RawPacket};
use ward_core::engine::EngineConfig;
use ward_core::event::Event;
use ward_core::flow::{FlowConfig, FlowTable};
use ward_core::{decode, Engine, EventSink, Timestamp};

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
enum Stage {
    Decode,
    Flow,
    Engine,
    /// The engine with `ward analyze`'s detectors and identifier.
    Pipeline,
}

#[derive(Parser)]
struct Args {
    #[arg(long, value_enum, default_value_t = Stage::Flow)]
    stage: Stage,
    /// Flow table capacity (ward's default is 1 000 000).
    #[arg(long, default_value_t = 1_000_000)]
    max_flows: usize,
    /// `engine`, `pipeline`: build no `flow` events (`emit_flows = false`).
    #[arg(long)]
    no_flow_events: bool,
    /// `pipeline`: ward's configuration file (TOML), as `ward analyze --config`.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// `pipeline`: leave out the detector of this name (repeatable).
    #[arg(long, value_name = "NAME")]
    skip: Vec<String>,
    /// `pipeline`: no device identification (as `[detectors.identify] enabled = false`).
    #[arg(long)]
    no_identify: bool,
    /// `engine`, `pipeline`: also run a detector that counts the packets the
    /// engine marks ordinary (`PacketContext::ordinary`) and prints the share.
    #[arg(long)]
    count_ordinary: bool,
    capture: PathBuf,
}

struct CountSink(u64);

impl EventSink for CountSink {
    fn emit(&mut self, _event: &Event) {
        self.0 += 1;
    }
}

const BATCH: usize = 65_536;

/// Counts `PacketContext::ordinary` (`--count-ordinary`); the totals are
/// shared with `main` because the engine owns its detectors.
struct OrdinaryCounter(std::sync::Arc<[std::sync::atomic::AtomicU64; 2]>);

impl ward_core::Detector for OrdinaryCounter {
    fn name(&self) -> &'static str {
        "ordinary-counter"
    }
    fn on_packet(&mut self, ctx: &ward_core::engine::PacketContext<'_, '_>, _out: &mut Vec<Event>) {
        use std::sync::atomic::Ordering::Relaxed;
        self.0[usize::from(ctx.ordinary)].fetch_add(1, Relaxed);
    }
}

/// Nanoseconds this thread has spent on a CPU (0 where unavailable).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let mut reader =
        CaptureReader::open(&a.capture, 0).with_context(|| format!("{}", a.capture.display()))?;
    let mut batch: Vec<RawPacket> = (0..BATCH).map(|_| RawPacket::default()).collect();
    let flow_cfg = FlowConfig {
        max_flows: a.max_flows,
        ..FlowConfig::default()
    };
    let mut table = FlowTable::new(flow_cfg.clone(), 1);
    let mut ended = Vec::new();
    let engine_cfg = EngineConfig {
        flow: flow_cfg,
        emit_flows: a.no_flow_events.then_some(false),
        ..EngineConfig::default()
    };
    let counts = std::sync::Arc::new([
        std::sync::atomic::AtomicU64::new(0),
        std::sync::atomic::AtomicU64::new(0),
    ]);
    let extra: Vec<Box<dyn ward_core::Detector>> = if a.count_ordinary {
        vec![Box::new(OrdinaryCounter(counts.clone()))]
    } else {
        Vec::new()
    };
    let mut engine = if a.stage == Stage::Pipeline {
        pipeline_engine(&a, engine_cfg, extra)?
    } else {
        Engine::new(engine_cfg, 1, extra)
    };
    let mut sink = CountSink(0);
    let (mut packets, mut bytes, mut peak_flows, mut anomalies) = (0u64, 0u64, 0usize, 0u64);
    let mut busy = Duration::ZERO;
    let mut cpu_ns = 0u64;
    let wall = Instant::now();
    loop {
        let mut n = 0;
        while n < BATCH && reader.next_packet(&mut batch[n])? {
            n += 1;
        }
        if n == 0 {
            break;
        }
        let t = Instant::now();
        let c = thread_cpu_ns();
        for p in &batch[..n] {
            let ts = Timestamp(p.ts_nanos.div_euclid(1000));
            match a.stage {
                Stage::Decode => {
                    let pkt = decode(ts, p.linktype, &p.data, p.orig_len);
                    anomalies += u64::from(pkt.anomaly.is_some());
                    std::hint::black_box(&pkt);
                }
                Stage::Flow => {
                    let pkt = decode(ts, p.linktype, &p.data, p.orig_len);
                    std::hint::black_box(table.update(&pkt, &mut ended));
                    ended.clear();
                    peak_flows = peak_flows.max(table.len());
                }
                Stage::Engine | Stage::Pipeline => {
                    engine.process(ts, p.linktype, &p.data, p.orig_len, &mut sink);
                    peak_flows = peak_flows.max(engine.flows().len());
                }
            }
        }
        busy += t.elapsed();
        cpu_ns += thread_cpu_ns() - c;
        packets += n as u64;
        bytes += batch[..n]
            .iter()
            .map(|p| u64::from(p.orig_len))
            .sum::<u64>();
    }
    if matches!(a.stage, Stage::Engine | Stage::Pipeline) {
        let t = Instant::now();
        let c = thread_cpu_ns();
        engine.finish(&mut sink);
        busy += t.elapsed();
        cpu_ns += thread_cpu_ns() - c;
    }
    let s = busy.as_secs_f64();
    let cpu = cpu_ns as f64 / 1e9;
    println!(
        "stage={:?} packets={} bytes={} stage_wall_s={:.3} stage_cpu_s={:.3} \
         packets_per_cpu_s={:.0} mbit_per_cpu_s={:.0} packets_per_wall_s={:.0} \
         peak_flows={} decode_anomalies={} events={} total_wall_s={:.3}",
        a.stage,
        packets,
        bytes,
        s,
        cpu,
        packets as f64 / cpu,
        bytes as f64 * 8.0 / cpu / 1e6,
        packets as f64 / s,
        peak_flows,
        anomalies,
        sink.0,
        wall.elapsed().as_secs_f64()
    );
    println!(
        "size_of_flow_bytes={}",
        std::mem::size_of::<ward_core::flow::Flow>()
    );
    if a.stage == Stage::Flow {
        println!("flow_counters={:?}", table.counters);
    }
    if matches!(a.stage, Stage::Engine | Stage::Pipeline) {
        println!("flow_counters={:?}", engine.flows().counters);
    }
    if a.count_ordinary {
        let [other, ordinary] =
            [0, 1].map(|i| counts[i].load(std::sync::atomic::Ordering::Relaxed));
        println!(
            "ordinary_packets={ordinary} other_packets={other} ordinary_share={:.3}",
            ordinary as f64 / (ordinary + other).max(1) as f64
        );
    }
    Ok(())
}

/// The engine `ward analyze` builds (same code), with `--config`, `--skip`
/// and `--no-identify` applied; the flow settings come from `engine_cfg`
/// unless the config file sets its own `[engine]`.
#[cfg(feature = "pipeline")]
fn pipeline_engine(
    a: &Args,
    engine_cfg: EngineConfig,
    extra: Vec<Box<dyn ward_core::Detector>>,
) -> anyhow::Result<Engine> {
    use ward_cli::pipeline::{build_detectors, build_engine_with, RunOptions};
    let mut config = match &a.config {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("{}", p.display()))?;
            toml::from_str(&text).with_context(|| format!("{}", p.display()))?
        }
        None => ward_core::Config {
            engine: engine_cfg.clone(),
            ..Default::default()
        },
    };
    if a.no_flow_events {
        config.engine.emit_flows = Some(false);
    }
    if a.no_identify {
        let table = config
            .detectors
            .entry("identify".into())
            .or_insert_with(|| serde_json::json!({}));
        match table.as_object_mut() {
            Some(t) => {
                t.insert("enabled".into(), false.into());
            }
            None => anyhow::bail!("[detectors.identify] must be a table"),
        }
    }
    let opts = RunOptions::default();
    let mut detectors = build_detectors(&config, &opts)?;
    for name in &a.skip {
        let before = detectors.len();
        detectors.retain(|d| d.name() != name);
        if detectors.len() == before {
            anyhow::bail!("--skip {name}: no such detector");
        }
    }
    detectors.extend(extra);
    let names: Vec<&str> = detectors.iter().map(|d| d.name()).collect();
    println!("detectors={}", names.join(","));
    let engine = build_engine_with(&config, &opts, detectors, 1)?;
    println!("identifier={}", engine.identifier().is_some());
    Ok(engine)
}

#[cfg(not(feature = "pipeline"))]
fn pipeline_engine(
    _: &Args,
    _: EngineConfig,
    _: Vec<Box<dyn ward_core::Detector>>,
) -> anyhow::Result<Engine> {
    anyhow::bail!("stage-bench was built without the `pipeline` feature")
}
