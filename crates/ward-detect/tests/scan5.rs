//! Regression tests for the fifth session's scanners (issue #5 "generalise",
//! lab `lib/scan5.sh`, run scan5-81): each rebuilds in code the frame shape
//! of a tool the lab had not produced before — zmap's one-probe-per-address
//! sweep (IP id 54321, TTL 255, every frame to the gateway's MAC), hping3's
//! `--scan` mode, nmap `-6` against a link-local address, an ICMPv6 echo
//! sweep, an infected device's horizontal scan of outside addresses on IoT
//! ports, and nmap's idle scan — next to a benign look-alike that must stay
//! quiet.

use etherparse::PacketBuilder;
use std::net::{IpAddr, Ipv6Addr};
use ward_core::{Alert, AlertCategory};

mod common;
use common::lan50::{ATK, ATK_MAC, CAM, CAM_MAC, GW_MAC, PHONE, PHONE_MAC};
use common::{ip, ipv4, mirai_scan_targets, tcp, udp, End, Mac, Run, V4};

const S: i64 = 1_000_000;
const DVR_MAC: Mac = [0xbc, 0x32, 0x5f, 0x00, 0x00, 0x50];
const DVR: V4 = [192, 168, 50, 152];
const PLUG_MAC: Mac = [0x50, 0xc7, 0xbf, 0x00, 0x00, 0x51];
const PLUG: V4 = [192, 168, 50, 151];

fn find<'a>(a: &'a [Alert], sig: &str) -> &'a Alert {
    a.iter()
        .find(|a| a.signature == sig)
        .unwrap_or_else(|| panic!("no {sig} in {a:?}"))
}

fn quiet(a: &[Alert]) {
    assert!(
        a.iter()
            .all(|a| !matches!(a.category, AlertCategory::Recon | AlertCategory::Botnet)),
        "{a:?}"
    );
}

/// A bare SYN as zmap's tcp_synscan and Mirai's scanner build it: no
/// options, the given IP id, TTL and window.
fn raw_syn(src: End, dst: End, seq: u32, id: u16, ttl: u8, window: u16) -> Vec<u8> {
    let mut seg = Vec::with_capacity(20);
    seg.extend_from_slice(&src.2.to_be_bytes());
    seg.extend_from_slice(&dst.2.to_be_bytes());
    seg.extend_from_slice(&seq.to_be_bytes());
    seg.extend_from_slice(&[0, 0, 0, 0, 0x50, 0x02]);
    seg.extend_from_slice(&window.to_be_bytes());
    seg.extend_from_slice(&[0, 0, 0, 0]);
    ipv4((src.0, src.1), (dst.0, dst.1), 6, ttl, 0, id, &seg)
}

/// zmap -p 23 of the /24: one SYN per address, in a random order, IP id
/// 54321, TTL 255, every frame to the gateway's MAC (whatever the address);
/// the few devices with telnet answer, the rest reset.
#[test]
fn a_zmap_sweep_of_the_lan_is_a_host_sweep() {
    let mut r = Run::new();
    for i in 0..254u32 {
        let host = (i * 97 % 254 + 1) as u8;
        let t = i64::from(i) * 10_000;
        let dst = [192, 168, 50, host];
        r.at(
            t,
            &raw_syn(
                (ATK_MAC, ATK, 33000),
                (GW_MAC, dst, 23),
                0x1234_5678 ^ i,
                54321,
                255,
                65535,
            ),
        );
        if host.is_multiple_of(40) {
            r.at(
                t + 300,
                &tcp((GW_MAC, dst, 23), (ATK_MAC, ATK, 33000), 0, "RA", b""),
            );
        }
    }
    let a = r.alerts();
    let s = find(&a, "tcp-host-sweep");
    assert_eq!(s.attacker, Some(ip(ATK)), "{s:?}");
    assert_eq!(s.category, AlertCategory::Recon);
    assert!(s.summary.contains("addresses of your network"), "{s:?}");
}

/// The look-alike: a phone opening connections to six neighbours' web UIs
/// (an app discovering its devices), every one answered.
#[test]
fn a_phone_talking_to_a_few_neighbours_is_no_sweep() {
    let mut r = Run::new();
    for h in 0..6u8 {
        let dst = (CAM_MAC, [192, 168, 50, 100 + h], 80);
        let t = i64::from(h) * 200_000;
        r.at(
            t,
            &tcp((PHONE_MAC, PHONE, 40000 + u16::from(h)), dst, 1, "S", b""),
        );
        r.at(
            t + 500,
            &tcp(dst, (PHONE_MAC, PHONE, 40000 + u16::from(h)), 9, "SA", b""),
        );
        r.at(
            t + 900,
            &tcp((PHONE_MAC, PHONE, 40000 + u16::from(h)), dst, 2, "A", b""),
        );
    }
    quiet(&r.alerts());
}

/// hping3 --scan 1-1000 -S: one SYN per port from one fixed source port,
/// all 1 000 in 50 ms; closed ports reset.
#[test]
fn hping3_scan_mode_is_a_port_scan() {
    let mut r = Run::new();
    for p in 1..=1000u16 {
        let t = i64::from(p) * 50;
        r.at(
            t,
            &raw_syn((ATK_MAC, ATK, 1384), (CAM_MAC, CAM, p), 7, p, 64, 512),
        );
        if !matches!(p, 22 | 80 | 554) {
            r.at(
                t + 20,
                &tcp((CAM_MAC, CAM, p), (ATK_MAC, ATK, 1384), 0, "RA", b""),
            );
        }
    }
    let a = r.alerts();
    let s = find(&a, "tcp-port-scan");
    assert_eq!(s.attacker, Some(ip(ATK)), "{s:?}");
    assert_eq!(s.victims, vec![ip(CAM)], "{s:?}");
}

fn ll(mac: Mac) -> Ipv6Addr {
    Ipv6Addr::new(
        0xfe80,
        0,
        0,
        0,
        u16::from_be_bytes([mac[0] ^ 2, mac[1]]),
        u16::from_be_bytes([mac[2], 0xff]),
        u16::from_be_bytes([0xfe, mac[3]]),
        u16::from_be_bytes([mac[4], mac[5]]),
    )
}

fn tcp6(
    smac: Mac,
    src: Ipv6Addr,
    sport: u16,
    dmac: Mac,
    dst: Ipv6Addr,
    dport: u16,
    flags: &str,
) -> Vec<u8> {
    let mut b = PacketBuilder::ethernet2(smac, dmac)
        .ipv6(src.octets(), dst.octets(), 64)
        .tcp(sport, dport, 1, 1024);
    for f in flags.chars() {
        b = match f {
            'S' => b.syn(),
            'A' => b.ack(1),
            'R' => b.rst(),
            _ => b,
        };
    }
    let mut out = Vec::new();
    b.write(&mut out, b"").unwrap();
    out
}

fn echo6(smac: Mac, src: Ipv6Addr, dmac: Mac, dst: Ipv6Addr, seq: u16) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(smac, dmac)
        .ipv6(src.octets(), dst.octets(), 64)
        .icmpv6_echo_request(7, seq)
        .write(&mut out, &[0u8; 56])
        .unwrap();
    out
}

/// nmap -6 -sS of a device's link-local address: 1 024 SYNs, resets back.
#[test]
fn an_ipv6_syn_scan_of_a_link_local_address_is_a_port_scan() {
    let (atk, cam) = (ll(ATK_MAC), ll(CAM_MAC));
    let mut r = Run::new();
    for p in 1..=1024u16 {
        let t = i64::from(p) * 150;
        r.at(t, &tcp6(ATK_MAC, atk, 50000, CAM_MAC, cam, p, "S"));
        if !matches!(p, 22 | 80) {
            r.at(t + 30, &tcp6(CAM_MAC, cam, p, ATK_MAC, atk, 50000, "RA"));
        }
    }
    let a = r.alerts();
    let s = find(&a, "tcp-port-scan");
    assert_eq!(s.attacker, Some(IpAddr::V6(atk)), "{s:?}");
    assert_eq!(s.victims, vec![IpAddr::V6(cam)], "{s:?}");
}

/// ping6 to ff02::1, then one echo to each of ten devices' link-local
/// addresses (the neighbours that answered): an ICMPv6 ping sweep. The
/// look-alike, a phone pinging all-nodes alone (as network apps do), stays
/// quiet: multicast is no host.
#[test]
fn an_icmpv6_echo_sweep_is_a_ping_sweep_and_all_nodes_alone_is_not() {
    let atk = ll(ATK_MAC);
    let all = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
    let mcast = [0x33, 0x33, 0, 0, 0, 1];
    let mut r = Run::new();
    for i in 0..3u16 {
        r.at(i64::from(i) * S / 2, &echo6(ATK_MAC, atk, mcast, all, i));
    }
    for h in 0..10u8 {
        let mac = [0x02, 0, 0, 0, 0, h + 1];
        r.at(
            2 * S + i64::from(h) * 50_000,
            &echo6(ATK_MAC, atk, mac, ll(mac), 10 + u16::from(h)),
        );
    }
    let a = r.alerts();
    let s = find(&a, "icmp-ping-sweep");
    assert_eq!(s.attacker, Some(IpAddr::V6(atk)), "{s:?}");

    let phone = ll(PHONE_MAC);
    let mut r = Run::new();
    for i in 0..20u16 {
        r.at(
            i64::from(i) * S / 2,
            &echo6(PHONE_MAC, phone, mcast, all, i),
        );
    }
    quiet(&r.alerts());
}

/// The infected DVR's horizontal scan (IoT-23's "PartOfAHorizontalPortScan",
/// lab/py/hscan5.py): one bare SYN per random outside address on IoT ports,
/// the sequence number the destination address (Mirai's scanner), every
/// frame to the gateway's MAC, 100 a second; nothing answers.
#[test]
fn an_infected_device_scanning_outside_addresses_is_named() {
    let mut r = Run::new();
    for (i, (x, dst, port)) in (0i64..).zip(mirai_scan_targets(600)) {
        let t = i * 10_000;
        r.at(
            t,
            &raw_syn(
                (DVR_MAC, DVR, 41000),
                (GW_MAC, dst.to_be_bytes(), port),
                dst,
                x as u16,
                64,
                (x >> 3) as u16,
            ),
        );
    }
    let a = r.alerts();
    let s = find(&a, "tcp-host-sweep");
    assert_eq!(s.attacker, Some(ip(DVR)), "{s:?}");
    // It sweeps the internet, not the LAN (the summary said "of your
    // network" before scan5-81).
    assert!(s.summary.contains("addresses on the internet"), "{s:?}");
    assert!(
        a.iter()
            .any(|a| a.category == AlertCategory::Botnet && a.attacker == Some(ip(DVR))),
        "{a:?}"
    );
}

/// The look-alike: a smart plug's cloud client reaching eight outside
/// servers on 443 and 8883 over a minute, every connection answered.
#[test]
fn a_device_reaching_its_cloud_servers_is_no_scan() {
    let mut r = Run::new();
    for i in 0..8u8 {
        let srv = (
            GW_MAC,
            [203, 0, 113, 10 + i],
            if i % 2 == 0 { 443 } else { 8883 },
        );
        let me = (PLUG_MAC, PLUG, 50000 + u16::from(i));
        let t = i64::from(i) * 7 * S;
        r.at(t, &tcp(me, srv, 1, "S", b""));
        r.at(t + 30_000, &tcp(srv, me, 9, "SA", b""));
        r.at(t + 30_100, &tcp(me, srv, 2, "A", b""));
    }
    quiet(&r.alerts());
}

/// nmap -sI PLUG DVR -p 1-100, as it runs with a zombie whose IP id counts
/// up (the lab's Linux devices answer with id 0, so nmap quits after its
/// zombie test; this is the shape a usable zombie gives): SYN/ACK probes
/// from the attacker to the zombie, and SYNs to the victim whose source is
/// the zombie's address but whose frames come from the attacker's MAC; the
/// victim resets to the zombie.
fn idle_scan(r: &mut Run) {
    let (atk, plug) = ((ATK_MAC, ATK, 60000), (PLUG_MAC, PLUG, 80));
    for i in 0..6i64 {
        r.at(i * 30_000, &tcp(atk, plug, 1, "SA", b""));
        r.at(i * 30_000 + 200, &tcp(plug, atk, 0, "R", b""));
    }
    for p in 1..=100u16 {
        let t = S + i64::from(p) * 40_000;
        r.at(t, &tcp((ATK_MAC, PLUG, 80), (DVR_MAC, DVR, p), 5, "S", b""));
        if !matches!(p, 23 | 80) {
            r.at(
                t + 300,
                &tcp((DVR_MAC, DVR, p), (PLUG_MAC, PLUG, 80), 0, "RA", b""),
            );
        }
        r.at(t + 10_000, &tcp(atk, plug, 1, "SA", b""));
        r.at(t + 10_200, &tcp(plug, atk, 0, "R", b""));
    }
}

/// The SYNs carry the zombie's address, but come from the NIC of the
/// attacker, which probes the zombie with SYN/ACKs: the scan is the
/// attacker's (it was blamed on the zombie before). The sending MAC alone
/// does not decide it: see `relayed_answered_connections_are_no_scan`.
#[test]
fn an_idle_scan_is_blamed_on_the_attacker_not_the_zombie() {
    let mut r = Run::new();
    idle_scan(&mut r);
    let a = r.alerts();
    let s = find(&a, "tcp-port-scan");
    assert_eq!(s.attacker, Some(ip(ATK)), "{s:?}");
    assert!(a.iter().all(|a| a.attacker != Some(ip(PLUG))), "{a:?}");
}

/// The look-alike of a sender's MAC carrying another device's address: an
/// ARP-poisoning machine relaying the phone's connections (answered ones)
/// to fifteen neighbours is not made a scanner by the relaying.
#[test]
fn relayed_answered_connections_are_no_scan() {
    let mut r = Run::new();
    r.at(
        0,
        &tcp((PHONE_MAC, PHONE, 39999), (CAM_MAC, CAM, 80), 1, "S", b""),
    );
    r.at(
        300,
        &tcp((CAM_MAC, CAM, 80), (PHONE_MAC, PHONE, 39999), 9, "SA", b""),
    );
    r.at(
        500,
        &tcp((ATK_MAC, ATK, 45000), (CAM_MAC, CAM, 80), 1, "S", b""),
    );
    r.at(
        800,
        &tcp((CAM_MAC, CAM, 80), (ATK_MAC, ATK, 45000), 9, "SA", b""),
    );
    for h in 0..15u8 {
        let dst = (CAM_MAC, [192, 168, 50, 60 + h], 443);
        let me = (ATK_MAC, PHONE, 41000 + u16::from(h));
        let t = S + i64::from(h) * 300_000;
        r.at(t, &tcp(me, dst, 1, "S", b""));
        r.at(
            t + 500,
            &tcp(dst, (PHONE_MAC, PHONE, 41000 + u16::from(h)), 9, "SA", b""),
        );
        r.at(t + 900, &tcp(me, dst, 2, "A", b""));
    }
    quiet(&r.alerts());
}

/// The zombie test is evidence for the attacker's window only: an
/// attacker's SYN/ACKs to the plug five minutes earlier (nmap gave up on
/// the zombie) do not make SYNs with the plug's address that its NIC relays
/// later the attacker's. The 20 relayed, reset SYNs (exactly the vertical
/// threshold) are counted whole for the address they carry; the first of
/// them went to the attacker's long-expired window before.
#[test]
fn a_zombie_test_minutes_ago_claims_no_later_probe() {
    let (atk, plug) = ((ATK_MAC, ATK, 60000), (PLUG_MAC, PLUG, 80));
    let mut r = Run::new();
    for i in 0..6i64 {
        r.at(i * 30_000, &tcp(atk, plug, 1, "SA", b""));
        r.at(i * 30_000 + 200, &tcp(plug, atk, 0, "R", b""));
    }
    // The plug goes on using its address (so it stays the plug's).
    let t0 = 300 * S;
    r.at(
        t0 - S,
        &udp(
            (PLUG_MAC, PLUG, 50000),
            (GW_MAC, [192, 168, 50, 1], 53),
            b"q",
        ),
    );
    for p in 1..=20u16 {
        let t = t0 + i64::from(p) * 40_000;
        r.at(t, &tcp((ATK_MAC, PLUG, 81), (DVR_MAC, DVR, p), 5, "S", b""));
        r.at(
            t + 300,
            &tcp((DVR_MAC, DVR, p), (PLUG_MAC, PLUG, 81), 0, "RA", b""),
        );
    }
    let a = r.alerts();
    let s = find(&a, "tcp-port-scan");
    assert_eq!(s.attacker, Some(ip(PLUG)), "{s:?}");
    assert!(a.iter().all(|a| a.attacker != Some(ip(ATK))), "{a:?}");
}
