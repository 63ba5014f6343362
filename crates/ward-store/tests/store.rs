//! The store's behaviour over contract events: upserts, history, dedup,
//! suppression, retention, queries.

mod common;

use common::*;
use ward_store::*;

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("sub").join("ward.db")).unwrap();
    (dir, store)
}

#[test]
fn fresh_store_is_at_latest_schema_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ward.db");
    {
        let s = Store::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), schema::latest_version());
    }
    let s = Store::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), schema::latest_version());
    s.integrity_check().unwrap();
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ward.db");
    drop(Store::open(&path).unwrap());
    let conn = rusqlite_open(&path);
    conn.execute(
        "INSERT INTO schema_version(version, applied) VALUES (999, 0)",
        [],
    )
    .unwrap();
    drop(conn);
    match Store::open(&path) {
        Err(StoreError::TooNew { found: 999, .. }) => {}
        Err(e) => panic!("wrong error {e}"),
        Ok(_) => panic!("opened a database from the future"),
    }
}

#[test]
fn upgrading_from_version_1_indexes_device_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ward.db");
    {
        let mut s = Store::open(&path).unwrap();
        s.ingest(&[device(1, 1, "192.168.1.20", Some("cam"), None)])
            .unwrap();
    }
    // Turn the file back into a version-1 database.
    let conn = rusqlite_open(&path);
    conn.execute_batch("DROP TABLE device_addrs; DELETE FROM schema_version WHERE version >= 2;")
        .unwrap();
    drop(conn);
    let s = Store::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), schema::latest_version());
    let d = s.device("192.168.1.20").unwrap().unwrap();
    assert_eq!(d.hostname.as_deref(), Some("cam"));
}

fn rusqlite_open(path: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

#[test]
fn device_identity_moves_forward_and_history_records_changes() {
    let (_d, mut s) = open();
    s.ingest(&[device(1, 1, "192.168.1.20", None, None)])
        .unwrap();
    s.ingest(&[device(
        5,
        1,
        "192.168.1.20",
        Some("hue-bridge"),
        Some("hub"),
    )])
    .unwrap();
    // A later record without hostname must not erase it.
    s.ingest(&[device(9, 1, "192.168.1.21", None, None)])
        .unwrap();
    let id = mac(1).to_string();
    let d = s.device_detail(&id).unwrap().unwrap();
    assert_eq!(d.device.hostname.as_deref(), Some("hue-bridge"));
    assert_eq!(d.device.category.as_deref(), Some("hub"));
    assert_eq!(d.device.ips, vec!["192.168.1.21", "192.168.1.20"]);
    assert_eq!(d.device.last_seen, ts(9));
    // Alerts and findings may name it by IP: the lookup resolves that too.
    let by_ip = s.device_detail("192.168.1.20").unwrap().unwrap();
    assert_eq!(by_ip.device.id, id);
    assert_eq!(by_ip.history.len(), d.history.len());
    assert!(s.device("192.168.1.99").unwrap().is_none());
    let fields: Vec<&str> = d.history.iter().map(|h| h.field.as_str()).collect();
    assert!(fields.contains(&"hostname"), "{fields:?}");
    assert!(fields.contains(&"category"), "{fields:?}");
    assert!(fields.contains(&"first-seen"), "{fields:?}");
    assert_eq!(fields.len(), 3, "{fields:?}");
}

#[test]
fn flows_become_per_minute_traffic_for_known_devices_only() {
    let (_d, mut s) = open();
    s.ingest(&[device(1, 1, "192.168.1.20", None, None)])
        .unwrap();
    // 3 minutes (0..=2) of 300 packets: 100 a minute. The far end is not a device.
    s.ingest(&[flow(
        0,
        150,
        (1, "192.168.1.20"),
        "203.0.113.9",
        300,
        30_000,
    )])
    .unwrap();
    let series = s.traffic_series(Some(&mac(1).to_string())).unwrap();
    assert_eq!(series.len(), 3, "{series:?}");
    assert_eq!(series.iter().map(|p| p.pkts).sum::<u64>(), 300);
    assert_eq!(series.iter().map(|p| p.bytes).sum::<u64>(), 30_000);
    assert!(s.traffic_series(Some("203.0.113.9")).unwrap().is_empty());
    let net = s.overview().unwrap().traffic;
    assert_eq!(net.iter().map(|p| p.pkts).sum::<u64>(), 300);
}

#[test]
fn alert_updates_merge_into_one_incident_and_raise_risk() {
    let (_d, mut s) = open();
    s.ingest(&[device(1, 1, "192.168.1.20", None, None)])
        .unwrap();
    let r = s
        .ingest(&[alert(100, "tcp-port-scan", 2, "192.168.1.66", mac(1))])
        .unwrap();
    assert_eq!(r.alerts_new, 1);
    // Same incident (same start) reported again with more packets.
    let mut again = alert(100, "tcp-port-scan", 2, "192.168.1.66", mac(1));
    again.alert.as_mut().unwrap().count = 500;
    let r = s.ingest(&[again]).unwrap();
    assert_eq!((r.alerts_new, r.alerts_updated), (0, 1));
    let alerts = s.alerts(&AlertQuery::default()).unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].count, 500);
    assert_eq!(alerts[0].status, AlertStatus::Open);
    let dev = s.device(&mac(1).to_string()).unwrap().unwrap();
    assert_eq!(dev.risk, severity_weight(2));
    assert_eq!(dev.open_alerts, 1);
    let detail = s.device_detail(&mac(1).to_string()).unwrap().unwrap();
    assert_eq!(detail.alerts.len(), 1);

    assert!(s
        .set_alert_status(alerts[0].id, AlertStatus::Muted, Some("known scanner"))
        .unwrap());
    let a = s.alert(alerts[0].id).unwrap().unwrap();
    assert_eq!(a.status, AlertStatus::Muted);
    assert_eq!(a.note.as_deref(), Some("known scanner"));
    assert!(a.status_changed_unix.is_some());
    assert_eq!(s.device(&mac(1).to_string()).unwrap().unwrap().risk, 0);
    assert!(!s.set_alert_status(9999, AlertStatus::Open, None).unwrap());
}

#[test]
fn this_is_normal_suppresses_repeats_from_the_same_attacker_only() {
    let (_d, mut s) = open();
    s.ingest(&[
        alert(100, "tcp-port-scan", 2, "192.168.1.66", mac(1)),
        alert(200, "tcp-port-scan", 2, "192.168.1.66", mac(1)),
    ])
    .unwrap();
    let first = s.alerts(&AlertQuery::default()).unwrap();
    let rule = s
        .mark_normal(first[1].id, Some("my NAS scans"))
        .unwrap()
        .unwrap();
    // Both open alerts from that attacker are closed.
    let active = s
        .alerts(&AlertQuery {
            statuses: vec![AlertStatus::Open, AlertStatus::Acknowledged],
            ..Default::default()
        })
        .unwrap();
    assert!(active.is_empty(), "{active:?}");

    let repeat = alert(900, "tcp-port-scan", 2, "192.168.1.66", mac(1));
    let other = alert(900, "tcp-port-scan", 2, "192.168.1.77", mac(1));
    assert!(s.is_suppressed(repeat.alert.as_ref().unwrap()).unwrap());
    assert!(!s.is_suppressed(other.alert.as_ref().unwrap()).unwrap());
    let r = s.ingest(&[repeat, other]).unwrap();
    assert_eq!((r.alerts_new, r.alerts_suppressed), (1, 1));
    let rows = s.alerts(&AlertQuery::default()).unwrap();
    let repeat_row = rows
        .iter()
        .find(|a| a.attacker.as_deref() == Some("192.168.1.66") && a.last_seen == ts(900))
        .unwrap();
    assert_eq!(repeat_row.status, AlertStatus::Normal);
    assert_eq!(repeat_row.suppression_id, Some(rule));
    let sups = s.suppressions().unwrap();
    assert_eq!(sups.len(), 1);
    assert_eq!(sups[0].subject.as_deref(), Some("192.168.1.66"));
    assert!(s.remove_suppression(rule).unwrap());
    assert!(s.suppressions().unwrap().is_empty());
}

#[test]
fn findings_deduplicate_and_never_store_secrets() {
    let (dir, mut s) = open();
    let dev = mac(1).to_string();
    s.ingest(&[device(1, 1, "192.168.1.20", None, None)])
        .unwrap();
    s.ingest(&[finding(10, &dev, "admin", 2), finding(20, &dev, "admin", 1)])
        .unwrap();
    s.ingest(&[finding(30, &dev, "root", 2)]).unwrap();
    let f = s.findings(&FindingQuery::default()).unwrap();
    assert_eq!(f.len(), 2);
    let admin = f
        .iter()
        .find(|f| f.username.as_deref() == Some("admin"))
        .unwrap();
    assert_eq!(admin.count, 2);
    assert_eq!(admin.severity, 1);
    assert_eq!((admin.first_seen, admin.last_seen), (ts(10), ts(20)));
    assert!(admin.secret_redacted);
    let risk = s.device(&dev).unwrap().unwrap().risk;
    assert_eq!(risk, severity_weight(1) + severity_weight(2));
    drop(s);
    // The secret is nowhere in the file (nor in the WAL).
    for entry in std::fs::read_dir(dir.path().join("sub")).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(
            !bytes.windows(7).any(|w| w == b"hunter2"),
            "secret written to disk"
        );
    }
}

#[test]
fn inventory_search_filter_and_sort() {
    let (_d, mut s) = open();
    s.ingest(&[
        device(1, 1, "192.168.1.20", Some("hue-bridge"), Some("hub")),
        device(
            2,
            2,
            "192.168.1.30",
            Some("living-room-cam"),
            Some("camera"),
        ),
        device(3, 3, "192.168.1.40", None, None),
        finding(5, &mac(2).to_string(), "admin", 1),
    ])
    .unwrap();
    let all = s.devices(&DeviceQuery::default()).unwrap();
    assert_eq!(all.len(), 3);
    let by_risk = s
        .devices(&DeviceQuery {
            sort: DeviceSort::Risk,
            descending: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(by_risk[0].id, mac(2).to_string());
    let cams = s
        .devices(&DeviceQuery {
            category: Some("camera".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(cams.len(), 1);
    let unknown = s
        .devices(&DeviceQuery {
            category: Some("unknown".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(unknown[0].id, mac(3).to_string());
    let found = s
        .devices(&DeviceQuery {
            search: Some("ROOM".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(found.len(), 1);
    let by_ip = s
        .devices(&DeviceQuery {
            search: Some("1.40".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(by_ip.len(), 1);
    // LIKE metacharacters are literal.
    let none = s
        .devices(&DeviceQuery {
            search: Some("%".into()),
            ..Default::default()
        })
        .unwrap();
    assert!(none.is_empty());
    let risky = s
        .devices(&DeviceQuery {
            min_risk: Some(1),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(risky.len(), 1);
}

#[test]
fn overview_scores_open_problems() {
    let (_d, mut s) = open();
    assert_eq!(s.overview().unwrap().score, 100);
    s.ingest(&[
        device(1, 1, "192.168.1.20", None, Some("hub")),
        alert(100, "tcp-port-scan", 1, "192.168.1.66", mac(1)),
        finding(10, &mac(1).to_string(), "admin", 1),
        stats(200, 1234),
    ])
    .unwrap();
    let o = s.overview().unwrap();
    assert_eq!(o.penalty, 50);
    assert_eq!(o.score, 50);
    assert_eq!(o.active_alerts_by_severity, [1, 0, 0, 0]);
    assert_eq!(o.devices_by_category, vec![("hub".to_string(), 1)]);
    assert_eq!(o.latest_stats.unwrap().packets, 1234);
    assert_eq!(o.data_until, Some(ts(200)));
    assert_eq!(o.batches, 1);
    assert_eq!(security_score(0), 100);
    assert_eq!(security_score(100), 25);
}

#[test]
fn prune_keeps_what_retention_allows() {
    let (_d, mut s) = open();
    let day = 86_400;
    s.ingest(&[
        device(1, 1, "192.168.1.20", None, None),
        flow(0, 10, (1, "192.168.1.20"), "203.0.113.9", 10, 1000),
        flow(
            20 * day,
            20 * day + 10,
            (1, "192.168.1.20"),
            "203.0.113.9",
            10,
            1000,
        ),
        stats(0, 1),
        stats(20 * day, 2),
        alert(100, "old-muted", 3, "192.168.1.66", mac(1)),
        alert(100, "old-open", 3, "192.168.1.67", mac(1)),
    ])
    .unwrap();
    let muted = s
        .alerts(&AlertQuery {
            signature: Some("old-muted".into()),
            ..Default::default()
        })
        .unwrap()[0]
        .id;
    s.set_alert_status(muted, AlertStatus::Muted, None).unwrap();
    let r = s
        .prune(
            ts(20 * day + 100),
            &Retention {
                traffic_days: 14,
                stats_days: 14,
                closed_alert_days: 10,
                alert_days: 365,
                finding_days: 365,
                history_days: 365,
            },
        )
        .unwrap();
    assert_eq!(r.traffic, 1);
    assert_eq!(r.stats, 1);
    assert_eq!(r.alerts, 1);
    let left: Vec<String> = s
        .alerts(&AlertQuery::default())
        .unwrap()
        .into_iter()
        .map(|a| a.signature)
        .collect();
    assert_eq!(left, vec!["old-open"]);
    assert_eq!(s.traffic_series(None).unwrap().len(), 1);
}

#[test]
fn store_sink_batches_and_commits_on_finish() {
    use ward_core::EventSink;
    let (_d, s) = open();
    let mut sink = StoreSink::new(s);
    sink.emit(&device(1, 1, "192.168.1.20", None, None));
    for i in 0..(StoreSink::BATCH_EVENTS as i64 + 10) {
        sink.emit(&stats(i, i as u64));
    }
    assert_eq!(sink.batches, 1, "one full batch committed");
    let (s, totals) = sink.finish().unwrap();
    assert_eq!(totals.events, StoreSink::BATCH_EVENTS as u64 + 11);
    assert_eq!(s.last_batch_id().unwrap(), 2);
    assert_eq!(s.devices(&DeviceQuery::default()).unwrap().len(), 1);
}

#[test]
fn hostile_strings_are_capped_and_stored_as_data() {
    let (_d, mut s) = open();
    let long = "x".repeat(100_000);
    let mut e = device(
        1,
        1,
        "192.168.1.20",
        Some("'); DROP TABLE devices; --"),
        None,
    );
    e.device.as_mut().unwrap().model = Some(long);
    s.ingest(&[e]).unwrap();
    let d = s.device(&mac(1).to_string()).unwrap().unwrap();
    assert_eq!(d.hostname.as_deref(), Some("'); DROP TABLE devices; --"));
    assert!(d.model.unwrap().len() <= 512);
    s.integrity_check().unwrap();
}

#[test]
fn model_state_refs_round_trip() {
    let (_d, mut s) = open();
    let m = ModelState {
        name: "anomaly".into(),
        path: "/var/lib/ward/anomaly.bin".into(),
        version: "3".into(),
        updated: 1_700_000_000,
    };
    s.set_model_state(&m).unwrap();
    s.set_model_state(&ModelState {
        version: "4".into(),
        ..m.clone()
    })
    .unwrap();
    let all = s.model_states().unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].version, "4");
}
