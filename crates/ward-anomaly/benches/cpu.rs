//! Packets per CPU-second of each stage of the behaviour model, on the same
//! synthetic home-LAN stream as `throughput.rs`.
//!
//! criterion measures wall time, which on a shared machine mostly measures the
//! neighbours; this harness reads the thread's own CPU time
//! (`/proc/thread-self/schedstat`, nanoseconds on CPU) around each stage, so a
//! loaded machine slows the run down but does not change the result much.
//!
//! Run: `cargo bench -p ward-anomaly --bench cpu` (optionally `-- STAGE...`
//! with stages `features`, `features-ahead`, `features-wide`,
//! `features-spoofed`, `mapping`, `training`, `kitnet`, `kitnet-ahead`, `hst`). `features-wide` is 250 devices with eight
//! connections each: 2 000 sockets and pairs, entries from L2 rather than L1
//! (the tables do not fill, so nothing is evicted). `features-spoofed` gives
//! every packet a new random source: full tables, every packet evicts.
//! `kitnet-ahead` and `features-ahead` are `kitnet` and `features` with packet
//! time moving forward through every pass (see [`ahead`]): the others replay
//! the same times, so from the second pass on every entry was touched later
//! than the packet, elapsed time is 0 and nothing decays (no `exp2`, no
//! idle connection is new again) — cheaper than any real stream.
//! `CPU_BENCH_KERNELS=avx2` (or `baseline`) runs the engine stages on that
//! kernel build instead of the widest the CPU has (see [`kernels`]).

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::Instant;

use ward_anomaly::features::{FeatureExtractor, TableCapacities, N_FEATURES};
use ward_anomaly::{AnomalyConfig, AnomalyEngine, Kernels, ModelKind, PacketObs, Phase};

fn env_parse<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// Packets per pass (`CPU_BENCH_PACKETS` overrides, e.g. for a short run
/// under callgrind).
fn batch() -> usize {
    env_parse("CPU_BENCH_PACKETS").unwrap_or(100_000)
}

/// Passes over the batch per stage; the best pass is reported (the others
/// lost the core to a neighbour or to page faults). `CPU_BENCH_PASSES`
/// overrides.
fn passes() -> usize {
    env_parse("CPU_BENCH_PASSES").unwrap_or(5)
}

/// CPU time of this thread in seconds, or wall time where the kernel does not
/// say.
fn cpu_secs(wall: &Instant) -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map_or_else(|| wall.elapsed().as_secs_f64(), |ns| ns as f64 * 1e-9)
}

fn config(model: ModelKind) -> AnomalyConfig {
    let mut cfg = AnomalyConfig {
        model,
        ..AnomalyConfig::default()
    };
    // Other model shapes, to measure what a smaller model costs
    // (`CPU_BENCH_MAX_GROUP`, `CPU_BENCH_HIDDEN_RATIO`; the digests then
    // differ from the default's).
    if let Some(m) = env_parse("CPU_BENCH_MAX_GROUP") {
        cfg.kitnet.max_group = m;
    }
    if let Some(r) = env_parse("CPU_BENCH_HIDDEN_RATIO") {
        cfg.kitnet.hidden_ratio = r;
    }
    cfg.learning.device_learning_secs = 0.0;
    cfg.learning.min_mapping_secs = 0.0;
    cfg.learning.min_training_secs = 0.0;
    cfg.learning.min_calibration_secs = 0.0;
    cfg
}

/// The kernel build `CPU_BENCH_KERNELS` names (`baseline`, `avx2`, `best`;
/// by default `best`, the widest the CPU has): the builds give the same
/// bits, so the digests must not change with it.
fn kernels() -> Kernels {
    match std::env::var("CPU_BENCH_KERNELS").as_deref() {
        Ok("baseline") => Kernels::Baseline,
        Ok("avx2") => Kernels::Avx2,
        _ => Kernels::Best,
    }
}

/// An engine in `phase`, having learnt from a different stream than the one measured.
fn engine_in(model: ModelKind, phase: Phase) -> AnomalyEngine {
    let mut cfg = config(model);
    if phase == Phase::Mapping {
        cfg.learning.mapping_packets = u64::MAX;
    }
    if phase == Phase::Training {
        cfg.learning.training_packets = u64::MAX;
    }
    let mut engine = AnomalyEngine::new(cfg).expect("valid config");
    engine.set_kernels(kernels());
    for o in common::SyntheticLan::new(7, 40, 300, 5_000.0).take(30_000) {
        engine.process(&o);
    }
    assert_eq!(engine.phase(), phase);
    engine
}

fn measure(name: &str, packets: &[PacketObs], mut f: impl FnMut(&PacketObs)) {
    let wall = Instant::now();
    let mut best = f64::INFINITY;
    for _ in 0..passes() {
        let t0 = cpu_secs(&wall);
        for o in packets {
            f(o);
        }
        best = best.min(cpu_secs(&wall) - t0);
    }
    println!(
        "{name:<16} {:>8.3} M packets per CPU-second (best of {} passes of {} packets: {:.1} ms)",
        packets.len() as f64 / best * 1e-6,
        passes(),
        packets.len(),
        best * 1e3
    );
}

/// `passes()` copies of `packets`, each moved forward in time to start
/// just after `after_us` or the previous copy's last packet, so that packet
/// time only moves forward, as on a network.
fn ahead(packets: &[PacketObs], after_us: i64) -> Vec<Vec<PacketObs>> {
    let (Some(first), Some(last)) = (packets.first(), packets.last()) else {
        return Vec::new();
    };
    let span = last.ts_micros - first.ts_micros + 200;
    let start = after_us + 200 - first.ts_micros;
    (0..passes() as i64)
        .map(|p| {
            let shift = start + p * span;
            packets
                .iter()
                .map(|o| PacketObs {
                    ts_micros: o.ts_micros + shift,
                    ..*o
                })
                .collect()
        })
        .collect()
}

/// [`measure`] with one pass over each of `sets`.
fn measure_sets(name: &str, sets: &[Vec<PacketObs>], mut f: impl FnMut(&PacketObs)) {
    let wall = Instant::now();
    let mut best = f64::INFINITY;
    for set in sets {
        let t0 = cpu_secs(&wall);
        for o in set {
            f(o);
        }
        best = best.min(cpu_secs(&wall) - t0);
    }
    let n = sets.first().map_or(0, Vec::len);
    println!(
        "{name:<16} {:>8.3} M packets per CPU-second (best of {} passes of {n} packets: {:.1} ms)",
        n as f64 / best * 1e-6,
        sets.len(),
        best * 1e3
    );
}

/// Packet time of the last packet [`engine_in`] learns from.
fn learning_end_us() -> i64 {
    common::SyntheticLan::new(7, 40, 300, 5_000.0)
        .take(30_000)
        .last()
        .map_or(0, |o| o.ts_micros)
}

/// FNV-1a over 32-bit words.
struct Digest(u64);

impl Default for Digest {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Digest {
    fn add(&mut self, word: u32) {
        for b in word.to_le_bytes() {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

fn main() {
    let stages: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |s: &str| stages.is_empty() || stages.iter().any(|a| a == s);
    let packets: Vec<PacketObs> = common::SyntheticLan::new(42, 40, 300, 5_000.0)
        .take(batch())
        .collect();

    if wanted("features") {
        let mut fx = FeatureExtractor::new(TableCapacities::default(), 1);
        let mut out = [0f32; N_FEATURES];
        measure("features", &packets, |o| {
            fx.extract(o, &mut out);
            black_box(&out);
        });
    }
    if wanted("features-ahead") {
        let sets = ahead(&packets, 0);
        let mut fx = FeatureExtractor::new(TableCapacities::default(), 1);
        let mut out = [0f32; N_FEATURES];
        measure_sets("features-ahead", &sets, |o| {
            fx.extract(o, &mut out);
            black_box(&out);
        });
    }
    if wanted("kitnet-ahead") {
        let sets = ahead(&packets, learning_end_us());
        let mut engine = engine_in(ModelKind::Kitnet, Phase::Scoring);
        measure_sets("kitnet-ahead", &sets, |o| {
            black_box(engine.process(o));
        });
        if !std::env::var("CPU_BENCH_DIGEST").is_ok_and(|v| v == "0") {
            let mut engine = engine_in(ModelKind::Kitnet, Phase::Scoring);
            let mut digest = Digest::default();
            for o in sets.first().into_iter().flatten() {
                digest.add(engine.process(o).score.to_bits());
                for v in engine.last_features() {
                    digest.add(v.to_bits());
                }
            }
            println!(
                "kitnet-ahead     digest of scores and inputs: {:016x}",
                digest.0
            );
        }
    }
    if wanted("features-wide") {
        let wide: Vec<PacketObs> = common::SyntheticLan::new(42, 250, 60_000, 5_000.0)
            .take(batch())
            .collect();
        let mut fx = FeatureExtractor::new(TableCapacities::default(), 1);
        let mut out = [0f32; N_FEATURES];
        measure("features-wide", &wide, |o| {
            fx.extract(o, &mut out);
            black_box(&out);
        });
    }
    if wanted("features-spoofed") {
        // Every packet from a new random source address: the tables fill and
        // every packet evicts (MI, H, HH and HpHp entries alike).
        let mut r = common::Rng::new(9);
        let spoofed: Vec<PacketObs> = packets
            .iter()
            .map(|o| PacketObs {
                src_ip: std::net::IpAddr::V4(std::net::Ipv4Addr::from(r.u64() as u32)),
                src_port: r.u64() as u16,
                ..*o
            })
            .collect();
        let mut fx = FeatureExtractor::new(TableCapacities::default(), 1);
        let mut out = [0f32; N_FEATURES];
        // Fill the tables first: the measured passes all evict.
        for o in &spoofed {
            fx.extract(o, &mut out);
        }
        measure("features-spoofed", &spoofed, |o| {
            fx.extract(o, &mut out);
            black_box(&out);
        });
    }
    for (stage, model, phase) in [
        ("mapping", ModelKind::Kitnet, Phase::Mapping),
        ("training", ModelKind::Kitnet, Phase::Training),
        ("kitnet", ModelKind::Kitnet, Phase::Scoring),
        ("hst", ModelKind::HalfSpaceTrees, Phase::Scoring),
    ] {
        if wanted(stage) {
            let mut engine = engine_in(model, phase);
            if let Some(groups) = engine.feature_groups() {
                let sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
                println!("{stage:<16} KitNET members' inputs: {sizes:?}");
            }
            measure(stage, &packets, |o| {
                black_box(engine.process(o));
            });
            // A digest of every score and model input of one pass (outside
            // the measurement): an optimisation that claims to compute the
            // same function shows the same digest. `CPU_BENCH_DIGEST=0`
            // skips it (instruction counts of the measured stage alone).
            if std::env::var("CPU_BENCH_DIGEST").is_ok_and(|v| v == "0") {
                continue;
            }
            let mut engine = engine_in(model, phase);
            let mut digest = Digest::default();
            for o in &packets {
                digest.add(engine.process(o).score.to_bits());
                for v in engine.last_features() {
                    digest.add(v.to_bits());
                }
            }
            println!("{stage:<16} digest of scores and inputs: {:016x}", digest.0);
        }
    }
}
