//! The lab's smoke scenario end to end: real device software and real attack
//! tools in network namespaces (lab/ci-smoke.sh), then `ward eval` over the
//! capture. Needs root and the lab's tools (lab/install-tools.sh); skips,
//! saying why, otherwise. Set WARD_SKIP_LAB=1 to skip on purpose.

use std::path::PathBuf;
use std::process::Command;

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn skip_reason() -> Option<String> {
    if std::env::var_os("WARD_SKIP_LAB").is_some() {
        return Some("WARD_SKIP_LAB is set".into());
    }
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("not root (the lab needs network namespaces)".into());
    }
    let missing: Vec<&str> = [
        "ip", "tcpdump", "nmap", "hydra", "hping3", "busybox", "dnsmasq", "python3",
    ]
    .into_iter()
    .filter(|c| !have(c))
    .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "lab tools missing: {} (run lab/install-tools.sh)",
            missing.join(", ")
        )
    })
}

/// One smoke run and its evaluation: `Err` with the reason when an attack
/// is missed, attributed wrongly, or a false alarm is raised.
fn smoke_run(seed: u32) -> Result<(), String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = std::env::temp_dir().join(format!("ward-lab-smoke-{}-{seed}", std::process::id()));
    let run = Command::new("bash")
        .arg(root.join("lab/ci-smoke.sh"))
        .arg(&out)
        .arg(seed.to_string())
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "lab smoke failed:\n{}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let json = out.join("eval.json");
    let eval = Command::new(env!("CARGO_BIN_EXE_ward"))
        .arg("eval")
        .arg("--labels")
        .arg(out.join("labels.csv"))
        .arg("--json")
        .arg(&json)
        .arg(out.join("capture.pcap"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&eval.stdout).to_string();
    assert!(
        eval.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&eval.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let attacks = report["attacks"].as_array().unwrap();
    assert!(!attacks.is_empty(), "the smoke scenario labels attacks");
    for a in attacks {
        if a["right_category"] != true {
            return Err(format!("seed {seed}: missed {}:\n{text}", a["label"]));
        }
        if a["right_attacker"] != true {
            return Err(format!(
                "seed {seed}: wrong attacker for {}:\n{text}",
                a["label"]
            ));
        }
    }
    if report["false_alarms"] != 0 {
        return Err(format!("seed {seed}: false alarms:\n{text}"));
    }
    let _ = std::fs::remove_dir_all(&out);
    Ok(())
}

/// Real tools on a shared host vary in timing (hydra took 34 s instead of 2 s
/// once), so a miss is retried once with another seed; two misses in a row
/// fail, with both reports.
#[test]
fn lab_smoke_scenario_is_detected_end_to_end() {
    if let Some(why) = skip_reason() {
        eprintln!("skipping the lab smoke test: {why}");
        return;
    }
    let first = match smoke_run(3) {
        Ok(()) => return,
        Err(e) => e,
    };
    eprintln!("first lab run missed, retrying with another seed:\n{first}");
    if let Err(second) = smoke_run(4) {
        panic!("both lab runs missed:\n{first}\n{second}");
    }
}
