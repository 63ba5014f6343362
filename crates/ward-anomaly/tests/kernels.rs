//! KitNET's kernel builds give the same bits: engines that run the
//! baseline (SSE2) kernels, the AVX2 ones (eight lanes) and the default
//! (AVX-512, sixteen lanes, where the CPU has it) learn and score the same
//! stream with every score and every alert identical, through mapping,
//! training, calibration, scoring and drift adaptation.
//!
//! On a CPU without AVX-512 (or AVX2) the default engine runs the widest
//! build the CPU has, and the test says so (it then proves nothing about
//! the builds the CPU lacks).

mod common;

use std::path::PathBuf;

use ward_anomaly::{AnomalyConfig, AnomalyEngine, Kernels, PacketObs, Phase};

fn quick_config() -> AnomalyConfig {
    let mut cfg = AnomalyConfig::default();
    cfg.learning.device_learning_secs = 0.0;
    cfg.learning.min_mapping_secs = 0.0;
    cfg.learning.min_training_secs = 0.0;
    cfg.learning.min_calibration_secs = 0.0;
    cfg
}

/// Runs `stream` through a baseline, an AVX2 and a default engine; panics
/// at the first packet whose score (or the engines' alerts) differ.
/// Returns how many packets were scored by the trained model.
fn same_bits(cfg: AnomalyConfig, stream: &[PacketObs]) -> usize {
    if !Kernels::avx2_available() {
        eprintln!("note: this CPU has no AVX2; every engine runs the baseline kernels");
    } else if !Kernels::avx512_available() {
        eprintln!("note: this CPU has no AVX-512; the default engine runs the AVX2 kernels");
    }
    let engine = |k: Kernels| {
        let mut e = AnomalyEngine::new(cfg.clone()).expect("valid config");
        e.set_kernels(k);
        e
    };
    let mut base = engine(Kernels::Baseline);
    let mut others = [
        ("avx2", engine(Kernels::Avx2)),
        ("best", engine(Kernels::Best)),
    ];
    let mut scored = 0;
    for (i, o) in stream.iter().enumerate() {
        let a = base.process(o);
        for (name, e) in &mut others {
            let b = e.process(o);
            assert_eq!(
                a.score.to_bits(),
                b.score.to_bits(),
                "packet {i}: baseline {} vs {name} {} ({:?})",
                a.score,
                b.score,
                base.phase()
            );
            assert_eq!(a.threshold.to_bits(), b.threshold.to_bits(), "packet {i}");
            assert_eq!(a.anomalous, b.anomalous, "packet {i}");
        }
        if a.phase == Phase::Scoring {
            scored += 1;
        }
    }
    for (_, e) in &others {
        assert_eq!(base.phase(), e.phase());
        assert_eq!(base.stats().adapted, e.stats().adapted);
        assert_eq!(base.stats().alerts_raised, e.stats().alerts_raised);
    }
    // Drift adaptation learns packets it has just scored (`train_scored`
    // reuses the scored pass): a stream that scores thousands of packets
    // must exercise it, or the comparison above says nothing about it.
    if scored > 1_000 {
        assert!(base.stats().adapted > 0, "no packet was adapted");
    }
    scored
}

#[test]
fn kernel_builds_score_a_synthetic_lan_identically() {
    let stream: Vec<PacketObs> = common::SyntheticLan::new(7, 40, 300, 5_000.0)
        .take(40_000)
        .collect();
    let scored = same_bits(quick_config(), &stream);
    assert!(scored > 5_000, "only {scored} packets were scored");
}

/// A real capture (a week of a Blink camera's traffic, iot-cset2021) with
/// the default configuration. Skips (saying why) without `WARD_DATASETS`;
/// run it with `--release`.
#[test]
fn kernel_builds_score_a_real_capture_identically() {
    let Some(root) = std::env::var_os("WARD_DATASETS").map(PathBuf::from) else {
        eprintln!("skipping: WARD_DATASETS is not set (point it at the datasets folder)");
        return;
    };
    let path = root.join("iot-cset2021/pcaps/blink-cam-01.pcap");
    let stream = common::load_pcap(&path, &|_, _| 0);
    let scored = same_bits(AnomalyConfig::default(), &stream);
    eprintln!(
        "blink-cam-01: {} packets, {scored} scored, same bits",
        stream.len()
    );
    assert!(scored > 1_000, "only {scored} packets were scored");
}
