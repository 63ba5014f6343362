//! Packets per CPU-second of one thread, for a machine shared with other
//! work (criterion reports wall-clock time, which a loaded machine inflates).
//! `cargo test --release -p ward-anomaly --test cpu_throughput -- --ignored --nocapture`

mod common;

use std::time::Instant;

use ward_anomaly::features::{FeatureExtractor, TableCapacities, N_FEATURES};
use ward_anomaly::{AnomalyConfig, AnomalyEngine, ModelKind, PacketObs, Phase};

/// CPU time (user + system) of the calling thread, seconds; Linux only.
fn thread_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields overall, in clock ticks (100 per second here).
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn measure(name: &str, packets: &[PacketObs], rounds: usize, mut f: impl FnMut(&PacketObs)) {
    let (c0, w0) = (thread_cpu_secs(), Instant::now());
    for _ in 0..rounds {
        for o in packets {
            f(o);
        }
    }
    let wall = w0.elapsed().as_secs_f64();
    let n = (packets.len() * rounds) as f64;
    match (c0, thread_cpu_secs()) {
        (Some(a), Some(b)) if b > a => eprintln!(
            "{name:<16} {:>10.0} packets per CPU-second ({:>8.0} per wall-second, {:.2} s CPU)",
            n / (b - a),
            n / wall,
            b - a
        ),
        _ => eprintln!("{name:<16} {:>10.0} packets per wall-second", n / wall),
    }
}

#[test]
#[ignore = "a measurement, run in release"]
fn packets_per_cpu_second() {
    let packets: Vec<PacketObs> = common::SyntheticLan::new(42, 40, 300, 5_000.0)
        .take(200_000)
        .collect();
    let mut fx = FeatureExtractor::new(TableCapacities::default(), 1);
    let mut out = [0f32; N_FEATURES];
    measure("features-only", &packets, 10, |o| {
        fx.extract(o, &mut out);
        std::hint::black_box(&out);
    });
    for (model, adapt_every) in [
        (ModelKind::Kitnet, 8),
        (ModelKind::Kitnet, 0),
        (ModelKind::HalfSpaceTrees, 8),
    ] {
        let mut cfg = AnomalyConfig {
            model,
            ..AnomalyConfig::default()
        };
        cfg.calibration.adapt_every = adapt_every;
        cfg.learning.min_mapping_secs = 0.0;
        cfg.learning.min_training_secs = 0.0;
        cfg.learning.min_calibration_secs = 0.0;
        cfg.learning.device_learning_secs = 0.0;
        let mut engine = AnomalyEngine::new(cfg).expect("valid config");
        for o in common::SyntheticLan::new(7, 40, 300, 5_000.0).take(30_000) {
            engine.process(&o);
        }
        assert_eq!(engine.phase(), Phase::Scoring);
        measure(
            &format!("{model:?} adapt={adapt_every}"),
            &packets,
            5,
            |o| {
                std::hint::black_box(engine.process(o));
            },
        );
    }
}
