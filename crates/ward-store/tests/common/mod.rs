//! Contract-valid events built in code (the shapes of `docs/events.md`).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::IpAddr;

use ward_core::event::{DeviceRecord, Evidence, FlowRecord, Stats};
use ward_core::{Alert, AlertCategory, Event, EventType, Finding, FindingKind, MacAddr, Timestamp};

pub fn ts(secs: i64) -> Timestamp {
    // 2024-05-01T00:00:00Z + secs
    Timestamp::from_secs(1_714_521_600 + secs)
}

pub fn mac(last: u8) -> MacAddr {
    MacAddr([0x00, 0x17, 0x88, 0x01, 0x02, last])
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

pub fn device(t: i64, m: u8, addr: &str, hostname: Option<&str>, category: Option<&str>) -> Event {
    let mut e = Event::new(ts(t), EventType::Device);
    e.src_mac = Some(mac(m));
    e.src_ip = Some(ip(addr));
    e.device = Some(DeviceRecord {
        mac: Some(mac(m)),
        ips: vec![ip(addr)],
        vendor: Some("Signify Netherlands B.V.".into()),
        hostname: hostname.map(str::to_string),
        category: category.map(str::to_string),
        model: None,
        confidence: Some(0.8),
        evidence: vec![Evidence {
            source: "oui".into(),
            value: "00:17:88 Signify".into(),
        }],
        first_seen: ts(0),
        last_seen: ts(t),
        reason: "new".into(),
        random_mac: false,
        pkts_sent: 10,
        bytes_sent: 1000,
        pkts_received: 5,
        bytes_received: 500,
        services: vec!["TCP/80".into()],
        protocols: vec!["dns".into()],
    });
    e
}

pub fn flow(start: i64, end: i64, src: (u8, &str), dst: &str, pkts: u64, bytes: u64) -> Event {
    let mut e = Event::new(ts(end), EventType::Flow).with_endpoints(
        Some((ip(src.1), 50000)),
        Some((ip(dst), 443)),
        Some(6),
    );
    e.src_mac = Some(mac(src.0));
    e.flow = Some(FlowRecord {
        pkts_toserver: pkts,
        pkts_toclient: 0,
        bytes_toserver: bytes,
        bytes_toclient: 0,
        start: ts(start),
        end: ts(end),
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

pub fn alert(t: i64, signature: &str, severity: u8, attacker: &str, device: MacAddr) -> Event {
    let mut evidence = BTreeMap::new();
    evidence.insert("ports".into(), serde_json::json!(120));
    Event::alert(
        ts(t),
        Alert {
            category: AlertCategory::Recon,
            signature: signature.into(),
            severity,
            confidence: 0.9,
            summary: format!("{attacker} scanned 120 ports on a device"),
            evidence,
            devices: vec![device.to_string()],
            attacker: Some(ip(attacker)),
            victims: vec![ip("192.168.1.20")],
            first_seen: ts(t - 10),
            last_seen: ts(t),
            count: 120,
            detector: "recon".into(),
        },
    )
}

pub fn finding(t: i64, device: &str, user: &str, severity: u8) -> Event {
    Event::finding(
        ts(t),
        Finding {
            kind: FindingKind::CleartextCredentials,
            protocol: "telnet".into(),
            severity,
            summary: "A password was sent in clear over Telnet".into(),
            username: Some(user.into()),
            secret: Some("hunter2".into()),
            secret_redacted: false,
            outcome: Some("success".into()),
            device: Some(device.into()),
            evidence: BTreeMap::new(),
            remedy: Some("Turn Telnet off; use SSH".into()),
        },
    )
}

pub fn stats(t: i64, packets: u64) -> Event {
    let mut e = Event::new(ts(t), EventType::Stats);
    e.stats = Some(Stats {
        packets,
        ..Default::default()
    });
    e
}
