//! `ward watch`: live capture from a network interface, events out.
//!
//! The engine runs on packet time exactly as in `ward analyze`; only the
//! periodic `stats` events are paced by wall time (every
//! `--stats-interval` seconds), and carry the kernel's drop counter in
//! `capture_dropped`. The capture socket is opened first, then every
//! capability is dropped (and, with `--user`, the user switched) before
//! any output is opened or any packet is parsed. SIGTERM or SIGINT ends
//! the run cleanly: the engine is finished (flows, final device events,
//! final stats) and every sink is flushed; a second signal exits at once.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::Args;
use ward_core::{Engine, Event, EventSink, EventType, Timestamp};
use ward_live::{Backend, Filter, LiveOptions};
use ward_sinks::config::{Common, EveConfig, EventFilter, KindConfig, SinkSpec};
use ward_sinks::SinkSet;

use crate::analyze::load_config;
use crate::eve::EveWriter;
use crate::pipeline;

#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  \
    ward watch -i eth0 --eve /var/log/ward/eve.json --db /var/lib/ward/ward.db\n  \
    ward watch -i br0 --user ward --config /etc/ward/ward.toml\n  \
    tcpdump -ddd 'not port 22' > f.bpf && ward watch -i eth0 --filter-file f.bpf --eve -\n\n\
Needs CAP_NET_RAW (and CAP_NET_ADMIN for promiscuous mode): run as root, or\n\
`setcap cap_net_raw,cap_net_admin=eip /usr/local/bin/ward`. See docs/watch.md.\n\n\
Exit status: 0 stopped by SIGTERM/SIGINT; 1 could not start, or the capture failed.")]
pub struct WatchArgs {
    /// Network interface to capture on (a mirror port, a bridge, or the host's own).
    #[arg(long, short = 'i', value_name = "IFACE")]
    pub interface: String,
    /// Capture implementation: `afpacket` (built in) or `pcap` (needs the `libpcap` build feature).
    #[arg(long, default_value = "afpacket", value_name = "NAME")]
    pub backend: String,
    /// BPF filter expression (`not port 22`); compiling it needs the `libpcap` build feature.
    #[arg(long, value_name = "EXPR", conflicts_with = "filter_file")]
    pub filter: Option<String>,
    /// A compiled BPF program: the output of `tcpdump -ddd EXPR`.
    #[arg(long, value_name = "FILE")]
    pub filter_file: Option<PathBuf>,
    /// Do not put the interface in promiscuous mode (see only this host's traffic).
    #[arg(long)]
    pub no_promisc: bool,
    /// Bytes kept per frame.
    #[arg(long, default_value_t = 65_535, value_name = "BYTES")]
    pub snaplen: u32,
    /// Kernel receive buffer in MiB; bursts beyond it are dropped and counted.
    #[arg(long, default_value_t = 8, value_name = "MIB")]
    pub buffer_mib: usize,
    /// Write events as NDJSON to FILE (appended; `-` for standard output).
    #[arg(long, value_name = "FILE")]
    pub eve: Option<PathBuf>,
    /// Rotate the EVE file when it reaches this size in MiB (0: never).
    #[arg(long, default_value_t = 100, value_name = "MIB")]
    pub eve_max_mib: u64,
    /// Rotated EVE files to keep (`FILE.1` … `FILE.N`).
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub eve_keep: u32,
    /// Leave `flow` events out of the EVE output.
    #[arg(long)]
    pub no_flows: bool,
    /// Also store events in ward's database FILE (for `ward serve`).
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Keep learned state in DIR (device inventory, behaviour model), as for
    /// `ward analyze --state`: loaded at start, the inventory saved every few
    /// minutes, everything saved at stop. New devices raise `new-device`
    /// alerts after the learning period.
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Identification model file (default: the model built into ward).
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Seconds of wall time between `stats` events (0: only the final one).
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub stats_interval: u64,
    /// After opening the capture, switch to this user (when started as root).
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// Configuration file (TOML): detectors, engine, and `[[sinks]]` for alert delivery.
    #[arg(long, short, value_name = "FILE", env = "WARD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Write passwords and community strings in clear in findings.
    #[arg(long)]
    pub reveal_secrets: bool,
    /// Serve Prometheus metrics (capture and sink counters) at http://ADDR/metrics,
    /// e.g. `127.0.0.1:9617`.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// How long sinks may take to deliver what is queued at shutdown.
const SINK_GRACE: Duration = Duration::from_secs(10);
/// Longest wait for a frame before looking at signals and the stats clock.
const POLL: Duration = Duration::from_millis(250);
/// How often the device inventory is written to `--state` while running
/// (atomically: a crash loses at most this much learning).
const SAVE_STATE_EVERY: Duration = Duration::from_secs(300);

/// Write the identifier's inventory to the state folder; a failure is
/// reported and the watch goes on (the next save may succeed).
fn save_state(engine: &Engine, opts: &pipeline::RunOptions) {
    if let Err(e) = pipeline::save_state(engine, opts) {
        eprintln!("ward: warning: {e}");
    }
}

/// How often the kernel's drop counter is read for `/metrics`.
const COUNTERS_EVERY: Duration = Duration::from_secs(1);

/// Capture totals for `/metrics`, updated by the capture loop.
#[derive(Debug, Default)]
struct LiveCounters {
    packets: AtomicU64,
    kernel_dropped: AtomicU64,
    alerts: AtomicU64,
}

impl prometheus_client::collector::Collector for LiveCounters {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::DescriptorEncoder,
    ) -> Result<(), std::fmt::Error> {
        use prometheus_client::encoding::EncodeMetric;
        use prometheus_client::metrics::counter::ConstCounter;
        for (name, help, v) in [
            (
                "ward_capture_packets",
                "Frames read from the interface",
                &self.packets,
            ),
            (
                "ward_capture_kernel_dropped",
                "Frames the kernel dropped because ward did not read fast enough",
                &self.kernel_dropped,
            ),
            ("ward_alerts", "Alerts raised", &self.alerts),
        ] {
            let c = ConstCounter::new(v.load(Ordering::Relaxed));
            c.encode(encoder.encode_descriptor(name, help, None, c.metric_type())?)?;
        }
        Ok(())
    }
}

/// A minimal HTTP responder: `GET /metrics` gets the Prometheus text
/// format, anything else 404. One connection at a time, with timeouts, so
/// a stuck client cannot hold more than one thread.
fn serve_metrics(listener: &std::net::TcpListener, reg: &prometheus_client::registry::Registry) {
    use std::io::{BufRead, BufReader, Read, Write};
    for conn in listener.incoming() {
        let Ok(mut conn) = conn else { continue };
        let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
        let _ = conn.set_write_timeout(Some(Duration::from_secs(2)));
        let mut first = String::new();
        let Ok(read) = conn.try_clone() else { continue };
        // A capped reader: a client cannot make us buffer more than 16 KiB.
        let mut r = BufReader::new(read.take(16 * 1024));
        if r.read_line(&mut first).is_err() {
            continue;
        }
        // Drain the header so the client sees a clean close.
        let mut line = String::new();
        while r.read_line(&mut line).is_ok_and(|n| n > 2) {
            line.clear();
        }
        let resp = if first.starts_with("GET /metrics ") || first.starts_with("GET /metrics?") {
            let mut body = String::new();
            let _ = prometheus_client::encoding::text::encode(&mut body, reg);
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            )
        } else {
            "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_string()
        };
        let _ = conn.write_all(resp.as_bytes());
    }
}

fn wall_now() -> Timestamp {
    let us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros().min(i64::MAX as u128) as i64)
        .unwrap_or(0);
    Timestamp(us)
}

/// Where events go, with the kernel's drop count put into `stats`.
struct Outputs {
    eve_stdout: Option<EveWriter>,
    store: Option<ward_store::StoreSink>,
    sinks: SinkSet,
    capture_dropped: u64,
    alerts: u64,
}

impl EventSink for Outputs {
    fn emit(&mut self, event: &Event) {
        if event.event_type == EventType::Alert {
            self.alerts += 1;
        }
        let patched;
        let event = if event.event_type == EventType::Stats {
            let mut e = event.clone();
            if let Some(s) = e.stats.as_mut() {
                s.capture_dropped = Some(self.capture_dropped);
            }
            // Before the first packet, packet time is 0: say when instead.
            if e.timestamp == Timestamp::ZERO {
                e.timestamp = wall_now();
            }
            patched = e;
            &patched
        } else {
            event
        };
        if let Some(w) = self.eve_stdout.as_mut() {
            w.emit(event);
        }
        if let Some(s) = self.store.as_mut() {
            s.emit(event);
        }
        self.sinks.emit(event);
    }
}

fn read_filter(args: &WatchArgs) -> anyhow::Result<Option<Filter>> {
    if let Some(expr) = &args.filter {
        return Ok(Some(Filter::Expression(expr.clone())));
    }
    if let Some(path) = &args.filter_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read filter file {}", path.display()))?;
        let prog = ward_live::bpf::parse_ddd(&text)
            .with_context(|| format!("filter file {}", path.display()))?;
        return Ok(Some(Filter::Program(prog)));
    }
    Ok(None)
}

fn eve_file_sink(path: &Path, args: &WatchArgs) -> anyhow::Result<ward_sinks::QueuedSink> {
    let mut types = vec![
        EventType::Device,
        EventType::Alert,
        EventType::Finding,
        EventType::Stats,
    ];
    if !args.no_flows {
        types.push(EventType::Flow);
    }
    let spec = SinkSpec {
        name: "eve".into(),
        // A local file is fast; the queue only absorbs bursts of flow
        // events (e.g. a scan ending) while the disk catches up.
        common: Common {
            queue: 65_536,
            max_attempts: 3,
            ..Common::default()
        },
        kind: KindConfig::Eve(EveConfig {
            path: path.to_path_buf(),
            max_bytes: args.eve_max_mib.saturating_mul(1 << 20),
            keep: args.eve_keep,
        }),
        filter: EventFilter {
            event_types: types,
            min_severity: 4,
            categories: Vec::new(),
        },
    };
    Ok(ward_sinks::start(&spec)?)
}

/// Set by SIGTERM/SIGINT; a second signal exits at once (code 130).
fn stop_flag() -> anyhow::Result<Arc<AtomicBool>> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [SIGTERM, SIGINT] {
        // Order matters: the conditional exit sees the flag set by the
        // first signal only on the second.
        signal_hook::flag::register_conditional_shutdown(sig, 130, stop.clone())
            .context("installing signal handlers")?;
        signal_hook::flag::register(sig, stop.clone()).context("installing signal handlers")?;
    }
    Ok(stop)
}

pub fn run(args: WatchArgs) -> anyhow::Result<ExitCode> {
    let mut config = load_config(args.config.as_deref())?;
    if args.reveal_secrets {
        config.engine.reveal_secrets = true;
    }
    // Check the sink configuration before touching the network.
    ward_sinks::parse_sinks(&config.sinks).context("invalid [[sinks]] in the config")?;
    let backend = Backend::parse(&args.backend)
        .ok_or_else(|| anyhow::anyhow!("unknown backend `{}` (afpacket, pcap)", args.backend))?;
    let mut opts = LiveOptions::new(args.interface.clone());
    opts.promiscuous = !args.no_promisc;
    opts.snaplen = args.snaplen;
    opts.buffer_bytes = args.buffer_mib.saturating_mul(1 << 20);
    opts.filter = read_filter(&args)?;

    let mut source = ward_live::open(backend, &opts)
        .with_context(|| format!("cannot capture on {}", args.interface))?;
    // Nothing below needs a privilege: give them all up before any output
    // is opened or any packet parsed.
    let privs = ward_live::privileges::drop_privileges(args.user.as_deref())?;
    let stop = stop_flag()?;

    let eve_stdout = match args.eve.as_deref() {
        Some(p) if p == Path::new("-") => {
            let mut w = EveWriter::create(p)?;
            w.flows = !args.no_flows;
            Some(w)
        }
        _ => None,
    };
    let mut sinks = SinkSet::from_config(&config.sinks).context("starting [[sinks]]")?;
    if let Some(p) = args.eve.as_deref().filter(|p| *p != Path::new("-")) {
        sinks.push(eve_file_sink(p, &args)?);
    }
    let store = match &args.db {
        Some(p) => Some(ward_store::StoreSink::new(
            ward_store::Store::open(p)
                .with_context(|| format!("cannot open store {}", p.display()))?,
        )),
        None => None,
    };
    let mut out = Outputs {
        eve_stdout,
        store,
        sinks,
        capture_dropped: 0,
        alerts: 0,
    };

    if privs.uid == 0 && !args.quiet {
        // No capabilities left, but uid 0 still owns root's files.
        eprintln!("ward: note: still user root (without capabilities); --user ward runs as an ordinary user");
    }
    let live = Arc::new(LiveCounters::default());
    if let Some(addr) = args.metrics_listen {
        let mut reg = prometheus_client::registry::Registry::default();
        reg.register_collector(Box::new(out.sinks.metrics()));
        reg.register_collector(Box::new(live.clone()));
        let listener = std::net::TcpListener::bind(addr)
            .with_context(|| format!("cannot listen for metrics on {addr}"))?;
        std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || serve_metrics(&listener, &reg))
            .context("starting the metrics thread")?;
    }

    let opts = pipeline::RunOptions {
        scores: None,
        state: args.state.clone(),
        model: args.model.clone(),
        live: true,
    };
    let mut engine = pipeline::build_engine(&config, &opts)?;
    if !args.quiet {
        eprintln!(
            "ward: watching {} (uid {}, capabilities: {}); {} sink(s); stop with Ctrl-C or SIGTERM",
            source.describe(),
            privs.uid,
            if privs.effective.is_empty() {
                "none".to_string()
            } else {
                privs.effective.join(",")
            },
            out.sinks.len()
                + usize::from(out.eve_stdout.is_some())
                + usize::from(out.store.is_some()),
        );
    }

    let started = Instant::now();
    let interval = (args.stats_interval > 0).then(|| Duration::from_secs(args.stats_interval));
    let mut next_stats = interval.map(|i| started + i);
    let mut failure: Option<anyhow::Error> = None;
    let mut next_counters = started + COUNTERS_EVERY;
    let mut next_save = started + SAVE_STATE_EVERY;
    while !stop.load(Ordering::Relaxed) {
        match source.next_frame(POLL) {
            Ok(Some(f)) => {
                engine.process(f.ts, f.linktype, f.data, f.wire_len, &mut out);
                live.packets.fetch_add(1, Ordering::Relaxed);
            }
            Ok(None) => {}
            Err(e) => {
                failure = Some(
                    anyhow::Error::new(e).context(format!("capture on {} failed", args.interface)),
                );
                break;
            }
        }
        if Instant::now() >= next_counters {
            if let Ok(c) = source.counters() {
                out.capture_dropped = c.dropped + c.if_dropped;
                live.kernel_dropped
                    .store(out.capture_dropped, Ordering::Relaxed);
            }
            live.alerts.store(out.alerts, Ordering::Relaxed);
            next_counters = Instant::now() + COUNTERS_EVERY;
        }
        if Instant::now() >= next_save {
            save_state(&engine, &opts);
            next_save = Instant::now() + SAVE_STATE_EVERY;
        }
        if let (Some(at), Some(i)) = (next_stats, interval) {
            if Instant::now() >= at {
                if let Ok(c) = source.counters() {
                    out.capture_dropped = c.dropped + c.if_dropped;
                }
                engine.set_wall_time(started.elapsed().as_secs_f64());
                let ev = engine.stats_event();
                out.emit(&ev);
                next_stats = Some(at + i);
            }
        }
    }

    if let Ok(c) = source.counters() {
        out.capture_dropped = c.dropped + c.if_dropped;
    }
    drop(source);
    engine.set_wall_time(started.elapsed().as_secs_f64());
    engine.finish(&mut out);
    save_state(&engine, &opts);

    let Outputs {
        eve_stdout,
        store,
        sinks,
        capture_dropped,
        alerts,
    } = out;
    if let Some(w) = eve_stdout {
        w.finish()
            .context("writing EVE output to standard output")?;
    }
    let mut store_error = None;
    if let (Some(sink), Some(path)) = (store, &args.db) {
        if let Err(e) = sink.finish() {
            store_error =
                Some(anyhow::Error::new(e).context(format!("writing store {}", path.display())));
        }
    }
    let reports = sinks.finish(SINK_GRACE);
    if !args.quiet {
        let s = engine.stats();
        eprintln!(
            "ward: stopped after {:.0} s: {} packets, {} dropped by the kernel, {} alerts, {} devices",
            started.elapsed().as_secs_f64(),
            s.packets,
            capture_dropped,
            alerts,
            s.devices
        );
        for r in &reports {
            eprintln!(
                "ward: sink {} ({}): {} sent, {} failed, {} retried, {} dropped{}",
                r.name,
                r.kind,
                r.sent,
                r.failed,
                r.retried,
                r.dropped,
                r.last_error
                    .as_deref()
                    .map(|e| format!(" (last error: {e})"))
                    .unwrap_or_default()
            );
        }
    }
    if let Some(e) = failure.or(store_error) {
        return Err(e);
    }
    Ok(ExitCode::SUCCESS)
}
