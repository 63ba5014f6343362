//! The identifier against an inventory driven by frames built in code:
//! new-device alerts after the learning period, randomised-MAC merging,
//! identity-change alerts, and the state file across runs.

mod common;

use common::{frame, see};
use ward_core::devices::{DeviceConfig, DeviceKey, DeviceTable};
use ward_core::{decode, Event, Identifier, MacAddr, Timestamp};
use ward_identify::{DeviceIdentifier, IdentifyConfig, Inventory};
use ward_proto::HintKind;

fn identifier(learning_s: u64, inv: Inventory) -> DeviceIdentifier {
    let cfg = IdentifyConfig {
        learning_period_s: learning_s,
        settle_s: 60,
        ..Default::default()
    };
    DeviceIdentifier::with_default_model(cfg, inv).expect("shipped model loads")
}

fn alerts<'a>(out: &'a [Event], sig: &str) -> Vec<&'a Event> {
    out.iter()
        .filter(|e| e.alert.as_ref().is_some_and(|a| a.signature == sig))
        .collect()
}

const A: [u8; 6] = [0x00, 0x1a, 0x11, 0, 0, 1];
const B: [u8; 6] = [0x00, 0x1a, 0x11, 0, 0, 2];

#[test]
fn new_device_alert_only_after_learning() {
    let mut t = DeviceTable::new(DeviceConfig::default(), 1);
    let mut id = identifier(60, Inventory::default());
    let mut out = Vec::new();
    see(&mut t, A, [192, 168, 1, 10], 0);
    id.identify(Timestamp::from_secs(1), &mut t, &mut out);
    assert!(alerts(&out, "new-device").is_empty(), "learning period");
    see(&mut t, B, [192, 168, 1, 11], 100);
    id.identify(Timestamp::from_secs(101), &mut t, &mut out);
    let a = alerts(&out, "new-device");
    assert_eq!(a.len(), 1);
    let alert = a[0].alert.as_ref().unwrap();
    assert_eq!(alert.devices, vec!["00:1a:11:00:00:02".to_string()]);
    assert_eq!(alert.category.as_str(), "new-device");
    // Reported once, not every second.
    out.clear();
    id.identify(Timestamp::from_secs(102), &mut t, &mut out);
    assert!(alerts(&out, "new-device").is_empty());
    assert_eq!(id.inventory().devices.len(), 2);
}

#[test]
fn randomised_mac_is_merged_not_new() {
    let r1 = [0x02, 0x11, 0x22, 0x33, 0x44, 0x01];
    let r2 = [0x06, 0x55, 0x66, 0x77, 0x88, 0x02];
    let mut t = DeviceTable::new(DeviceConfig::default(), 1);
    let mut id = identifier(60, Inventory::default());
    let mut out = Vec::new();
    let d1 = see(&mut t, r1, [192, 168, 1, 20], 0);
    t.add_hint(d1, HintKind::Hostname, "kitchen-tablet");
    t.add_hint(d1, HintKind::DhcpParamList, "1,3,6,15,26,28,51,58,59,43");
    id.identify(Timestamp::from_secs(1), &mut t, &mut out);

    // Hours later, the same tablet under a new random MAC.
    let d2 = see(&mut t, r2, [192, 168, 1, 21], 4000);
    id.identify(Timestamp::from_secs(4001), &mut t, &mut out);
    assert!(
        alerts(&out, "new-device").is_empty(),
        "waits for DHCP evidence"
    );
    t.add_hint(d2, HintKind::Hostname, "kitchen-tablet");
    t.add_hint(d2, HintKind::DhcpParamList, "1,3,6,15,26,28,51,58,59,43");
    id.identify(Timestamp::from_secs(4002), &mut t, &mut out);
    assert!(alerts(&out, "new-device").is_empty(), "{out:?}");
    let inv = id.inventory();
    assert_eq!(inv.devices.len(), 1, "one inventory entry");
    let e = &inv.devices["06:55:66:77:88:02"];
    assert_eq!(e.aliases, vec!["02:11:22:33:44:01".to_string()]);
    let dev = t.get(d2).unwrap();
    assert!(dev
        .identity_evidence
        .iter()
        .any(|e| e.source == "same-as" && e.value == "02:11:22:33:44:01"));
    assert_eq!(id.counters().merged, 1);

    // A different device with another name is new.
    let r3 = [0x0a, 1, 2, 3, 4, 5];
    let d3 = see(&mut t, r3, [192, 168, 1, 22], 4010);
    t.add_hint(d3, HintKind::Hostname, "office-laptop");
    id.identify(Timestamp::from_secs(4011), &mut t, &mut out);
    assert_eq!(alerts(&out, "new-device").len(), 1);
}

#[test]
fn identity_change_is_alerted_once_settled() {
    let mut t = DeviceTable::new(DeviceConfig::default(), 1);
    let mut id = identifier(0, Inventory::default());
    let mut out = Vec::new();
    let d = see(&mut t, A, [192, 168, 1, 30], 0);
    t.add_hint(d, HintKind::MdnsService, "_ipp._tcp.local");
    id.identify(Timestamp::from_secs(1), &mut t, &mut out);
    assert_eq!(t.get(d).unwrap().category.as_deref(), Some("printer"));
    let why = &t.get(d).unwrap().identity_evidence[0];
    assert_eq!(why.source, "category");
    assert!(why.value.contains("_ipp._tcp"), "{why:?}");

    // Long after, it announces itself over LLDP like a switch.
    see(&mut t, A, [192, 168, 1, 30], 500);
    t.add_hint(d, HintKind::Lldp, "system_name=core-sw1");
    out.clear();
    id.identify(Timestamp::from_secs(501), &mut t, &mut out);
    let a = alerts(&out, "device-identity-changed");
    assert_eq!(a.len(), 1, "{out:?}");
    let alert = a[0].alert.as_ref().unwrap();
    assert_eq!(alert.category.as_str(), "policy");
    assert_eq!(alert.evidence["previous_category"], "printer");
    assert_eq!(alert.evidence["new_category"], "network equipment");
    assert!(t.take_changed().contains(&d), "device event follows");
}

#[test]
fn early_refinement_is_not_an_identity_change() {
    let mut t = DeviceTable::new(DeviceConfig::default(), 1);
    let mut id = identifier(0, Inventory::default());
    let mut out = Vec::new();
    let d = see(&mut t, A, [192, 168, 1, 30], 0);
    t.add_hint(d, HintKind::MdnsService, "_ipp._tcp.local");
    id.identify(Timestamp::from_secs(1), &mut t, &mut out);
    t.add_hint(d, HintKind::Lldp, "system_name=core-sw1");
    id.identify(Timestamp::from_secs(5), &mut t, &mut out);
    assert!(alerts(&out, "device-identity-changed").is_empty());
}

#[test]
fn state_file_carries_knowledge_across_runs() {
    let dir = std::env::temp_dir().join(format!("ward-identify-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("state.json");

    let mut t = DeviceTable::new(DeviceConfig::default(), 1);
    let mut id = identifier(60, Inventory::default());
    let mut out = Vec::new();
    see(&mut t, A, [192, 168, 1, 10], 0);
    id.identify(Timestamp::from_secs(1), &mut t, &mut out);
    id.into_inventory().save(&path).unwrap();

    // Next run, well after learning: A is known, B is new.
    let inv = Inventory::load_or_default(&path).unwrap();
    assert!(inv.learning_started.is_some());
    let mut t = DeviceTable::new(DeviceConfig::default(), 1);
    let mut id = identifier(60, inv);
    see(&mut t, A, [192, 168, 1, 10], 10_000);
    see(&mut t, B, [192, 168, 1, 11], 10_000);
    id.identify(Timestamp::from_secs(10_001), &mut t, &mut out);
    let a = alerts(&out, "new-device");
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].alert.as_ref().unwrap().devices[0], "00:1a:11:00:00:02");
    assert!(
        t.find(DeviceKey::Mac(MacAddr(A))).is_some(),
        "device still tracked"
    );
    std::fs::remove_dir_all(&dir).ok();
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    const KINDS: [HintKind; 12] = [
        HintKind::Hostname,
        HintKind::DhcpParamList,
        HintKind::DhcpVendorClass,
        HintKind::DhcpClientId,
        HintKind::MdnsService,
        HintKind::MdnsTxt,
        HintKind::SsdpServer,
        HintKind::SsdpUsn,
        HintKind::UpnpDescription,
        HintKind::DnsQuery,
        HintKind::HttpUserAgent,
        HintKind::Lldp,
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Identification never panics, whatever the evidence.
        #[test]
        fn identify_never_panics(
            hints in proptest::collection::vec((0usize..KINDS.len(), "\\PC{0,40}"), 0..24),
            macs in proptest::collection::vec(any::<[u8; 6]>(), 1..6),
            services in proptest::collection::vec((any::<u8>(), any::<u16>()), 0..8),
            t0 in 0i64..100_000,
        ) {
            let mut t = DeviceTable::new(DeviceConfig::default(), 1);
            let mut id = identifier(10, Inventory::default());
            let mut out = Vec::new();
            for (i, m) in macs.iter().enumerate() {
                let mut m = *m;
                m[0] &= 0xfe; // a station, not a group address
                let data = frame(m, [10, 0, 0, i as u8]);
                let pkt = decode(Timestamp::from_secs(t0 + i as i64 * 50), 1, &data, data.len() as u32);
                if let Some(d) = t.observe(&pkt).0 {
                    for (k, v) in &hints {
                        t.add_hint(d, KINDS[*k], v);
                    }
                    for (p, port) in &services {
                        t.add_service(d, *p, *port);
                    }
                }
                id.identify(Timestamp::from_secs(t0 + i as i64 * 50 + 1), &mut t, &mut out);
            }
            let _ = id.inventory().table();
        }
    }
}

/// Classify a fresh device that sent `hints` (run each second from 1 to
/// `until` s); returns its (category, model) and the first second at which
/// it had a category.
fn classify_hints(
    mac: [u8; 6],
    hints: &[(HintKind, &str)],
    until: i64,
) -> (Option<String>, Option<String>, Option<i64>) {
    let mut t = DeviceTable::new(DeviceConfig::default(), 1);
    let mut id = identifier(0, Inventory::default());
    let mut out = Vec::new();
    let d = see(&mut t, mac, [192, 168, 1, 40], 0);
    for (k, v) in hints {
        t.add_hint(d, *k, v);
    }
    let mut first = None;
    for s in 1..=until {
        id.identify(Timestamp::from_secs(s), &mut t, &mut out);
        if first.is_none() && t.get(d).unwrap().category.is_some() {
            first = Some(s);
        }
    }
    let dev = t.get(d).unwrap();
    (dev.category.clone(), dev.model.clone(), first)
}

// Locally administered, so no OUI vendor speaks for the device.
const LOCAL: [u8; 6] = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];

#[test]
fn a_cast_device_is_placed_by_its_capability_bits() {
    let cast = (HintKind::MdnsService, "_googlecast._tcp.local");
    // Audio out, no video out: a speaker (a Nest Audio the model never saw).
    let (c, _, _) = classify_hints(LOCAL, &[cast, (HintKind::MdnsTxt, "ca=199172")], 2);
    assert_eq!(c.as_deref(), Some("speaker/assistant"));
    // Video out: a screen.
    let (c, _, _) = classify_hints(LOCAL, &[cast, (HintKind::MdnsTxt, "ca=4101")], 2);
    assert_eq!(c.as_deref(), Some("TV/media"));
    // No capability bits: the service type alone.
    let (c, _, _) = classify_hints(LOCAL, &[cast], 2);
    assert_eq!(c.as_deref(), Some("TV/media"));
}

#[test]
fn a_model_the_device_names_and_the_model_knows_brings_its_category() {
    let (c, m, _) = classify_hints(
        LOCAL,
        &[
            (HintKind::MdnsService, "_googlecast._tcp.local"),
            (HintKind::MdnsTxt, "md=Google Home Mini"),
        ],
        2,
    );
    assert_eq!(c.as_deref(), Some("speaker/assistant"));
    assert_eq!(m.as_deref(), Some("Google Home Mini"));
}

#[test]
fn homekit_accessory_category() {
    let hap = (HintKind::MdnsService, "_hap._tcp.local");
    let (c, _, _) = classify_hints(LOCAL, &[hap, (HintKind::MdnsTxt, "ci=7")], 2);
    assert_eq!(c.as_deref(), Some("plug/switch"));
    let (c, _, _) = classify_hints(LOCAL, &[hap, (HintKind::MdnsTxt, "ci=17")], 2);
    assert_eq!(c.as_deref(), Some("camera"));
}

#[test]
fn surveillance_vendors_and_their_clouds_are_cameras() {
    // A Dahua OUI (BC:32:5F) and nothing else.
    let (c, _, _) = classify_hints([0xbc, 0x32, 0x5f, 1, 2, 3], &[], 2);
    assert_eq!(c.as_deref(), Some("camera"));
    // Any vendor, calling a surveillance P2P cloud.
    let (c, _, _) = classify_hints(LOCAL, &[(HintKind::DnsQuery, "www.easy4ipcloud.com")], 2);
    assert_eq!(c.as_deref(), Some("camera"));
    let (c, _, _) = classify_hints(LOCAL, &[(HintKind::Hostname, "front-nvr-2")], 2);
    assert_eq!(c.as_deref(), Some("camera"));
}

#[test]
fn a_desktop_linux_default_host_name_is_a_computer() {
    let (c, _, _) = classify_hints(LOCAL, &[(HintKind::Hostname, "kali")], 2);
    assert_eq!(c.as_deref(), Some("phone/computer"));
    // A word inside another word is not a match.
    let (c, _, _) = classify_hints(LOCAL, &[(HintKind::Hostname, "kalimba")], 2);
    assert_eq!(c, None);
}

#[test]
fn evidence_after_a_quiet_spell_is_looked_at_within_a_quarter_of_the_age() {
    // Regression: the back-off grew 1, 2, 4 … 32 s whatever happened, so
    // evidence arriving at 17 s waited until 48 s (a Google Home took 54 s).
    let mut t = DeviceTable::new(DeviceConfig::default(), 1);
    let mut id = identifier(0, Inventory::default());
    let mut out = Vec::new();
    let d = see(&mut t, LOCAL, [192, 168, 1, 41], 0);
    for (s, h) in [
        (1, "a1"),
        (2, "b2"),
        (3, "c3"),
        (5, "d4"),
        (9, "e5"),
        (16, "f6"),
    ] {
        t.add_hint(d, HintKind::DhcpVendorClass, h);
        id.identify(Timestamp::from_secs(s), &mut t, &mut out);
    }
    for s in 17..=20 {
        id.identify(Timestamp::from_secs(s), &mut t, &mut out);
    }
    assert_eq!(t.get(d).unwrap().category, None);
    t.add_hint(d, HintKind::MdnsService, "_ipp._tcp.local");
    let mut when = None;
    for s in 21..=60 {
        id.identify(Timestamp::from_secs(s), &mut t, &mut out);
        if t.get(d).unwrap().category.is_some() {
            when = Some(s);
            break;
        }
    }
    let when = when.expect("classified");
    assert!(when <= 26, "looked at only at {when} s");
}

#[test]
fn a_settled_answer_is_asked_again_ever_more_rarely() {
    use ward_identify::identifier::next_wait_s;
    // Unsettled: a quarter of the age, 2..60 s.
    assert_eq!(next_wait_s(0, false, 0, 300), 2);
    assert_eq!(next_wait_s(32, false, 20, 300), 5);
    assert_eq!(next_wait_s(32, false, 10_000, 300), 60);
    // Settled: growing fourfold from 4 s to the longest wait.
    let mut w = next_wait_s(1, true, 5, 300);
    assert_eq!(w, 4);
    let mut waits = vec![w];
    for _ in 0..4 {
        w = next_wait_s(w, true, 5, 300);
        waits.push(w);
    }
    assert_eq!(waits, [4, 16, 64, 256, 300]);
    for _ in 0..20 {
        w = next_wait_s(w, true, 5, 300);
    }
    assert_eq!(w, 300);
    // A shorter longest wait bounds both; 0 means every second.
    assert_eq!(next_wait_s(w, true, 5, 30), 30);
    assert_eq!(next_wait_s(0, false, 10_000, 30), 30);
    assert_eq!(next_wait_s(8, true, 5, 0), 1);
    assert_eq!(next_wait_s(8, false, 10_000, 0), 1);
}

/// A device named a camera by its host name that then resolves a new DNS
/// name every second for `until` seconds (evidence that never changes the
/// conclusion), with the identifier's longest wait `max_wait_s`; returns
/// the classifications made by each second in `at`, the table, the device
/// and the identifier.
fn chatty_camera(
    max_wait_s: u64,
    until: i64,
    at: &[i64],
) -> (Vec<u64>, DeviceTable, u32, DeviceIdentifier) {
    let dcfg = DeviceConfig {
        // Room for every name, so the evidence really grows all along.
        max_evidence: 10_000,
        ..Default::default()
    };
    let mut t = DeviceTable::new(dcfg, 1);
    let cfg = IdentifyConfig {
        learning_period_s: 0,
        settle_s: 60,
        max_wait_s,
        ..Default::default()
    };
    let mut id = DeviceIdentifier::with_default_model(cfg, Inventory::default()).unwrap();
    let mut out = Vec::new();
    let d = see(&mut t, LOCAL, [192, 168, 1, 42], 0);
    t.add_hint(d, HintKind::Hostname, "ipcam-garden");
    let mut counts = Vec::new();
    for s in 1..=until {
        t.add_hint(d, HintKind::DnsQuery, &format!("edge{s}.cdn.example.net"));
        id.identify(Timestamp::from_secs(s), &mut t, &mut out);
        assert_eq!(
            t.get(d).unwrap().category.as_deref(),
            Some("camera"),
            "{s} s"
        );
        if at.contains(&s) {
            counts.push(id.counters().classified);
        }
    }
    (counts, t, d, id)
}

#[test]
fn evidence_that_keeps_coming_without_changing_the_answer_is_examined_log_times() {
    // Without a longest wait: a number of classifications that grows with
    // the log of the time, not once per second of new evidence.
    let (n, ..) = chatty_camera(1 << 30, 3600, &[225, 900, 3600]);
    assert!(n[2] <= 12, "{n:?} classifications in an hour");
    // Four times as long adds at most two classifications.
    assert!(n[1] <= n[0] + 2 && n[2] <= n[1] + 2, "{n:?}");
    assert!(n[0] >= 3, "{n:?}: the evidence is looked at now and then");
    // With the default longest wait (300 s), at least every 300 s.
    let (m, ..) = chatty_camera(300, 3600, &[900, 3600]);
    assert!(
        m[1] >= m[0] + 3600 / 300 - 3 && m[1] <= n[2] + 3600 / 300,
        "{m:?}"
    );
}

#[test]
fn decisive_evidence_is_acted_on_within_a_second() {
    // The camera above, 20 minutes into its DNS names: its wait is long
    // (the last classification was minutes ago, the next is minutes away).
    let (_, mut t, d, mut id) = chatty_camera(300, 1200, &[]);
    let mut out = Vec::new();
    let before = id.counters().classified;
    // One more refining item waits its turn …
    t.add_hint(d, HintKind::DnsQuery, "one-more.cdn.example.net");
    id.identify(Timestamp::from_secs(1201), &mut t, &mut out);
    assert_eq!(id.counters().classified, before);
    // … a DNS-SD service type, which names what the device is, does not.
    t.add_hint(d, HintKind::MdnsService, "_ipp._tcp.local");
    id.identify(Timestamp::from_secs(1202), &mut t, &mut out);
    assert_eq!(id.counters().classified, before + 1);
    assert_eq!(t.get(d).unwrap().category.as_deref(), Some("printer"));
    assert_eq!(alerts(&out, "device-identity-changed").len(), 1);
    // So do a new host name and a service a rule reads, each at once.
    for (s, add) in [(1203, 0), (1204, 1)] {
        match add {
            0 => t.add_hint(d, HintKind::Hostname, "office-printer"),
            _ => t.add_service(d, 6, 9100),
        }
        id.identify(Timestamp::from_secs(s), &mut t, &mut out);
        assert_eq!(id.counters().classified, before + 2 + add, "{s} s");
    }
    // A service no rule reads only refines.
    t.add_service(d, 6, 8443);
    id.identify(Timestamp::from_secs(1205), &mut t, &mut out);
    assert_eq!(id.counters().classified, before + 3);
}

#[test]
fn what_a_classification_read_is_not_news_at_the_next_pass() {
    let mut t = DeviceTable::new(DeviceConfig::default(), 1);
    let mut id = identifier(0, Inventory::default());
    let mut out = Vec::new();
    let d = see(&mut t, LOCAL, [192, 168, 1, 48], 0);
    t.add_hint(d, HintKind::Hostname, "ipcam-garden");
    id.identify(Timestamp::from_secs(1), &mut t, &mut out);
    assert_eq!(id.counters().classified, 1);
    // A refining item within the device's wait: the host name the first
    // classification read does not count as decisive news again.
    t.add_hint(d, HintKind::DnsQuery, "a.cdn.example.net");
    id.identify(Timestamp::from_secs(2), &mut t, &mut out);
    assert_eq!(id.counters().classified, 1);
}

#[test]
fn a_new_host_name_is_acted_on_also_when_the_evidence_list_is_full() {
    // Room for two items: the host name and one DNS name fill it, so a
    // later host name joins the device's names but no evidence item.
    let dcfg = DeviceConfig {
        max_evidence: 2,
        ..Default::default()
    };
    let mut t = DeviceTable::new(dcfg, 1);
    let mut id = identifier(0, Inventory::default());
    let mut out = Vec::new();
    let d = see(&mut t, LOCAL, [192, 168, 1, 46], 0);
    let other = see(&mut t, B, [192, 168, 1, 47], 0);
    t.add_hint(d, HintKind::Hostname, "ipcam-garden");
    t.add_hint(d, HintKind::DnsQuery, "edge.cdn.example.net");
    // A camera by its host name, whose services (none a rule reads) keep
    // growing for a minute: its answer holds, so its wait grows.
    for s in 1..=100 {
        if s <= 60 {
            t.add_service(d, 6, 8000 + s as u16);
        }
        id.identify(Timestamp::from_secs(s), &mut t, &mut out);
    }
    assert_eq!(t.get(d).unwrap().evidence.len(), 2);
    // (The other device's new evidence makes each pass below run: a host
    // name that fits no evidence item does not move the table's version.)
    let before = id.counters().classified;
    t.add_service(d, 6, 8100);
    t.add_hint(other, HintKind::DnsQuery, "time.example.org");
    id.identify(Timestamp::from_secs(101), &mut t, &mut out);
    assert_eq!(id.counters().classified, before + 1, "the camera waits");
    t.add_hint(d, HintKind::Hostname, "office-printer");
    assert_eq!(t.get(d).unwrap().hostnames.len(), 2);
    t.add_hint(other, HintKind::DnsQuery, "ntp.example.org");
    id.identify(Timestamp::from_secs(102), &mut t, &mut out);
    assert_eq!(id.counters().classified, before + 2, "the new name is read");
    let entry = &id.inventory().devices["02:11:22:33:44:55"];
    assert!(entry.hostnames.iter().any(|h| h == "office-printer"));
}

#[test]
fn rule_services_are_the_ones_classify_reads() {
    use ward_identify::rules::{classify, rule_services, RULE_SERVICES};
    // Each listed service alone decides a rule; a few others do not.
    for (i, (proto, port)) in RULE_SERVICES.iter().enumerate() {
        let mut t = DeviceTable::new(DeviceConfig::default(), 1);
        let d = see(&mut t, LOCAL, [192, 168, 1, 43], 0);
        t.add_service(d, *proto, *port);
        let dev = t.get(d).unwrap();
        assert!(classify(dev).is_some(), "{proto}/{port}");
        assert_eq!(rule_services(dev), 1 << i);
    }
    for (proto, port) in [(6, 80), (6, 443), (17, 123), (17, 5353), (6, 22)] {
        let mut t = DeviceTable::new(DeviceConfig::default(), 1);
        let d = see(&mut t, LOCAL, [192, 168, 1, 43], 0);
        t.add_service(d, proto, port);
        let dev = t.get(d).unwrap();
        assert!(classify(dev).is_none(), "{proto}/{port}");
        assert_eq!(rule_services(dev), 0);
    }
}

#[test]
fn every_item_a_rule_reads_is_matched_whatever_its_case_and_is_decisive() {
    use ward_identify::rules::{classify, is_decisive};
    // One item of each kind `rules::classify` has an arm for, in mixed
    // case: the rule fires on it alone (the kinds it lower-cases are
    // listed apart from its arms), and the identifier treats it as
    // decisive, so a settled device is not left waiting for it.
    let items = [
        (HintKind::Lldp, "sysName=Core-Switch", "network equipment"),
        (HintKind::MdnsService, "_IPP._TCP.local", "printer"),
        (
            HintKind::HttpUserAgent,
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
            "phone/computer",
        ),
        (HintKind::DhcpVendorClass, "MSFT 5.0", "phone/computer"),
        (
            HintKind::SsdpNt,
            "urn:schemas-upnp-org:device:InternetGatewayDevice:1",
            "network equipment",
        ),
        (
            HintKind::SsdpUsn,
            "uuid:1::urn:schemas-upnp-org:device:MediaRenderer:1",
            "TV/media",
        ),
        (HintKind::DnsQuery, "Rest.NEST.com", "thermostat"),
        (HintKind::TlsSni, "Hub.Arlo.COM", "camera"),
    ];
    for (kind, value, category) in items {
        let mut t = DeviceTable::new(DeviceConfig::default(), 1);
        let d = see(&mut t, LOCAL, [192, 168, 1, 45], 0);
        t.add_hint(d, kind, value);
        let r = classify(t.get(d).unwrap());
        assert_eq!(r.map(|r| r.category), Some(category), "{kind:?} {value}");
        assert!(is_decisive(kind, value), "{kind:?} {value}");
    }
    // What the rules read besides: TXT capability bits, UPnP model names.
    assert!(is_decisive(HintKind::MdnsTxt, "ci=17"));
    assert!(is_decisive(HintKind::UpnpDescription, "modelName=X"));
    // Names no rule maps, and fingerprints, only refine.
    assert!(!is_decisive(HintKind::DnsQuery, "edge1.cdn.example.net"));
    assert!(!is_decisive(HintKind::TlsSni, "www.googleapis.com"));
    assert!(!is_decisive(
        HintKind::TlsJa3,
        "e7d705a3286e19ea42f587b344ee6865"
    ));
}

/// A UDP flow from `dev` (of `table`) to `port` ends, as the engine tells
/// the identifier's port observer.
fn flow_to(obs: &mut dyn ward_core::Detector, table: &DeviceTable, dev: u32, port: u16) {
    let mut flow = ward_core::flow::Flow::default();
    (flow.proto, flow.src_port, flow.dst_port) = (17, 50_000, port);
    let ctx = ward_core::FlowEndContext {
        flow: &flow,
        app: &[],
        client_device: Some(dev),
        server_device: None,
        devices: table,
        now: Timestamp::from_secs(0),
        reveal_secrets: false,
    };
    obs.on_flow_end(&ctx, &mut Vec::new());
}

#[test]
fn new_client_ports_are_read_also_when_more_devices_grew_than_are_listed() {
    let mut t = DeviceTable::new(DeviceConfig::default(), 1);
    let mut id = identifier(0, Inventory::default());
    let mut obs = id.port_observer();
    let mut out = Vec::new();
    let d = see(&mut t, LOCAL, [192, 168, 1, 44], 0);
    t.add_hint(d, HintKind::Hostname, "ipcam-garden");
    id.identify(Timestamp::from_secs(1), &mut t, &mut out);
    let n = id.counters().classified;
    // A new client port is new evidence: the final pass reads it …
    flow_to(&mut *obs, &t, d, 5683);
    id.finish(Timestamp::from_secs(2), &mut t, &mut out);
    assert_eq!(id.counters().classified, n + 1);
    // … and, with nothing new since, has nothing to read.
    id.finish(Timestamp::from_secs(3), &mut t, &mut out);
    assert_eq!(id.counters().classified, n + 1);
    // More devices' ports grow than the port evidence lists between two
    // passes (4 096), this one's last: its count is read all the same.
    let mut others = DeviceTable::new(DeviceConfig::default(), 1);
    for i in 0..5_000u32 {
        let b = i.to_be_bytes();
        let mac = [0x00, 0x1b, b[0], b[1], b[2], b[3]];
        let o = see(&mut others, mac, [10, 0, b[2], b[3]], 0);
        flow_to(&mut *obs, &others, o, 5683);
    }
    flow_to(&mut *obs, &t, d, 5684);
    id.finish(Timestamp::from_secs(4), &mut t, &mut out);
    assert_eq!(id.counters().classified, n + 2);
}

#[test]
fn a_known_devices_evidence_from_an_earlier_run_is_replaced_not_kept() {
    // Run 1 and run 2 each hold two items ending with the same host name:
    // the inventory must show run 2's list, not keep run 1's because the
    // lengths and last items agree.
    let mut inv = Inventory::default();
    for (query, t0) in [("old.example.com", 0), ("new.example.com", 10_000)] {
        let mut t = DeviceTable::new(DeviceConfig::default(), 1);
        let mut id = identifier(60, inv);
        let dev = see(&mut t, A, [192, 168, 1, 10], t0);
        t.add_hint(dev, HintKind::DnsQuery, query);
        t.add_hint(dev, HintKind::Hostname, "cam");
        id.identify(Timestamp::from_secs(t0 + 1), &mut t, &mut Vec::new());
        inv = id.into_inventory();
    }
    let e = inv.devices.values().next().expect("A is in the inventory");
    let values: Vec<&str> = e.evidence.iter().map(|v| v.value.as_str()).collect();
    assert_eq!(values, ["new.example.com", "cam"]);
}

#[test]
fn disabled_identification_classifies_and_alerts_nothing() {
    let cfg = IdentifyConfig {
        enabled: false,
        learning_period_s: 0,
        ..Default::default()
    };
    let mut id = DeviceIdentifier::with_default_model(cfg, Inventory::default()).unwrap();
    let mut t = DeviceTable::new(DeviceConfig::default(), 1);
    let mut out = Vec::new();
    let dev = see(&mut t, A, [192, 168, 1, 10], 0);
    t.add_hint(dev, HintKind::MdnsService, "_googlecast._tcp.local");
    see(&mut t, B, [192, 168, 1, 11], 1000);
    id.identify(Timestamp::from_secs(1001), &mut t, &mut out);
    assert!(out.is_empty(), "{out:?}");
    assert!(t.get(dev).is_some_and(|d| d.category.is_none()));
    assert!(id.into_inventory().devices.is_empty());
}
