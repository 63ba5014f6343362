//! `ward train attacks` argument checks from the outside.

use std::process::Command;

/// Captures given without `--labels` used to be dropped without a word
/// (the model was trained on the `--run` folders only).
#[test]
fn captures_without_labels_are_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_ward"))
        .args([
            "train",
            "attacks",
            "--run",
            "/nonexistent/ward-run",
            "--out",
            "/nonexistent/attacks.json",
            "capture.pcap",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--labels"), "{err}");
}
