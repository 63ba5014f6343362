//! Flood, reflection and water-torture shapes (fourth session, issue #5):
//! each test rebuilds the wire shape of a real attack tool or botnet
//! vector (hping3, Mirai's `greip`, `udpplain`, `ack`, `dns`, `vse`,
//! CLDAP / WS-Discovery / Dahua reflection, SYN-ACK reflection, pulse
//! waves) and, beside it, the benign traffic that looks most like it and
//! must stay quiet.

use ward_core::{Alert, AlertCategory, Timestamp};

mod common;
use common::lan50::{ATK, ATK_MAC, CAM, CAM_MAC, GW, GW_MAC, PHONE, PHONE_MAC};
use common::{arp_request, ip, ipv4, tcp, udp, End, Mac, Run, T0, V4};

/// The LAN: every device has introduced itself by ARP, the gateway has
/// sent a frame to each (so the detector knows which MAC each address
/// receives at), and each has talked to the internet through it.
fn lan(cfg: Option<&serde_json::Value>) -> Run {
    let mut r = Run::with(cfg);
    let mut t = 0;
    for (m, a) in [(ATK_MAC, ATK), (CAM_MAC, CAM), (PHONE_MAC, PHONE)] {
        r.at(t, &arp_request(m, a, GW));
        r.at(
            t + 1,
            &udp((GW_MAC, GW, 53), (m, a, 33333), b"\x00\x01\x81\x80"),
        );
        r.at(
            t + 2,
            &udp(
                (m, a, 33334),
                (GW_MAC, [1, 1, 1, 1], 53),
                b"\x00\x02\x01\x00",
            ),
        );
        t += 10;
    }
    r
}

fn dos(a: &[(Timestamp, Alert)]) -> Vec<&(Timestamp, Alert)> {
    a.iter()
        .filter(|(_, a)| a.category == AlertCategory::Dos)
        .collect()
}

fn quiet(r: Run) {
    let a = r.timed_alerts();
    let d = dos(&a);
    assert!(d.is_empty(), "{d:?}");
}

/// Seconds from `start` (µs offset from T0) to the alert.
fn after(t: Timestamp, start: i64) -> f64 {
    t.since(Timestamp(T0 + start)) as f64 / 1e6
}

/// An IPv4 frame from the attacker to the camera, TTL 64.
fn atk_ipv4(proto: u8, frag: u16, id: u16, body: &[u8]) -> Vec<u8> {
    ipv4((ATK_MAC, ATK), (CAM_MAC, CAM), proto, 64, frag, id, body)
}

/// The first DoS alert, which must hold the attacker flooding the camera;
/// `what` names the case in a failure.
fn flood_of_cam<'a>(d: &[&'a (Timestamp, Alert)], what: &str) -> &'a (Timestamp, Alert) {
    let first = *d.first().unwrap_or_else(|| panic!("{what}: no flood"));
    assert_eq!(
        first.1.attacker,
        Some(ip(ATK)),
        "{what}: {}",
        first.1.summary
    );
    assert_eq!(first.1.victims, vec![ip(CAM)], "{what}");
    first
}

/// A UDP header + payload (checksum 0: none, as IPv4 allows).
fn udp_body(sport: u16, dport: u16, payload: &[u8], len: usize) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&sport.to_be_bytes());
    b.extend_from_slice(&dport.to_be_bytes());
    b.extend_from_slice(&((8 + len) as u16).to_be_bytes());
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(payload);
    b
}

/// A small deterministic generator for random payloads and ports.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

// ---- SYN floods: fast enough, and not on benign bursts -----------------

/// hping3 -S -p 80 -i u10000 (`syn-flood-slow`): 100 SYNs a second; the
/// camera answers each with a SYN-ACK and the attacker's kernel resets it.
/// No handshake completes: a half-open flood, found within 2 s.
#[test]
fn a_half_open_syn_flood_at_100_per_second_is_found_within_2_s() {
    let mut r = lan(None);
    let start = 1_300_000;
    for i in 0..1000i64 {
        let t = start + i * 10_000;
        let sport = 2000 + i as u16;
        r.at(
            t,
            &tcp(
                (ATK_MAC, ATK, sport),
                (CAM_MAC, CAM, 80),
                i as u32,
                "S",
                b"",
            ),
        );
        r.at(
            t + 80,
            &tcp((CAM_MAC, CAM, 80), (ATK_MAC, ATK, sport), 9, "SA", b""),
        );
        r.at(
            t + 160,
            &tcp(
                (ATK_MAC, ATK, sport),
                (CAM_MAC, CAM, 80),
                i as u32 + 1,
                "R",
                b"",
            ),
        );
    }
    let a = r.timed_alerts();
    let d = dos(&a);
    assert_eq!(d.len(), 1, "one incident: {d:?}");
    let (t, f) = flood_of_cam(&d, "syn flood");
    assert_eq!(f.signature, "tcp-syn-flood");
    assert!(
        after(*t, start) <= 2.0,
        "found after {} s",
        after(*t, start)
    );
}

/// hping3 -S --rand-source at 100 a second: half-open too, and spoofed.
/// One incident, called spoofed, the sender named by its MAC — also when
/// the check crosses on a second's first few packets.
#[test]
fn a_spoofed_half_open_flood_is_one_spoofed_incident() {
    let mut r = lan(None);
    let mut g = Rng(23);
    for i in 0..1500i64 {
        let src: V4 = [
            10,
            (g.next() % 250) as u8,
            (g.next() % 250) as u8,
            1 + (g.next() % 250) as u8,
        ];
        r.at(
            1_050_000 + i * 10_000,
            &tcp(
                (ATK_MAC, src, 2000 + i as u16),
                (CAM_MAC, CAM, 80),
                1,
                "S",
                b"",
            ),
        );
    }
    let a = r.timed_alerts();
    let d = dos(&a);
    assert_eq!(d.len(), 1, "{d:?}");
    let (t, f) = d[0];
    assert_eq!(f.signature, "tcp-syn-flood-spoofed");
    assert_eq!(f.attacker, Some(ip(ATK)), "{}", f.summary);
    assert!(after(*t, 1_050_000) <= 2.0);
}

/// nmap -sS -T4 of 1 024 ports at ~700 probes a second, closed ports
/// resetting: a scan, however its seconds split; never a half-open flood.
#[test]
fn a_fast_syn_scan_is_not_a_half_open_flood() {
    let mut r = lan(None);
    for p in 1..=1024u16 {
        let t = 1_000_000 + i64::from(p) * 1_400;
        r.at(
            t,
            &tcp((ATK_MAC, ATK, 61000), (CAM_MAC, CAM, p), 7, "S", b""),
        );
        r.at(
            t + 100,
            &tcp((CAM_MAC, CAM, p), (ATK_MAC, ATK, 61000), 0, "RA", b""),
        );
    }
    quiet(r);
}

/// The same rate with `syn_half_open = 0`: only the sustained check is
/// left, which takes 10 s.
#[test]
fn syn_half_open_zero_turns_the_fast_check_off() {
    let cfg = serde_json::json!({"dos": {"syn_half_open": 0}});
    let mut r = lan(Some(&cfg));
    for i in 0..1500i64 {
        let sport = 2000 + i as u16;
        r.at(
            1_000_000 + i * 10_000,
            &tcp((ATK_MAC, ATK, sport), (CAM_MAC, CAM, 80), 1, "S", b""),
        );
    }
    let a = r.timed_alerts();
    let d = dos(&a);
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(after(d[0].0, 1_000_000) >= 10.0);
}

/// A client's handshake to a server: SYN, SYN-ACK, ACK.
fn handshake(r: &mut Run, t: i64, c: End, s: End) {
    r.at(t, &tcp(c, s, 100, "S", b""));
    r.at(t + 300, &tcp(s, c, 900, "SA", b""));
    r.at(t + 600, &tcp(c, s, 101, "A", b""));
}

/// A camera reconnect storm and a page load: 400 connections in 2 s to one
/// server port (every device on the LAN re-joining an NVR after a reboot,
/// then a browser's burst of parallel requests), all completed.
#[test]
fn completed_connection_bursts_are_not_a_syn_flood() {
    let mut r = lan(None);
    for i in 0..400i64 {
        let c = if i % 2 == 0 {
            (CAM_MAC, CAM, 30000 + i as u16)
        } else {
            (PHONE_MAC, PHONE, 30000 + i as u16)
        };
        handshake(&mut r, 1_000_000 + i * 5_000, c, (ATK_MAC, ATK, 443));
    }
    quiet(r);
}

/// A phone retrying an unreachable server (SYNs its kernel retransmits at
/// 1, 2, 4 s) from 20 sockets at once: a few dozen unanswered SYNs a
/// second, not a flood.
#[test]
fn retransmitted_syns_to_a_dead_server_are_not_a_flood() {
    let mut r = lan(None);
    for s in 0..20u16 {
        for (k, back) in [0i64, 1, 3, 7, 15].iter().enumerate() {
            let t = 1_000_000 + i64::from(s) * 20_000 + back * 1_000_000;
            r.at(
                t + k as i64,
                &tcp(
                    (PHONE_MAC, PHONE, 40000 + s),
                    (CAM_MAC, CAM, 8443),
                    1,
                    "S",
                    b"",
                ),
            );
        }
    }
    quiet(r);
}

// ---- one-way UDP: real floods and benign one-way streams ---------------

/// One flow, `n` datagrams at `gap` µs, payload from `payload(i)`.
fn one_flow(
    r: &mut Run,
    from: End,
    to: End,
    n: i64,
    gap: i64,
    mut payload: impl FnMut(i64) -> Vec<u8>,
) {
    for i in 0..n {
        r.at(1_000_000 + i * gap, &udp(from, to, &payload(i)));
    }
}

fn one_udp_flood(a: &[(Timestamp, Alert)], victim: V4) {
    let d = dos(a);
    let f = d.first().expect("flood").1.clone();
    assert_eq!(f.signature, "udp-flood");
    assert_eq!(f.attacker, Some(ip(ATK)));
    assert_eq!(f.victims, vec![ip(victim)]);
}

/// A home NVR recording four cameras over RTP/UDP, each sending video
/// (300 packets a second) and audio (50) on flows the NVR never answers
/// (its RTCP goes to other ports): 1 400 one-way datagrams a second to one
/// address, interleaved from eight streams. Media, not a flood.
#[test]
fn an_nvr_recording_four_rtp_cameras_is_not_a_flood() {
    let mut frames = Vec::new();
    for k in 0..4u16 {
        let (m, a) = host(i64::from(k));
        for (s, pps, pt) in [(0u16, 300i64, 96u8 | 0x80), (1, 50, 8)] {
            let ssrc = 0x5100_0000 + u32::from(k * 16 + s);
            for i in 0..4 * pps {
                let mut p = vec![0x80, pt];
                p.extend_from_slice(&(i as u16).to_be_bytes());
                p.extend_from_slice(&((i * 3000) as u32).to_be_bytes());
                p.extend_from_slice(&ssrc.to_be_bytes());
                p.extend_from_slice(&[0x3c; 900]);
                let t = 1_000_000 + i * (1_000_000 / pps) + i64::from(k * 37 + s * 11);
                let frame = udp(
                    (m, a, 50000 + 2 * s),
                    (PHONE_MAC, PHONE, 40000 + 4 * k + 2 * s),
                    &p,
                );
                frames.push((t, frame));
            }
        }
    }
    frames.sort_by_key(|(t, _)| *t);
    let mut r = lan(None);
    for (t, f) in &frames {
        r.at(*t, f);
    }
    quiet(r);
}

/// A flood whose random payloads start like RTP a quarter of the time
/// (first byte 0x80-0xBF) was exempt as "media" before: a real RTP check
/// (one SSRC, advancing sequence numbers) no longer exempts it. Here
/// every datagram starts like RTP, with a plausible payload type.
#[test]
fn a_flood_that_only_looks_like_rtp_is_a_flood() {
    let mut r = lan(None);
    let mut g = Rng(7);
    one_flow(
        &mut r,
        (ATK_MAC, ATK, 40000),
        (CAM_MAC, CAM, 5004),
        4000,
        500,
        |_| {
            let mut p = g.bytes(512);
            p[0] = 0x80 | (p[0] & 0x3f);
            p[1] = 96;
            p
        },
    );
    one_udp_flood(&r.timed_alerts(), CAM);
}

/// Mirai's `udpplain` (a connected socket: one flow) with its default
/// 512 random bytes, and hping3's zeroed payloads, and Mirai's `vse`
/// (the Source Engine query, 25 bytes) from one source port.
#[test]
fn single_flow_floods_with_random_zero_or_vse_payloads_are_floods() {
    for kind in 0..3 {
        let mut r = lan(None);
        let mut g = Rng(11);
        one_flow(
            &mut r,
            (ATK_MAC, ATK, 40000),
            (CAM_MAC, CAM, 27015),
            3000,
            700,
            |_| match kind {
                0 => g.bytes(512),
                1 => vec![0; 512],
                _ => b"\xff\xff\xff\xffTSource Engine Query\0".to_vec(),
            },
        );
        one_udp_flood(&r.timed_alerts(), CAM);
    }
}

/// A camera's RTP to the phone with audio and video (two SSRCs,
/// interleaved), 1 500 datagrams a second for 8 s: media, not a flood.
#[test]
fn rtp_audio_and_video_from_a_camera_are_not_a_flood() {
    let mut r = lan(None);
    one_flow(
        &mut r,
        (CAM_MAC, CAM, 50000),
        (PHONE_MAC, PHONE, 40002),
        12_000,
        666,
        |i| {
            let (ssrc, pt, seq) = if i % 5 == 0 {
                (0xa0d1_0001u32, 8u8, i / 5)
            } else {
                (0x51de_0002, 96 | 0x80, i)
            };
            let mut p = vec![0x80, pt];
            p.extend_from_slice(&(seq as u16).to_be_bytes());
            p.extend_from_slice(&((i * 90) as u32).to_be_bytes());
            p.extend_from_slice(&ssrc.to_be_bytes());
            p.extend_from_slice(&[0x3c; 900]);
            p
        },
    );
    quiet(r);
}

/// One-way UDP by design at 800 datagrams a second for 6 s, each to a LAN
/// node or collector that never answers: Art-Net DMX to a lighting node,
/// sACN (E1.31), syslog and statsd to a collector, NetFlow v9 export,
/// MPEG-TS video.
#[test]
fn one_way_lighting_telemetry_and_video_streams_are_not_floods() {
    let artnet = |i: i64| {
        let mut p = b"Art-Net\0\x00\x50\x00\x0e".to_vec();
        p.extend_from_slice(&[i as u8, 0, (i % 16) as u8, 0, 0x02, 0x00]);
        p.extend_from_slice(&[0x7f; 512]);
        p
    };
    let sacn = |i: i64| {
        let mut p = vec![0x00, 0x10, 0x00, 0x00];
        p.extend_from_slice(b"ASC-E1.17\0\0\0");
        p.extend_from_slice(&[0x72, 0x6e, 0, 0, 0, 4, i as u8]);
        p.extend_from_slice(&[0x10; 600]);
        p
    };
    let syslog = |i: i64| {
        format!("<134>1 2026-11-27T10:00:00Z cam app {i} - - request served in 3 ms").into_bytes()
    };
    let statsd = |i: i64| format!("lock.motor.current:{}|g\nlock.events:1|c", i % 97).into_bytes();
    let netflow = |i: i64| {
        let mut p = vec![0x00, 0x09, 0x00, 0x1c];
        p.extend_from_slice(&(i as u32).to_be_bytes());
        p.extend_from_slice(&[0x11; 1200]);
        p
    };
    let ts = |i: i64| {
        let mut p = Vec::new();
        for k in 0..7 {
            p.push(0x47);
            p.extend_from_slice(&[(i + k) as u8; 187]);
        }
        p
    };
    type Payload<'a> = &'a dyn Fn(i64) -> Vec<u8>;
    let streams: [(&str, u16, Payload); 6] = [
        ("art-net", 6454, &artnet),
        ("sacn", 5568, &sacn),
        ("syslog", 514, &syslog),
        ("statsd", 8125, &statsd),
        ("netflow", 2055, &netflow),
        ("mpeg-ts", 1234, &ts),
    ];
    for (name, port, payload) in streams {
        let mut r = lan(None);
        one_flow(
            &mut r,
            (CAM_MAC, CAM, 50000),
            (PHONE_MAC, PHONE, port),
            4800,
            1250,
            payload,
        );
        let a = r.timed_alerts();
        assert!(dos(&a).is_empty(), "{name}: {:?}", dos(&a));
    }
}

/// Two-way bulk UDP: a QUIC download (2 000 server datagrams a second, the
/// client acknowledging every few), a WireGuard tunnel carrying an upload,
/// game streaming (video one way, input and acks the other).
#[test]
fn answered_bulk_udp_is_not_a_flood() {
    for (port, back_every) in [(443u16, 4i64), (51820, 2), (47998, 10)] {
        let mut r = lan(None);
        let (srv, cli) = ((ATK_MAC, ATK, port), (PHONE_MAC, PHONE, 55000));
        r.at(999_000, &udp(cli, srv, &[0xc3; 1200]));
        for i in 0..12_000i64 {
            let t = 1_000_000 + i * 500;
            r.at(t, &udp(srv, cli, &[0x41; 1200]));
            if i % back_every == 0 {
                r.at(t + 50, &udp(cli, srv, &[0x51; 40]));
            }
        }
        quiet(r);
    }
}

// ---- Mirai's other vectors ---------------------------------------------

/// Mirai `greip` (GRE around IP/UDP with 512 random bytes) and `greeth`
/// (GRE around Ethernet/IP/UDP) from the bot at 3 000 packets a second,
/// unanswered. The decoder looks inside GRE, so these are the inner UDP
/// floods, from and to the outer addresses as Mirai sends them.
#[test]
fn mirai_gre_floods_are_floods() {
    for eth in [false, true] {
        let mut r = lan(None);
        let mut g = Rng(3);
        for i in 0..6000i64 {
            let mut gre = vec![0x00, 0x00];
            gre.extend_from_slice(if eth { &[0x65, 0x58] } else { &[0x08, 0x00] });
            let inner = atk_ipv4(
                17,
                0,
                i as u16,
                &udp_body(g.next() as u16, g.next() as u16, &g.bytes(512), 512),
            );
            gre.extend_from_slice(if eth { &inner } else { &inner[14..] });
            r.at(1_000_000 + i * 333, &atk_ipv4(47, 0x4000, i as u16, &gre));
        }
        let a = r.timed_alerts();
        let d = dos(&a);
        let (t, _) = flood_of_cam(&d, &format!("eth {eth}"));
        assert!(after(*t, 1_000_000) <= 1.0);
    }
}

/// A flood of a protocol ward does not decode further (ESP, 50): 3 000
/// packets a second that the victim never answers.
#[test]
fn an_unanswered_esp_flood_is_an_ip_protocol_flood() {
    let mut r = lan(None);
    let mut g = Rng(3);
    for i in 0..6000i64 {
        r.at(
            1_000_000 + i * 333,
            &atk_ipv4(50, 0x4000, i as u16, &g.bytes(400)),
        );
    }
    let a = r.timed_alerts();
    let d = dos(&a);
    let (t, f) = flood_of_cam(&d, "esp flood");
    assert_eq!(f.signature, "ip-protocol-flood");
    assert!(f.summary.contains("ESP"), "{}", f.summary);
    assert!(after(*t, 1_000_000) <= 1.0);
}

/// An IPsec (ESP) tunnel carrying a download: 1 500 packets a second one
/// way, 750 back. A tunnel, not a flood.
#[test]
fn a_busy_esp_tunnel_is_not_a_flood() {
    let mut r = lan(None);
    for i in 0..9000i64 {
        let t = 1_000_000 + i * 666;
        r.at(
            t,
            &atk_ipv4(50, 0x4000, i as u16, &[0x30, 0x81, 0x88, 0x0b, 0, 0, 0, 1]),
        );
        if i % 2 == 0 {
            r.at(
                t + 10,
                &ipv4(
                    (CAM_MAC, CAM),
                    (ATK_MAC, ATK),
                    50,
                    64,
                    0x4000,
                    i as u16,
                    &[0x30, 0x81, 0x88, 0x0b, 0, 0, 0, 2],
                ),
            );
        }
    }
    quiet(r);
}

/// Mirai `ack`: ACK (+PSH) segments of no connection with 512 random bytes,
/// a random destination port per packet. Hundreds of ports a second looked
/// like a scan and were left to the scan detector; bulky segments are no
/// scan's probes.
#[test]
fn a_random_port_ack_flood_with_payloads_is_a_flood_not_a_scan() {
    let mut r = lan(None);
    let mut g = Rng(5);
    for i in 0..4000i64 {
        let (sp, dp) = (g.next() as u16 | 1024, g.next() as u16 | 1);
        r.at(
            1_000_000 + i * 250,
            &tcp(
                (ATK_MAC, ATK, sp),
                (CAM_MAC, CAM, dp),
                i as u32,
                "A",
                &g.bytes(512),
            ),
        );
    }
    let a = r.timed_alerts();
    let d = dos(&a);
    let (_, f) = flood_of_cam(&d, "ack flood");
    assert_eq!(f.signature, "tcp-ack-rst-flood");
}

/// An ACK flood on one connection that was never answered (fixed ports, as
/// hping3 -A -p 80 -s 4000 -k sends): after its first segment every packet
/// is an ordinary mid-flow packet (`PacketContext::ordinary`), which dos
/// lets through its early return only as a stray segment. Fails if the
/// early return drops ordinary strays.
#[test]
fn an_ack_flood_on_one_unanswered_connection_is_a_flood() {
    let mut r = lan(None);
    for i in 0..1500i64 {
        r.at(
            1_000_000 + i * 1000,
            &tcp((ATK_MAC, ATK, 4000), (CAM_MAC, CAM, 80), i as u32, "A", b""),
        );
    }
    let a = r.timed_alerts();
    let d = dos(&a);
    let (t, f) = flood_of_cam(&d, "one-flow ack flood");
    assert_eq!(f.signature, "tcp-ack-rst-flood");
    // 300 strays a second cross on the 300th packet, within the first second.
    assert!(*t <= Timestamp(T0 + 1_300_000), "found at {t:?}");
}

/// A DNS query for `name` from `c` to the resolver, and its answer.
fn dns(r: &mut Run, t: i64, c: End, id: u16, name: &str, rcode: u8) {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for l in name.split('.') {
        q.push(l.len() as u8);
        q.extend_from_slice(l.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    r.at(t, &udp(c, (GW_MAC, GW, 53), &q));
    let mut a = q.clone();
    a[2] = 0x81;
    a[3] = 0x80 | rcode;
    r.at(t + 400, &udp((GW_MAC, GW, 53), c, &a));
}

/// Mirai `dns` (water torture): queries for a random 12-letter label under
/// the target domain, each from a new source port, to the LAN's resolver,
/// which answers NXDOMAIN; 400 a second.
#[test]
fn dns_water_torture_is_found() {
    let mut r = lan(None);
    let mut g = Rng(9);
    for i in 0..1200i64 {
        let label: String = (0..12)
            .map(|_| (b'a' + (g.next() % 26) as u8) as char)
            .collect();
        dns(
            &mut r,
            1_000_000 + i * 2_500,
            (ATK_MAC, ATK, 1024 + (g.next() % 60000) as u16),
            i as u16,
            &format!("{label}.victim-shop.com"),
            3,
        );
    }
    let a = r.timed_alerts();
    let d = dos(&a);
    let (t, f) = d
        .iter()
        .find(|(_, a)| a.signature == "dns-water-torture")
        .expect("water torture");
    assert_eq!(f.attacker, Some(ip(ATK)));
    assert_eq!(f.victims, vec![ip(GW)]);
    assert!(f.summary.contains("victim-shop.com"), "{}", f.summary);
    assert!(after(*t, 1_000_000) <= 1.0);
}

/// A busy household's lookups: 300 queries a second for 3 s for the same
/// few dozen names (a page load repeated, an app polling), and a phone
/// resolving many distinct names under different domains. Not torture.
#[test]
fn busy_but_ordinary_dns_is_not_water_torture() {
    let mut r = lan(None);
    for i in 0..900i64 {
        let name = format!("host{}.example{}.com", i % 40, i % 7);
        dns(
            &mut r,
            1_000_000 + i * 3_333,
            (PHONE_MAC, PHONE, 40000 + (i % 50) as u16),
            i as u16,
            &name,
            0,
        );
    }
    for i in 0..600i64 {
        let name = format!("n{i}.site{i}.org");
        dns(
            &mut r,
            5_000_000 + i * 3_333,
            (CAM_MAC, CAM, 41000 + (i % 50) as u16),
            i as u16,
            &name,
            0,
        );
    }
    quiet(r);
}

// ---- reflection --------------------------------------------------------

const WAN: Mac = GW_MAC;

/// `n` reflectors on the internet answer a spoofed request each second:
/// the attacker (a LAN bot) sends requests in the phone's name, the
/// replies come back through the router. Returns the alerts.
fn reflect(
    port: u16,
    request: &[u8],
    reply: &[u8],
    per_sec: i64,
    secs: i64,
) -> Vec<(Timestamp, Alert)> {
    let mut r = lan(None);
    let n = per_sec * secs;
    for i in 0..n {
        let t = 1_000_000 + i * 1_000_000 / per_sec;
        let refl: V4 = [203, 0, (i % 200) as u8, 7];
        // The forged request (phone's address, attacker's MAC).
        r.at(t, &udp((ATK_MAC, PHONE, 40000), (WAN, refl, port), request));
        r.at(
            t + 20_000,
            &udp((WAN, refl, port), (PHONE_MAC, PHONE, 40000), reply),
        );
    }
    r.timed_alerts()
}

fn reflection_found(a: &[(Timestamp, Alert)], port: u16) {
    let d = dos(a);
    let (t, f) = d.first().expect("reflection");
    assert_eq!(f.signature, "udp-reflection-amplification");
    assert_eq!(f.victims, vec![ip(PHONE)]);
    assert_eq!(f.attacker, Some(ip(ATK)), "{}", f.summary);
    assert_eq!(
        f.evidence.get("reflector_port").and_then(|v| v.as_u64()),
        Some(u64::from(port))
    );
    assert!(after(*t, 1_000_000) <= 2.0);
}

/// CLDAP (389/udp): a 52-byte rootDSE searchRequest, ~3 000-byte
/// searchResEntry replies (amplification ≈ 56-70×).
#[test]
fn cldap_reflection_is_found() {
    let req = b"\x30\x84\x00\x00\x00\x2d\x02\x01\x01\x63\x84\x00\x00\x00\x24\x04\x00\x0a\x01\x00\x0a\x01\x00\x02\x01\x00\x02\x01\x00\x01\x01\x00\x87\x0bobjectclass\x30\x84\x00\x00\x00\x00";
    let mut rep = b"\x30\x84\x00\x00\x0b\xb0\x02\x01\x01\x64\x84\x00\x00\x0b\xa7\x04\x00".to_vec();
    rep.extend_from_slice(&[0x30; 2990]);
    reflection_found(&reflect(389, req, &rep, 300, 4), 389);
}

/// WS-Discovery (3702/udp): a malformed or Probe SOAP request of ~150
/// bytes, ProbeMatch / fault replies of ~1 000-2 500 bytes from cameras and
/// printers exposed to the internet.
#[test]
fn ws_discovery_reflection_is_found() {
    let req = b"<:/>";
    let mut rep = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://www.w3.org/2003/05/soap-envelope\"><soap:Body><soap:Fault>".to_vec();
    rep.extend_from_slice(&[b'x'; 1400]);
    reflection_found(&reflect(3702, req, &rep, 300, 4), 3702);
}

/// Dahua DVR discovery (37810/udp): a 32-byte probe, ~1 200-byte replies.
#[test]
fn dahua_reflection_is_found() {
    let mut req = vec![0xa3, 0, 0, 0];
    req.resize(32, 0);
    let mut rep = vec![0xb3, 0, 0, 0x58];
    rep.resize(1200, 0x41);
    reflection_found(&reflect(37810, &req, &rep, 300, 4), 37810);
}

/// The phone's own WS-Discovery probe, answered by three cameras: asked
/// for, and little.
#[test]
fn ws_discovery_answers_to_a_real_probe_are_quiet() {
    let mut r = lan(None);
    for i in 0..50i64 {
        let t = 1_000_000 + i * 2_000_000;
        r.at(
            t,
            &udp(
                (PHONE_MAC, PHONE, 50000),
                (GW_MAC, [239, 255, 255, 250], 3702),
                &[b'p'; 600],
            ),
        );
        for c in 0..3u8 {
            r.at(
                t + 5_000,
                &udp(
                    (CAM_MAC, [192, 168, 50, 20 + c], 3702),
                    (PHONE_MAC, PHONE, 50000),
                    &[b'm'; 1500],
                ),
            );
        }
    }
    quiet(r);
}

/// TCP SYN-ACK reflection: the bot sends SYNs in the phone's name to 100
/// web servers; their SYN-ACKs (and retransmissions) hit the phone, 500
/// a second. The phone never asked.
#[test]
fn a_synack_reflection_is_found_and_blames_the_forger() {
    let mut r = lan(None);
    let mut g = Rng(13);
    for i in 0..2000i64 {
        let t = 1_000_000 + i * 2_000;
        let srv: V4 = [198, 51, (i % 100) as u8, 80];
        let sport = g.next() as u16 | 1024;
        r.at(
            t,
            &tcp((ATK_MAC, PHONE, sport), (WAN, srv, 443), 1, "S", b""),
        );
        r.at(
            t + 30_000,
            &tcp((WAN, srv, 443), (PHONE_MAC, PHONE, sport), 7, "SA", b""),
        );
    }
    let a = r.timed_alerts();
    let d = dos(&a);
    let (t, f) = d
        .iter()
        .find(|(_, a)| a.signature == "tcp-synack-reflection")
        .expect("synack reflection");
    assert_eq!(f.victims, vec![ip(PHONE)]);
    assert_eq!(f.attacker, Some(ip(ATK)), "{}", f.summary);
    assert!(after(*t, 1_000_000) <= 2.0);
}

/// The phone opening 600 connections of its own in 2 s (an app's burst
/// through the router): SYN-ACKs it asked for.
#[test]
fn synacks_the_receiver_asked_for_are_quiet() {
    let mut r = lan(None);
    for i in 0..600i64 {
        let srv: V4 = [198, 51, (i % 100) as u8, 80];
        handshake(
            &mut r,
            1_000_000 + i * 3_333,
            (PHONE_MAC, PHONE, 20000 + i as u16),
            (WAN, srv, 443),
        );
    }
    quiet(r);
}

// ---- pulse waves, low TTL, fragments -----------------------------------

/// A pulse-wave UDP flood: 0.5 s bursts at 6 000 datagrams a second from
/// new source ports, every 5 s, ten times. Found in the first burst, one
/// incident.
#[test]
fn a_pulse_wave_flood_is_found_in_its_first_burst_and_stays_one_incident() {
    let mut r = lan(None);
    let mut g = Rng(17);
    for burst in 0..10i64 {
        for i in 0..3000i64 {
            let t = 1_000_000 + burst * 5_000_000 + i * 166;
            r.at(
                t,
                &udp(
                    (ATK_MAC, ATK, g.next() as u16 | 1024),
                    (CAM_MAC, CAM, 53000),
                    &g.bytes(200),
                ),
            );
        }
    }
    let a = r.timed_alerts();
    let d = dos(&a);
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(after(d[0].0, 1_000_000) <= 0.5);
}

/// A flood sent with TTL 1 (it dies at the first router; on the LAN it
/// still arrives) and a flood of 3 000-byte datagrams, each in three
/// fragments: both are found from what the first packets carry.
#[test]
fn low_ttl_and_fragmented_udp_floods_are_found() {
    for frag in [false, true] {
        let mut r = lan(None);
        let mut g = Rng(19);
        for i in 0..3000i64 {
            let t = 1_000_000 + i * 500;
            let (sp, id) = (g.next() as u16 | 1024, i as u16);
            if frag {
                let body = udp_body(sp, 9999, &[0x61; 1472], 2992);
                r.at(t, &atk_ipv4(17, 0x2000, id, &body));
                r.at(t + 10, &atk_ipv4(17, 0x2000 | 185, id, &[0x61; 1480]));
                r.at(t + 20, &atk_ipv4(17, 370, id, &[0x61; 40]));
            } else {
                let body = udp_body(sp, 9999, &[0x61; 64], 64);
                r.at(
                    t,
                    &ipv4((ATK_MAC, ATK), (CAM_MAC, CAM), 17, 1, 0, id, &body),
                );
            }
        }
        let a = r.timed_alerts();
        let d = dos(&a);
        let (_, f) = flood_of_cam(&d, &format!("frag {frag}"));
        assert_eq!(f.signature, "udp-flood", "frag {frag}");
    }
}

// ---- scans that are not protocol floods --------------------------------

fn recon(a: &[(Timestamp, Alert)]) -> Vec<&(Timestamp, Alert)> {
    a.iter()
        .filter(|(_, a)| a.category == AlertCategory::Recon)
        .collect()
}

/// nmap `-f -T4` (lab run recon4-71): each SYN of a 1 024-port scan split
/// into 8-byte IP fragments, so the first fragment holds only the TCP
/// ports and sequence number, about 6 000 packets a second. A cut-short
/// TCP header is no other IP protocol: the scan is recon's, not an
/// `ip-protocol-flood`.
#[test]
fn a_tiny_fragment_scan_is_recon_not_an_ip_protocol_flood() {
    let mut r = lan(None);
    for i in 0..2048i64 {
        let t = 1_000_000 + i * 160;
        let (id, dport) = (i as u16, (i % 1024 + 1) as u16);
        let mut syn = Vec::new();
        syn.extend_from_slice(&64143u16.to_be_bytes());
        syn.extend_from_slice(&dport.to_be_bytes());
        syn.extend_from_slice(&0x1234_5678u32.to_be_bytes());
        syn.extend_from_slice(&[0, 0, 0, 0, 0x50, 0x02, 0x04, 0x00]);
        syn.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        r.at(t, &atk_ipv4(6, 0x2000, id, &syn[..8]));
        r.at(t + 20, &atk_ipv4(6, 0x2001, id, &syn[8..16]));
        r.at(t + 40, &atk_ipv4(6, 2, id, &syn[16..]));
    }
    let a = r.timed_alerts();
    let d = dos(&a);
    assert!(d.is_empty(), "{d:?}");
    assert!(!recon(&a).is_empty(), "the fragment scan is recon's");
}

/// An SCTP INIT chunk (common header + INIT, 52 bytes as nmap sends).
fn sctp_init(sport: u16, dport: u16, tag: u32) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&sport.to_be_bytes());
    b.extend_from_slice(&dport.to_be_bytes());
    b.extend_from_slice(&[0; 8]); // verification tag 0, checksum
    b.extend_from_slice(&[1, 0, 0, 20]); // INIT, length 20
    b.extend_from_slice(&tag.to_be_bytes());
    b.extend_from_slice(&[0, 0, 0x80, 0, 0, 10, 8, 0]);
    b.extend_from_slice(&tag.wrapping_mul(7).to_be_bytes());
    b
}

/// nmap `-sY -T4` (lab run recon4-71): SCTP INITs to 1 000 ports at about
/// 1 500 a second; the host has no SCTP and answers ICMP protocol
/// unreachable. A scan of many ports with small packets, left to recon.
#[test]
fn an_sctp_init_scan_is_not_an_ip_protocol_flood() {
    let mut r = lan(None);
    for i in 0..3000i64 {
        let t = 1_000_000 + i * 666;
        let dport = (i % 1000 + 1) as u16;
        r.at(
            t,
            &atk_ipv4(132, 0x4000, i as u16, &sctp_init(45569, dport, i as u32)),
        );
    }
    quiet(r);
}

/// An SCTP INIT flood at one port (3 000 a second, never answered) is
/// still a flood: what tells it from the scan is its one port.
#[test]
fn an_sctp_init_flood_at_one_port_is_an_ip_protocol_flood() {
    let mut r = lan(None);
    let mut g = Rng(23);
    for i in 0..6000i64 {
        r.at(
            1_000_000 + i * 333,
            &atk_ipv4(
                132,
                0x4000,
                i as u16,
                &sctp_init(g.next() as u16 | 1024, 36412, g.next() as u32),
            ),
        );
    }
    let a = r.timed_alerts();
    let d = dos(&a);
    let (t, f) = flood_of_cam(&d, "sctp flood");
    assert_eq!(f.signature, "ip-protocol-flood");
    assert!(f.summary.contains("SCTP"), "{}", f.summary);
    assert!(after(*t, 1_000_000) <= 1.0);
}

// ---- carpet bombing ----------------------------------------------------

/// Address `i` of the LAN's /24 (10 ..), with a MAC of its own.
fn host(i: i64) -> (Mac, V4) {
    ([0x02, 0, 0, 0, 1, i as u8], [192, 168, 50, 10 + i as u8])
}

/// CLDAP reflection spread over 64 addresses of the LAN: 3 000 replies a
/// second in all, 47 per address, under every address's own threshold.
#[test]
fn a_reflection_spread_over_the_lan_is_carpet_bombing() {
    let mut r = lan(None);
    let mut rep = b"\x30\x84\x00\x00\x0b\xb0\x02\x01\x01\x64".to_vec();
    rep.resize(1400, 0x30);
    for i in 0..9000i64 {
        let (m, a) = host(i % 64);
        let refl: V4 = [203, 0, (i % 200) as u8, 7];
        r.at(
            1_000_000 + i * 333,
            &udp((WAN, refl, 389), (m, a, 40000), &rep),
        );
    }
    let a = r.timed_alerts();
    let d = dos(&a);
    assert_eq!(d.len(), 1, "{d:?}");
    let (t, f) = d[0];
    assert_eq!(f.signature, "udp-reflection-carpet-bombing");
    assert_eq!(
        f.evidence.get("flood").and_then(|v| v.as_str()),
        Some("udp-reflection-amplification")
    );
    assert!(
        f.victims
            .iter()
            .all(|v| v.to_string().starts_with("192.168.50.")),
        "{:?}",
        f.victims
    );
    assert!(after(*t, 1_000_000) <= 2.0);
}

/// A spoofed SYN flood on port 80 of 100 addresses, 3 000 a second in all.
#[test]
fn a_syn_flood_spread_over_the_lan_is_carpet_bombing() {
    let mut r = lan(None);
    let mut g = Rng(29);
    for i in 0..6000i64 {
        let (m, a) = host(i % 100);
        let src: V4 = [10, (g.next() % 250) as u8, (g.next() % 250) as u8, 1];
        r.at(
            1_000_000 + i * 333,
            &tcp(
                (ATK_MAC, src, 1024 + (g.next() % 60000) as u16),
                (m, a, 80),
                1,
                "S",
                b"",
            ),
        );
    }
    let a = r.timed_alerts();
    let d = dos(&a);
    let (_, f) = d
        .iter()
        .find(|(_, a)| a.signature == "tcp-syn-carpet-bombing")
        .expect("carpet");
    assert_eq!(f.attacker, Some(ip(ATK)), "{}", f.summary);
}

/// A ping sweep and a SYN sweep of the /24 for four ports at 300 probes a
/// second (masscan), and the whole LAN's DNS answers (asked for): none is
/// a carpet.
#[test]
fn sweeps_and_the_lans_own_lookups_are_not_carpet_bombing() {
    let mut r = lan(None);
    for i in 0..200i64 {
        let (m, a) = host(i);
        let mut echo = vec![8, 0, 0, 0, 0, 1, 0, i as u8];
        echo.extend_from_slice(&[0; 8]);
        r.at(
            1_000_000 + i * 2_000,
            &ipv4((ATK_MAC, ATK), (m, a), 1, 64, 0, i as u16, &echo),
        );
    }
    for k in 0..800i64 {
        let (m, a) = host(k % 200);
        let port = [23u16, 2323, 80, 8080][(k / 200) as usize];
        r.at(
            3_000_000 + k * 3_333,
            &tcp((ATK_MAC, ATK, 61000), (m, a, port), 7, "S", b""),
        );
    }
    for i in 0..3000i64 {
        let (m, a) = host(i % 60);
        let id = (i as u16).to_be_bytes();
        let mut q = vec![
            id[0], id[1], 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, b'w', b'w', b'w', 0, 0, 1, 0, 1,
        ];
        r.at(
            10_000_000 + i * 1_000,
            &udp(
                (m, a, 40000 + (i % 60) as u16),
                (GW_MAC, [9, 9, 9, 9], 53),
                &q,
            ),
        );
        q[2] = 0x81;
        q[3] = 0x80;
        q.resize(400, 0);
        r.at(
            10_000_000 + i * 1_000 + 300,
            &udp(
                (GW_MAC, [9, 9, 9, 9], 53),
                (m, a, 40000 + (i % 60) as u16),
                &q,
            ),
        );
    }
    let a = r.timed_alerts();
    assert!(
        a.iter()
            .all(|(_, a)| !a.signature.ends_with("carpet-bombing")),
        "{:?}",
        dos(&a)
    );
}

/// A UDP carpet and then a SYN carpet from the same sender (lab run
/// floods4-72: the second was swallowed as the first's incident).
/// nmap `-sS -T4` of a busy home /24: the top 1 000 ports of 20 live
/// hosts at once, about 3 000 SYNs a second, each host answering RST. Every
/// address gets many SYNs and no handshake, but over hundreds of ports
/// with small packets: a scan (recon's), not a SYN carpet.
#[test]
fn a_port_scan_of_many_hosts_is_not_carpet_bombing() {
    let mut r = lan(None);
    for i in 0..9000i64 {
        let (m, a) = host(i % 20);
        let port = (i / 20 % 1000 + 1) as u16;
        let t = 1_000_000 + i * 333;
        r.at(t, &tcp((ATK_MAC, ATK, 61000), (m, a, port), 7, "S", b""));
        r.at(
            t + 50,
            &tcp((m, a, port), (ATK_MAC, ATK, 61000), 0, "RA", b""),
        );
    }
    let a = r.timed_alerts();
    let d = dos(&a);
    assert!(d.is_empty(), "{d:?}");
}

/// A UDP carpet with small payloads (the lab's hping3 `-d 200`) on a
/// busy LAN: the LAN's own connections to a dozen service ports add many
/// ports to the network's second, but the flood's port is the majority,
/// so it is no scan.
#[test]
fn a_carpet_on_a_busy_lan_is_found_among_its_other_ports() {
    let mut r = lan(None);
    let mut g = Rng(37);
    let services = [
        80u16, 443, 8080, 8009, 1400, 554, 1883, 8443, 22, 5000, 49152, 9000,
    ];
    for i in 0..9000i64 {
        let t = 1_000_000 + i * 333;
        let (m, a) = host(i % 150);
        let sp = 1024 + (g.next() % 60000) as u16;
        r.at(t, &udp((ATK_MAC, ATK, sp), (m, a, 9999), &[0x61; 200]));
        if i % 30 == 0 {
            let (m, a) = host(i / 30 % 20);
            let port = services[(i / 30) as usize % services.len()];
            handshake(
                &mut r,
                t + 100,
                (PHONE_MAC, PHONE, 20000 + (i / 30) as u16),
                (m, a, port),
            );
        }
    }
    let a = r.timed_alerts();
    assert!(
        a.iter().any(|(_, a)| a.signature == "udp-carpet-bombing"),
        "{:?}",
        dos(&a)
    );
}

#[test]
fn two_kinds_of_carpet_from_one_sender_are_two_incidents() {
    let mut r = lan(None);
    let mut g = Rng(31);
    for i in 0..6000i64 {
        let (m, a) = host(i % 150);
        let sp = 1024 + (g.next() % 60000) as u16;
        r.at(
            1_000_000 + i * 333,
            &udp((ATK_MAC, ATK, sp), (m, a, 9999), &[0; 200]),
        );
    }
    for i in 0..6000i64 {
        let (m, a) = host(i % 150);
        let sp = 1024 + (g.next() % 60000) as u16;
        r.at(
            20_000_000 + i * 333,
            &tcp((ATK_MAC, ATK, sp), (m, a, 80), 1, "S", b""),
        );
    }
    let a = r.timed_alerts();
    let sigs: Vec<&str> = a
        .iter()
        .map(|(_, a)| a.signature.as_str())
        .filter(|s| s.ends_with("carpet-bombing"))
        .collect();
    assert_eq!(
        sigs,
        ["udp-carpet-bombing", "tcp-syn-carpet-bombing"],
        "{:?}",
        dos(&a)
    );
}
