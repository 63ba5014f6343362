//! The detectors on a LAN numbered from public space (198.51.100.0/24,
//! `[network] local_networks`): each asks the inventory's scope
//! (`DeviceTable::is_local`), so with the network configured the LAN's
//! devices are "your network" as 192.168.x devices are, and without it
//! they are hosts on the internet (the fixed rule's answer, and the only
//! one before the scope). The same traffic runs both ways in each test, so
//! every assertion fails if a call site goes back to the fixed rule.

use ward_core::{Alert, AlertCategory, Engine, EngineConfig, VecSink};

mod common;
use common::{ip, mirai_scan_targets, tcp, End, Mac, Run, V4};

const GW_MAC: Mac = [0x00, 0x0d, 0xb9, 0x00, 0x00, 0x01];
const ATK_MAC: Mac = [0x3c, 0xa9, 0xf4, 0x00, 0x00, 0x66];
const ATK: V4 = [198, 51, 100, 127];
const DVR_MAC: Mac = [0xbc, 0x32, 0x5f, 0x00, 0x00, 0x50];
const DVR: V4 = [198, 51, 100, 152];

/// Frames at offsets (µs) run through ward-detect's detectors, with the
/// public /24 configured as the LAN or not.
fn alerts(frames: &[(i64, Vec<u8>)], configured: bool) -> Vec<Alert> {
    let nets = if configured {
        vec!["198.51.100.0/24".parse().unwrap()]
    } else {
        Vec::new()
    };
    let cfg = EngineConfig {
        emit_flows: Some(false),
        ..Default::default()
    };
    let mut r = Run {
        engine: Engine::new(cfg, 9, ward_detect::detectors(None).unwrap())
            .with_local_networks(&nets),
        sink: VecSink::default(),
    };
    for (t, f) in frames {
        r.at(*t, f);
    }
    r.alerts()
}

/// A bare SYN (no options), as zmap and Mirai's scanner build it.
fn raw_syn(src: End, dst: End, seq: u32, window: u16) -> Vec<u8> {
    let mut seg = Vec::with_capacity(20);
    seg.extend_from_slice(&src.2.to_be_bytes());
    seg.extend_from_slice(&dst.2.to_be_bytes());
    seg.extend_from_slice(&seq.to_be_bytes());
    seg.extend_from_slice(&[0, 0, 0, 0, 0x50, 0x02]);
    seg.extend_from_slice(&window.to_be_bytes());
    seg.extend_from_slice(&[0, 0, 0, 0]);
    common::ipv4((src.0, src.1), (dst.0, dst.1), 6, 64, 0, seq as u16, &seg)
}

fn find<'a>(a: &'a [Alert], sig: &str) -> &'a Alert {
    a.iter()
        .find(|a| a.signature == sig)
        .unwrap_or_else(|| panic!("no {sig} in {a:?}"))
}

/// A device of the LAN sweeping the LAN's telnet ports: with the network
/// configured the sweep is of "your network" (recon's wording).
#[test]
fn a_sweep_of_a_public_lan_is_of_your_network_when_it_is_configured() {
    let mut frames = Vec::new();
    for i in 0..254u32 {
        let host = (i * 97 % 254 + 1) as u8;
        let dst = (GW_MAC, [198, 51, 100, host], 23);
        frames.push((
            i64::from(i) * 10_000,
            raw_syn((ATK_MAC, ATK, 33000), dst, 0x1234_5678 ^ i, 65535),
        ));
        if host.is_multiple_of(40) {
            frames.push((
                i64::from(i) * 10_000 + 300,
                tcp(dst, (ATK_MAC, ATK, 33000), 0, "RA", b""),
            ));
        }
    }
    let lan = alerts(&frames, true);
    let s = find(&lan, "tcp-host-sweep");
    assert_eq!(s.attacker, Some(ip(ATK)));
    assert!(s.summary.contains("addresses of your network"), "{s:?}");
    let internet = alerts(&frames, false);
    let s = find(&internet, "tcp-host-sweep");
    assert!(s.summary.contains("addresses on the internet"), "{s:?}");
}

/// A device of the LAN sweeping the internet on IoT ports (a bot looking
/// for victims): the sweep names it, and the botnet follow-up calls it an
/// infected device only when its address is the LAN's.
#[test]
fn a_public_lan_device_sweeping_the_internet_is_an_infected_device_when_configured() {
    let mut frames = Vec::new();
    for (i, (x, dst, port)) in (0i64..).zip(mirai_scan_targets(600)) {
        frames.push((
            i * 10_000,
            raw_syn(
                (DVR_MAC, DVR, 41000),
                (GW_MAC, dst.to_be_bytes(), port),
                dst,
                (x >> 3) as u16,
            ),
        ));
    }
    let botnet = |a: &[Alert]| {
        a.iter()
            .filter(|a| a.category == AlertCategory::Botnet && a.attacker == Some(ip(DVR)))
            .map(|a| a.signature.clone())
            .collect::<Vec<_>>()
    };
    let lan = alerts(&frames, true);
    assert!(find(&lan, "tcp-host-sweep")
        .summary
        .contains("on the internet"));
    assert!(!botnet(&lan).is_empty(), "{lan:?}");
    let internet = alerts(&frames, false);
    assert_eq!(botnet(&internet), Vec::<String>::new());
}
