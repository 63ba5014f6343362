//! Wiring: which detectors run, and the loop that feeds captures through
//! the engine.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ward_capture::{CaptureError, MergedReader, RawPacket};
use ward_core::{Config, Detector, Engine, EventSink, Timestamp};

/// Every detector ward runs, configured from the config file's
/// `[detectors.*]` tables. New detector crates register here.
pub fn build_detectors(config: &Config) -> anyhow::Result<Vec<Box<dyn Detector>>> {
    let mut detectors: Vec<Box<dyn Detector>> = Vec::new();
    let hygiene: ward_hygiene::HygieneConfig = match config.detectors.get("hygiene") {
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| anyhow::anyhow!("[detectors.hygiene]: {e}"))?,
        None => Default::default(),
    };
    if hygiene.enabled {
        detectors.push(Box::new(ward_hygiene::HygieneDetector::new(hygiene)));
    }
    detectors.extend(
        ward_detect::detectors(config.detectors.get("attacks"))
            .map_err(|e| anyhow::anyhow!("[detectors.attacks]: {e}"))?,
    );
    Ok(detectors)
}

/// Open `captures`, build the engine with every detector, and run it into
/// `sink`, with a progress bar on a terminal and Ctrl-C handling. Fails only
/// when an input cannot be opened at all.
pub fn run_paths(
    captures: &[PathBuf],
    config: &Config,
    sink: &mut dyn EventSink,
) -> anyhow::Result<(Engine, RunOutcome)> {
    let stdin_count = captures.iter().filter(|p| p.as_os_str() == "-").count();
    if stdin_count > 1 {
        anyhow::bail!("standard input (`-`) can be read only once");
    }
    let mut reader = MergedReader::open(captures)?;
    let total: Option<u64> = if stdin_count == 0 {
        captures
            .iter()
            .map(|p| std::fs::metadata(p).map(|m| m.len()).ok())
            .sum()
    } else {
        None
    };
    let detectors = build_detectors(config)?;
    let mut engine = Engine::new(config.engine.clone(), random_seed(), detectors);
    let stop = interrupt_flag();
    let outcome = run_captures(
        &mut reader,
        &mut engine,
        sink,
        total,
        std::io::stderr().is_terminal(),
        &stop,
    );
    Ok((engine, outcome))
}

/// Set by the first Ctrl-C (the run then flushes and stops); a second one
/// ends the process at once.
pub fn interrupt_flag() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    });
    stop
}

/// A secret seed for the engine's hash tables, so attackers cannot aim
/// collisions. It does not change any output.
pub fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::process::id() as u64);
    h.finish()
}

/// How a run over captures ended.
pub struct RunOutcome {
    /// Damaged inputs (each stopped at the error; the others went on).
    pub errors: Vec<CaptureError>,
    /// Stopped early by Ctrl-C.
    pub interrupted: bool,
    pub wall: Duration,
}

/// Feed every packet of `reader` through `engine` into `sink`, then finish
/// the engine. Stops early (and still finishes cleanly) when `stop` is set.
pub fn run_captures(
    reader: &mut MergedReader,
    engine: &mut Engine,
    sink: &mut dyn EventSink,
    total_bytes: Option<u64>,
    show_progress: bool,
    stop: &AtomicBool,
) -> RunOutcome {
    let started = Instant::now();
    let bar = progress_bar(total_bytes, show_progress);
    let mut pkt = RawPacket::default();
    let mut n: u64 = 0;
    let mut interrupted = false;
    while reader.next_packet(&mut pkt) {
        engine.process(
            Timestamp::from_nanos(pkt.ts_nanos),
            pkt.linktype,
            &pkt.data,
            pkt.orig_len,
            sink,
        );
        n += 1;
        if n.is_multiple_of(4096) {
            if stop.load(Ordering::Relaxed) {
                interrupted = true;
                break;
            }
            if let Some(b) = &bar {
                b.set_position(reader.position());
            }
        }
    }
    if !interrupted && stop.load(Ordering::Relaxed) {
        interrupted = true;
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let wall = started.elapsed();
    engine.set_wall_time(wall.as_secs_f64());
    engine.finish(sink);
    RunOutcome {
        errors: std::mem::take(&mut reader.errors),
        interrupted,
        wall,
    }
}

fn progress_bar(total: Option<u64>, show: bool) -> Option<ProgressBar> {
    if !show {
        return None;
    }
    let bar = match total {
        Some(t) => ProgressBar::new(t).with_style(
            ProgressStyle::with_template(
                "{spinner} {bytes}/{total_bytes} [{bar:30}] {bytes_per_sec}, {eta} left",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner(),
    };
    // indicatif hides itself when stderr is not a terminal.
    bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(4));
    Some(bar)
}
