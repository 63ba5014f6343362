//! The shipped identifier over real captures (`WARD_DATASETS`; skipped,
//! saying so, when unset).
//!
//! IoT Sentinel set-up 1 of every device: the default model was trained on
//! these captures (the held-out numbers come from the cross-validation in
//! `examples/train_default.rs`), so this pins the pipeline end to end:
//! capture → engine → evidence → features → model → `device` events.
//! The other captures are devices the model has never seen: they must not
//! be given a wrong model.

use std::path::{Path, PathBuf};

use ward_capture::{CaptureReader, RawPacket};
use ward_core::{Engine, EngineConfig, Event, MacAddr, Timestamp, VecSink};
use ward_identify::{DeviceIdentifier, IdentifyConfig, Inventory};

fn datasets() -> Option<PathBuf> {
    match std::env::var_os("WARD_DATASETS") {
        Some(d) => Some(PathBuf::from(d)),
        None => {
            eprintln!("skipped: WARD_DATASETS is not set");
            None
        }
    }
}

/// Run one capture; the final `device` events.
fn run(path: &Path) -> Vec<Event> {
    let ident =
        DeviceIdentifier::with_default_model(IdentifyConfig::default(), Inventory::default())
            .unwrap();
    let cfg = EngineConfig {
        emit_flows: Some(false),
        ..Default::default()
    };
    let detectors = vec![ident.port_observer()];
    let mut engine = Engine::new(cfg, 7, detectors).with_identifier(Box::new(ident));
    let mut reader = CaptureReader::open(path, 0).unwrap();
    let mut pkt = RawPacket::default();
    let mut sink = VecSink::default();
    while reader.next_packet(&mut pkt).unwrap() {
        engine.process(
            Timestamp::from_nanos(pkt.ts_nanos),
            pkt.linktype,
            &pkt.data,
            pkt.orig_len,
            &mut sink,
        );
    }
    engine.finish(&mut sink);
    sink.0
        .into_iter()
        .filter(|e| e.device.as_ref().is_some_and(|d| d.reason == "final"))
        .collect()
}

fn device<'a>(events: &'a [Event], mac: &str) -> &'a ward_core::event::DeviceRecord {
    let mac = MacAddr::parse(mac).unwrap();
    events
        .iter()
        .filter_map(|e| e.device.as_ref())
        .find(|d| d.mac == Some(mac))
        .unwrap_or_else(|| panic!("{mac} not in the inventory"))
}

#[test]
fn iot_sentinel_setup_1_end_to_end() {
    let Some(root) = datasets() else { return };
    let root = root.join("iot-sentinel");
    let labels =
        ward_identify::train::parse_csv(ward_identify::train::IOT_SENTINEL_LABELS, "l").unwrap();
    let (mut models_ok, mut n) = (0, 0);
    for row in &labels {
        let dir = root.join(&row["folder"]);
        let mac = std::fs::read_to_string(dir.join("_iotdevice-mac.txt")).unwrap();
        let events = run(&dir.join("Setup-C-1-STA.pcap"));
        let d = device(&events, mac.trim());
        n += 1;
        assert_eq!(
            d.category.as_deref(),
            Some(row["category"].as_str()),
            "{}: {d:?}",
            row["folder"]
        );
        if d.model.as_deref() == Some(row["model"].as_str()) {
            models_ok += 1;
            let why = d.evidence.iter().find(|e| e.source == "model").unwrap();
            assert!(why.value.starts_with("classifier: "), "{why:?}");
        } else {
            eprintln!("{}: model {:?}", row["folder"], d.model);
        }
    }
    // The SmarterCoffee and iKettle send byte-identical set-up traffic.
    assert!(models_ok + 2 >= n, "{models_ok}/{n} models right");
}

#[test]
fn unseen_devices_get_no_wrong_model() {
    let Some(root) = datasets() else { return };
    // A TP-Link plug from another network, years later (other cloud
    // endpoints): a plug by its Kasa service, no model claimed.
    let plug = run(&root.join("smarthome-fdekeers/data/traces/tplink-plug/tp-link.pcap"));
    let d = device(&plug, "50:c7:bf:ed:0a:54");
    assert_eq!(d.category.as_deref(), Some("plug/switch"));
    assert_eq!(d.model, None);
    // The router of that network: not a plug although its OUI is TP-Link's.
    let cam = run(&root.join("smarthome-fdekeers/data/traces/xiaomi-cam/dhcp-xiaomi.pcap"));
    let router = device(&cam, "64:66:b3:f6:68:52");
    assert_ne!(router.category.as_deref(), Some("plug/switch"));
    let xiaomi = device(&cam, "78:8b:2a:b2:20:ea");
    assert_eq!(xiaomi.category.as_deref(), Some("camera"), "{xiaomi:?}");
    assert_eq!(xiaomi.model, None);
}

#[test]
fn blink_camera_over_days() {
    let Some(root) = datasets() else { return };
    let path = root.join("iot-cset2021/pcaps/blink-cam-01.pcap");
    let events = run(&path);
    let d = device(&events, "f4:b8:5e:ff:2b:1b");
    assert_eq!(d.category.as_deref(), Some("camera"), "{d:?}");
    assert_eq!(d.model, None, "not one of the training models");
}
