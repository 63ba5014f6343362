//! How fast the store takes events: `cargo run --release -p ward-store
//! --example ingest_bench [EVENTS]`. Builds a run-like mix in code (a
//! device event per 200 events, the rest flows between 50 devices and the
//! internet, an alert and a finding per 5 000), writes it through
//! `StoreSink` (500-event batches, each one fsynced transaction), and
//! prints events/s and the commit latency distribution.

use std::time::Instant;

use ward_core::event::{DeviceRecord, FlowRecord};
use ward_core::{
    Alert, AlertCategory, Event, EventSink, EventType, Finding, FindingKind, MacAddr, Timestamp,
};
use ward_store::{Store, StoreSink};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.db");
    let t0 = Timestamp::from_secs(1_714_521_600);
    let mac = |i: usize| MacAddr([0x02, 0, 0, 0, 0, (i % 50) as u8]);
    let ip = |i: usize| format!("10.0.0.{}", i % 50 + 1).parse().unwrap();
    let events: Vec<Event> = (0..n)
        .map(|i| {
            let ts = t0.plus_micros(i as i64 * 2_000);
            if i % 200 == 0 {
                let mut e = Event::new(ts, EventType::Device);
                e.device = Some(DeviceRecord {
                    mac: Some(mac(i / 200)),
                    ips: vec![ip(i / 200)],
                    vendor: Some("Vendor".into()),
                    hostname: Some(format!("dev-{}", i / 200 % 50)),
                    category: None,
                    model: None,
                    confidence: None,
                    evidence: vec![],
                    first_seen: t0,
                    last_seen: ts,
                    reason: "changed".into(),
                    random_mac: false,
                    pkts_sent: i as u64,
                    bytes_sent: i as u64 * 100,
                    pkts_received: 0,
                    bytes_received: 0,
                    services: vec![],
                    protocols: vec![],
                });
                e
            } else if i % 5000 == 1 {
                Event::alert(
                    ts,
                    Alert {
                        category: AlertCategory::Recon,
                        signature: "tcp-port-scan".into(),
                        severity: 2,
                        confidence: 0.9,
                        summary: "scan".into(),
                        evidence: Default::default(),
                        devices: vec![mac(i).to_string()],
                        attacker: Some(ip(i + 1)),
                        victims: vec![ip(i)],
                        first_seen: ts,
                        last_seen: ts,
                        count: 100,
                        detector: "recon".into(),
                    },
                )
            } else if i % 5000 == 2 {
                Event::finding(
                    ts,
                    Finding {
                        kind: FindingKind::InsecureProtocol,
                        protocol: "telnet".into(),
                        severity: 3,
                        summary: "telnet".into(),
                        username: Some(format!("u{}", i % 7)),
                        secret: None,
                        secret_redacted: false,
                        outcome: None,
                        device: Some(mac(i).to_string()),
                        evidence: Default::default(),
                        remedy: None,
                    },
                )
            } else {
                let mut e = Event::new(ts, EventType::Flow).with_endpoints(
                    Some((ip(i), 40000)),
                    Some(("203.0.113.7".parse().unwrap(), 443)),
                    Some(6),
                );
                e.src_mac = Some(mac(i));
                e.flow = Some(FlowRecord {
                    pkts_toserver: 10,
                    pkts_toclient: 12,
                    bytes_toserver: 1500,
                    bytes_toclient: 9000,
                    start: ts.plus_micros(-30_000_000),
                    end: ts,
                    state: "closed".into(),
                    reason: "shutdown".into(),
                    tcp_flags: None,
                    tcp_flags_ts: None,
                    tcp_flags_tc: None,
                    app_proto: Some("tls".into()),
                    vlan: None,
                });
                e
            }
        })
        .collect();

    let mut sink = StoreSink::new(Store::open(&path).unwrap());
    let mut commit_us: Vec<u128> = Vec::new();
    let started = Instant::now();
    for (i, e) in events.iter().enumerate() {
        let before = sink.batches;
        let t = Instant::now();
        sink.emit(e);
        if sink.batches != before {
            commit_us.push(t.elapsed().as_micros());
        }
        let _ = i;
    }
    let (store, totals) = sink.finish().unwrap();
    let wall = started.elapsed();
    commit_us.sort_unstable();
    let pct = |p: f64| commit_us[((commit_us.len() - 1) as f64 * p) as usize];
    println!(
        "{} events in {:.2} s: {:.0} events/s; {} batches of ≤{}; commit p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        totals.events,
        wall.as_secs_f64(),
        totals.events as f64 / wall.as_secs_f64(),
        commit_us.len() + 1,
        StoreSink::BATCH_EVENTS,
        pct(0.5) as f64 / 1000.0,
        pct(0.99) as f64 / 1000.0,
        *commit_us.last().unwrap() as f64 / 1000.0,
    );
    // Inventory-scale queries: 2 000 devices, 20 000 alerts, 4 000 findings.
    let mut store = store;
    let mut big = Vec::new();
    for d in 0..2000usize {
        let m = MacAddr([0x02, 1, 0, 0, (d >> 8) as u8, d as u8]);
        let mut e = Event::new(t0, EventType::Device);
        e.device = Some(DeviceRecord {
            mac: Some(m),
            ips: vec![format!("10.1.{}.{}", d / 250, d % 250 + 1).parse().unwrap()],
            vendor: Some("Vendor".into()),
            hostname: None,
            category: None,
            model: None,
            confidence: None,
            evidence: vec![],
            first_seen: t0,
            last_seen: t0,
            reason: "new".into(),
            random_mac: false,
            pkts_sent: 0,
            bytes_sent: 0,
            pkts_received: 0,
            bytes_received: 0,
            services: vec![],
            protocols: vec![],
        });
        big.push(e);
    }
    for k in 0..20_000usize {
        let d = k % 2000;
        let ts = t0.plus_micros(k as i64);
        big.push(Event::alert(
            ts,
            Alert {
                category: AlertCategory::Recon,
                signature: "tcp-port-scan".into(),
                severity: 3,
                confidence: 0.9,
                summary: "scan".into(),
                evidence: Default::default(),
                devices: vec![MacAddr([0x02, 1, 0, 0, (d >> 8) as u8, d as u8]).to_string()],
                attacker: Some(format!("10.1.{}.{}", d / 250, d % 250 + 1).parse().unwrap()),
                victims: vec![],
                first_seen: ts,
                last_seen: ts,
                count: 1,
                detector: "recon".into(),
            },
        ));
    }
    let t = Instant::now();
    for chunk in big.chunks(500) {
        store.ingest(chunk).unwrap();
    }
    println!(
        "scale: 2 000 devices + 20 000 alerts ingested in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let rows = store
        .devices(&ward_store::DeviceQuery {
            descending: true,
            ..Default::default()
        })
        .unwrap();
    println!(
        "scale: inventory query ({} rows) {:.1} ms",
        rows.len(),
        t.elapsed().as_secs_f64() * 1000.0
    );
    let t = Instant::now();
    let detail = store.device_detail(&rows[0].id).unwrap().unwrap();
    println!(
        "scale: device detail ({} alerts) {:.1} ms",
        detail.alerts.len(),
        t.elapsed().as_secs_f64() * 1000.0
    );
    let t = Instant::now();
    store.overview().unwrap();
    println!(
        "scale: overview {:.1} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );

    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let t = Instant::now();
    let o = store.overview().unwrap();
    println!(
        "file {:.1} MB; overview query {:.1} ms ({} devices, {} traffic minutes)",
        size as f64 / 1e6,
        t.elapsed().as_secs_f64() * 1000.0,
        o.devices,
        o.traffic.len()
    );
}
