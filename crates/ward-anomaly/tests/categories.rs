//! Per-category baselines: a device new to the model is judged, during its
//! own learning period, against what the devices of its category look like.
//! A camera that floods on its first day is flagged (and the flood does not
//! become its own normal); a camera that behaves like one is not; a device
//! whose category is unknown keeps the old rule (no alert while it learns).

mod common;

use common::{
    lan_ip, lan_mac, learning_lan, quarter_hour_learning, Attack, SyntheticLan, LEARNING_PACKETS,
};
use ward_anomaly::{AnomalyConfig, AnomalyEngine, PacketHints, PacketObs, Phase};

const DEVICE_LEARNING_SECS: f64 = 600.0;

/// An engine that has learned a 20-device LAN (devices 0–9 said to be
/// cameras, 10–19 plugs) and the LAN generator to continue it.
fn learned(categories: bool) -> (AnomalyEngine, SyntheticLan, [PacketHints; 2]) {
    let mut cfg = AnomalyConfig::default();
    quarter_hour_learning(&mut cfg);
    cfg.learning.device_learning_secs = DEVICE_LEARNING_SECS;
    cfg.calibration.category_baselines = categories;
    let mut engine = AnomalyEngine::new(cfg).expect("valid config");
    let hints = [
        PacketHints {
            category: engine.category_id("camera"),
            ..PacketHints::default()
        },
        PacketHints {
            category: engine.category_id("plug/switch"),
            ..PacketHints::default()
        },
    ];
    let mut lan = learning_lan();
    for o in lan.by_ref().take(LEARNING_PACKETS) {
        engine.process_with(&o, &hints[usize::from(o.device >= 10)]);
    }
    assert_eq!(engine.phase(), Phase::Scoring);
    (engine, lan, hints)
}

/// `secs` of a new device's ordinary traffic (a one-device LAN of the same
/// shape) as `device` with host number `host`, starting at `start_us`.
fn newcomer(seed: u64, device: u32, host: u8, start_us: i64, secs: f64) -> Vec<PacketObs> {
    let mut lan = SyntheticLan::new(seed, 1, 200, 5.0);
    let shift = start_us - lan.now_us();
    let (old_ip, new_ip) = (lan_ip(10), lan_ip(host));
    let mut out = Vec::new();
    for mut o in lan.by_ref() {
        o.ts_micros += shift;
        if o.ts_micros > start_us + (secs * 1e6) as i64 {
            break;
        }
        if o.src_ip == old_ip {
            o.src_ip = new_ip;
            o.src_mac = lan_mac(host);
        }
        if o.dst_ip == old_ip {
            o.dst_ip = new_ip;
        }
        o.device = device;
        out.push(o);
    }
    out
}

/// Runs the LAN on for `secs` with `relabel` deciding each packet's device
/// and hints, plus `extra` packets; returns the alerts.
fn run(
    engine: &mut AnomalyEngine,
    lan: &mut SyntheticLan,
    relabel: impl Fn(&mut PacketObs) -> PacketHints,
    extra: Vec<(PacketObs, PacketHints)>,
    secs: f64,
) -> Vec<ward_anomaly::AnomalyAlert> {
    let end = lan.now_us() + (secs * 1e6) as i64;
    let mut all: Vec<(PacketObs, PacketHints)> = lan
        .by_ref()
        .take_while(|o| o.ts_micros < end)
        .map(|mut o| {
            let h = relabel(&mut o);
            (o, h)
        })
        .collect();
    all.extend(extra);
    all.sort_by_key(|(o, _)| o.ts_micros);
    for (o, h) in &all {
        engine.process_with(o, h);
    }
    engine.finish();
    engine.drain_alerts()
}

fn show(alerts: &[ward_anomaly::AnomalyAlert], t0: i64) {
    for a in alerts {
        eprintln!(
            "{} s .. {} s, device {} ({} packets): {}",
            (a.start_micros - t0) / 1_000_000,
            (a.end_micros - t0) / 1_000_000,
            a.device,
            a.packets,
            a.explanation
        );
    }
}

/// The LAN's devices 3, 4 and 5 come back under new device numbers 50, 51
/// (cameras) and 52 (unidentified): to the engine they are devices it has
/// never tracked, whose traffic is like their category's.
fn renumbered(hints: [PacketHints; 2]) -> impl Fn(&mut PacketObs) -> PacketHints {
    move |o: &mut PacketObs| match o.device {
        3 => {
            o.device = 50;
            hints[0]
        }
        4 => {
            o.device = 51;
            hints[0]
        }
        5 => {
            o.device = 52;
            PacketHints::default()
        }
        d => hints[usize::from(d >= 10)],
    }
}

#[test]
fn a_new_camera_that_floods_on_its_first_day_is_judged_by_its_category() {
    let (mut engine, mut lan, hints) = learned(true);
    let info = engine.categories();
    let cam = info.iter().find(|c| c.name == "camera").expect("camera");
    assert_eq!(cam.devices, 10, "{info:?}");
    assert!(cam.threshold.is_some_and(|t| t > engine.threshold()));

    let t0 = lan.now_us();
    // Device 50 floods two minutes after it joined; device 51 only behaves
    // like a camera; device 52 floods too, but is unidentified.
    let mut extra = Vec::new();
    for o in Attack::SynFlood.packets(3, lan_mac(13), lan_ip(13), 50, t0 + 120_000_000, 5.0) {
        extra.push((o, hints[0]));
    }
    for o in Attack::SynFlood.packets(4, lan_mac(15), lan_ip(15), 52, t0 + 240_000_000, 5.0) {
        extra.push((o, PacketHints::default()));
    }
    let alerts = run(&mut engine, &mut lan, renumbered(hints), extra, 500.0);
    show(&alerts, t0);
    let flood: Vec<_> = alerts.iter().filter(|a| a.device == 50).collect();
    assert_eq!(flood.len(), 1, "{alerts:#?}");
    let a = flood[0];
    assert_eq!(a.judged_by_category.as_deref(), Some("camera"));
    assert!(a.packets >= 5_000, "{}", a.packets);
    assert!(
        a.explanation
            .starts_with("Device 50 behaved unlike a normal camera"),
        "{}",
        a.explanation
    );
    assert!(
        a.explanation.contains("the camera category's normal")
            || a.explanation.contains("where a camera normally has"),
        "{}",
        a.explanation
    );
    assert!(
        alerts.iter().all(|a| a.device != 51),
        "a benign new camera was flagged: {alerts:#?}"
    );
    assert!(
        alerts.iter().all(|a| a.device != 52),
        "an unidentified device learning was flagged: {alerts:#?}"
    );
}

#[test]
fn a_first_day_flood_is_not_learned_as_the_devices_own_normal() {
    let (mut engine, mut lan, hints) = learned(true);
    let t0 = lan.now_us();
    let mut extra = Vec::new();
    // A flood in its learning period, and the same flood again after it
    // (which the flood's 100 s-window residue prolongs, at most twice).
    for start in [t0 + 60_000_000, t0 + 1_400_000_000] {
        for o in Attack::SynFlood.packets(3, lan_mac(13), lan_ip(13), 50, start, 5.0) {
            extra.push((o, hints[0]));
        }
    }
    let alerts = run(&mut engine, &mut lan, renumbered(hints), extra, 1_600.0);
    show(&alerts, t0);
    let mine: Vec<_> = alerts.iter().filter(|a| a.device == 50).collect();
    assert_eq!(mine.len(), 2, "{alerts:#?}");
    assert_eq!(mine[0].judged_by_category.as_deref(), Some("camera"));
    // The second flood is judged by the device's own normal, which the
    // first flood did not become part of.
    assert_eq!(mine[1].judged_by_category, None, "{:#?}", mine[1]);
    assert!(mine[1].packets >= 5_000, "{}", mine[1].packets);
}

#[test]
fn a_device_unlike_its_category_for_its_whole_learning_period_learns_its_own_normal() {
    let (mut engine, mut lan, hints) = learned(true);
    let t0 = lan.now_us();
    // A newcomer whose own connections the model has never seen: unlike a
    // camera from its first packet to its last.
    let extra: Vec<_> = newcomer(21, 60, 70, t0, 1_500.0)
        .into_iter()
        .map(|o| (o, hints[0]))
        .collect();
    let alerts = run(
        &mut engine,
        &mut lan,
        |o| hints[usize::from(o.device >= 10)],
        extra,
        1_500.0,
    );
    show(&alerts, t0);
    let mine: Vec<_> = alerts.iter().filter(|a| a.device == 60).collect();
    // One alert that says so, ended once its own normal took over.
    assert_eq!(mine.len(), 1, "{alerts:#?}");
    assert_eq!(mine[0].judged_by_category.as_deref(), Some("camera"));
    let end_s = (mine[0].end_micros - t0) / 1_000_000;
    assert!(
        end_s < 2 * DEVICE_LEARNING_SECS as i64 + 60,
        "still flagged {end_s} s after it joined"
    );
}

#[test]
fn without_category_baselines_a_learning_device_raises_nothing() {
    let (mut engine, mut lan, hints) = learned(false);
    let t0 = lan.now_us();
    let extra: Vec<_> = Attack::SynFlood
        .packets(3, lan_mac(13), lan_ip(13), 50, t0 + 120_000_000, 5.0)
        .into_iter()
        .map(|o| (o, hints[0]))
        .collect();
    let alerts = run(&mut engine, &mut lan, renumbered(hints), extra, 300.0);
    show(&alerts, t0);
    assert!(alerts.iter().all(|a| a.device != 50), "{alerts:#?}");
}

#[test]
fn category_names_are_bounded() {
    let (mut engine, _, _) = learned(true);
    assert_eq!(engine.category_id("  "), None);
    let long = "é".repeat(100);
    let id = engine.category_id(&long).expect("cut, not refused");
    assert_eq!(engine.category_id(&long), Some(id));
    for i in 0..100 {
        let _ = engine.category_id(&format!("kind {i}"));
    }
    assert_eq!(engine.categories().len(), ward_anomaly::MAX_CATEGORIES);
    assert_eq!(engine.category_id("one too many"), None);
    // Interned names survive a save and load.
    let restored = AnomalyEngine::load(&engine.save().expect("save")).expect("load");
    assert_eq!(restored.categories(), engine.categories());
}
