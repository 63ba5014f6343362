//! Regression tests for the fourth session's recon shapes (issue #5
//! "generalise", lab `lib/recon4.sh`): each rebuilds in code the shape of a
//! real tool's traffic that no detector counted — nmap `-T1`, `-sO`, `-f`,
//! `-sY`, `-sV` of services that do not talk first, `-g 53` and `-D` — and
//! a benign look-alike that must stay quiet.

use ward_core::{Alert, AlertCategory};

mod common;
use common::{ip, tcp, End, Mac, Run, V4};

const ATK_MAC: Mac = [0x3c, 0xa9, 0xf4, 0x00, 0x00, 0x66];
const HUB_MAC: Mac = [0x00, 0x17, 0x88, 0x00, 0x00, 0x40];
const PHONE_MAC: Mac = [0xf0, 0x18, 0x98, 0x00, 0x00, 0x30];
const ATK: V4 = [192, 168, 50, 127];
const HUB: V4 = [192, 168, 50, 191];
const PHONE: V4 = [192, 168, 50, 117];
const S: i64 = 1_000_000;

/// An Ethernet/IPv4 frame of protocol `proto` carrying `body` as is, TTL
/// 64; `frag` is the flags + fragment offset field (0x2000 = more fragments).
fn ipv4(src: (Mac, V4), dst: (Mac, V4), proto: u8, ident: u16, frag: u16, body: &[u8]) -> Vec<u8> {
    common::ipv4(src, dst, proto, 64, frag, ident, body)
}

/// An SCTP packet with one chunk of `kind` (1 INIT, 2 INIT-ACK, 6 ABORT).
fn sctp(sport: u16, dport: u16, kind: u8) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&sport.to_be_bytes());
    b.extend_from_slice(&dport.to_be_bytes());
    b.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]); // verification tag, checksum
    let len: u16 = if kind == 6 { 4 } else { 20 };
    b.extend_from_slice(&[kind, 0]);
    b.extend_from_slice(&len.to_be_bytes());
    b.resize(12 + len as usize, 0);
    b
}

fn atk(port: u16) -> End {
    (ATK_MAC, ATK, port)
}
fn hub(port: u16) -> End {
    (HUB_MAC, HUB, port)
}

fn find<'a>(a: &'a [Alert], sig: &str) -> &'a Alert {
    a.iter()
        .find(|a| a.signature == sig)
        .unwrap_or_else(|| panic!("no {sig} in {a:?}"))
}

/// The alert `sig`, which must name the attacker and, as its victim, the hub.
fn by_atk_on_hub<'a>(a: &'a [Alert], sig: &str) -> &'a Alert {
    let s = find(a, sig);
    assert_eq!(s.attacker, Some(ip(ATK)), "{s:?}");
    assert_eq!(s.victims, vec![ip(HUB)], "{s:?}");
    s
}

fn quiet(a: &[Alert], cat: AlertCategory) {
    assert!(a.iter().all(|a| a.category != cat), "{a:?}");
}

/// nmap -T1: one SYN every 15 s, closed ports reset. 24 ports take six
/// minutes; the 60 s window never holds more than four.
#[test]
fn a_t1_scan_spread_over_minutes_is_a_port_scan() {
    let mut r = Run::new();
    for p in 1..=24u16 {
        let t = i64::from(p) * 15 * S;
        r.at(t, &tcp(atk(45000), hub(p), 7, "S", b""));
        r.at(t + 200, &tcp(hub(p), atk(45000), 0, "RA", b""));
    }
    let a = r.alerts();
    let scan = by_atk_on_hub(&a, "tcp-port-scan");
    assert_eq!(scan.category, AlertCategory::Recon);
}

/// A slow scan of a host that is down: no RST, just unanswered SYNs.
#[test]
fn a_t1_scan_of_a_silent_host_is_a_port_scan() {
    let mut r = Run::new();
    for p in 1..=22u16 {
        r.at(
            i64::from(p) * 20 * S,
            &tcp(atk(45000), hub(p * 7), 7, "S", b""),
        );
    }
    let a = r.alerts();
    assert_eq!(find(&a, "tcp-port-scan").victims, vec![ip(HUB)]);
}

/// The slow tier is configurable: off, the same -T1 scan is not seen.
#[test]
fn slow_window_zero_turns_the_slow_tier_off() {
    let cfg = serde_json::json!({ "recon": { "slow_window_secs": 0 } });
    let mut r = Run::with(Some(&cfg));
    for p in 1..=24u16 {
        let t = i64::from(p) * 15 * S;
        r.at(t, &tcp(atk(45000), hub(p), 7, "S", b""));
        r.at(t + 200, &tcp(hub(p), atk(45000), 0, "RA", b""));
    }
    quiet(&r.alerts(), AlertCategory::Recon);
}

/// A phone's app polling a hub's three services for half an hour, and
/// retrying a fourth port the hub no longer listens on: few ports, however
/// long the span.
#[test]
fn half_an_hour_of_polling_a_few_ports_is_quiet() {
    let mut r = Run::new();
    let phone = |p| (PHONE_MAC, PHONE, p);
    for i in 0..120i64 {
        let t = i * 15 * S;
        let sport = 50000 + i as u16;
        for (k, port) in [80u16, 443, 8080].into_iter().enumerate() {
            let c = phone(sport + 2000 * k as u16);
            r.at(t + k as i64 * 1000, &tcp(c, hub(port), 1, "S", b""));
            r.at(t + k as i64 * 1000 + 100, &tcp(hub(port), c, 9, "SA", b""));
            r.at(t + k as i64 * 1000 + 200, &tcp(c, hub(port), 2, "A", b""));
        }
        r.at(t + 5000, &tcp(phone(sport + 7000), hub(8443), 1, "S", b""));
        r.at(t + 5100, &tcp(hub(8443), phone(sport + 7000), 0, "RA", b""));
    }
    quiet(&r.alerts(), AlertCategory::Recon);
}

/// nmap -sO: one bare IP packet per protocol number; the host answers
/// those it lacks with ICMP protocol-unreachable.
#[test]
fn an_ip_protocol_scan_is_recon() {
    let mut r = Run::new();
    for (i, proto) in (0u8..=60)
        .filter(|p| !matches!(p, 1 | 4 | 6 | 17 | 41 | 47))
        .enumerate()
    {
        r.at(
            S + i as i64 * 2000,
            &ipv4(
                (ATK_MAC, ATK),
                (HUB_MAC, HUB),
                proto,
                100 + i as u16,
                0,
                b"",
            ),
        );
    }
    let a = r.alerts();
    by_atk_on_hub(&a, "ip-protocol-scan");
}

/// A router talking to one neighbour over the routing and redundancy
/// protocols it runs (IGMP, ESP, AH, OSPF, PIM, VRRP, L2TPv3): seven
/// protocols, all day long.
#[test]
fn a_router_speaking_its_protocols_to_a_neighbour_is_quiet() {
    let mut r = Run::new();
    for i in 0..600i64 {
        for (k, proto) in [2u8, 50, 51, 89, 103, 112, 115].into_iter().enumerate() {
            r.at(
                i * S + k as i64 * 100,
                &ipv4(
                    (HUB_MAC, HUB),
                    (PHONE_MAC, PHONE),
                    proto,
                    i as u16,
                    0,
                    &[0; 24],
                ),
            );
        }
    }
    quiet(&r.alerts(), AlertCategory::Recon);
}

/// The fourth session's recon thresholds at 0 turn their checks off: an
/// `-sO` scan and tiny fragments stay unreported (at 0 they used to fire on
/// every source that was checked). The same packets at the defaults are
/// reported, so the quiet run is not vacuous.
#[test]
fn zero_thresholds_turn_the_new_recon_checks_off() {
    let feed = |r: &mut Run| {
        for (i, proto) in (0u8..=60)
            .filter(|p| !matches!(p, 1 | 4 | 6 | 17 | 41 | 47))
            .enumerate()
        {
            let f = ipv4((ATK_MAC, ATK), (HUB_MAC, HUB), proto, i as u16, 0, b"");
            r.at(S + i as i64 * 2000, &f);
        }
        for i in 0..6u16 {
            let f = ipv4((ATK_MAC, ATK), (HUB_MAC, HUB), 6, 900 + i, 0x2000, &[0; 8]);
            r.at(2 * S + i64::from(i) * 1000, &f);
        }
    };
    let cfg = serde_json::json!({ "recon": {
        "ip_protocols": 0, "tiny_fragments": 0, "service_probe_kinds": 0
    } });
    let mut off = Run::with(Some(&cfg));
    feed(&mut off);
    let a = off.alerts();
    for sig in [
        "ip-protocol-scan",
        "tiny-fragment-evasion",
        "scan-tool-service-probe",
    ] {
        assert!(a.iter().all(|a| a.signature != sig), "{sig}: {a:?}");
    }
    let mut on = Run::new();
    feed(&mut on);
    let a = on.alerts();
    find(&a, "ip-protocol-scan");
    find(&a, "tiny-fragment-evasion");
}

/// nmap -f: each SYN probe leaves as three IP fragments of 8, 8 and 4 bytes
/// of TCP header; nothing but the first holds even the ports.
#[test]
fn tiny_first_fragments_are_evasion() {
    let mut r = Run::new();
    for p in 1..=40u16 {
        let seg = tcp(atk(45000), hub(p), 7, "S", b"");
        let th = &seg[34..54];
        let t = S + i64::from(p) * 3000;
        r.at(
            t,
            &ipv4((ATK_MAC, ATK), (HUB_MAC, HUB), 6, p, 0x2000, &th[..8]),
        );
        r.at(
            t + 10,
            &ipv4((ATK_MAC, ATK), (HUB_MAC, HUB), 6, p, 0x2001, &th[8..16]),
        );
        r.at(
            t + 20,
            &ipv4((ATK_MAC, ATK), (HUB_MAC, HUB), 6, p, 0x0002, &th[16..20]),
        );
    }
    let a = r.alerts();
    by_atk_on_hub(&a, "tiny-fragment-evasion");
}

/// Big UDP datagrams and big pings fragment too, but their first fragment
/// holds the whole transport header (a 1 480-byte first fragment).
#[test]
fn ordinary_fragments_are_quiet() {
    let mut r = Run::new();
    for i in 0..200u16 {
        let mut body = Vec::new();
        body.extend_from_slice(&5004u16.to_be_bytes());
        body.extend_from_slice(&5004u16.to_be_bytes());
        body.extend_from_slice(&3000u16.to_be_bytes());
        body.extend_from_slice(&[0, 0]);
        body.resize(1480, 0x47);
        let t = S + i64::from(i) * 20_000;
        r.at(
            t,
            &ipv4((HUB_MAC, HUB), (PHONE_MAC, PHONE), 17, i, 0x2000, &body),
        );
        r.at(
            t + 10,
            &ipv4(
                (HUB_MAC, HUB),
                (PHONE_MAC, PHONE),
                17,
                i,
                185,
                &[0x47; 1520],
            ),
        );
    }
    quiet(&r.alerts(), AlertCategory::Recon);
}

/// nmap -sY: SCTP INIT to 100 ports; closed ports answer ABORT.
#[test]
fn an_sctp_init_scan_is_a_port_scan() {
    let mut r = Run::new();
    for p in 1..=100u16 {
        let t = S + i64::from(p) * 2000;
        r.at(
            t,
            &ipv4(
                (ATK_MAC, ATK),
                (HUB_MAC, HUB),
                132,
                p,
                0,
                &sctp(40000, p, 1),
            ),
        );
        r.at(
            t + 100,
            &ipv4(
                (HUB_MAC, HUB),
                (ATK_MAC, ATK),
                132,
                p,
                0,
                &sctp(p, 40000, 6),
            ),
        );
    }
    let a = r.alerts();
    by_atk_on_hub(&a, "sctp-port-scan");
}

/// An SCTP client (a Diameter or M3UA peer) re-establishing its association
/// to one port every few seconds: one service, always answered.
#[test]
fn sctp_associations_to_one_port_are_quiet() {
    let mut r = Run::new();
    for i in 0..100u16 {
        let t = S + i64::from(i) * 3 * S;
        r.at(
            t,
            &ipv4(
                (PHONE_MAC, PHONE),
                (HUB_MAC, HUB),
                132,
                i,
                0,
                &sctp(40000 + i, 3868, 1),
            ),
        );
        r.at(
            t + 100,
            &ipv4(
                (HUB_MAC, HUB),
                (PHONE_MAC, PHONE),
                132,
                i,
                0,
                &sctp(3868, 40000 + i, 2),
            ),
        );
    }
    quiet(&r.alerts(), AlertCategory::Recon);
}

/// nmap -sV against an MQTT broker (no banner, no web server): each of its
/// probes on a fresh connection, which the broker drops.
#[test]
fn nmap_version_probes_to_a_silent_service_are_recon() {
    let mut r = Run::new();
    let probes: [&[u8]; 5] = [
        b"\r\n\r\n",
        b"GET / HTTP/1.0\r\n\r\n",
        b"\x80\x00\x00\x28\x72\xfe\x1d\x13\x00\x00\x00\x00\x00\x00\x00\x02\x00\x01\x86\xa0\x01\x97\x7c\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
        b"\x00\x1e\x00\x06\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07version\x04bind\x00\x00\x10\x00\x03",
        b"HELP\r\n",
    ];
    for (i, p) in probes.iter().enumerate() {
        let t = S + i as i64 * 6 * S;
        let c = atk(41000 + i as u16);
        r.at(t, &tcp(c, hub(1883), 100, "S", b""));
        r.at(t + 100, &tcp(hub(1883), c, 900, "SA", b""));
        r.at(t + 200, &tcp(c, hub(1883), 101, "A", b""));
        r.at(t + 5 * S, &tcp(c, hub(1883), 101, "PA", p));
        r.at(t + 5 * S + 100, &tcp(hub(1883), c, 901, "FA", b""));
    }
    let a = r.alerts();
    let s = by_atk_on_hub(&a, "scan-tool-service-probe");
    assert_eq!(s.category, AlertCategory::Recon);
}

/// A health checker sending a bare `GET / HTTP/1.0` every 10 s, and a
/// browser's ordinary requests: one probe-like kind only.
#[test]
fn a_bare_http_health_check_is_quiet() {
    let mut r = Run::new();
    let phone = |p| (PHONE_MAC, PHONE, p);
    for i in 0..60u16 {
        let t = S + i64::from(i) * 10 * S;
        let c = phone(50000 + i);
        let req: &[u8] = if i % 2 == 0 {
            b"GET / HTTP/1.0\r\n\r\n"
        } else {
            b"GET /status HTTP/1.1\r\nHost: hub\r\n\r\n"
        };
        r.at(t, &tcp(c, hub(80), 100, "S", b""));
        r.at(t + 100, &tcp(hub(80), c, 900, "SA", b""));
        r.at(t + 200, &tcp(c, hub(80), 101, "PA", req));
        r.at(
            t + 300,
            &tcp(hub(80), c, 901, "PA", b"HTTP/1.0 200 OK\r\n\r\nok"),
        );
    }
    quiet(&r.alerts(), AlertCategory::Recon);
}

/// nmap -g 53: every probe from source port 53, as scans that hope a
/// firewall lets "DNS answers" in do. The flow still starts with the SYN.
#[test]
fn a_scan_from_source_port_53_is_a_port_scan() {
    let mut r = Run::new();
    for p in 1..=200u16 {
        let t = S + i64::from(p) * 500;
        r.at(t, &tcp(atk(53), hub(p), 7, "S", b""));
        r.at(t + 100, &tcp(hub(p), atk(53), 0, "RA", b""));
    }
    let a = r.alerts();
    by_atk_on_hub(&a, "tcp-port-scan");
}

/// nmap -D: every probe goes out from each decoy address and the real one,
/// all from the attacker's NIC. The real scanner is among those named.
#[test]
fn a_decoy_scan_names_the_real_scanner_too() {
    let mut r = Run::new();
    let decoys: [V4; 2] = [[192, 168, 50, 77], [192, 168, 50, 78]];
    for p in 1..=100u16 {
        let t = S + i64::from(p) * 1000;
        for (k, d) in decoys.iter().enumerate() {
            r.at(
                t + k as i64 * 10,
                &tcp((ATK_MAC, *d, 45000), hub(p), 7, "S", b""),
            );
        }
        r.at(t + 50, &tcp(atk(45000), hub(p), 7, "S", b""));
        r.at(t + 100, &tcp(hub(p), atk(45000), 0, "RA", b""));
    }
    let a = r.alerts();
    assert!(
        a.iter()
            .any(|a| a.signature == "tcp-port-scan" && a.attacker == Some(ip(ATK))),
        "{a:?}"
    );
}

/// A VNC scanner (the Zeek `vnc-scanner` trace is one of its connections):
/// it sweeps the network's port 5900, most addresses never answer, and the
/// one VNC server it finds refuses its single guess. One failed login says
/// nothing (a viewer's stored password fails the same way), the sweep does.
#[test]
fn a_vnc_scanner_sweeping_port_5900_is_a_host_sweep() {
    let mut r = Run::new();
    for h in 2..=40u8 {
        let t = S + i64::from(h) * 20_000;
        let host: End = ([0x02, 0, 0, 0, 1, h], [192, 168, 50, h], 5900);
        r.at(t, &tcp(atk(46000 + u16::from(h)), host, 7, "S", b""));
    }
    // The one server that answered: RFB version, VNC auth, a failed guess.
    let c = atk(46381);
    let srv = hub(5900);
    r.at(2 * S, &tcp(c, srv, 100, "S", b""));
    r.at(2 * S + 100, &tcp(srv, c, 900, "SA", b""));
    r.at(2 * S + 200, &tcp(c, srv, 101, "A", b""));
    r.at(2 * S + 300, &tcp(srv, c, 901, "PA", b"RFB 003.008\n"));
    r.at(2 * S + 400, &tcp(c, srv, 101, "PA", b"RFB 003.008\n"));
    r.at(2 * S + 500, &tcp(srv, c, 913, "PA", b"\x02\x02\x10"));
    r.at(2 * S + 600, &tcp(c, srv, 113, "PA", b"\x02"));
    r.at(2 * S + 700, &tcp(srv, c, 916, "PA", &[0x5a; 16]));
    r.at(2 * S + 800, &tcp(c, srv, 114, "PA", &[0xa5; 16]));
    r.at(2 * S + 900, &tcp(srv, c, 932, "PA", b"\x00\x00\x00\x01"));
    r.at(2 * S + 1000, &tcp(c, srv, 130, "R", b""));
    let a = r.alerts();
    let s = find(&a, "tcp-host-sweep");
    assert_eq!(s.attacker, Some(ip(ATK)));
    assert_eq!(s.evidence.get("port"), Some(&serde_json::json!(5900)));
}

/// nmap -T1 after the same source scanned, probed and logged in to other
/// hosts in the last half hour (the lab run: five fast scans, a version
/// scan and two guessers first): the slow scan is counted per host.
#[test]
fn a_t1_scan_after_other_activity_is_still_a_port_scan() {
    let mut r = Run::new();
    let other = |h: u8| -> End { ([0x02, 0, 0, 0, 2, h], [192, 168, 50, h], 0) };
    // A fast scan of one host, reported on its own.
    for p in 1..=300u16 {
        let (m, a, _) = other(10);
        r.at(
            S + i64::from(p) * 300,
            &tcp(atk(40000), (m, a, p), 7, "S", b""),
        );
    }
    // A few services on several others, some minutes later.
    for (k, h) in (20..28u8).enumerate() {
        let (m, a, _) = other(h);
        for p in [22u16, 23, 80] {
            r.at(
                120 * S + k as i64 * S + i64::from(p),
                &tcp(atk(41000 + u16::from(h)), (m, a, p), 7, "S", b""),
            );
        }
    }
    for p in 1..=24u16 {
        let t = 300 * S + i64::from(p) * 15 * S;
        r.at(t, &tcp(atk(45000), hub(p), 7, "S", b""));
        r.at(t + 200, &tcp(hub(p), atk(45000), 0, "RA", b""));
    }
    let a = r.alerts();
    assert!(
        a.iter()
            .any(|a| a.signature == "tcp-port-scan" && a.victims == vec![ip(HUB)]),
        "{a:?}"
    );
}

/// nmap -sV of an MQTT broker: nmap's MQTT probe and its version script
/// connect with client ids that name it; one is enough.
#[test]
fn an_mqtt_client_named_nmap_is_a_version_scan() {
    let mut r = Run::new();
    let c = atk(41000);
    r.at(S, &tcp(c, hub(1883), 100, "S", b""));
    r.at(S + 100, &tcp(hub(1883), c, 900, "SA", b""));
    r.at(S + 200, &tcp(c, hub(1883), 101, "A", b""));
    r.at(
        S + 300,
        &tcp(
            c,
            hub(1883),
            101,
            "PA",
            b"\x10\x10\x00\x04MQTT\x04\x02\x00\x1e\x00\x04nmap",
        ),
    );
    let a = r.alerts();
    assert_eq!(find(&a, "scan-tool-service-probe").victims, vec![ip(HUB)]);
}

/// A capture cut at tcpdump's old 68-byte snap length: an IPv6 first
/// fragment of a big UDP datagram (a DNSSEC answer) keeps only 6 bytes of
/// its UDP header, though its payload length says it carried 1 232. The
/// header was there on the wire: no tiny fragment, no alert.
#[test]
fn snap_cut_first_fragments_are_not_tiny() {
    let (resolver, client): ([u8; 16], [u8; 16]) = (
        [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01],
        [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x17],
    );
    let mut r = Run::new();
    for i in 0..20u16 {
        let mut f = Vec::new();
        f.extend_from_slice(&PHONE_MAC);
        f.extend_from_slice(&HUB_MAC);
        f.extend_from_slice(&[0x86, 0xdd]);
        // IPv6: payload length = 8 (fragment header) + 1 232.
        f.extend_from_slice(&[0x60, 0, 0, 0]);
        f.extend_from_slice(&(8u16 + 1232).to_be_bytes());
        f.extend_from_slice(&[44, 64]);
        f.extend_from_slice(&resolver);
        f.extend_from_slice(&client);
        // Fragment header: next UDP, offset 0, more fragments.
        f.extend_from_slice(&[17, 0, 0, 1]);
        f.extend_from_slice(&u32::from(i).to_be_bytes());
        // The UDP header, cut after 6 of its 8 bytes.
        f.extend_from_slice(&53u16.to_be_bytes());
        f.extend_from_slice(&40_000u16.to_be_bytes());
        f.extend_from_slice(&1232u16.to_be_bytes());
        assert_eq!(f.len(), 68);
        let wire = 14 + 40 + 8 + 1232;
        r.engine.process(
            ward_core::Timestamp(common::T0 + S + i64::from(i) * 10_000),
            1,
            &f,
            wire,
            &mut r.sink,
        );
    }
    quiet(&r.alerts(), AlertCategory::Recon);
}

/// nmap -T1 begun 27 minutes after the same source's first packet (a
/// connection to another host): the slow tier's half hour runs from the first probe
/// of the scanned host, so the scan is not cut in two at minute 30.
#[test]
fn a_t1_scan_late_in_the_sources_half_hour_is_still_a_port_scan() {
    let mut r = Run::new();
    let other: End = ([0x02, 0, 0, 0, 2, 9], [192, 168, 50, 9], 0);
    // Something every four minutes keeps the source known.
    for k in 0..7i64 {
        r.at(
            S + k * 240 * S,
            &tcp(atk(40000 + k as u16), (other.0, other.1, 443), 7, "S", b""),
        );
        r.at(
            S + k * 240 * S + 100,
            &tcp((other.0, other.1, 443), atk(40000 + k as u16), 9, "SA", b""),
        );
    }
    for p in 1..=24u16 {
        let t = 27 * 60 * S + i64::from(p) * 15 * S;
        r.at(t, &tcp(atk(45000), hub(p), 7, "S", b""));
        r.at(t + 200, &tcp(hub(p), atk(45000), 0, "RA", b""));
    }
    let a = r.alerts();
    assert!(
        a.iter()
            .any(|a| a.signature == "tcp-port-scan" && a.victims == vec![ip(HUB)]),
        "{a:?}"
    );
}

/// A broadcast ARP who-has from `src` for `target`.
fn arp_who_has(src: (Mac, V4), target: V4) -> Vec<u8> {
    let mut f = Vec::with_capacity(42);
    f.extend_from_slice(&[0xff; 6]);
    f.extend_from_slice(&src.0);
    f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1]);
    f.extend_from_slice(&src.0);
    f.extend_from_slice(&src.1);
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&target);
    f
}

/// The shape of `demo/home-lab.pcap`'s scan: kali (192.168.50.195) ARP-sweeps
/// the /24, then 14 s later nmap -sS sends its top ports to the camera
/// (192.168.50.190) from one source port, a SYN every 7 µs, in nmap's order;
/// 80 and 22 answer (and are reset), the rest refuse. The addresses and the
/// port order are the capture's, so the approximate counters collide as they
/// do there. All of it takes under a millisecond: the fast tier reports it,
/// with the fast tier's evidence and wording, and nothing calls it slow (the
/// slow tier's own port count crossed the threshold two probes before the
/// fast tier's, reported "over under a second, spacing its probes out", and
/// the fast tier's alert was then suppressed as a repeat).
#[test]
fn the_demo_scan_of_the_camera_is_a_fast_scan() {
    const KALI: (Mac, V4) = ([0x28, 0x57, 0xbe, 0xa8, 0xe5, 0xf2], [192, 168, 50, 195]);
    const CAM: (Mac, V4) = ([0x3c, 0xa9, 0xf4, 0x14, 0x16, 0x54], [192, 168, 50, 190]);
    let mut r = Run::new();
    for h in 1..=254u8 {
        r.at(
            S + i64::from(h) * 1_700,
            &arp_who_has(KALI, [192, 168, 50, h]),
        );
    }
    let ports: [u16; 40] = [
        113, 993, 111, 995, 445, 25, 80, 143, 139, 256, 23, 21, 587, 443, 199, 135, 22, 554, 110,
        53, 417, 596, 753, 939, 51, 247, 745, 872, 419, 406, 239, 694, 344, 264, 804, 400, 497,
        287, 985, 785,
    ];
    let scan_start = 15 * S + 584_000;
    let kali = (KALI.0, KALI.1, 46402);
    for (i, &p) in ports.iter().enumerate() {
        let t = scan_start + i as i64 * 7;
        let cam = (CAM.0, CAM.1, p);
        r.at(t, &tcp(kali, cam, 7, "S", b""));
        if matches!(p, 80 | 22) {
            r.at(t + 3, &tcp(cam, kali, 900, "SA", b""));
            r.at(t + 5, &tcp(kali, cam, 8, "R", b""));
        } else {
            r.at(t + 3, &tcp(cam, kali, 0, "RA", b""));
        }
    }
    let a = r.alerts();
    let scans: Vec<&Alert> = a
        .iter()
        .filter(|a| a.signature == "tcp-port-scan")
        .collect();
    assert_eq!(scans.len(), 1, "{a:?}");
    let s = scans[0];
    assert_eq!(s.attacker, Some(ip(KALI.1)));
    assert_eq!(s.victims, vec![ip(CAM.1)]);
    assert_eq!(s.evidence.get("slow"), None, "{s:?}");
    assert!(
        s.evidence.contains_key("answered"),
        "not the fast tier: {s:?}"
    );
    assert!(
        s.summary.ends_with("looking for services to attack."),
        "{}",
        s.summary
    );
    assert!(!s.summary.contains("spacing"), "{}", s.summary);
}

/// A scan at one probe a second that starts 45 s into the source's 60 s
/// window: neither window holds 20 of its probes, the per-host count does,
/// 19 s after its first. That is a fast scan cut by the window's edge, not
/// a slow one: worded as a fast scan, timed from its first probe.
#[test]
fn a_fast_scan_cut_by_the_window_edge_is_not_called_slow() {
    let mut r = Run::new();
    let other: End = ([0x02, 0, 0, 0, 2, 9], [192, 168, 50, 9], 443);
    // A connection to another host opens the source's window at 0 s.
    r.at(0, &tcp(atk(40000), other, 7, "S", b""));
    r.at(100, &tcp(other, atk(40000), 9, "SA", b""));
    for p in 1..=26u16 {
        let t = 44 * S + i64::from(p) * S;
        r.at(t, &tcp(atk(45000), hub(p), 7, "S", b""));
        r.at(t + 200, &tcp(hub(p), atk(45000), 0, "RA", b""));
    }
    let a = r.alerts();
    let s = find(&a, "tcp-port-scan");
    assert_eq!(s.victims, vec![ip(HUB)]);
    assert_eq!(s.evidence.get("slow"), None, "{s:?}");
    assert!(
        s.summary.ends_with("looking for services to attack."),
        "{}",
        s.summary
    );
    assert_eq!(s.first_seen.0, common::T0 + 45 * S, "{s:?}");
    let d = s.evidence["duration_s"].as_f64().unwrap();
    assert!(
        (d - (s.last_seen.since(s.first_seen) as f64 / 1e6)).abs() < 1e-3,
        "{s:?}"
    );
    assert!(d < 60.0, "{s:?}");
}

/// nmap -T1's alert is timed from its first probe, and says slow.
#[test]
fn a_t1_scan_is_slow_from_its_first_probe() {
    let mut r = Run::new();
    for p in 1..=24u16 {
        let t = i64::from(p) * 15 * S;
        r.at(t, &tcp(atk(45000), hub(p), 7, "S", b""));
        r.at(t + 200, &tcp(hub(p), atk(45000), 0, "RA", b""));
    }
    let a = r.alerts();
    let s = find(&a, "tcp-port-scan");
    assert_eq!(
        s.evidence.get("slow"),
        Some(&serde_json::json!(true)),
        "{s:?}"
    );
    assert!(
        s.summary.contains("spacing its probes out"),
        "{}",
        s.summary
    );
    assert_eq!(s.first_seen.0, common::T0 + 15 * S, "{s:?}");
    let d = s.evidence["duration_s"].as_f64().unwrap();
    assert!(
        (d - (s.last_seen.since(s.first_seen) as f64 / 1e6)).abs() < 1e-3,
        "{s:?}"
    );
    assert!(d > 60.0, "{s:?}");
}

/// nmap -T1 of the hub while the same source fast-scans three other hosts
/// (each reported on its own) and then touches a few more once each. The
/// fast scans' host slots are spent, so the newcomers take those, not the
/// slow scan's: it keeps its count and its start. (Taking the slot with the
/// fewest services, the slow scan's 16 gave way to the fast scans' 300 and
/// it was never reported.)
#[test]
fn fast_scans_and_stray_probes_do_not_evict_a_slow_scan() {
    let other = |h: u8, p: u16| -> End { ([0x02, 0, 0, 0, 2, h], [192, 168, 50, h], p) };
    let mut frames: Vec<(i64, Vec<u8>)> = Vec::new();
    for p in 1..=24u16 {
        let t = 10 * S + i64::from(p - 1) * 15 * S;
        frames.push((t, tcp(atk(45000), hub(p), 7, "S", b"")));
        frames.push((t + 200, tcp(hub(p), atk(45000), 0, "RA", b"")));
    }
    for (k, h) in [11u8, 12, 13].into_iter().enumerate() {
        let t0 = 100 * S + k as i64 * 70 * S;
        for p in 1..=300u16 {
            let t = t0 + i64::from(p) * 300;
            frames.push((t, tcp(atk(40000), other(h, p), 7, "S", b"")));
            frames.push((t + 100, tcp(other(h, p), atk(40000), 0, "RA", b"")));
        }
    }
    // Between the slow scan's 17th and 18th probes.
    for (k, h) in (20..26u8).enumerate() {
        let t = 251 * S + k as i64 * S;
        frames.push((t, tcp(atk(41000), other(h, 8080), 7, "S", b"")));
    }
    frames.sort_by_key(|f| f.0);
    let mut r = Run::new();
    for (t, f) in &frames {
        r.at(*t, f);
    }
    let a = r.alerts();
    for h in [11u8, 12, 13] {
        assert!(
            a.iter().any(|x| x.signature == "tcp-port-scan"
                && x.victims == vec![ip([192, 168, 50, h])]),
            "{a:?}"
        );
    }
    let s = a
        .iter()
        .find(|x| x.signature == "tcp-port-scan" && x.victims == vec![ip(HUB)])
        .unwrap_or_else(|| panic!("no slow scan of the hub in {a:?}"));
    assert_eq!(
        s.evidence.get("slow"),
        Some(&serde_json::json!(true)),
        "{s:?}"
    );
    assert_eq!(s.first_seen.0, common::T0 + 10 * S, "{s:?}");
}

/// One connection to the hub's memcached, then four minutes later a scan
/// of 300 of its ports in a tenth of a second (lab run variants-61: the
/// memcached-reflection set-up, then nmap -sF of the home server). The
/// per-host count holds the early probe too and crosses first; the scan is
/// still a burst, worded and timed as one, not "spacing its probes out".
#[test]
fn a_burst_after_a_stray_probe_is_not_called_slow() {
    let mut r = Run::new();
    let c = atk(39000);
    r.at(S, &tcp(c, hub(11211), 7, "S", b""));
    r.at(S + 100, &tcp(hub(11211), c, 9, "SA", b""));
    for k in 0..2i64 {
        // Keeps the source known; the scan opens a short window of its own.
        let other: End = ([0x02, 0, 0, 0, 2, 9], [192, 168, 50, 9], 443);
        r.at(70 * S + k * 61 * S, &tcp(atk(40000), other, 7, "S", b""));
    }
    let t0 = 250 * S;
    for p in 1..=300u16 {
        let t = t0 + i64::from(p) * 300;
        r.at(t, &tcp(atk(45000), hub(p), 7, "S", b""));
        r.at(t + 100, &tcp(hub(p), atk(45000), 0, "RA", b""));
    }
    let a = r.alerts();
    let s = find(&a, "tcp-port-scan");
    assert_eq!(s.victims, vec![ip(HUB)]);
    assert_eq!(s.evidence.get("slow"), None, "{s:?}");
    assert!(!s.summary.contains("spacing"), "{}", s.summary);
    assert!(s.first_seen.0 >= common::T0 + 180 * S, "{s:?}");
}
