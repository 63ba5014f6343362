use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use super::*;
use crate::decode::{decode, linktype};
use crate::testutil::*;

const T0: i64 = 1_700_000_000_000_000;

/// A xorshift64 stream from a non-zero `state`: each call gives a number
/// below `n` (the random tests' only source, so a failing seed replays).
fn xorshift(mut state: u64) -> impl FnMut(u64) -> u64 {
    move |n| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    }
}

fn observe(t: &mut DeviceTable, frame: &[u8], lt: u32) -> (Option<DeviceId>, Option<DeviceId>) {
    let p = decode(Timestamp(T0), lt, frame, frame.len() as u32);
    t.observe(&p)
}

#[test]
fn devices_are_keyed_by_mac_with_their_local_addresses() {
    let mut t = DeviceTable::new(DeviceConfig::default(), 1);
    let f = udp((MAC_A, IP_A, 1000), (MAC_B, IP_B, 53), b"x");
    let (src, dst) = observe(&mut t, &f, linktype::ETHERNET);
    let id = src.unwrap();
    assert_eq!(dst, None, "receivers are not created from destination MACs");
    let d = t.get(id).unwrap();
    assert_eq!(d.mac(), Some(MacAddr(MAC_A)));
    assert_eq!(d.ips, vec![IpAddr::V4(Ipv4Addr::from(IP_A))]);
    assert_eq!(d.vendor, ward_oui::lookup(MAC_A));
    assert_eq!(t.find_ip(IpAddr::V4(Ipv4Addr::from(IP_A))), Some(id));
    assert_eq!(t.take_changed(), vec![id]);
    assert!(t.take_changed().is_empty());
}

#[test]
fn a_router_does_not_collect_the_internet_addresses_it_forwards() {
    let mut t = DeviceTable::new(DeviceConfig::default(), 1);
    for i in 0..50u8 {
        let f = udp((MAC_B, [93, 184, 0, i], 443), (MAC_A, IP_A, 5000), b"x");
        observe(&mut t, &f, linktype::ETHERNET);
    }
    let id = t.find(DeviceKey::Mac(MacAddr(MAC_B))).unwrap();
    assert!(t.get(id).unwrap().ips.is_empty());
}

#[test]
fn layer3_only_captures_key_local_addresses_and_skip_remote_ones() {
    let mut t = DeviceTable::new(DeviceConfig::default(), 1);
    let f = udp((MAC_A, IP_A, 1000), (MAC_B, [8, 8, 8, 8], 53), b"x");
    let (src, _) = observe(&mut t, &f[14..], linktype::RAW);
    assert!(src.is_some());
    let g = udp((MAC_A, [8, 8, 8, 8], 53), (MAC_B, IP_A, 1000), b"x");
    let (src, dst) = observe(&mut t, &g[14..], linktype::RAW);
    assert_eq!(src, None);
    assert!(dst.is_some(), "the local receiver is found by address");
    assert_eq!(t.len(), 1);
}

#[test]
fn spoofed_mac_flood_keeps_the_inventory_bounded() {
    let cfg = DeviceConfig {
        max_devices: 50,
        ..DeviceConfig::default()
    };
    let mut t = DeviceTable::new(cfg, 9);
    for i in 0..5000u32 {
        let mac = [0x02, 0, (i >> 16) as u8, (i >> 8) as u8, i as u8, 1];
        let f = udp(
            (mac, [10, 0, (i >> 8) as u8, i as u8], 1),
            (MAC_B, IP_B, 2),
            b"",
        );
        observe(&mut t, &f, linktype::ETHERNET);
        assert!(t.len() <= 50);
    }
    assert_eq!(t.counters.evicted, 5000 - 50);
    assert!(t.iter().count() <= 50);
}

fn observe_at(
    t: &mut DeviceTable,
    secs: i64,
    frame: &[u8],
) -> (Option<DeviceId>, Option<DeviceId>) {
    let p = decode(
        Timestamp(T0 + secs * 1_000_000),
        linktype::ETHERNET,
        frame,
        frame.len() as u32,
    );
    t.observe(&p)
}

#[test]
fn a_forged_source_does_not_take_an_address_its_owner_uses() {
    let mut t = DeviceTable::new(DeviceConfig::default(), 1);
    let ip = IpAddr::V4(Ipv4Addr::from(IP_A));
    let (a, _) = observe_at(&mut t, 0, &udp((MAC_A, IP_A, 1), (MAC_B, IP_B, 2), b""));
    // Another NIC sends with A's address (ARP poisoning, a spoofed flood):
    // the address keeps naming A while A keeps using it.
    for s in 1..=600 {
        let (b, _) = observe_at(&mut t, s, &udp((MAC_B, IP_A, 1), (MAC_A, IP_B, 2), b""));
        assert!(b.is_some() && b != a);
        if s % 100 == 0 {
            observe_at(&mut t, s, &udp((MAC_A, IP_A, 1), (MAC_B, IP_B, 2), b""));
        }
        assert_eq!(t.find_ip(ip), a, "at {s} s");
    }
    assert_eq!(t.get(a.unwrap()).unwrap().ips, vec![ip]);
}

#[test]
fn an_address_its_owner_stopped_using_moves_and_is_forgotten() {
    let mut t = DeviceTable::new(DeviceConfig::default(), 1);
    let ip = IpAddr::V4(Ipv4Addr::from(IP_A));
    let (a, _) = observe_at(&mut t, 0, &udp((MAC_A, IP_A, 1), (MAC_B, IP_B, 2), b""));
    let new = udp((MAC_B, IP_A, 1), (MAC_A, IP_B, 2), b"");
    let (b, _) = observe_at(&mut t, ADDRESS_HOLD_SECS - 1, &new);
    assert_eq!(t.find_ip(ip), a, "still held");
    observe_at(&mut t, ADDRESS_HOLD_SECS, &new);
    assert_eq!(t.find_ip(ip), b);
    assert!(t.get(a.unwrap()).unwrap().ips.is_empty());
}

#[test]
fn a_dhcp_assignment_moves_an_address_at_once() {
    let mut t = DeviceTable::new(DeviceConfig::default(), 1);
    let ip = IpAddr::V4(Ipv4Addr::from(IP_A));
    let (a, _) = observe_at(&mut t, 0, &udp((MAC_A, IP_A, 1), (MAC_B, IP_B, 2), b""));
    let (b, _) = observe_at(&mut t, 1, &udp((MAC_B, IP_B, 1), (MAC_A, IP_A, 2), b""));
    t.bind_ip(b.unwrap(), ip, Timestamp(T0 + 2_000_000), Claim::Assigned);
    assert_eq!(t.find_ip(ip), b);
    assert!(t.get(a.unwrap()).unwrap().ips.is_empty());
}

#[test]
fn hostnames_come_first_seen_first_and_values_are_bounded() {
    let mut t = DeviceTable::new(DeviceConfig::default(), 1);
    let (a, _) = observe(&mut t, &udp((MAC_A, IP_A, 1), (MAC_B, IP_B, 2), b""), 1);
    let a = a.unwrap();
    t.take_changed();
    t.add_hint(a, HintKind::Hostname, "living-room-cam\n");
    t.add_hint(a, HintKind::Hostname, "other-name");
    t.add_hint(a, HintKind::HttpUserAgent, &"x".repeat(5000));
    let d = t.get(a).unwrap();
    assert_eq!(d.hostname(), Some("living-room-cam"));
    assert_eq!(d.hostnames.len(), 2);
    assert!(d.evidence.iter().all(|(_, v)| v.len() <= 256));
    assert_eq!(
        t.take_changed(),
        vec![a],
        "a first name is an identity change"
    );
}

#[test]
fn evidence_values_are_cleaned_whether_borrowed_or_copied() {
    assert_eq!(clean("  cam.local. "), "cam.local");
    assert_eq!(clean("name . "), "name");
    assert_eq!(clean("a\u{7}b\nc"), "abc");
    assert!(matches!(
        clean("plain"),
        std::borrow::Cow::Borrowed("plain")
    ));
    let long = "x".repeat(MAX_VALUE + 10);
    assert_eq!(clean(&long).chars().count(), MAX_VALUE);
    let wide = "é".repeat(MAX_VALUE);
    assert_eq!(
        clean(&wide).chars().count(),
        MAX_VALUE,
        "cut by characters, not bytes"
    );
    assert_eq!(clean(" \u{1}. "), "");
}

/// The MAC cache answers what the index answers, while devices are evicted
/// and their ids reused by other MACs (a small table under MAC churn, with
/// a few MACs that keep coming back so cached entries get hit).
#[test]
fn the_mac_cache_answers_what_find_answers_under_eviction() {
    let cfg = DeviceConfig {
        max_devices: 8,
        ..DeviceConfig::default()
    };
    for seed in [1, 2, 3] {
        let mut t = DeviceTable::new(cfg.clone(), seed);
        let mac = |i: u32| {
            let b = i.to_be_bytes();
            [0x02, 0x11, b[0], b[1], b[2], b[3]]
        };
        let mut x = seed as u32;
        for n in 0..20_000u32 {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            // A few regulars and a stream of strangers.
            let (s, d) = if n % 3 == 0 {
                (x >> 28, (x >> 20) & 3)
            } else {
                (16 + (x >> 12) % 500, x >> 30)
            };
            let f = udp((mac(s), IP_A, 1000), (mac(d), IP_B, 53), b"x");
            let (src, dst) = observe(&mut t, &f, linktype::ETHERNET);
            assert_eq!(src, t.find(DeviceKey::Mac(MacAddr(mac(s)))));
            assert!(src.is_some());
            assert_eq!(dst, t.find(DeviceKey::Mac(MacAddr(mac(d)))));
            for probe in [0, 1, 2, 3, s, d] {
                let m = Some(MacAddr(mac(probe)));
                assert_eq!(
                    t.find_endpoint_cached(m, None),
                    t.find_endpoint(m, None),
                    "seed {seed} packet {n} mac {probe}"
                );
            }
        }
        assert!(t.counters.evicted > 1000);
    }
}

/// The address bindings, written the plain way (one time per address in a
/// map, looked up on every use): what the table must answer whatever it
/// caches. No device is evicted here (the cap is above the MACs used).
#[derive(Default)]
struct Bindings {
    owner: std::collections::HashMap<IpAddr, (usize, Timestamp)>,
    ips: Vec<Vec<IpAddr>>,
}

impl Bindings {
    fn bind(&mut self, dev: usize, ip: IpAddr, now: Timestamp, claim: Claim, max_ips: usize) {
        if self.ips.len() <= dev {
            self.ips.resize(dev + 1, Vec::new());
        }
        match self.owner.get_mut(&ip) {
            Some((o, last)) if *o == dev => {
                *last = (*last).max(now);
                return;
            }
            Some((o, last)) => {
                if claim == Claim::Used && now.since(*last) < ADDRESS_HOLD_SECS * 1_000_000 {
                    return;
                }
                let o = *o;
                self.ips[o].retain(|a| *a != ip);
            }
            None => {}
        }
        if self.ips[dev].len() >= max_ips {
            let old = self.ips[dev].remove(0);
            self.owner.remove(&old);
        }
        self.ips[dev].push(ip);
        self.owner.insert(ip, (dev, now));
    }
}

/// Random uses and DHCP assignments of a few addresses by a few devices,
/// time going forward (and sometimes back) by up to ten minutes: holds
/// expire, addresses move, devices with two addresses alternate and drop
/// their oldest. After every step each address's owner and each device's
/// list are the plain model's.
#[test]
fn address_bindings_match_the_plain_model_whatever_the_order() {
    let macs: Vec<[u8; 6]> = (0..4u8).map(|i| [0x02, 0, 0, 0, 0x10, i]).collect();
    let ips: Vec<IpAddr> = (0..5u8)
        .map(|i| IpAddr::V4(Ipv4Addr::new(192, 168, 7, 10 + i)))
        .chain([IpAddr::from([0xfe80, 0, 0, 0, 0, 0, 0, 1])])
        .collect();
    bindings_match_the_model(&macs, &ips, 40);
}

/// The same with more devices and addresses (v4 and v6 on the same
/// devices), so the address index grows and reuses buckets while the
/// senders' remembered buckets go stale: a stale one must never be taken.
#[test]
fn address_bindings_match_the_plain_model_while_the_index_grows() {
    let macs: Vec<[u8; 6]> = (0..24u8).map(|i| [0x02, 0, 0, 0, 0x20, i]).collect();
    let ips: Vec<IpAddr> = (0..90u8)
        .map(|i| IpAddr::V4(Ipv4Addr::new(10, 1, 2, i)))
        .chain((0..30u16).map(|i| IpAddr::from([0xfe80, 0, 0, 0, 0, 0, 7, i])))
        .collect();
    bindings_match_the_model(&macs, &ips, 12);
}

fn bindings_match_the_model(macs: &[[u8; 6]], ips: &[IpAddr], seeds: u64) {
    for seed in 0..seeds {
        let cfg = DeviceConfig {
            max_ips: 1 + (seed % 3) as usize,
            ..DeviceConfig::default()
        };
        let max_ips = cfg.max_ips;
        let mut t = DeviceTable::new(cfg, seed);
        let mut model = Bindings::default();
        let mut ids: Vec<Option<DeviceId>> = vec![None; macs.len()];
        let mut rnd = xorshift(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let mut now = T0;
        for step in 0..2_000 {
            now += match rnd(10) {
                0 => 600_000_000,
                1 => -1_000_000,
                2..=4 => rnd(200) as i64 * 1_000_000,
                _ => rnd(1_000) as i64,
            };
            let d = rnd(macs.len() as u64) as usize;
            // Mostly a device's own two addresses (an IPv4 and, in the
            // larger set, an IPv6 one), sometimes anyone's.
            let own = [d, d + 90];
            let ip = if rnd(4) == 0 {
                ips[rnd(ips.len() as u64) as usize]
            } else {
                ips[own[rnd(2) as usize] % ips.len()]
            };
            let ts = Timestamp(now);
            if rnd(10) == 0 && ids[d].is_some() && ip.is_ipv4() {
                t.bind_ip(ids[d].unwrap(), ip, ts, Claim::Assigned);
                model.bind(d, ip, ts, Claim::Assigned, max_ips);
            } else {
                let src = match ip {
                    IpAddr::V4(v4) => v4.octets(),
                    IpAddr::V6(_) => [0, 0, 0, 0],
                };
                let frame = if ip.is_ipv4() {
                    udp((macs[d], src, 1), (MAC_B, IP_B, 2), b"")
                } else {
                    v6_udp(macs[d], ip)
                };
                let p = decode(ts, linktype::ETHERNET, &frame, frame.len() as u32);
                let (id, _) = t.observe(&p);
                ids[d] = id;
                model.bind(d, ip, ts, Claim::Used, max_ips);
            }
            for (i, want) in model.ips.iter().enumerate() {
                let Some(id) = ids[i] else { continue };
                assert_eq!(
                    &t.get(id).unwrap().ips,
                    want,
                    "seed {seed} step {step} device {i}"
                );
            }
            for ip in ips {
                let want = model.owner.get(ip).map(|(d, _)| ids[*d].unwrap());
                assert_eq!(t.find_ip(*ip), want, "seed {seed} step {step} {ip}");
            }
        }
    }
}

/// An Ethernet/IPv6/UDP frame from `ip` (to a link-local peer).
fn v6_udp(mac: [u8; 6], ip: IpAddr) -> Vec<u8> {
    let IpAddr::V6(v6) = ip else { unreachable!() };
    let b = etherparse::PacketBuilder::ethernet2(mac, MAC_B)
        .ipv6(
            v6.octets(),
            [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
            64,
        )
        .udp(1, 2);
    let mut out = Vec::new();
    b.write(&mut out, b"").unwrap();
    out
}

/// Repeated hints are kept once per (kind, value), in arrival order, also
/// after the public `evidence` list was changed by hand.
#[test]
fn evidence_is_kept_once_per_kind_and_value() {
    let mut t = DeviceTable::new(DeviceConfig::default(), 5);
    let (a, _) = observe(&mut t, &udp((MAC_A, IP_A, 1), (MAC_B, IP_B, 2), b""), 1);
    let a = a.unwrap();
    for round in 0..3 {
        for i in 0..20 {
            t.add_hint(a, HintKind::DnsQuery, &format!("host{i}.example"));
            t.add_hint(a, HintKind::TlsSni, &format!("host{i}.example"));
        }
        assert_eq!(t.get(a).unwrap().evidence.len(), 40, "round {round}");
    }
    let d = t.get_mut(a).unwrap();
    assert_eq!(
        d.evidence[1],
        (HintKind::TlsSni, "host0.example".to_string())
    );
    d.evidence.push((HintKind::HttpUserAgent, "curl/8".into()));
    d.evidence.remove(0);
    t.add_hint(a, HintKind::HttpUserAgent, "curl/8");
    t.add_hint(a, HintKind::DnsQuery, "host0.example");
    t.add_hint(a, HintKind::TlsSni, "host1.example");
    let ev = &t.get(a).unwrap().evidence;
    assert_eq!(ev.len(), 41);
    assert_eq!(ev.iter().filter(|(_, v)| v == "curl/8").count(), 1);
    assert_eq!(
        ev.last(),
        Some(&(HintKind::DnsQuery, "host0.example".to_string()))
    );
}

/// Eviction takes the device that sent least recently, as a plain list in
/// sending order says, whether the table has been full before or not (the
/// recency list is only built at the first eviction) and whatever receives
/// (being a destination is not being seen). A few regulars and a stream of
/// strangers, small caps so evictions start early and keep going.
#[test]
fn eviction_takes_the_least_recent_sender_as_a_plain_list_says() {
    let mac = |i: u32| {
        let b = i.to_be_bytes();
        [0x02, 0x33, b[0], b[1], b[2], b[3]]
    };
    for (seed, cap) in [(1u32, 3usize), (2, 8), (3, 40), (4, 200)] {
        let cfg = DeviceConfig {
            max_devices: cap,
            ..DeviceConfig::default()
        };
        let mut t = DeviceTable::new(cfg, u64::from(seed));
        // Most recent sender last.
        let mut model: Vec<u32> = Vec::new();
        let mut x = seed;
        for n in 0..6_000u32 {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let s = if n % 2 == 0 {
                x >> 29
            } else {
                8 + (x >> 8) % 400
            };
            let d = (x >> 4) % 420;
            let f = udp((mac(s), IP_A, 1000), (mac(d), IP_B, 53), b"x");
            observe(&mut t, &f, linktype::ETHERNET);
            if let Some(at) = model.iter().position(|&m| m == s) {
                model.remove(at);
            } else if model.len() == cap {
                model.remove(0);
            }
            model.push(s);
            if n % 97 == 0 || n > 5_900 {
                let mut live: Vec<u32> = model.clone();
                live.sort_unstable();
                let mut have: Vec<u32> = (0..420)
                    .filter(|&m| t.find(DeviceKey::Mac(MacAddr(mac(m)))).is_some())
                    .collect();
                have.sort_unstable();
                assert_eq!(have, live, "seed {seed} cap {cap} packet {n}");
            }
        }
        assert_eq!(t.len(), cap);
        assert_eq!(
            t.counters.evicted,
            t.counters.created - cap as u64,
            "seed {seed}"
        );
    }
}

/// The quick test for control characters answers what the character test
/// answers, for every character alone and between other characters.
#[test]
fn control_characters_are_found_as_the_character_test_finds_them() {
    for c in (0..=0x10ffffu32).filter_map(char::from_u32) {
        let alone = c.to_string();
        assert_eq!(has_control(&alone), c.is_control(), "{:#x}", c as u32);
        let between = format!("é{c}\u{80}x");
        assert!(has_control(&between), "{:#x}", c as u32);
        let around = format!("ab{c}\u{a0}\u{9f}z");
        assert!(has_control(&around));
        let clean_around = format!("ab{c}\u{a0}\u{c0}z");
        assert_eq!(
            has_control(&clean_around),
            c.is_control(),
            "{:#x}",
            c as u32
        );
    }
}

/// Evidence kept by the table is what walking the list for every hint
/// keeps (the plain `add_hint`), while hints repeat, lists fill up and the
/// public lists are changed by hand between hints (entries removed, moved,
/// added, so remembered places go stale); the evidence version moves when
/// and only when the plain model's evidence or names grow.
#[test]
fn evidence_matches_walking_the_list_whatever_is_remembered() {
    const KINDS: [HintKind; 4] = [
        HintKind::DnsQuery,
        HintKind::TlsSni,
        HintKind::HttpUserAgent,
        HintKind::Hostname,
    ];
    let cfg = DeviceConfig {
        max_evidence: 24,
        ..DeviceConfig::default()
    };
    let mut t = DeviceTable::new(cfg, 3);
    let ids: Vec<DeviceId> = (0..6u8)
        .map(|i| {
            let f = udp(([0x02, 0, 0, 0, 0x30, i], IP_A, 1), (MAC_B, IP_B, 2), b"");
            observe(&mut t, &f, linktype::ETHERNET).0.unwrap()
        })
        .collect();
    // Per device: (evidence, hostnames), the plain way.
    type Lists = (Vec<(HintKind, String)>, Vec<String>);
    let mut model: Vec<Lists> = vec![Default::default(); 6];
    let mut rnd = xorshift(0x2545_f491_4f6c_dd1d);
    for step in 0..30_000 {
        let d = rnd(6) as usize;
        let id = ids[d];
        if rnd(50) == 0 {
            // A hand edit of the public lists (the table must not care).
            let dev = t.get_mut(id).unwrap();
            let (ev, names) = &mut model[d];
            match rnd(3) {
                0 if !ev.is_empty() => {
                    let at = rnd(ev.len() as u64) as usize;
                    ev.remove(at);
                    dev.evidence.remove(at);
                }
                1 if ev.len() > 1 => {
                    ev.swap(0, 1);
                    dev.evidence.swap(0, 1);
                }
                _ => {
                    let e = (HintKind::DnsQuery, format!("added{}", rnd(5)));
                    ev.push(e.clone());
                    dev.evidence.push(e);
                    if let Some(n) = names.pop() {
                        dev.hostnames.retain(|h| *h != n);
                    }
                }
            }
            continue;
        }
        let kind = KINDS[rnd(4) as usize];
        let value = format!("v{}", rnd(40));
        let before = t.evidence_version();
        t.add_hint(id, kind, &value);
        let (ev, names) = &mut model[d];
        let mut grew = false;
        if kind == HintKind::Hostname && names.len() < MAX_NAMES && !names.contains(&value) {
            // Every new name is news, also when the evidence list is full
            // (identification reads the names).
            grew = true;
            names.push(value.clone());
        }
        if ev.len() < 24 && !ev.iter().any(|(k, v)| *k == kind && *v == value) {
            ev.push((kind, value));
            grew = true;
        }
        assert_eq!(t.evidence_version() != before, grew, "step {step}");
        let dev = t.get(id).unwrap();
        assert_eq!(&dev.evidence, ev, "step {step} device {d}");
        assert_eq!(&dev.hostnames, names, "step {step} device {d}");
    }
}

/// A `device` event's evidence: the vendor first, identification's
/// evidence, then the device's own while the two are under 32 items, as
/// built before one list was made at its final length (identity and own
/// lists of every length around the cut, with and without a vendor).
#[test]
fn device_record_evidence_is_vendor_identity_then_own_up_to_32() {
    let mut t = DeviceTable::new(DeviceConfig::default(), 7);
    let (a, _) = observe(&mut t, &udp((MAC_A, IP_A, 1), (MAC_B, IP_B, 2), b""), 1);
    let a = a.unwrap();
    for vendor in [None, Some("Acme")] {
        for identity in [0, 1, 5, 31, 32, 33, 40] {
            for own in [0, 1, 10, 31, 32, 40] {
                let d = t.get_mut(a).unwrap();
                d.vendor = vendor;
                d.identity_evidence = (0..identity)
                    .map(|i| Evidence {
                        source: "model".into(),
                        value: format!("id{i}"),
                    })
                    .collect();
                d.evidence = (0..own)
                    .map(|i| (HintKind::DnsQuery, format!("own{i}")))
                    .collect();
                let d = t.get(a).unwrap();
                // The way it was built before: the vendor inserted last, at the front.
                let mut want = d.identity_evidence.clone();
                for (k, v) in &d.evidence {
                    if want.len() >= 32 {
                        break;
                    }
                    want.push(Evidence {
                        source: k.as_str().to_string(),
                        value: v.clone(),
                    });
                }
                if let Some(v) = d.vendor {
                    want.insert(
                        0,
                        Evidence {
                            source: "oui".into(),
                            value: v.to_string(),
                        },
                    );
                }
                assert_eq!(d.record("x").evidence, want, "{vendor:?} {identity} {own}");
            }
        }
    }
}

/// The inventory written the plain way, for a table that fills up: devices
/// in sending order (least recent first), the address bindings, traffic
/// counts, the changed list and the created/evicted counters, with an
/// evicted device's addresses forgotten with it.
struct Inventory {
    cap: usize,
    max_ips: usize,
    order: Vec<DeviceKey>,
    ips: HashMap<DeviceKey, Vec<IpAddr>>,
    owner: HashMap<IpAddr, (DeviceKey, Timestamp)>,
    sent: HashMap<DeviceKey, u64>,
    received: HashMap<DeviceKey, u64>,
    changed: Vec<DeviceKey>,
    created: u64,
    evicted: u64,
}

impl Inventory {
    fn sender(&mut self, key: DeviceKey) {
        if self.order.contains(&key) {
            return;
        }
        if self.order.len() == self.cap {
            let old = self.order.remove(0);
            for ip in self.ips.remove(&old).unwrap_or_default() {
                self.owner.remove(&ip);
            }
            self.sent.remove(&old);
            self.received.remove(&old);
            self.changed.retain(|k| *k != old);
            self.evicted += 1;
        }
        self.order.push(key);
        self.ips.insert(key, Vec::new());
        self.changed.push(key);
        self.created += 1;
    }

    fn bind_used(&mut self, key: DeviceKey, ip: IpAddr, now: Timestamp) {
        match self.owner.get_mut(&ip) {
            Some((o, last)) if *o == key => {
                *last = (*last).max(now);
                return;
            }
            Some((o, last)) => {
                if now.since(*last) < ADDRESS_HOLD_SECS * 1_000_000 {
                    return;
                }
                let o = *o;
                if let Some(l) = self.ips.get_mut(&o) {
                    l.retain(|a| *a != ip);
                }
            }
            None => {}
        }
        let l = self.ips.entry(key).or_default();
        if l.len() >= self.max_ips {
            let old = l.remove(0);
            self.owner.remove(&old);
        }
        l.push(ip);
        self.owner.insert(ip, (key, now));
        if ip.is_ipv4() && !self.changed.contains(&key) {
            self.changed.push(key);
        }
    }

    fn touched(&mut self, key: DeviceKey) {
        self.order.retain(|k| *k != key);
        self.order.push(key);
        *self.sent.entry(key).or_default() += 1;
    }
}

/// A table that fills up and keeps evicting, with devices keyed by MAC
/// (Ethernet) and by address (raw IP captures) side by side, addresses
/// moving between them and time jumping past the address hold: which
/// devices live, their addresses, who owns each address, the traffic
/// counts, the changed list (what `device` events are made from) and the
/// created/evicted counters are the plain model's after every packet,
/// before the first eviction and long after it. The evicted device's
/// remembered index bucket and MAC cache slot must never answer for the
/// device that reuses its id.
#[test]
fn a_full_table_keeps_the_plain_inventory_with_mac_and_address_keys() {
    let mac = |i: u32| [0x02, 0x44, 0, 0, 0, i as u8];
    let pool: Vec<[u8; 4]> = (0..40u8).map(|i| [10, 9, 0, i]).collect();
    for (seed, cap, max_ips) in [(1u64, 1usize, 1usize), (2, 4, 2), (3, 9, 1), (4, 16, 3)] {
        let cfg = DeviceConfig {
            max_devices: cap,
            max_ips,
            ..DeviceConfig::default()
        };
        let mut t = DeviceTable::new(cfg, seed);
        let mut m = Inventory {
            cap,
            max_ips,
            order: Vec::new(),
            ips: HashMap::new(),
            owner: HashMap::new(),
            sent: HashMap::new(),
            received: HashMap::new(),
            changed: Vec::new(),
            created: 0,
            evicted: 0,
        };
        let mut rnd = xorshift(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let mut now = T0;
        for step in 0..4_000 {
            now += match rnd(8) {
                0 => 400_000_000,
                1..=3 => rnd(100) as i64 * 1_000_000,
                _ => rnd(1_000) as i64,
            };
            let ts = Timestamp(now);
            let s = rnd(24) as u32;
            let d = rnd(24) as u32;
            // Mostly a station's own address, sometimes anyone's.
            let src_ip = if rnd(4) == 0 {
                pool[rnd(40) as usize]
            } else {
                pool[s as usize]
            };
            let dst_ip = pool[rnd(40) as usize];
            let frame = udp((mac(s), src_ip, 1), (mac(d), dst_ip, 2), b"x");
            let raw = rnd(3) == 0;
            let p = if raw {
                decode(ts, linktype::RAW, &frame[14..], frame.len() as u32 - 14)
            } else {
                decode(ts, linktype::ETHERNET, &frame, frame.len() as u32)
            };
            let (src, dst) = t.observe(&p);
            let skey = if raw {
                DeviceKey::Ip(IpAddr::from(src_ip))
            } else {
                DeviceKey::Mac(MacAddr(mac(s)))
            };
            m.sender(skey);
            m.bind_used(skey, IpAddr::from(src_ip), ts);
            m.touched(skey);
            // The receiver is looked up after the sender is accounted.
            let dkey = if raw {
                m.owner.get(&IpAddr::from(dst_ip)).map(|(k, _)| *k)
            } else {
                Some(DeviceKey::Mac(MacAddr(mac(d)))).filter(|k| m.order.contains(k))
            };
            if let Some(k) = dkey {
                *m.received.entry(k).or_default() += 1;
            }
            let at = format!("seed {seed} step {step}");
            assert_eq!(src, t.find(skey), "{at}");
            assert_eq!(
                src.and_then(|i| t.get(i)).map(|d| d.key),
                Some(skey),
                "{at}"
            );
            assert_eq!(dst.and_then(|i| t.get(i)).map(|d| d.key), dkey, "{at}");
            assert_eq!(t.len(), m.order.len(), "{at}");
            assert_eq!(
                (t.counters.created, t.counters.evicted),
                (m.created, m.evicted),
                "{at}"
            );
            for k in &m.order {
                let dev = t.find(*k).and_then(|i| t.get(i));
                let dev = dev.unwrap_or_else(|| panic!("{at}: {k:?} lost"));
                assert_eq!(&dev.ips, &m.ips[k], "{at} {k:?}");
                assert_eq!(dev.pkts_sent, m.sent[k], "{at} {k:?}");
                assert_eq!(
                    dev.pkts_received,
                    m.received.get(k).copied().unwrap_or(0),
                    "{at}"
                );
            }
            for ip in &pool {
                let ip = IpAddr::from(*ip);
                let got = t.find_ip(ip).and_then(|i| t.get(i)).map(|d| d.key);
                assert_eq!(got, m.owner.get(&ip).map(|(k, _)| *k), "{at} {ip}");
            }
            if rnd(5) == 0 {
                let got: Vec<DeviceKey> = t
                    .take_changed()
                    .into_iter()
                    .filter_map(|i| t.get(i).map(|d| d.key))
                    .collect();
                assert_eq!(got, std::mem::take(&mut m.changed), "{at}");
            }
        }
        assert!(m.evicted > 100, "seed {seed}: {} evictions", m.evicted);
    }
}
