use std::net::{IpAddr, Ipv4Addr};

use super::*;
use crate::decode::{decode_with_outer, linktype};
use crate::testutil::*;
use crate::time::Timestamp;

const ROUTER: [u8; 6] = [0x02, 0, 0, 0, 0, 0xfe];
const ON_LINK: u8 = 0x80;
const DAY: u32 = 86_400;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn cidr(s: &str) -> Cidr {
    s.parse().unwrap()
}

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// Feed one frame (cut to `caplen` bytes, the rest lost to the snap
/// length) to the scope's router-advertisement learning.
fn feed_cut(scope: &mut LocalScope, frame: &[u8], caplen: usize) -> usize {
    let cut = &frame[..caplen.min(frame.len())];
    let mut outer = None;
    let p = decode_with_outer(
        Timestamp(0),
        linktype::ETHERNET,
        cut,
        frame.len() as u32,
        &mut outer,
    );
    scope.learn_router_advertisement(&p, outer.as_ref())
}

fn feed(scope: &mut LocalScope, frame: &[u8]) -> usize {
    feed_cut(scope, frame, frame.len())
}

/// A believable advertisement (link-local source, hop limit 255, code 0).
fn ra(options: &[u8]) -> Vec<u8> {
    router_advertisement((ROUTER, v6("fe80::1")), 255, 0, options)
}

fn learned(scope: &LocalScope) -> Vec<String> {
    scope.learned().map(|(c, _)| c.to_string()).collect()
}

#[test]
fn cidr_text_round_trips_and_host_bits_are_cleared() {
    assert_eq!(cidr("198.51.100.0/24").to_string(), "198.51.100.0/24");
    assert_eq!(cidr("198.51.100.77/24").to_string(), "198.51.100.0/24");
    assert_eq!(cidr(" 2001:db8:1::5/48 ").to_string(), "2001:db8:1::/48");
    assert_eq!(cidr("0.0.0.0/0").to_string(), "0.0.0.0/0");
    let c = cidr("198.51.100.0/24");
    assert!(c.contains(ip("198.51.100.255")));
    assert!(!c.contains(ip("198.51.101.0")));
    assert!(!c.contains(ip("::ffff:198.51.100.1")), "families never mix");
    assert!(cidr("2001:db8:1::/48").contains(ip("2001:db8:1:ffff::1")));
    assert!(cidr("10.0.0.1/32").contains(ip("10.0.0.1")));
}

#[test]
fn bad_networks_say_what_is_wrong() {
    assert_eq!("198.51.100.0".parse::<Cidr>(), Err(CidrError::NoLength));
    assert_eq!(
        "198.51.100/24".parse::<Cidr>(),
        Err(CidrError::Address("198.51.100".into()))
    );
    assert_eq!(
        "198.51.100.0/x".parse::<Cidr>(),
        Err(CidrError::Length("x".into()))
    );
    assert_eq!(
        "198.51.100.0/33".parse::<Cidr>(),
        Err(CidrError::TooLong {
            len: 33,
            family: 4,
            max: 32
        })
    );
    assert_eq!(
        "2001:db8::/129".parse::<Cidr>(),
        Err(CidrError::TooLong {
            len: 129,
            family: 6,
            max: 128
        })
    );
}

#[test]
fn the_config_section_names_the_key_of_a_bad_network() {
    let good: NetworkConfig = serde_json::from_value(serde_json::json!({
        "local_networks": ["198.51.100.0/24", "2001:db8:1::/48"]
    }))
    .unwrap();
    assert_eq!(
        good.local_networks,
        vec![cidr("198.51.100.0/24"), cidr("2001:db8:1::/48")]
    );
    let err = serde_json::from_value::<NetworkConfig>(serde_json::json!({
        "local_networks": ["198.51.100.0/24", "198.51.100.0/33"]
    }))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("local_networks") && err.contains("198.51.100.0/33"),
        "{err}"
    );
    for wide in ["0.0.0.0/0", "10.0.0.0/7", "::/0", "2000::/3"] {
        let err = serde_json::from_value::<NetworkConfig>(serde_json::json!({
            "local_networks": [wide]
        }))
        .unwrap_err()
        .to_string();
        assert!(err.contains("too wide") && err.contains(wide), "{err}");
    }
    let edge: NetworkConfig = serde_json::from_value(serde_json::json!({
        "local_networks": ["10.0.0.0/8", "2001::/16"]
    }))
    .unwrap();
    assert_eq!(edge.local_networks.len(), 2);
    let many: Vec<String> = (0..=MAX_CONFIGURED)
        .map(|i| format!("198.51.{i}.0/24"))
        .collect();
    let err =
        serde_json::from_value::<NetworkConfig>(serde_json::json!({ "local_networks": many }))
            .unwrap_err()
            .to_string();
    assert!(err.contains("at most"), "{err}");
    let err = serde_json::from_value::<NetworkConfig>(serde_json::json!({
        "local_network": ["198.51.100.0/24"]
    }))
    .unwrap_err()
    .to_string();
    assert!(err.contains("unknown field"), "{err}");
}

#[test]
fn configured_networks_are_local_besides_the_fixed_rule() {
    let none = LocalScope::default();
    let s = LocalScope::new(&[cidr("198.51.100.0/24"), cidr("2001:db8:1::/48")]);
    for a in ["198.51.100.7", "2001:db8:1:2::10"] {
        assert!(!none.is_local(ip(a)), "{a}");
        assert!(s.is_local(ip(a)), "{a}");
    }
    for a in [
        "192.168.1.1",
        "10.1.2.3",
        "100.64.0.1",
        "fe80::1",
        "fd00::1",
    ] {
        assert!(none.is_local(ip(a)) && s.is_local(ip(a)), "{a}");
    }
    for a in ["198.51.101.7", "8.8.8.8", "2001:db8:2::10"] {
        assert!(!s.is_local(ip(a)), "{a}");
    }
    assert_eq!(
        learned(&s),
        Vec::<String>::new(),
        "configured is not learned"
    );
}

#[test]
fn an_on_link_global_prefix_is_learned_from_a_router_advertisement() {
    let mut s = LocalScope::default();
    assert!(!s.is_local(ip("2001:db8:1::10")));
    let f = ra(&prefix_information(v6("2001:db8:1::"), 64, 0xc0, DAY));
    assert_eq!(feed(&mut s, &f), 1);
    assert!(s.is_local(ip("2001:db8:1::10")));
    assert!(!s.is_local(ip("2001:db8:2::10")));
    assert_eq!(learned(&s), vec!["2001:db8:1::/64"]);
    assert_eq!(
        s.learned().next().map(|(_, from)| from),
        Some(LearnedFrom::RouterAdvertisement)
    );
    // The router repeats itself every few minutes: nothing new, nothing dropped.
    assert_eq!(feed(&mut s, &f), 0);
    assert_eq!((learned(&s).len(), s.dropped()), (1, 0));
}

#[test]
fn advertisements_a_host_would_not_believe_teach_nothing() {
    let opt = prefix_information(v6("2001:db8:1::"), 64, ON_LINK, DAY);
    let frames = [
        (
            "routed (hop limit 254)",
            router_advertisement((ROUTER, v6("fe80::1")), 254, 0, &opt),
        ),
        (
            "from a global address",
            router_advertisement((ROUTER, v6("2001:db8:1::1")), 255, 0, &opt),
        ),
        (
            "code 1",
            router_advertisement((ROUTER, v6("fe80::1")), 255, 1, &opt),
        ),
        (
            "not on-link",
            ra(&prefix_information(v6("2001:db8:1::"), 64, 0x40, DAY)),
        ),
        (
            "withdrawn (valid lifetime 0)",
            ra(&prefix_information(v6("2001:db8:1::"), 64, ON_LINK, 0)),
        ),
    ];
    for (why, f) in frames {
        let mut s = LocalScope::default();
        assert_eq!(feed(&mut s, &f), 0, "{why}");
        assert!(!s.is_local(ip("2001:db8:1::10")), "{why}");
    }
}

#[test]
fn prefix_lengths_outside_32_to_64_are_ignored() {
    for (len, taken) in [
        (0, false),
        (16, false),
        (31, false),
        (32, true),
        (48, true),
        (64, true),
        (65, false),
        (128, false),
        (200, false),
    ] {
        let mut s = LocalScope::default();
        let f = ra(&prefix_information(v6("2001:db8:1::"), len, ON_LINK, DAY));
        assert_eq!(feed(&mut s, &f) == 1, taken, "/{len}");
    }
}

#[test]
fn prefixes_outside_global_unicast_are_ignored() {
    // ULA and link-local are local anyway; multicast and :: are no LAN.
    for p in ["fd12:3456::", "fe80::", "ff02::", "::", "4000::"] {
        let mut s = LocalScope::default();
        let f = ra(&prefix_information(v6(p), 64, ON_LINK, DAY));
        assert_eq!(feed(&mut s, &f), 0, "{p}");
        assert!(learned(&s).is_empty(), "{p}");
    }
    // The top of 2000::/3 is still global unicast; host bits are cleared.
    let mut s = LocalScope::default();
    feed(
        &mut s,
        &ra(&prefix_information(v6("3fff:1:2:3:4::"), 64, ON_LINK, DAY)),
    );
    assert_eq!(learned(&s), vec!["3fff:1:2:3::/64"]);
}

#[test]
fn malformed_or_truncated_option_areas_teach_nothing() {
    let good = prefix_information(v6("2001:db8:1::"), 64, ON_LINK, DAY);
    // A good prefix followed by an option of length 0: the whole advertisement goes.
    let mut zero = good.clone();
    zero.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]);
    // A good prefix, then one whose length runs past the end.
    let mut overrun = good.clone();
    overrun.extend_from_slice(&[3, 4, 64, 0x80]);
    for (why, opts) in [("zero-length option", zero), ("overrun", overrun)] {
        let mut s = LocalScope::default();
        assert_eq!(feed(&mut s, &ra(&opts)), 0, "{why}");
        assert!(!s.is_local(ip("2001:db8:1::10")), "{why}");
    }
    // The same good advertisement cut by a snap length anywhere in its
    // options (14 Ethernet + 40 IPv6 + 8 ICMPv6 + 8 fixed bytes before them).
    let f = ra(&good);
    assert_eq!(f.len(), 70 + 32);
    for caplen in 0..f.len() {
        let mut s = LocalScope::default();
        assert_eq!(feed_cut(&mut s, &f, caplen), 0, "cut at {caplen}");
    }
    let mut s = LocalScope::default();
    assert_eq!(feed_cut(&mut s, &f, f.len()), 1);
}

#[test]
fn a_rogue_flood_keeps_the_first_eight_and_counts_the_rest() {
    let mut s = LocalScope::default();
    let prefix = |i: u16| {
        let mut p = v6("2001:db8::");
        p[4..6].copy_from_slice(&i.to_be_bytes());
        p
    };
    // 20 advertisements, one new /64 each, then the first again.
    for i in 0..20u16 {
        let f = ra(&prefix_information(prefix(i), 64, ON_LINK, DAY));
        assert_eq!(feed(&mut s, &f), usize::from(i < 8), "advertisement {i}");
    }
    let want: Vec<String> = (0..8)
        .map(|i| cidr(&format!("2001:db8:{i:x}::/64")).to_string())
        .collect();
    assert_eq!(learned(&s), want);
    assert_eq!(s.dropped(), 12);
    assert!(s.is_local(ip("2001:db8:7::1")));
    assert!(!s.is_local(ip("2001:db8:8::1")));
    feed(
        &mut s,
        &ra(&prefix_information(prefix(0), 64, ON_LINK, DAY)),
    );
    assert_eq!(s.dropped(), 12, "a known prefix is no drop");
    // One advertisement carrying many prefixes hits the same cap.
    let mut one = LocalScope::default();
    let many: Vec<u8> = (100..120u16)
        .flat_map(|i| prefix_information(prefix(i), 64, ON_LINK, DAY))
        .collect();
    assert_eq!(feed(&mut one, &ra(&many)), MAX_LEARNED);
    assert_eq!(one.dropped(), 12);
    // The IPv4 slots are the family's own.
    assert!(s.learn_dhcp_ack(v4("198.51.100.7"), Some(v4("255.255.255.0"))));
}

#[test]
fn a_dhcp_ack_on_a_public_subnet_teaches_the_subnet() {
    let mask = |s: &str| Some(v4(s));
    let mut s = LocalScope::default();
    assert!(s.learn_dhcp_ack(v4("198.51.100.7"), mask("255.255.255.0")));
    assert!(s.is_local(ip("198.51.100.200")));
    assert!(!s.is_local(ip("198.51.101.1")));
    assert_eq!(learned(&s), vec!["198.51.100.0/24"]);
    assert_eq!(
        s.learned().next().map(|(_, f)| f),
        Some(LearnedFrom::DhcpAck)
    );
    // The next client's ACK on the same subnet adds nothing.
    assert!(!s.learn_dhcp_ack(v4("198.51.100.8"), mask("255.255.255.0")));
    // Too wide, too narrow, not a mask, no mask, private, not unicast.
    for (addr, m) in [
        ("203.0.113.5", mask("255.254.0.0")),
        ("203.0.113.5", mask("255.255.255.254")),
        ("203.0.113.5", mask("255.255.255.255")),
        ("203.0.113.5", mask("255.0.255.0")),
        ("203.0.113.5", None),
        ("192.168.1.5", mask("255.255.255.0")),
        ("100.64.3.5", mask("255.255.255.0")),
        ("127.0.0.5", mask("255.255.255.0")),
        ("224.0.0.5", mask("255.255.255.0")),
        ("250.0.0.5", mask("255.255.255.0")),
        ("0.1.2.3", mask("255.255.255.0")),
    ] {
        let mut s = LocalScope::default();
        assert!(!s.learn_dhcp_ack(v4(addr), m), "{addr} {m:?}");
        assert!(learned(&s).is_empty(), "{addr} {m:?}");
    }
    // The limits themselves are taken.
    let mut s = LocalScope::default();
    assert!(s.learn_dhcp_ack(v4("203.0.113.5"), mask("255.255.0.0")));
    assert!(s.learn_dhcp_ack(v4("198.51.100.5"), mask("255.255.255.252")));
    assert_eq!(learned(&s), vec!["203.0.0.0/16", "198.51.100.4/30"]);
}

#[test]
fn a_network_inside_a_configured_one_is_not_learned() {
    let mut s = LocalScope::new(&[cidr("198.51.100.0/24"), cidr("2001:db8::/32")]);
    assert_eq!(
        s.learn(cidr("198.51.100.0/25"), LearnedFrom::DhcpAck),
        Learn::Known
    );
    feed(
        &mut s,
        &ra(&prefix_information(v6("2001:db8:1::"), 64, ON_LINK, DAY)),
    );
    assert!(learned(&s).is_empty());
    // A wider one holding the configured one is new.
    assert_eq!(
        s.learn(cidr("198.51.0.0/16"), LearnedFrom::DhcpAck),
        Learn::New
    );
    assert_eq!(s.dropped(), 0);
}

#[test]
fn an_advertisement_out_of_a_tunnel_teaches_nothing_but_a_mirrored_one_does() {
    // Anyone on the internet can send a LAN host a tunnel packet whose inner
    // packet is a perfect advertisement (hop limit 255, link-local source).
    let inner = ra(&prefix_information(v6("2001:db8:66::"), 32, ON_LINK, DAY));
    let mut vxlan = vec![0x08, 0, 0, 0, 0, 0, 1, 0];
    vxlan.extend_from_slice(&inner);
    let mut gre_v6 = vec![0x00, 0x00, 0x86, 0xdd];
    gre_v6.extend_from_slice(&inner[14..]);
    let tunnelled = [
        ("6in4", from_the_internet(41, &inner[14..])),
        ("GRE", from_the_internet(47, &gre_v6)),
        (
            "VXLAN",
            udp(
                (ROUTER, [203, 0, 113, 66], 40000),
                (MAC_A, [192, 168, 1, 10], 4789),
                &vxlan,
            ),
        ),
        // A tunnel inside a mirror session is still a tunnel.
        (
            "6in4 in ERSPAN",
            from_the_internet(47, &erspan(&from_the_internet(41, &inner[14..]))),
        ),
    ];
    for (why, f) in tunnelled {
        let mut s = LocalScope::default();
        assert_eq!(feed(&mut s, &f), 0, "{why}");
        assert!(!s.is_local(ip("2001:db8:66::1")), "{why}");
    }
    // A mirror port's copy of the link is the link.
    let mut s = LocalScope::default();
    assert_eq!(feed(&mut s, &from_the_internet(47, &erspan(&inner))), 1);
    assert_eq!(learned(&s), vec!["2001:db8::/32"]);
}

#[test]
fn a_fragmented_advertisement_or_an_icmpv4_134_teaches_nothing() {
    let good = ra(&prefix_information(v6("2001:db8:1::"), 64, ON_LINK, DAY));
    // RFC 6980: no fragment header in neighbour discovery, not even an
    // atomic one (offset 0, no more fragments).
    let mut frag = good[..54].to_vec();
    frag[20] = 44; // next header: fragment
    let plen = u16::from_be_bytes([frag[18], frag[19]]) + 8;
    frag[18..20].copy_from_slice(&plen.to_be_bytes());
    frag.extend_from_slice(&[58, 0, 0, 0, 0, 0, 0, 1]);
    frag.extend_from_slice(&good[54..]);
    // The same bytes as ICMP for IPv4 (protocol 1) inside IPv6.
    let mut v4_icmp = good.clone();
    v4_icmp[20] = 1;
    for (why, f) in [("fragment", frag), ("ICMPv4", v4_icmp)] {
        let mut s = LocalScope::default();
        assert_eq!(feed(&mut s, &f), 0, "{why}");
    }
    let mut s = LocalScope::default();
    assert_eq!(
        feed(&mut s, &good),
        1,
        "the frame the others were made from"
    );
}

/// Whether a frame carrying a DHCP ACK of `yiaddr` is believed.
fn ack_believed(frame: &[u8], yiaddr: [u8; 4]) -> bool {
    let mut outer = None;
    let p = decode_with_outer(
        Timestamp(0),
        linktype::ETHERNET,
        frame,
        frame.len() as u32,
        &mut outer,
    );
    dhcp_ack_sent_on_link(&p, outer.as_ref(), Ipv4Addr::from(yiaddr))
}

#[test]
fn a_dhcp_ack_is_believed_only_as_a_server_on_the_link_sends_it() {
    const SERVER: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
    const CLIENT: [u8; 6] = [0x02, 0, 0, 0, 0, 0x07];
    let yi = [198, 51, 100, 7];
    let ack = dhcp_ack(CLIENT, yi, Some([255, 255, 255, 0]));
    let send =
        |src: [u8; 4], sport, dst: [u8; 4]| udp((SERVER, src, sport), (CLIENT, dst, 68), &ack);
    let server = [198, 51, 100, 1];
    assert!(ack_believed(&send(server, 67, [255; 4]), yi), "broadcast");
    assert!(
        ack_believed(&send(server, 67, yi), yi),
        "unicast to the client"
    );
    // From the internet to a LAN host, naming a network of the sender's choice.
    assert!(!ack_believed(
        &send([203, 0, 113, 66], 67, [192, 168, 1, 10]),
        yi
    ));
    // Not from the server port.
    assert!(!ack_believed(&send(server, 68, [255; 4]), yi));
    // The broadcast ACK inside VXLAN, from the internet.
    let mut vxlan = vec![0x08, 0, 0, 0, 0, 0, 1, 0];
    vxlan.extend_from_slice(&send(server, 67, [255; 4]));
    let tunnelled = udp(
        (ROUTER, [203, 0, 113, 66], 40000),
        (MAC_A, [192, 168, 1, 10], 4789),
        &vxlan,
    );
    assert!(!ack_believed(&tunnelled, yi), "VXLAN");
}
