//! Throughput of feature extraction alone and of features + scoring, on a
//! synthetic home-LAN stream (40 devices, 300 servers, a few hundred sockets).
//! Run: `cargo bench -p ward-anomaly -- --warm-up-time 1 --measurement-time 5`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ward_anomaly::features::{FeatureExtractor, TableCapacities, N_FEATURES};
use ward_anomaly::{AnomalyConfig, AnomalyEngine, ModelKind, PacketObs, Phase};

const BATCH: usize = 100_000;

fn stream() -> Vec<PacketObs> {
    common::SyntheticLan::new(42, 40, 300, 5_000.0)
        .take(BATCH)
        .collect()
}

fn trained(model: ModelKind) -> AnomalyEngine {
    let mut cfg = AnomalyConfig {
        model,
        ..AnomalyConfig::default()
    };
    cfg.learning.device_learning_secs = 0.0;
    cfg.learning.min_mapping_secs = 0.0;
    cfg.learning.min_training_secs = 0.0;
    cfg.learning.min_calibration_secs = 0.0;
    let mut engine = AnomalyEngine::new(cfg).expect("valid config");
    for o in common::SyntheticLan::new(7, 40, 300, 5_000.0).take(30_000) {
        engine.process(&o);
    }
    assert_eq!(engine.phase(), Phase::Scoring);
    if let Some(groups) = engine.feature_groups() {
        let sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
        eprintln!("KitNET: {} groups, sizes {sizes:?}", groups.len());
    }
    engine
}

fn bench(c: &mut Criterion) {
    let packets = stream();
    let mut g = c.benchmark_group("ward-anomaly");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.sample_size(10);

    g.bench_function("features-only", |b| {
        let mut fx = FeatureExtractor::new(TableCapacities::default(), 1);
        let mut out = [0f32; N_FEATURES];
        b.iter(|| {
            for o in &packets {
                fx.extract(o, &mut out);
                black_box(&out);
            }
        })
    });

    for (name, model) in [
        ("kitnet-scoring", ModelKind::Kitnet),
        ("hst-scoring", ModelKind::HalfSpaceTrees),
    ] {
        let mut engine = trained(model);
        g.bench_function(name, |b| {
            b.iter(|| {
                for o in &packets {
                    black_box(engine.process(o));
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
