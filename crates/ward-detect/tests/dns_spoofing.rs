//! The `dns-spoofing` signature on the shapes real homes produce: a client
//! that asks two resolvers with one query id (glibc, Android and Windows
//! fall back to the next configured server after a timeout, some ask all at
//! once) hears two genuine answers naming different CDN addresses, which is
//! no attack; a forger answering in the name of the resolver the client
//! asked (the lab's `lanattack.py dns-spoof`, or from beyond the router) is.

use ward_core::{Alert, MacAddr, Timestamp};

mod common;
use common::{arp_request, ip, udp, End, Mac, Run, V4};

const ATK_MAC: Mac = [0x02, 0x42, 0xac, 0x11, 0x00, 0x66];
const GW_MAC: Mac = [0x04, 0x18, 0xd6, 0x00, 0x00, 0x01];
const PIHOLE_MAC: Mac = [0xb8, 0x27, 0xeb, 0x00, 0x00, 0x02];
const PHONE_MAC: Mac = [0xf0, 0x18, 0x98, 0x00, 0x00, 0x30];
const ATK: V4 = [192, 168, 1, 66];
const GW: V4 = [192, 168, 1, 1];
const PIHOLE: V4 = [192, 168, 1, 2];
const PHONE: V4 = [192, 168, 1, 30];
const GOOGLE: V4 = [8, 8, 8, 8];
const NAME: &str = "www.netflix.com";

/// A DNS message (RFC 1035 s4.1) with one question `name` type A: a query
/// when `answers` is empty, else a response with those A records.
fn dns(id: u16, name: &str, answers: &[V4]) -> Vec<u8> {
    let flags: u16 = if answers.is_empty() { 0x0100 } else { 0x8180 };
    let mut p = Vec::new();
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&flags.to_be_bytes());
    p.extend_from_slice(&1u16.to_be_bytes());
    p.extend_from_slice(&(answers.len() as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 0]);
    for label in name.split('.') {
        p.push(label.len() as u8);
        p.extend_from_slice(label.as_bytes());
    }
    p.extend_from_slice(&[0, 0, 1, 0, 1]);
    for a in answers {
        p.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
        p.extend_from_slice(a);
    }
    p
}

/// A home LAN: router, Pi-hole, phone and (idle) attacker introduce
/// themselves by ARP.
fn lan() -> Run {
    let mut r = Run::new();
    for (i, (m, a)) in [
        (GW_MAC, GW),
        (PIHOLE_MAC, PIHOLE),
        (PHONE_MAC, PHONE),
        (ATK_MAC, ATK),
    ]
    .iter()
    .enumerate()
    {
        r.at(i as i64, &arp_request(*m, *a, GW));
    }
    r
}

const CLIENT: End = (PHONE_MAC, PHONE, 45000);

/// The phone's query with id `id` to the resolver at `(mac, addr)`.
fn ask(r: &mut Run, t: i64, id: u16, resolver: (Mac, V4)) {
    r.at(
        t,
        &udp(CLIENT, (resolver.0, resolver.1, 53), &dns(id, NAME, &[])),
    );
}

/// An answer to the phone sent by the frame source `mac` under `addr`.
fn answer(r: &mut Run, t: i64, id: u16, mac: Mac, addr: V4, addrs: &[V4]) {
    r.at(t, &udp((mac, addr, 53), CLIENT, &dns(id, NAME, addrs)));
}

/// Whether the alert names the attacker's NIC (its address unknown when it
/// never announced one).
fn names_attacker_mac(a: &Alert) -> bool {
    a.devices.contains(&MacAddr(ATK_MAC).to_string())
}

fn spoofing(a: &[(Timestamp, Alert)]) -> Vec<&Alert> {
    a.iter()
        .map(|(_, a)| a)
        .filter(|a| a.signature == "dns-spoofing")
        .collect()
}

/// Two resolvers, each answering from its own MAC (the router for its LAN
/// address, the router again for 8.8.8.8 beyond it; the Pi-hole for its
/// own), with different CDN addresses, in either order, asked at once or
/// after a timeout: no alert.
#[test]
fn a_client_asking_two_resolvers_is_quiet() {
    let router = (GW_MAC, GW);
    let second = [
        ("8.8.8.8", (GW_MAC, GOOGLE)),
        ("pi-hole", (PIHOLE_MAC, PIHOLE)),
    ];
    for (what, other) in second {
        for router_first in [true, false] {
            for retry_after in [0, 4_000_000] {
                let mut r = lan();
                let (a, b) = if router_first {
                    (router, other)
                } else {
                    (other, router)
                };
                ask(&mut r, 1_000_000, 4242, a);
                ask(&mut r, 1_000_000 + retry_after, 4242, b);
                let t = 1_000_000 + retry_after;
                answer(&mut r, t + 20_000, 4242, a.0, a.1, &[[198, 38, 120, 130]]);
                answer(
                    &mut r,
                    t + 35_000,
                    4242,
                    b.0,
                    b.1,
                    &[[54, 246, 79, 9], [52, 38, 7, 83]],
                );
                let alerts = r.timed_alerts();
                assert!(
                    alerts.is_empty(),
                    "{what}, router first: {router_first}, retry after {retry_after} us: {alerts:?}"
                );
            }
        }
    }
}

/// The lab's forger: a LAN host answers under the router's address before
/// (or after) the router does. Named by its MAC, in either order.
#[test]
fn a_lan_host_answering_for_the_router_is_named() {
    for forged_first in [true, false] {
        let mut r = lan();
        ask(&mut r, 1_000_000, 77, (GW_MAC, GW));
        let (t_forged, t_real) = if forged_first {
            (1_000_300, 1_000_600)
        } else {
            (1_000_600, 1_000_300)
        };
        answer(&mut r, t_forged, 77, ATK_MAC, GW, &[ATK]);
        answer(&mut r, t_real, 77, GW_MAC, GW, &[[203, 0, 113, 22]]);
        let a = r.timed_alerts();
        let s = spoofing(&a);
        assert_eq!(s.len(), 1, "forged first: {forged_first}: {a:?}");
        assert_eq!(s[0].attacker, Some(ip(ATK)), "forged first: {forged_first}");
        assert_eq!(s[0].victims, vec![ip(PHONE)]);
        assert_eq!(
            s[0].evidence["evidence"], "sender-does-not-own-address",
            "{:?}",
            s[0].evidence
        );
    }
}

/// With no ARP seen for the router (the capture began later), nothing shows
/// who owns its address; two different answers under it still alert, and
/// the forger, which must win the race, is named by its MAC.
#[test]
fn two_answers_under_one_unbound_address_alert() {
    let mut r = Run::new();
    ask(&mut r, 1_000_000, 78, (GW_MAC, GW));
    answer(&mut r, 1_000_300, 78, ATK_MAC, GW, &[ATK]);
    answer(&mut r, 1_000_600, 78, GW_MAC, GW, &[[203, 0, 113, 22]]);
    let a = r.timed_alerts();
    let s = spoofing(&a);
    assert_eq!(s.len(), 1, "{a:?}");
    assert!(names_attacker_mac(s[0]), "{:?}", s[0]);
}

/// A forger answering for the public resolver from a LAN MAC while the
/// phone also asked the router: the two answers have different sources,
/// but the forged one's MAC is not the router's, through which 8.8.8.8
/// answers. Still found.
#[test]
fn a_lan_host_answering_for_a_remote_resolver_is_named() {
    let mut r = lan();
    ask(&mut r, 1_000_000, 91, (GW_MAC, GW));
    ask(&mut r, 1_000_100, 91, (GW_MAC, GOOGLE));
    answer(&mut r, 1_000_300, 91, GW_MAC, GW, &[[203, 0, 113, 22]]);
    answer(&mut r, 1_000_400, 91, ATK_MAC, GOOGLE, &[ATK]);
    let a = r.timed_alerts();
    let s = spoofing(&a);
    assert_eq!(s.len(), 1, "{a:?}");
    assert_eq!(s[0].attacker, Some(ip(ATK)));
}

/// The forged answer, the second resolver's, then the real one: the forged
/// answer is still compared with the real one it contradicts.
#[test]
fn a_second_resolver_answering_in_between_does_not_hide_the_forger() {
    let mut r = Run::new();
    // No ARP: only the one-resolver shape can tell.
    ask(&mut r, 1_000_000, 5, (GW_MAC, GW));
    ask(&mut r, 1_000_010, 5, (PIHOLE_MAC, PIHOLE));
    answer(&mut r, 1_000_200, 5, ATK_MAC, GW, &[ATK]);
    answer(
        &mut r,
        1_000_300,
        5,
        PIHOLE_MAC,
        PIHOLE,
        &[[54, 246, 79, 9]],
    );
    answer(&mut r, 1_000_500, 5, GW_MAC, GW, &[[203, 0, 113, 22]]);
    let a = r.timed_alerts();
    let s = spoofing(&a);
    assert_eq!(s.len(), 1, "{a:?}");
    assert!(names_attacker_mac(s[0]), "{:?}", s[0]);
}

/// An off-path forger racing 8.8.8.8: both answers come through the
/// router's MAC under 8.8.8.8's address. A resolver answers once, so this is
/// an alert, and the router, which only forwarded both, is not blamed.
#[test]
fn two_answers_from_a_remote_resolver_alert_without_blaming_the_router() {
    for forged_first in [true, false] {
        let mut r = lan();
        ask(&mut r, 1_000_000, 300, (GW_MAC, GOOGLE));
        let forged = [[198, 51, 100, 66]];
        let real = [[54, 246, 79, 9], [52, 38, 7, 83]];
        let (a, b) = if forged_first {
            (&forged[..], &real[..])
        } else {
            (&real[..], &forged[..])
        };
        answer(&mut r, 1_010_000, 300, GW_MAC, GOOGLE, a);
        answer(&mut r, 1_030_000, 300, GW_MAC, GOOGLE, b);
        let alerts = r.timed_alerts();
        let s = spoofing(&alerts);
        assert_eq!(s.len(), 1, "{alerts:?}");
        assert_eq!(s[0].attacker, None, "the router is not the forger");
        assert_eq!(
            s[0].evidence["evidence"], "one-resolver-answered-twice-through-one-mac",
            "{:?}",
            s[0].evidence
        );
        assert!(
            !s[0].devices.contains(&MacAddr(GW_MAC).to_string()),
            "{:?}",
            s[0]
        );
        assert_eq!(s[0].victims, vec![ip(PHONE)]);
        assert!(s[0].summary.contains("8.8.8.8"), "{}", s[0].summary);
    }
}

/// A resolver rotating a long record set answers a retransmitted query
/// with other first addresses: both answers carry more addresses than are
/// compared, so they are no race.
#[test]
fn a_rotated_long_record_set_is_quiet() {
    let pool: Vec<V4> = (1..=8).map(|i| [203, 0, 113, i]).collect();
    let mut rotated = pool.clone();
    rotated.rotate_left(4);
    let mut r = lan();
    ask(&mut r, 1_000_000, 600, (GW_MAC, GW));
    answer(&mut r, 1_020_000, 600, GW_MAC, GW, &pool);
    ask(&mut r, 2_000_000, 600, (GW_MAC, GW));
    answer(&mut r, 2_001_000, 600, GW_MAC, GW, &rotated);
    let a = r.timed_alerts();
    assert!(a.is_empty(), "{a:?}");
}
