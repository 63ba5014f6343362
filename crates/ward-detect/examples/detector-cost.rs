//! What each detector costs: the CPU time of the whole engine over a
//! capture held in memory, with no detector, with one detector (or one
//! family of the `attacks` detector) at a time, and with all of them;
//! a detector's cost is its run minus the run without any.
//!
//! Runs are interleaved (every configuration once per round, `--rounds`
//! rounds) and each configuration's median is reported, so that a busy
//! moment on a shared machine hits every configuration alike. Time is the
//! calling thread's CPU time (Linux `/proc/thread-self/schedstat`), not
//! wall time. Reading the capture is not timed.
//!
//! Each run also prints the number and a digest of its alert and finding
//! events (their JSON, in order), so a change that makes a detector cheaper
//! can be checked not to have changed what it reports.
//!
//! ```sh
//! cargo run --release -p ward-detect --example detector-cost -- \
//!     --rounds 5 /work/bench/mix-1m.pcap
//! ```
//!
//! `--only none,dos,all` limits the configurations (names as printed).

use std::hash::{Hash, Hasher};

use ward_capture::{MergedReader, RawPacket};
use ward_core::{
    Detector, Engine, EngineConfig, Event, EventSink, EventType, FlowEndContext, PacketContext,
    Timestamp,
};
use ward_detect::alert::Draft;
use ward_detect::{botnet, bruteforce, dos, exploit, recon, spoofing, Config};

/// One family of the `attacks` detector on its own: it sees what
/// `Attacks` would hand it, and its proposed alerts are dropped (they are
/// rare; publishing is measured with `attacks`).
enum Family {
    Recon(Box<recon::Recon>),
    Dos(Box<dos::Dos>),
    Spoofing(Box<spoofing::Spoofing>),
    Botnet(Box<botnet::Botnet>),
    Bruteforce(Box<bruteforce::Bruteforce>),
    Exploit(Box<exploit::Exploit>),
}

struct One {
    name: &'static str,
    family: Family,
    drafts: Vec<Draft>,
}

impl Detector for One {
    fn name(&self) -> &'static str {
        self.name
    }
    fn on_packet(&mut self, ctx: &PacketContext<'_, '_>, _out: &mut Vec<Event>) {
        let o = &mut self.drafts;
        match &mut self.family {
            Family::Recon(d) => d.on_packet(ctx, o),
            Family::Dos(d) => d.on_packet(ctx, o),
            Family::Spoofing(d) => d.on_packet(ctx, o),
            Family::Botnet(d) => d.on_packet(ctx, o),
            // `Attacks` calls these two only for packets with application events.
            Family::Bruteforce(d) if !ctx.app.is_empty() => d.on_packet(ctx, o),
            Family::Exploit(d) if !ctx.app.is_empty() => d.on_packet(ctx, o),
            _ => {}
        }
        o.clear();
    }
    fn on_flow_end(&mut self, ctx: &FlowEndContext<'_>, _out: &mut Vec<Event>) {
        if let Family::Bruteforce(d) = &mut self.family {
            d.on_flow_end(ctx, &mut self.drafts);
            self.drafts.clear();
        }
    }
}

fn family(name: &'static str) -> Box<dyn Detector> {
    let cfg = Config::default();
    let cap = cfg.max_tracked.max(64);
    let family = match name {
        "recon" => Family::Recon(Box::new(recon::Recon::new(cfg.recon, cap))),
        "dos" => Family::Dos(Box::new(dos::Dos::new(
            cfg.dos,
            cap,
            cfg.incident_quiet_secs,
        ))),
        "spoofing" => Family::Spoofing(Box::new(spoofing::Spoofing::new(cfg.spoofing, cap))),
        "botnet" => Family::Botnet(Box::new(botnet::Botnet::new(cfg.botnet, cap))),
        "bruteforce" => {
            Family::Bruteforce(Box::new(bruteforce::Bruteforce::new(cfg.bruteforce, cap)))
        }
        "exploit" => Family::Exploit(Box::new(exploit::Exploit::new(
            exploit::load_rules(true, None).expect("built-in rules"),
        ))),
        other => panic!("unknown family {other}"),
    };
    Box::new(One {
        name,
        family,
        drafts: Vec::new(),
    })
}

fn ml() -> Box<dyn Detector> {
    let model = ward_detect::ml::AttackModel::default_model().expect("built-in model");
    Box::new(ward_detect::ml::MlDetector::new(
        model,
        ward_detect::ml::MlConfig::default(),
    ))
}

fn attacks() -> Box<dyn Detector> {
    ward_detect::detectors(None)
        .expect("default config")
        .pop()
        .expect("one detector")
}

fn hygiene() -> Box<dyn Detector> {
    Box::new(ward_hygiene::HygieneDetector::new(Default::default()))
}

/// Does nothing: what calling one more detector costs the engine.
struct Noop;

impl Detector for Noop {
    fn name(&self) -> &'static str {
        "noop"
    }
    fn on_packet(&mut self, ctx: &PacketContext<'_, '_>, _out: &mut Vec<Event>) {
        std::hint::black_box(ctx);
    }
}

const CONFIGS: &[&str] = &[
    "none",
    "noop",
    "recon",
    "dos",
    "spoofing",
    "botnet",
    "bruteforce",
    "exploit",
    "attacks",
    "ml",
    "hygiene",
    "all",
];

fn detectors(config: &str) -> Vec<Box<dyn Detector>> {
    match config {
        "none" => Vec::new(),
        "noop" => vec![Box::new(Noop)],
        "attacks" => vec![attacks()],
        "ml" => vec![ml()],
        "hygiene" => vec![hygiene()],
        // What `ward analyze` runs by default, less identification.
        "all" => vec![hygiene(), attacks(), ml()],
        f => vec![family(
            CONFIGS.iter().find(|c| **c == f).copied().unwrap_or("?"),
        )],
    }
}

/// Counts events and digests the alerts and findings.
struct Digest {
    events: u64,
    alerts: u64,
    hash: std::collections::hash_map::DefaultHasher,
}

impl EventSink for Digest {
    fn emit(&mut self, e: &Event) {
        self.events += 1;
        if matches!(e.event_type, EventType::Alert | EventType::Finding) {
            self.alerts += 1;
            e.to_json().hash(&mut self.hash);
        }
    }
}

/// Nanoseconds this thread has spent on a CPU.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn run(packets: &[RawPacket], config: &str) -> (f64, u64, u64) {
    let mut engine = Engine::new(
        EngineConfig {
            emit_flows: Some(false),
            ..Default::default()
        },
        1,
        detectors(config),
    );
    let mut sink = Digest {
        events: 0,
        alerts: 0,
        hash: Default::default(),
    };
    let c = thread_cpu_ns();
    for p in packets {
        engine.process(
            Timestamp::from_nanos(p.ts_nanos),
            p.linktype,
            &p.data,
            p.orig_len,
            &mut sink,
        );
    }
    engine.finish(&mut sink);
    let cpu = (thread_cpu_ns() - c) as f64 / 1e9;
    drop(engine);
    (cpu, sink.alerts, sink.hash.finish())
}

fn main() {
    let mut rounds = 3usize;
    let mut only: Option<Vec<String>> = None;
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rounds" => rounds = args.next().and_then(|v| v.parse().ok()).unwrap_or(3),
            "--only" => {
                only = args
                    .next()
                    .map(|v| v.split(',').map(str::to_string).collect())
            }
            _ => paths.push(a),
        }
    }
    let configs: Vec<&str> = CONFIGS
        .iter()
        .copied()
        .filter(|c| only.as_ref().is_none_or(|o| o.iter().any(|x| x == c)))
        .collect();
    let mut reader = MergedReader::open(&paths).expect("open captures");
    let mut packets = Vec::new();
    let mut p = RawPacket::default();
    while reader.next_packet(&mut p) {
        packets.push(std::mem::take(&mut p));
    }
    eprintln!("{} packets in memory", packets.len());
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); configs.len()];
    let mut digests = vec![(0u64, 0u64); configs.len()];
    for round in 0..rounds {
        for (i, c) in configs.iter().enumerate() {
            let (cpu, alerts, hash) = run(&packets, c);
            eprintln!("round {round} {c:<10} cpu_s={cpu:.3} reports={alerts} digest={hash:016x}");
            times[i].push(cpu);
            digests[i] = (alerts, hash);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let base = configs
        .iter()
        .position(|c| *c == "none")
        .map(|i| median(&mut times[i].clone()));
    let per_m = 1e6 / packets.len().max(1) as f64;
    println!("config      median_cpu_s  cost_cpu_s_per_1M_pkts  reports  digest");
    for (i, c) in configs.iter().enumerate() {
        let m = median(&mut times[i]);
        let cost = base.map_or(String::from("-"), |b| format!("{:.3}", (m - b) * per_m));
        println!(
            "{c:<10}  {m:>12.3}  {cost:>23}  {:>7}  {:016x}",
            digests[i].0, digests[i].1
        );
    }
}
