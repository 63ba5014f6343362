//! Supervised attack recognition (`ward_detect::ml`): training is
//! deterministic, the shipped model loads and is what its provenance says,
//! and the detector alerts on a held-out lab run's attacks and on nothing
//! in benign traffic.
//!
//! The lab-run test reads `WARD_LAB_RUNS` (the folder of `lab/run`
//! outputs, e.g. /work/lab-runs) and skips, saying so, when it is unset.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use etherparse::PacketBuilder;
use ward_capture::{MergedReader, RawPacket};
use ward_core::{Alert, Engine, EngineConfig, Event, Timestamp, VecSink};
use ward_detect::ml::train::{self, parse_labels, Run, TrainRequest, WindowCollector};
use ward_detect::ml::{AttackModel, MlConfig, MlDetector};
use ward_ml::forest::ForestParams;

type Mac = [u8; 6];
type V4 = [u8; 4];

const ATK_MAC: Mac = [0x3c, 0xa9, 0xf4, 0x00, 0x00, 0x66];
const CAM_MAC: Mac = [0x28, 0x57, 0xbe, 0x00, 0x00, 0x20];
const GW_MAC: Mac = [0x04, 0x18, 0xd6, 0x00, 0x00, 0x01];
const PHONE_MAC: Mac = [0xf0, 0x18, 0x98, 0x00, 0x00, 0x30];
const ATK: V4 = [192, 168, 1, 66];
const CAM: V4 = [192, 168, 1, 20];
const GW: V4 = [192, 168, 1, 1];
const PHONE: V4 = [192, 168, 1, 30];

fn tcp(src: (Mac, V4, u16), dst: (Mac, V4, u16), syn: bool, payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(src.0, dst.0)
        .ipv4(src.1, dst.1, 64)
        .tcp(src.2, dst.2, 1000, 64240);
    let b = if syn { b.syn() } else { b.ack(1).psh() };
    let mut out = Vec::new();
    b.write(&mut out, payload).expect("frame");
    out
}

fn udp(src: (Mac, V4, u16), dst: (Mac, V4, u16), payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(src.0, dst.0)
        .ipv4(src.1, dst.1, 64)
        .udp(src.2, dst.2);
    let mut out = Vec::new();
    b.write(&mut out, payload).expect("frame");
    out
}

/// One synthetic "run": 60 s of a camera reporting to the gateway, a phone
/// browsing the camera, the attacker making DNS queries, and a SYN flood of
/// the camera from `flood_at` for 5 s. Returns the frames (µs, bytes) and
/// its labels.csv.
fn synthetic_run(t0: i64, flood_at: i64, step: u16) -> (Vec<(i64, Vec<u8>)>, String) {
    let mut frames = Vec::new();
    for ms in (0..60_000i64).step_by(100) {
        let t = t0 + ms * 1000;
        frames.push((
            t,
            udp((CAM_MAC, CAM, 5000), (GW_MAC, GW, 9999), &[7u8; 120]),
        ));
        if ms % 200 == 0 {
            frames.push((
                t + 10,
                tcp(
                    (PHONE_MAC, PHONE, 40000 + (ms / 1000) as u16),
                    (CAM_MAC, CAM, 80),
                    false,
                    b"GET /snapshot HTTP/1.1\r\n\r\n",
                ),
            ));
        }
        if ms % 250 == 0 {
            frames.push((
                t + 20,
                udp((ATK_MAC, ATK, 30000), (GW_MAC, GW, 53), &[1u8; 40]),
            ));
        }
    }
    let start = t0 + flood_at * 1_000_000;
    for i in 0..2500u32 {
        let t = start + i64::from(i) * 2000; // 500 per second for 5 s
        let sport = 1024 + (i as u16).wrapping_mul(step) % 60000;
        frames.push((t, tcp((ATK_MAC, ATK, sport), (CAM_MAC, CAM, 80), true, b"")));
    }
    frames.sort_by_key(|f| f.0);
    let ts = |us: i64| Timestamp(us).to_string();
    let labels = format!(
        "label,category,start,end,attacker,victims,ports,tool,notes\n\
         syn-flood,dos,{},{},192.168.1.66,192.168.1.20,80,code,\"SYN flood, 2500 packets\"\n",
        ts(start),
        ts(start + 5_000_000)
    );
    (frames, labels)
}

fn collect(name: &str, frames: &[(i64, Vec<u8>)], labels: &str) -> Run {
    let mut c = WindowCollector::new();
    for (t, f) in frames {
        c.process(Timestamp(*t), 1, f, f.len() as u32);
    }
    Run {
        name: name.to_string(),
        windows: c.finish(),
        labels: parse_labels(labels, name).expect("labels"),
    }
}

fn request() -> TrainRequest {
    TrainRequest {
        params: ForestParams {
            trees: 10,
            max_depth: 8,
            min_samples_split: 2,
            features_per_split: 0,
            seed: 7,
        },
        min_confidence: 0.8,
        command: "test".into(),
        trained: "2026-11-27T00:00:00Z".into(),
    }
}

#[test]
fn training_on_a_code_built_dataset_is_deterministic_and_learns_the_flood() {
    const T0: i64 = 1_700_000_000_000_000;
    let (f1, l1) = synthetic_run(T0, 20, 7);
    let (f2, l2) = synthetic_run(T0 + 3_600_000_000, 33, 13);
    let a = collect("one", &f1, &l1);
    let b = collect("two", &f2, &l2);
    let flood_windows = a.labelled().filter(|(_, c)| c == "dos").count();
    assert!(
        (4..=6).contains(&flood_windows),
        "flood windows {flood_windows}"
    );

    let (m1, e1) = train::train(
        std::slice::from_ref(&a),
        std::slice::from_ref(&b),
        &request(),
    )
    .expect("train");
    let (m2, _) = train::train(
        std::slice::from_ref(&a),
        std::slice::from_ref(&b),
        &request(),
    )
    .expect("train");
    assert_eq!(
        m1.to_json().expect("json"),
        m2.to_json().expect("json"),
        "same data, parameters and seed must give the same model"
    );

    // Held-out run: the flood is found and nothing else is.
    let scores = e1.scores();
    assert_eq!(scores["dos"].recall, 1.0, "{scores:?}");
    assert_eq!(e1.benign_false_positives().0, 0, "{:?}", e1.confusion);
    assert_eq!(m1.provenance.macro_f1, Some(1.0));

    // And it round-trips through its file format.
    let back = AttackModel::from_json(m1.to_json().expect("json").as_bytes()).expect("load");
    assert_eq!(back, m1);
}

#[test]
fn a_label_outside_the_attack_categories_is_a_training_error() {
    let (frames, labels) = synthetic_run(1_700_000_000_000_000, 20, 1);
    let odd = labels.replace(",dos,", ",anomaly,");
    let run = collect("odd", &frames, &odd);
    let err = train::train(&[run], &[], &request()).expect_err("anomaly is no attack class");
    assert!(err.to_string().contains("anomaly"), "{err}");
}

#[test]
fn a_model_for_another_feature_version_is_refused() {
    let m = AttackModel::default_model().expect("built-in model");
    let mut v: serde_json::Value = serde_json::from_str(&m.to_json().expect("json")).expect("v");
    v["feature_version"] = serde_json::json!(999);
    let err = AttackModel::from_json(v.to_string().as_bytes()).expect_err("refused");
    assert!(err.to_string().contains("feature version"), "{err}");
}

#[test]
fn the_shipped_model_loads_with_its_provenance() {
    let m = AttackModel::default_model().expect("built-in model");
    for c in ["benign", "recon", "bruteforce", "dos"] {
        assert!(
            m.classes.iter().any(|k| k == c),
            "class {c} in {:?}",
            m.classes
        );
    }
    let p = &m.provenance;
    assert!(!p.train.is_empty() && !p.test.is_empty(), "{p:?}");
    // Never scored on a run it was trained on.
    for t in &p.test {
        assert!(!p.train.contains(t), "{t} both trained and tested");
    }
    assert!(p.command.contains("ward train attacks"), "{}", p.command);
    assert!(p.macro_f1.is_some_and(|f| f > 0.5), "{:?}", p.macro_f1);
    let json = m.to_json().expect("json");
    assert!(json.len() < 400 * 1024, "model is {} bytes", json.len());
}

fn ml_alerts(paths: &[PathBuf]) -> Vec<Alert> {
    let model = AttackModel::default_model().expect("built-in model");
    let det = MlDetector::new(model, MlConfig::default());
    let mut engine = Engine::new(EngineConfig::default(), 42, vec![Box::new(det)]);
    let mut sink = VecSink::default();
    let mut reader = MergedReader::open(paths).expect("open capture");
    let mut pkt = RawPacket::default();
    while reader.next_packet(&mut pkt) {
        engine.process(
            Timestamp::from_nanos(pkt.ts_nanos),
            pkt.linktype,
            &pkt.data,
            pkt.orig_len,
            &mut sink,
        );
    }
    engine.finish(&mut sink);
    let out: Vec<Alert> = sink.0.into_iter().filter_map(|e: Event| e.alert).collect();
    for a in &out {
        eprintln!(
            "  {} {:?} -> {:?} count={} {}",
            a.signature, a.attacker, a.victims, a.count, a.summary
        );
    }
    out
}

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

/// The demo capture (lab seed 42) is held out from the shipped model's
/// training: its SYN flood must be recognised, with the right attacker and
/// victim, and every ML alert must belong to a labelled attack.
#[test]
fn the_detector_recognises_the_demo_flood_and_raises_nothing_else() {
    let pcap = repo_file("demo/home-lab.pcap");
    let labels_path = repo_file("demo/labels.csv");
    let text = std::fs::read_to_string(&labels_path).expect("demo labels");
    let labels = parse_labels(&text, "demo/labels.csv").expect("labels");
    let alerts = ml_alerts(&[pcap]);
    let flood = labels
        .iter()
        .find(|l| l.label == "hping3-syn-flood")
        .expect("flood label");
    assert!(
        alerts.iter().any(|a| a.signature == "ml-dos"
            && a.attacker == flood.attacker
            && flood
                .victims
                .iter()
                .any(|v| a.victims.iter().any(|ip| v.contains(*ip)))),
        "no ml-dos alert for the SYN flood"
    );
    for a in &alerts {
        let matched = labels.iter().any(|l| {
            a.first_seen <= l.end.plus_secs(30)
                && l.start.plus_secs(0) <= a.last_seen
                && l.attacker == a.attacker
        });
        assert!(matched, "false alarm: {} {}", a.signature, a.summary);
    }
}

#[test]
fn nothing_on_the_benign_lab_run() {
    let Some(root) = std::env::var_os("WARD_LAB_RUNS") else {
        eprintln!("WARD_LAB_RUNS not set: skipping the benign lab run");
        return;
    };
    let pcap = PathBuf::from(root).join("benign-101/capture.pcap");
    if !pcap.exists() {
        eprintln!("{} missing: skipping", pcap.display());
        return;
    }
    let alerts = ml_alerts(&[pcap]);
    assert!(
        alerts.is_empty(),
        "{} alerts on benign traffic",
        alerts.len()
    );
}

#[test]
fn a_held_out_full_run_scan_and_flood_are_recognised() {
    let Some(root) = std::env::var_os("WARD_LAB_RUNS") else {
        eprintln!("WARD_LAB_RUNS not set: skipping the full lab run");
        return;
    };
    let dir = PathBuf::from(root).join("full-22");
    if !dir.join("capture.pcap").exists() {
        eprintln!("{} missing: skipping", dir.display());
        return;
    }
    let text = std::fs::read_to_string(dir.join("labels.csv")).expect("labels");
    let labels = parse_labels(&text, "full-22").expect("labels");
    let alerts = ml_alerts(&[dir.join("capture.pcap")]);
    let attacker: Option<IpAddr> = labels.first().and_then(|l| l.attacker);
    for sig in ["ml-dos", "ml-recon"] {
        assert!(
            alerts
                .iter()
                .any(|a| a.signature == sig && a.attacker == attacker),
            "no {sig} from the attacker"
        );
    }
    for a in &alerts {
        assert!(
            labels.iter().any(|l| a.first_seen <= l.end.plus_secs(30)
                && l.start <= a.last_seen
                && l.attacker == a.attacker),
            "false alarm: {} {}",
            a.signature,
            a.summary
        );
    }
}

/// A packet a capture delivers late, stamped in the previous second, used
/// to restart the host's window at that second: the open window's packets
/// were thrown away unclassified (and the late one's with them).
#[test]
fn a_late_packet_does_not_discard_the_open_window() {
    let mut frames = Vec::new();
    let mut push = |t: i64| {
        frames.push((
            t,
            udp((CAM_MAC, CAM, 5000), (GW_MAC, GW, 9999), &[7u8; 120]),
        ))
    };
    push(9_500_000);
    for i in 0..10 {
        push(10_000_000 + i * 90_000);
    }
    push(9_999_900); // late
    push(10_950_000);
    let run = collect(
        "late",
        &frames,
        "label,category,start,end,attacker,victims,ports,tool,notes\n",
    );
    let cam: IpAddr = IpAddr::from(CAM);
    let w: Vec<_> = run
        .windows
        .iter()
        .filter(|w| w.ips.contains(&cam) && w.start == Timestamp::from_secs(10))
        .collect();
    assert_eq!(w.len(), 1, "{:?}", run.windows);
    assert_eq!(w[0].pkts_out, 12);
}
