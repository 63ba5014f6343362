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

/// Run options that reach the detectors (files they read and write).
#[derive(Debug, Default, Clone)]
pub struct RunOptions {
    /// Write every packet's anomaly score here (CSV).
    pub scores: Option<PathBuf>,
    /// Learned state lives in this folder (`inventory.json`,
    /// `anomaly.state`): loaded at the start, saved at the end.
    pub state: Option<PathBuf>,
    /// Identification model file instead of the built-in one.
    pub model: Option<PathBuf>,
    /// A live capture (`ward watch`), as opposed to capture files.
    pub live: bool,
}

impl RunOptions {
    /// The device inventory's file in the state folder.
    pub fn inventory_file(&self) -> Option<PathBuf> {
        self.state.as_ref().map(|d| d.join("inventory.json"))
    }
}

/// The engine with every detector and device identification, continuing
/// from the inventory in `--state` when there is one.
pub fn build_engine(config: &Config, opts: &RunOptions) -> anyhow::Result<Engine> {
    let detectors = build_detectors(config, opts)?;
    build_engine_with(config, opts, detectors, random_seed())
}

/// The engine around `detectors` (normally [`build_detectors`]'s), with
/// device identification as `config` says and hash seed `seed`.
/// `stage-bench --stage pipeline` builds ward's engine through here, so
/// the benchmark times exactly what `ward analyze` runs.
pub fn build_engine_with(
    config: &Config,
    opts: &RunOptions,
    mut detectors: Vec<Box<dyn Detector>>,
    seed: u64,
) -> anyhow::Result<Engine> {
    let inventory = match opts.inventory_file() {
        Some(f) => ward_identify::Inventory::load_or_default(&f)
            .map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?,
        None => ward_identify::Inventory::default(),
    };
    let ident_cfg: ward_identify::IdentifyConfig = match config.detectors.get("identify") {
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| anyhow::anyhow!("[detectors.identify]: {e}"))?,
        None => Default::default(),
    };
    if !ident_cfg.enabled {
        return Ok(Engine::new(config.engine.clone(), seed, detectors)
            .with_local_networks(&config.network.local_networks));
    }
    let model = match &opts.model {
        Some(p) => ward_identify::Model::load(p)?,
        None => ward_identify::Model::default_model()
            .map_err(|e| anyhow::anyhow!("the built-in identification model: {e}"))?,
    };
    let ident = ward_identify::DeviceIdentifier::new(model, ident_cfg, inventory);
    detectors.push(ident.port_observer());
    Ok(Engine::new(config.engine.clone(), seed, detectors)
        .with_local_networks(&config.network.local_networks)
        .with_identifier(Box::new(ident)))
}

/// Save what the run learned about devices into `--state` (the anomaly
/// model saves itself when the engine finishes).
pub fn save_state(engine: &Engine, opts: &RunOptions) -> anyhow::Result<()> {
    let (Some(file), Some(ident)) = (
        opts.inventory_file(),
        ward_identify::DeviceIdentifier::of_engine(engine),
    ) else {
        return Ok(());
    };
    ident
        .inventory()
        .save(&file)
        .map_err(|e| anyhow::anyhow!("saving {}: {e}", file.display()))
}

/// Every detector ward runs, configured from the config file's
/// `[detectors.*]` tables. New detector crates register here.
pub fn build_detectors(
    config: &Config,
    opts: &RunOptions,
) -> anyhow::Result<Vec<Box<dyn Detector>>> {
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
    if let Some(d) = ml_detector(config)? {
        detectors.push(Box::new(d));
    }
    if let Some(d) = behaviour_detector(config, opts)? {
        detectors.push(Box::new(d));
    }
    Ok(detectors)
}

/// The supervised attack model (`[detectors.ml]`): the built-in model, or
/// the one `model = FILE` names (`ward train attacks` makes them).
fn ml_detector(config: &Config) -> anyhow::Result<Option<ward_detect::ml::MlDetector>> {
    use ward_detect::ml::{AttackModel, MlConfig, MlDetector};
    let cfg: MlConfig = match config.detectors.get("ml") {
        Some(v) => {
            serde_json::from_value(v.clone()).map_err(|e| anyhow::anyhow!("[detectors.ml]: {e}"))?
        }
        None => MlConfig::default(),
    };
    if !cfg.enabled {
        return Ok(None);
    }
    let model = match &cfg.model {
        Some(p) => {
            let bytes = std::fs::read(p)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display()))?;
            AttackModel::from_json(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?
        }
        None => AttackModel::default_model()
            .map_err(|e| anyhow::anyhow!("the built-in attack model: {e}"))?,
    };
    Ok(Some(MlDetector::new(model, cfg)))
}

/// The behavioural anomaly detector (`[detectors.anomaly]`), continuing from
/// `--state` and writing `--scores`.
///
/// Unless `enabled` says otherwise it runs where learning pays off: live
/// (`ward watch`), or when learned state is kept (`--state`) or scores are
/// asked for (`--scores`). A one-off `ward analyze` of a capture skips it:
/// the model learns for its first 25 minutes of packet time before it can
/// say anything, and scoring costs about 4× the rest of the pipeline.
fn behaviour_detector(
    config: &Config,
    opts: &RunOptions,
) -> anyhow::Result<Option<ward_detect::behaviour::BehaviourDetector>> {
    use std::io::Write;
    use std::sync::Mutex;
    use ward_detect::behaviour::{BehaviourDetector, ScoreRow};

    let mut table = config
        .detectors
        .get("anomaly")
        .cloned()
        .unwrap_or_else(|| serde_json::json!({}));
    let auto = opts.live || opts.state.is_some() || opts.scores.is_some();
    let enabled = match table.as_object_mut() {
        Some(t) => match t.remove("enabled") {
            Some(serde_json::Value::Bool(b)) => b,
            Some(_) => anyhow::bail!("[detectors.anomaly] enabled must be true or false"),
            None => auto,
        },
        None => anyhow::bail!("[detectors.anomaly] must be a table"),
    };
    if !enabled {
        return Ok(None);
    }
    let cfg: ward_anomaly::AnomalyConfig =
        serde_json::from_value(table).map_err(|e| anyhow::anyhow!("[detectors.anomaly]: {e}"))?;
    let state_file = opts.state.as_ref().map(|d| d.join("anomaly.state"));
    let mut det = match &state_file {
        Some(f) if f.exists() => {
            let bytes = std::fs::read(f)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", f.display()))?;
            let engine = ward_anomaly::AnomalyEngine::load(&bytes)
                .map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
            BehaviourDetector::from_engine(engine)
        }
        _ => {
            BehaviourDetector::new(cfg).map_err(|e| anyhow::anyhow!("[detectors.anomaly]: {e}"))?
        }
    };
    let scores = match &opts.scores {
        Some(p) => {
            let f = std::fs::File::create(p)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", p.display()))?;
            let mut w = std::io::BufWriter::with_capacity(1 << 16, f);
            writeln!(w, "{}", ScoreRow::CSV_HEADER)?;
            Some(std::sync::Arc::new(Mutex::new(w)))
        }
        None => None,
    };
    if let Some(w) = scores.clone() {
        det = det.on_score(move |row| {
            if let Ok(mut w) = w.lock() {
                let _ = writeln!(w, "{row}");
            }
        });
    }
    // The behaviour detector's DNS race check judges races as the
    // `dns-spoofing` signature does, over the same window.
    let attacks: ward_detect::config::Config = match config.detectors.get("attacks") {
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| anyhow::anyhow!("[detectors.attacks]: {e}"))?,
        None => Default::default(),
    };
    det = det.dns_race_secs(attacks.spoofing.dns_race_secs);
    let state_dir = opts.state.clone();
    det = det.on_finish(move |engine| {
        if let Some(w) = scores {
            if let Ok(mut w) = w.lock() {
                if let Err(e) = w.flush() {
                    eprintln!("ward: warning: writing anomaly scores: {e}");
                }
            }
        }
        if let (Some(dir), Some(file)) = (state_dir, state_file) {
            let saved = engine
                .save()
                .map_err(|e| e.to_string())
                .and_then(|bytes| write_atomically(&dir, &file, &bytes).map_err(|e| e.to_string()));
            if let Err(e) = saved {
                eprintln!("ward: warning: could not save {}: {e}", file.display());
            }
        }
    });
    Ok(Some(det))
}

/// Write `bytes` to `file` (in `dir`) through a temporary file and a rename,
/// so a crash leaves either the old state or the new one, never half of one.
pub fn write_atomically(
    dir: &std::path::Path,
    file: &std::path::Path,
    bytes: &[u8],
) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    let tmp = file.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, file)
}

/// Open `captures`, build the engine with every detector, and run it into
/// `sink`, with a progress bar on a terminal and Ctrl-C handling. Fails only
/// when an input cannot be opened at all.
pub fn run_paths(
    captures: &[PathBuf],
    config: &Config,
    opts: &RunOptions,
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
    let mut engine = build_engine(config, opts)?;
    let stop = interrupt_flag();
    let outcome = run_captures(
        &mut reader,
        &mut engine,
        sink,
        total,
        std::io::stderr().is_terminal(),
        &stop,
    );
    save_state(&engine, opts)?;
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
