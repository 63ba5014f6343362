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

/// A little-endian microsecond pcap of `frame` sent at each of `times` (s).
fn pcap(frame: &[u8], times: impl Iterator<Item = f64>) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&4u16.to_le_bytes());
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&65535u32.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    for t in times {
        let us = (t * 1e6) as u64;
        b.extend_from_slice(&((us / 1_000_000) as u32).to_le_bytes());
        b.extend_from_slice(&((us % 1_000_000) as u32).to_le_bytes());
        b.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        b.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        b.extend_from_slice(frame);
    }
    b
}

/// Captures given in any order are read in timestamp order, as `ward
/// analyze` reads them: read one after another, the earlier file's windows
/// went back in time and all but one of them were lost.
#[test]
fn captures_are_merged_in_time_order() {
    let dir = std::env::temp_dir().join(format!("ward-cli-{}-train", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut frame = Vec::new();
    etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4([192, 168, 1, 10], [192, 168, 1, 1], 64)
        .udp(5000, 9999)
        .write(&mut frame, &[7; 64])
        .unwrap();
    let t0 = 1_700_000_000.0;
    let ten_seconds = |start: f64| (0..100).map(move |i| start + f64::from(i) * 0.1);
    let (late, early) = (dir.join("late.pcap"), dir.join("early.pcap"));
    std::fs::write(&late, pcap(&frame, ten_seconds(t0 + 100.0))).unwrap();
    std::fs::write(&early, pcap(&frame, ten_seconds(t0))).unwrap();
    let labels = dir.join("labels.csv");
    std::fs::write(
        &labels,
        "label,category,start,end,attacker,victims,ports,tool,notes\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ward"))
        .args(["train", "attacks", "--trees", "1", "--labels"])
        .arg(&labels)
        .arg("--out")
        .arg(dir.join("model.json"))
        .arg(&late)
        .arg(&early)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "{err}");
    // 10 one-second windows per capture for the sender (10 packets each).
    assert!(err.contains(": 20 windows"), "{err}");
}
