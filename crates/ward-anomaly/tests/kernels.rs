//! KitNET's kernel builds give the same bits: an engine that runs the
//! baseline (four-lane SSE2) kernels and one that runs the default (AVX2,
//! eight lanes, where the CPU has it) learn and score the same stream with
//! every score and every alert identical, through mapping, training,
//! calibration, scoring and drift adaptation.
//!
//! On a CPU without AVX2 both engines run the baseline build, and the test
//! says so (it then proves nothing about the AVX2 build).

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

/// Runs `stream` through a baseline and a default engine; panics at the
/// first packet whose score (or the engines' alerts) differ. Returns how
/// many packets were scored by the trained model.
fn same_bits(cfg: AnomalyConfig, stream: &[PacketObs]) -> usize {
    if !Kernels::avx2_available() {
        eprintln!("note: this CPU has no AVX2; both engines run the baseline kernels");
    }
    let mut base = AnomalyEngine::new(cfg.clone()).expect("valid config");
    base.set_kernels(Kernels::Baseline);
    let mut best = AnomalyEngine::new(cfg).expect("valid config");
    best.set_kernels(Kernels::Best);
    let mut scored = 0;
    for (i, o) in stream.iter().enumerate() {
        let a = base.process(o);
        let b = best.process(o);
        assert_eq!(
            a.score.to_bits(),
            b.score.to_bits(),
            "packet {i}: baseline {} vs best {} ({:?})",
            a.score,
            b.score,
            base.phase()
        );
        assert_eq!(a.threshold.to_bits(), b.threshold.to_bits(), "packet {i}");
        assert_eq!(a.anomalous, b.anomalous, "packet {i}");
        if a.phase == Phase::Scoring {
            scored += 1;
        }
    }
    assert_eq!(base.phase(), best.phase());
    assert_eq!(base.stats().adapted, best.stats().adapted);
    assert_eq!(base.stats().alerts_raised, best.stats().alerts_raised);
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
