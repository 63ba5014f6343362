//! Features kept incrementally (`features::EvidenceTokens`) against a fresh
//! extraction, and the identifier that keeps them against one that does not
//! (every classification from scratch), over devices whose evidence grows
//! pass after pass, and a device table that evicts and re-creates devices
//! under the same id.

mod common;

use common::see;
use ward_core::devices::{DeviceConfig, DeviceKey, DeviceTable};
use ward_core::{Identifier, MacAddr, Timestamp};
use ward_identify::features::{self, EvidenceTokens, Scratch};
use ward_identify::ports::{PortRole, PortSet};
use ward_identify::{DeviceIdentifier, IdentifyConfig, Inventory};
use ward_ml::forest::Rng;
use ward_proto::HintKind;

/// What the identifier keeps for the device `id` (MAC `mac`), extended by
/// the next extraction, gives the features of its current list alone.
fn assert_kept_tokens_are_fresh(ident: &DeviceIdentifier, t: &DeviceTable, id: u32, mac: [u8; 6]) {
    let got = t.get(id).unwrap();
    let mut kept = ident
        .kept_evidence_tokens(DeviceKey::Mac(MacAddr(mac)))
        .expect("tokens kept for the device")
        .clone();
    let mut s = Scratch::default();
    assert!(
        features::extract_with_ports_cached(got, &PortSet::new(), &mut kept, &mut s)
            == &features::extract_with_ports(got, &PortSet::new()),
        "the kept tokens are the evicted device's"
    );
}

/// One piece of evidence of many shapes: every tokeniser branch, upper
/// case, repeats, words, DNS names and addresses.
fn hint(r: &mut Rng) -> (HintKind, String) {
    let n = r.below(40);
    match r.below(10) {
        0 => (HintKind::DhcpParamList, format!("1,3,6,{n},15,28")),
        1 => (HintKind::Hostname, format!("ESP_{n:06X}")),
        2 => (HintKind::DnsQuery, format!("api{n}.Example.co.uk.")),
        3 => (HintKind::DnsQuery, format!("10.0.0.{n}")),
        4 => (
            HintKind::HttpUserAgent,
            format!("Mozilla/5.0 (Linux; Android {n}) Build/X{n}"),
        ),
        5 => (
            HintKind::SsdpUsn,
            format!("uuid:abc{n}::urn:schemas-upnp-org:device:Basic:1"),
        ),
        6 => (HintKind::MdnsTxt, format!("md=Chromecast{n}")),
        7 => (HintKind::TlsJa3, format!("{n:032x}")),
        8 => (HintKind::DhcpClientId, format!("01:aa:bb:{n:02x}")),
        _ => (HintKind::Banner, format!("SSH-2.0-dropbear_20{n}.8")),
    }
}

#[test]
fn kept_tokens_give_the_fresh_features() {
    let mut r = Rng::new(0x9e37_79b9_7f4a_7c15);
    let mut t = DeviceTable::new(DeviceConfig::default(), 1);
    let macs: Vec<[u8; 6]> = (0..6u8).map(|i| [0x00, 0x1a, 0x11, 0, 1, i]).collect();
    let ids: Vec<u32> = macs
        .iter()
        .enumerate()
        .map(|(i, m)| see(&mut t, *m, [192, 168, 1, 10 + i as u8], 0))
        .collect();
    let mut kept: Vec<EvidenceTokens> = vec![EvidenceTokens::default(); ids.len()];
    let mut scratch = Scratch::default();
    let mut ports = PortSet::new();
    let mut compared = 0;
    for step in 0..3_000 {
        let i = r.below(ids.len());
        let id = ids[i];
        match r.below(4) {
            0 | 1 => {
                let (k, v) = hint(&mut r);
                t.add_hint(id, k, &v);
            }
            2 => t.add_service(id, 6, 80 + r.below(4) as u16),
            _ => {
                ports.insert((PortRole::ClientTo, 17, 1000 + r.below(8) as u16));
            }
        }
        if step % 3 == 0 {
            let d = t.get(id).expect("device");
            let want = features::extract_with_ports(d, &ports);
            let got = features::extract_with_ports_cached(d, &ports, &mut kept[i], &mut scratch);
            // (`assert!`, not `assert_eq!`: a vector of 2 082 numbers.)
            assert!(got == &want, "step {step}: the features differ");
            compared += 1;
        }
    }
    assert!(compared > 900);
    // The evidence lists filled (to their cap) and the tokens were kept.
    assert!(kept.iter().all(|k| k.tokens() > 20));
}

#[test]
fn a_shorter_list_starts_over() {
    let mut t = DeviceTable::new(DeviceConfig::default(), 1);
    let a = see(&mut t, [0x00, 0x1a, 0x11, 0, 2, 1], [192, 168, 1, 20], 0);
    let b = see(&mut t, [0x00, 0x1a, 0x11, 0, 2, 2], [192, 168, 1, 21], 0);
    for v in ["one.example.com", "two.example.com", "three.example.com"] {
        t.add_hint(a, HintKind::DnsQuery, v);
    }
    t.add_hint(b, HintKind::Hostname, "printer");
    let ports = PortSet::new();
    let mut kept = EvidenceTokens::default();
    let mut s = Scratch::default();
    let da = t.get(a).unwrap();
    assert!(
        features::extract_with_ports_cached(da, &ports, &mut kept, &mut s)
            == &features::extract_with_ports(da, &ports)
    );
    // Handed another device's (shorter) list, the tokens start over.
    let db = t.get(b).unwrap();
    assert!(
        features::extract_with_ports_cached(db, &ports, &mut kept, &mut s)
            == &features::extract_with_ports(db, &ports)
    );
}

/// More items than the evicted device had, none of which says what the
/// device is: kept tokens of the old list (a Chromecast's) would be taken
/// for the first five of these, and the model would see a Chromecast.
const NEW_EVIDENCE: [(HintKind, &str); 6] = [
    (HintKind::DnsQuery, "a1.unknown-vendor-one.example"),
    (HintKind::DnsQuery, "b2.unknown-vendor-two.example"),
    (HintKind::DnsQuery, "c3.unknown-vendor-three.example"),
    (HintKind::DnsQuery, "d4.unknown-vendor-four.example"),
    (HintKind::DnsQuery, "e5.unknown-vendor-five.example"),
    (HintKind::DnsQuery, "f6.unknown-vendor-six.example"),
];

#[test]
fn an_evicted_device_under_the_same_id_is_tokenised_afresh() {
    // A table of two devices: a third evicts the oldest, and the evicted
    // one, back, takes the freed id with new evidence. The identifier must
    // classify it from its new evidence only, as a fresh identifier does.
    let cfg = DeviceConfig {
        max_devices: 2,
        ..Default::default()
    };
    let icfg = IdentifyConfig {
        learning_period_s: 0,
        ..Default::default()
    };
    let mut t = DeviceTable::new(cfg.clone(), 1);
    let mut id = DeviceIdentifier::with_default_model(icfg.clone(), Inventory::default()).unwrap();
    let cam = [0x00, 0x1a, 0x11, 0, 3, 1];
    let other = [0x00, 0x1a, 0x11, 0, 3, 2];
    let third = [0x00, 0x1a, 0x11, 0, 3, 3];
    let c = see(&mut t, cam, [192, 168, 1, 30], 0);
    for (k, v) in [
        (HintKind::Hostname, "chromecast"),
        (HintKind::MdnsService, "_googlecast._tcp.local"),
        (HintKind::MdnsTxt, "md=Chromecast"),
        (HintKind::DnsQuery, "clients3.google.com"),
        (HintKind::TlsSni, "www.googleapis.com"),
    ] {
        t.add_hint(c, k, v);
    }
    see(&mut t, other, [192, 168, 1, 31], 1);
    let mut out = Vec::new();
    id.identify(Timestamp::from_secs(2), &mut t, &mut out);
    // The cam is the oldest: the third device evicts it and takes its id;
    // then the third is the oldest, and the cam, back, evicts it and takes
    // the id back.
    see(&mut t, other, [192, 168, 1, 31], 3);
    see(&mut t, third, [192, 168, 1, 32], 4);
    assert_eq!(t.counters.evicted, 1);
    see(&mut t, other, [192, 168, 1, 31], 5);
    let c2 = see(&mut t, cam, [192, 168, 1, 30], 6);
    assert_eq!(t.counters.evicted, 2);
    assert_eq!(
        c2, c,
        "the same id: what the identifier knew of it is stale"
    );
    for (k, v) in NEW_EVIDENCE {
        t.add_hint(c2, k, v);
    }
    id.identify(Timestamp::from_secs(400), &mut t, &mut out);
    assert_kept_tokens_are_fresh(&id, &t, c2, cam);
    let got = t.get(c2).unwrap();
    // And a fresh identifier on the same evidence concludes the same.
    let mut fresh = DeviceIdentifier::with_default_model(icfg, Inventory::default()).unwrap();
    let mut t2 = DeviceTable::new(cfg, 1);
    let f2 = see(&mut t2, cam, [192, 168, 1, 30], 6);
    for (k, v) in NEW_EVIDENCE {
        t2.add_hint(f2, k, v);
    }
    fresh.identify(Timestamp::from_secs(400), &mut t2, &mut Vec::new());
    let d2 = t2.get(f2).unwrap();
    assert_eq!((&got.category, &got.model), (&d2.category, &d2.model));
    assert_eq!(got.identity_evidence, d2.identity_evidence);
}

/// The same, when no device's kept list holds a token yet: an item can
/// count (an SSDP USN without a `::` type part gives no token) and be
/// read, so an empty list of tokens is not an empty record.
#[test]
fn an_evicted_device_whose_items_gave_no_token_is_tokenised_afresh() {
    let cfg = DeviceConfig {
        max_devices: 2,
        ..Default::default()
    };
    let icfg = IdentifyConfig {
        learning_period_s: 0,
        ..Default::default()
    };
    let mut t = DeviceTable::new(cfg, 1);
    let mut id = DeviceIdentifier::with_default_model(icfg, Inventory::default()).unwrap();
    let cam = [0x00, 0x1a, 0x11, 0, 4, 1];
    let other = [0x00, 0x1a, 0x11, 0, 4, 2];
    let third = [0x00, 0x1a, 0x11, 0, 4, 3];
    let c = see(&mut t, cam, [192, 168, 1, 40], 0);
    t.add_hint(
        c,
        HintKind::SsdpUsn,
        "uuid:2f402f80-da50-11e1-9b23-001a11000401",
    );
    see(&mut t, other, [192, 168, 1, 41], 1);
    let mut out = Vec::new();
    id.identify(Timestamp::from_secs(2), &mut t, &mut out);
    let before = id
        .kept_evidence_tokens(DeviceKey::Mac(MacAddr(cam)))
        .expect("a record kept for the cam");
    assert_eq!(before.tokens(), 0, "the USN gives no token");
    see(&mut t, other, [192, 168, 1, 41], 3);
    see(&mut t, third, [192, 168, 1, 42], 4);
    see(&mut t, other, [192, 168, 1, 41], 5);
    let c2 = see(&mut t, cam, [192, 168, 1, 40], 6);
    assert_eq!(t.counters.evicted, 2);
    assert_eq!(c2, c, "the same id");
    for (k, v) in NEW_EVIDENCE {
        t.add_hint(c2, k, v);
    }
    id.identify(Timestamp::from_secs(400), &mut t, &mut out);
    assert_kept_tokens_are_fresh(&id, &t, c2, cam);
}

/// One scratch serves kept-token and from-scratch extractions in any
/// order (the identifier falls back to the latter for the devices beyond
/// its token budget), for devices with and without an OUI vendor, from
/// no evidence to lists at their cap, with services of any protocol byte
/// and port: each gives the fresh features.
#[test]
fn kept_and_fresh_extractions_share_one_scratch() {
    let mut r = Rng::new(77);
    let mut t = DeviceTable::new(DeviceConfig::default(), 1);
    let macs = [
        [0x00, 0x1a, 0x11, 0, 5, 1],
        [0x02, 0x00, 0x00, 0, 5, 2],
        [0x00, 0x17, 0x88, 0, 5, 3],
    ];
    let ids: Vec<u32> = macs
        .iter()
        .enumerate()
        .map(|(i, m)| see(&mut t, *m, [10, 0, 5, 1 + i as u8], 0))
        .collect();
    let mut kept = vec![EvidenceTokens::default(); ids.len()];
    let mut s = Scratch::default();
    let mut ports = PortSet::new();
    let mut check = |i: usize, t: &DeviceTable, ports: &PortSet, kept_path: bool| {
        let d = t.get(ids[i]).expect("device");
        let want = features::extract_with_ports(d, ports);
        let got = if kept_path {
            features::extract_with_ports_cached(d, ports, &mut kept[i], &mut s)
        } else {
            features::extract_with_ports_into(d, ports, &mut s)
        };
        got == &want
    };
    for i in 0..ids.len() {
        assert!(check(i, &t, &ports, true) && check(i, &t, &ports, false));
    }
    for step in 0..1_500 {
        let i = r.below(ids.len());
        match r.below(4) {
            0 | 1 => {
                let (k, v) = hint(&mut r);
                let n = r.below(100);
                t.add_hint(ids[i], k, &format!("{v}{n}"));
            }
            2 => t.add_service(
                ids[i],
                [0u8, 6, 17, 255][r.below(4)],
                r.below(65_536) as u16,
            ),
            _ => {
                ports.insert((PortRole::ClientTo, 17, r.below(65_536) as u16));
            }
        }
        let kept_path = r.below(2) == 0;
        assert!(check(i, &t, &ports, kept_path), "step {step} ({kept_path})");
    }
    for (i, &id) in ids.iter().enumerate() {
        assert_eq!(t.get(id).expect("device").evidence.len(), 64, "at the cap");
        for kept_path in [true, false, true] {
            assert!(check(i, &t, &ports, kept_path));
        }
    }
}
