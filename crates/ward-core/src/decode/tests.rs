use std::net::{IpAddr, Ipv4Addr};

use proptest::prelude::*;

use super::*;
use crate::testutil::*;

const T: Timestamp = Timestamp(1_700_000_000_000_000);

fn dec(frame: &[u8]) -> Packet<'_> {
    decode(T, linktype::ETHERNET, frame, frame.len() as u32)
}

#[test]
fn ethernet_ipv4_tcp_syn_with_options() {
    let f = tcp((MAC_A, IP_A, 40000), (MAC_B, IP_B, 80), 1000, "S", b"");
    let p = dec(&f);
    assert_eq!(p.anomaly, None);
    assert_eq!(p.link.src, Some(MacAddr(MAC_A)));
    assert_eq!(p.link.dst, Some(MacAddr(MAC_B)));
    let ip = p.ip().unwrap();
    assert_eq!(ip.src, IpAddr::V4(Ipv4Addr::from(IP_A)));
    assert_eq!((ip.proto, ip.ttl), (6, 64));
    let t = p.tcp().unwrap();
    assert_eq!((t.src_port, t.dst_port, t.seq), (40000, 80, 1000));
    assert_eq!(t.flags, tcpflag::SYN);
    assert_eq!(t.options[0], 2, "MSS option first");
    assert!(p.payload.is_empty());
}

#[test]
fn qinq_ipv6_udp_keeps_the_outer_vlan() {
    let f = qinq_v6_udp(100, 200, b"hello");
    let p = dec(&f);
    assert_eq!(p.anomaly, None);
    assert_eq!(p.link.vlan, Some(100));
    assert_eq!(p.link.ethertype, 0x86dd);
    assert!(p.ip().unwrap().is_v6());
    assert_eq!(p.transport.ports(), (5353, 5353));
    assert_eq!(p.payload, b"hello");
}

#[test]
fn ethernet_padding_is_not_payload() {
    let mut f = udp((MAC_A, IP_A, 1234), (MAC_B, IP_B, 53), b"ab");
    f.extend_from_slice(&[0u8; 12]); // minimum-size frame padding
    let p = dec(&f);
    assert_eq!(p.payload, b"ab");
    assert_eq!(p.anomaly, None);
}

#[test]
fn every_truncation_of_a_frame_decodes_without_panic_and_is_flagged() {
    let f = tcp(
        (MAC_A, IP_A, 40000),
        (MAC_B, IP_B, 80),
        1,
        "PA",
        b"GET / HTTP/1.1\r\n\r\n",
    );
    for n in 0..f.len() {
        let cut = &f[..n];
        let p = decode(T, linktype::ETHERNET, cut, cut.len() as u32);
        if n < 14 + 20 + 20 {
            assert!(p.anomaly.is_some(), "cut at {n} not flagged");
        }
    }
}

#[test]
fn sll_sll2_null_and_raw_link_types() {
    let eth = udp((MAC_A, IP_A, 1000), (MAC_B, IP_B, 2000), b"x");
    let ip = &eth[14..];
    // SLL: packet type, ARPHRD_ETHER, addr len 6, addr, protocol.
    let mut sll = vec![0, 0, 0, 1, 0, 6];
    sll.extend_from_slice(&MAC_A);
    sll.extend_from_slice(&[0, 0, 0x08, 0x00]);
    sll.extend_from_slice(ip);
    // SLL2: protocol, reserved, ifindex, ARPHRD_ETHER, packet type, addr len, addr.
    let mut sll2 = vec![0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6];
    sll2.extend_from_slice(&MAC_A);
    sll2.extend_from_slice(&[0, 0]);
    sll2.extend_from_slice(ip);
    // BSD null: AF_INET in host byte order (little-endian here).
    let mut null = 2u32.to_le_bytes().to_vec();
    null.extend_from_slice(ip);
    let mut null6_be = 30u32.to_be_bytes().to_vec();
    null6_be.extend_from_slice(&qinq_v6_udp(1, 2, b"y")[22..]);
    for (lt, frame) in [
        (linktype::LINUX_SLL, &sll[..]),
        (linktype::LINUX_SLL2, &sll2[..]),
        (linktype::NULL, &null[..]),
        (linktype::RAW, ip),
        (linktype::IPV4, ip),
        (linktype::LOOP, &null6_be[..]),
    ] {
        let p = decode(T, lt, frame, frame.len() as u32);
        assert_eq!(p.anomaly, None, "link type {lt}");
        assert!(p.ip().is_some(), "link type {lt}");
        assert!(!p.payload.is_empty(), "link type {lt}");
        if matches!(lt, linktype::LINUX_SLL | linktype::LINUX_SLL2) {
            assert_eq!(p.link.src, Some(MacAddr(MAC_A)));
        }
    }
}

#[test]
fn unknown_link_type_is_an_anomaly() {
    let p = decode(T, 9999, &[1, 2, 3], 3);
    assert_eq!(p.anomaly, Some(Anomaly::UnsupportedLinkType));
}

#[test]
fn arp_is_decoded() {
    let mut f = Vec::new();
    f.extend_from_slice(&[0xff; 6]);
    f.extend_from_slice(&MAC_A);
    f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2]);
    f.extend_from_slice(&MAC_A);
    f.extend_from_slice(&IP_A);
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&IP_B);
    let p = dec(&f);
    let Net::Arp(arp) = p.net else {
        panic!("not ARP: {:?}", p.net)
    };
    assert_eq!(arp.op, 2);
    assert_eq!(arp.sender_ip, Ipv4Addr::from(IP_A));
    assert_eq!(arp.target_ip, Ipv4Addr::from(IP_B));
}

#[test]
fn gre_erspan_ii_mirror_is_opened_to_the_inner_frame() {
    let inner = tcp((MAC_A, IP_A, 34048), (MAC_B, IP_B, 80), 0, "S", b"");
    // GRE with the sequence bit, protocol ERSPAN II, 8-byte ERSPAN header.
    let mut gre = vec![0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 1];
    gre.extend_from_slice(&[0x10, 0, 0, 1, 0, 0, 0, 0]);
    gre.extend_from_slice(&inner);
    let mut outer = Vec::new();
    etherparse::PacketBuilder::ethernet2([2; 6], [4; 6])
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .write(&mut outer, etherparse::IpNumber(47), &gre)
        .unwrap();
    let p = dec(&outer);
    assert_eq!(p.anomaly, None);
    assert_eq!(p.encapsulation, 1);
    assert_eq!(p.link.src, Some(MacAddr(MAC_A)));
    assert_eq!(p.tcp().map(|t| t.dst_port), Some(80));
}

/// An Ethernet frame from 10.0.0.1 to 10.0.0.2 carrying `body` as IP protocol `proto`.
fn outer_v4(proto: u8, body: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    etherparse::PacketBuilder::ethernet2([2; 6], [4; 6])
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .write(&mut f, etherparse::IpNumber(proto), body)
        .unwrap();
    f
}

/// Decode an Ethernet frame, with its outermost tunnel header.
fn dec_outer(f: &[u8]) -> (Packet<'_>, Option<OuterIp>) {
    let mut outer = None;
    let p = decode_with_outer(T, linktype::ETHERNET, f, f.len() as u32, &mut outer);
    (p, outer)
}

fn outer_of(src: [u8; 4], dst: [u8; 4], proto: u8, mirror: bool) -> Option<OuterIp> {
    Some(OuterIp {
        src: IpAddr::V4(Ipv4Addr::from(src)),
        dst: IpAddr::V4(Ipv4Addr::from(dst)),
        proto,
        mirror,
    })
}

#[test]
fn a_plain_packet_has_no_outer_header() {
    let f = udp((MAC_A, IP_A, 1000), (MAC_B, IP_B, 2000), b"x");
    let (p, outer) = dec_outer(&f);
    assert_eq!((p.encapsulation, outer), (0, None));
}

/// Mirai's greip shape: GRE carrying an IPv4 packet whose addresses are
/// made up; the outer header says where it went.
#[test]
fn gre_ip_keeps_the_outer_addresses() {
    let inner = udp(
        (MAC_A, [45, 33, 17, 9], 1000),
        (MAC_B, [77, 1, 2, 3], 2000),
        b"x",
    );
    let mut gre = vec![0, 0, 0x08, 0x00];
    gre.extend_from_slice(&inner[14..]);
    let f = outer_v4(47, &gre);
    let (p, outer) = dec_outer(&f);
    assert_eq!(p.anomaly, None);
    assert_eq!(p.encapsulation, 1);
    assert_eq!(p.ip().unwrap().dst, IpAddr::V4(Ipv4Addr::new(77, 1, 2, 3)));
    assert_eq!(outer, outer_of([10, 0, 0, 1], [10, 0, 0, 2], 47, false));
    // Transparent Ethernet bridging (greeth): the same.
    let mut gre = vec![0, 0, 0x65, 0x58];
    gre.extend_from_slice(&inner);
    let f = outer_v4(47, &gre);
    let (p, outer) = dec_outer(&f);
    assert_eq!(p.link.src, Some(MacAddr(MAC_A)));
    assert_eq!(outer, outer_of([10, 0, 0, 1], [10, 0, 0, 2], 47, false));
}

#[test]
fn ip_in_ip_and_vxlan_keep_the_outer_addresses() {
    let inner = tcp((MAC_A, IP_A, 40000), (MAC_B, IP_B, 80), 0, "S", b"");
    let f = outer_v4(4, &inner[14..]);
    let (p, outer) = dec_outer(&f);
    assert_eq!(p.ip().unwrap().src, IpAddr::V4(Ipv4Addr::from(IP_A)));
    assert_eq!(outer, outer_of([10, 0, 0, 1], [10, 0, 0, 2], 4, false));

    let mut vxlan = vec![0x08, 0, 0, 0, 0, 0, 0x2a, 0];
    vxlan.extend_from_slice(&inner);
    let mut f = Vec::new();
    etherparse::PacketBuilder::ethernet2([2; 6], [4; 6])
        .ipv4([10, 0, 0, 5], [10, 0, 0, 6], 64)
        .udp(49152, 4789)
        .write(&mut f, &vxlan)
        .unwrap();
    let (p, outer) = dec_outer(&f);
    assert_eq!(p.encapsulation, 1);
    assert_eq!(p.tcp().map(|t| t.dst_port), Some(80));
    assert_eq!(outer, outer_of([10, 0, 0, 5], [10, 0, 0, 6], 17, false));
}

/// IP-in-IP inside GRE inside the outer packet: the outermost header is
/// kept, not the middle one.
#[test]
fn nested_tunnels_keep_the_outermost_header() {
    let inner = udp((MAC_A, IP_A, 1000), (MAC_B, IP_B, 53), b"q");
    let mut middle = Vec::new();
    etherparse::PacketBuilder::ipv4([172, 16, 0, 1], [172, 16, 0, 2], 64)
        .write(&mut middle, etherparse::IpNumber(4), &inner[14..])
        .unwrap();
    let mut gre = vec![0, 0, 0x08, 0x00];
    gre.extend_from_slice(&middle);
    let f = outer_v4(47, &gre);
    let (p, outer) = dec_outer(&f);
    assert_eq!(p.anomaly, None);
    assert_eq!(p.encapsulation, 2);
    assert_eq!(p.ip().unwrap().dst, IpAddr::V4(Ipv4Addr::from(IP_B)));
    assert_eq!(outer, outer_of([10, 0, 0, 1], [10, 0, 0, 2], 47, false));
}

/// A GRE packet with nothing readable inside stays the outer packet, with
/// no outer header of its own; an ERSPAN mirror's outer header says so.
#[test]
fn an_unopened_tunnel_has_no_outer_header_and_erspan_is_a_mirror() {
    let f = outer_v4(47, &[0, 0, 0x08, 0x00, 0x99, 0x99]);
    let (p, outer) = dec_outer(&f);
    assert_eq!((p.encapsulation, outer), (0, None));
    assert_eq!(p.transport, Transport::Other(47));

    let inner = tcp((MAC_A, IP_A, 34048), (MAC_B, IP_B, 80), 0, "S", b"");
    let mut gre = vec![0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 1];
    gre.extend_from_slice(&[0x10, 0, 0, 1, 0, 0, 0, 0]);
    gre.extend_from_slice(&inner);
    let f = outer_v4(47, &gre);
    let (_, outer) = dec_outer(&f);
    assert_eq!(outer, outer_of([10, 0, 0, 1], [10, 0, 0, 2], 47, true));
}

#[test]
fn mac_parse_and_display_round_trip() {
    let m = MacAddr([0xb0, 0xc5, 0x54, 0x25, 0x5b, 0x0e]);
    assert_eq!(m.to_string(), "b0:c5:54:25:5b:0e");
    assert_eq!(MacAddr::parse("B0-C5-54-25-5B-0E"), Some(m));
    assert_eq!(MacAddr::parse("b0:c5:54:25:5b"), None);
    assert_eq!(MacAddr::parse("b0:c5:54:25:5b:0e:00"), None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..200), lt in prop_oneof![Just(0u32), Just(1), Just(101), Just(108), Just(113), Just(228), Just(229), Just(276), any::<u32>()]) {
        let mut outer = None;
        let p = decode_with_outer(T, lt, &data, data.len() as u32, &mut outer);
        // The outer header is kept exactly when a tunnel was opened.
        prop_assert_eq!(outer.is_some(), p.encapsulation > 0);
        prop_assert_eq!(format!("{p:?}"), format!("{:?}", decode(T, lt, &data, data.len() as u32)));
    }

    #[test]
    fn mutated_real_frames_never_panic(pos in 0usize..80, val in any::<u8>(), extra in 0u32..100) {
        let mut f = tcp((MAC_A, IP_A, 40000), (MAC_B, IP_B, 80), 1, "PA", b"hello world");
        let n = f.len();
        f[pos % n] = val;
        let _ = decode(T, linktype::ETHERNET, &f, n as u32 + extra);
    }

    /// Our decoder agrees with etherparse on frames etherparse builds.
    #[test]
    fn agrees_with_etherparse(sport in any::<u16>(), dport in any::<u16>(), seq in any::<u32>(), payload in proptest::collection::vec(any::<u8>(), 0..64), use_udp in any::<bool>()) {
        let f = if use_udp {
            udp((MAC_A, IP_A, sport), (MAC_B, IP_B, dport), &payload)
        } else {
            tcp((MAC_A, IP_A, sport), (MAC_B, IP_B, dport), seq, "PA", &payload)
        };
        let ours = dec(&f);
        let theirs = etherparse::SlicedPacket::from_ethernet(&f).unwrap();
        prop_assert_eq!(ours.anomaly, None);
        prop_assert_eq!(ours.payload, theirs.transport.as_ref().map(|t| match t {
            etherparse::TransportSlice::Tcp(t) => t.payload(),
            etherparse::TransportSlice::Udp(u) => u.payload(),
            _ => &[][..],
        }).unwrap());
        prop_assert_eq!(ours.transport.ports(), (sport, dport));
    }
}

/// `frame` as a capture cut at `snap` bytes keeps it: the first `snap`
/// bytes, with the whole frame's length as the wire length.
fn snap(frame: &[u8], snap: usize) -> Packet<'_> {
    decode(T, linktype::ETHERNET, &frame[..snap], frame.len() as u32)
}

#[test]
fn a_whole_packet_misses_nothing() {
    let f = tcp((MAC_A, IP_A, 40000), (MAC_B, IP_B, 80), 1, "PA", &[7; 100]);
    let p = dec(&f);
    assert_eq!((p.payload.len(), p.missing, p.payload_len()), (100, 0, 100));
}

#[test]
fn a_snap_length_cut_counts_the_payload_bytes_it_dropped() {
    // TCP: 14 + 20 + 20 header bytes, 100 payload bytes, cut at 96.
    let f = tcp((MAC_A, IP_A, 40000), (MAC_B, IP_B, 80), 1, "PA", &[7; 100]);
    let p = snap(&f, 96);
    assert_eq!(p.anomaly, None, "a snap cut is not an anomaly");
    assert_eq!((p.payload.len(), p.missing, p.payload_len()), (42, 58, 100));
    // UDP: 14 + 20 + 8, 300 payload bytes, cut at 64.
    let f = udp((MAC_A, IP_A, 1234), (MAC_B, IP_B, 53), &[1; 300]);
    let p = snap(&f, 64);
    assert_eq!(p.anomaly, None);
    assert_eq!((p.payload.len(), p.missing), (22, 278));
    // IPv6 (two VLAN tags): 14 + 8 + 40 + 8, cut at 80.
    let f = qinq_v6_udp(1, 2, &[3; 50]);
    let p = snap(&f, 80);
    assert_eq!((p.payload.len(), p.missing), (10, 40));
}

#[test]
fn a_cut_through_the_tcp_options_still_knows_the_payload_length() {
    // A SYN carries 20 bytes of options; cut 4 bytes into them.
    let f = tcp((MAC_A, IP_A, 40000), (MAC_B, IP_B, 80), 1, "S", b"hello");
    let p = snap(&f, 14 + 20 + 24);
    assert_eq!(p.anomaly, Some(Anomaly::TruncatedTcp));
    assert!(p.tcp().is_some());
    assert_eq!((p.payload.len(), p.missing), (0, 5));
}

#[test]
fn length_fields_are_believed_only_as_far_as_the_frame_was_cut() {
    // The IP total length claims 1000 bytes more than the wire carried.
    let mut f = udp((MAC_A, IP_A, 1234), (MAC_B, IP_B, 53), &[1; 100]);
    let total = u16::from_be_bytes([f[16], f[17]]) + 1000;
    f[16..18].copy_from_slice(&total.to_be_bytes());
    let udp_len = u16::from_be_bytes([f[38], f[39]]) + 1000;
    f[38..40].copy_from_slice(&udp_len.to_be_bytes());
    // Captured whole: a lie, flagged, nothing missing.
    let p = dec(&f);
    assert_eq!(p.anomaly, Some(Anomaly::Ipv4BadTotalLength));
    assert_eq!(p.missing, 0);
    // Cut 10 bytes short of the wire: at most those 10 are missing.
    let p = snap(&f, f.len() - 10);
    assert_eq!(p.missing, 10);
}
