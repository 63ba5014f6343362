use proptest::prelude::*;

use super::*;
use crate::decode::{decode, linktype};
use crate::testutil::*;

const S: i64 = 1_000_000;
const T0: i64 = 1_700_000_000 * S;

struct Harness {
    table: FlowTable,
    ended: Vec<Flow>,
}

impl Harness {
    fn new(cfg: FlowConfig, seed: u64) -> Self {
        Harness {
            table: FlowTable::new(cfg, seed),
            ended: Vec::new(),
        }
    }
    fn feed(&mut self, t: i64, frame: &[u8]) -> Option<FlowHandle> {
        let p = decode(Timestamp(t), linktype::ETHERNET, frame, frame.len() as u32);
        self.table.update(&p, &mut self.ended)
    }
}

const CLIENT: ([u8; 6], [u8; 4], u16) = (MAC_A, IP_A, 40000);
const SERVER: ([u8; 6], [u8; 4], u16) = (MAC_B, IP_B, 80);

#[test]
fn payload_bytes_count_what_a_snap_length_cut_off() {
    // A header-only capture (54 bytes kept of each frame) still shows how
    // much each side sent: SSH guessing is judged by it.
    let mut h = Harness::new(FlowConfig::default(), 1);
    let mut feed_cut = |t: i64, frame: &[u8]| {
        let p = decode(
            Timestamp(t),
            linktype::ETHERNET,
            &frame[..54],
            frame.len() as u32,
        );
        h.table.update(&p, &mut h.ended)
    };
    let a = feed_cut(T0, &tcp(CLIENT, SERVER, 100, "A", &[1; 300])).unwrap();
    feed_cut(T0 + 10, &tcp(SERVER, CLIENT, 500, "A", &[2; 40]));
    assert_eq!(h.table.get(a.slot).payload_bytes, [300, 40]);
}

#[test]
fn tcp_handshake_data_and_close_make_one_flow() {
    let mut h = Harness::new(FlowConfig::default(), 1);
    let a = h.feed(T0, &tcp(CLIENT, SERVER, 100, "S", b"")).unwrap();
    assert!(a.new);
    assert_eq!(a.dir, Dir::ToServer);
    let b = h
        .feed(T0 + 10, &tcp(SERVER, CLIENT, 500, "SA", b""))
        .unwrap();
    assert_eq!((b.slot, b.dir, b.new), (a.slot, Dir::ToClient, false));
    h.feed(T0 + 20, &tcp(CLIENT, SERVER, 101, "A", b""));
    assert_eq!(h.table.get(a.slot).state, FlowState::Established);
    h.feed(
        T0 + 30,
        &tcp(CLIENT, SERVER, 101, "PA", b"GET / HTTP/1.0\r\n\r\n"),
    );
    h.feed(T0 + 40, &tcp(SERVER, CLIENT, 501, "FA", b""));
    assert_eq!(h.table.get(a.slot).state, FlowState::Closing);
    h.feed(T0 + 50, &tcp(CLIENT, SERVER, 119, "FA", b""));
    let f = h.table.get(a.slot);
    assert_eq!(f.state, FlowState::Closed);
    assert_eq!(f.pkts, [4, 2]);
    assert_eq!(f.payload_bytes, [18, 0]);
    assert_eq!(f.src_port, 40000);
    assert_eq!(h.table.len(), 1);
    // Closed flows leave after the short closed timeout.
    h.table.expire_idle(Timestamp(T0 + 10 * S), &mut h.ended);
    assert_eq!(h.ended.len(), 1);
    assert_eq!(h.ended[0].end_reason, Some(EndReason::Timeout));
    assert!(h.table.is_empty());
}

#[test]
fn joining_mid_stream_still_finds_the_client() {
    let mut h = Harness::new(FlowConfig::default(), 1);
    // First packet seen is the server's reply.
    let a = h
        .feed(T0, &tcp(SERVER, CLIENT, 9, "PA", b"HTTP/1.0 200 OK\r\n"))
        .unwrap();
    assert_eq!(a.dir, Dir::ToClient);
    let f = h.table.get(a.slot);
    assert_eq!(f.dst_port, 80);
    assert_eq!(f.state, FlowState::Established);
}

#[test]
fn udp_flow_establishes_on_reply_and_times_out() {
    let mut h = Harness::new(FlowConfig::default(), 1);
    let q = udp((MAC_A, IP_A, 5555), (MAC_B, IP_B, 53), b"q");
    let r = udp((MAC_B, IP_B, 53), (MAC_A, IP_A, 5555), b"r");
    let a = h.feed(T0, &q).unwrap();
    assert_eq!(h.table.get(a.slot).state, FlowState::New);
    h.feed(T0 + 1000, &r);
    assert_eq!(h.table.get(a.slot).state, FlowState::Established);
    // 59 s later it is still there; past 60 s of silence it is gone.
    h.table.expire_idle(Timestamp(T0 + 59 * S), &mut h.ended);
    assert!(h.ended.is_empty());
    h.table.expire_idle(Timestamp(T0 + 61 * S), &mut h.ended);
    assert_eq!(h.ended.len(), 1);
    assert_eq!(h.table.counters.timed_out, 1);
}

#[test]
fn spoofed_syn_flood_is_capped_and_spares_established_connections() {
    let cfg = FlowConfig {
        max_flows: 100,
        ..FlowConfig::default()
    };
    let mut h = Harness::new(cfg, 42);
    let a = h.feed(T0, &tcp(CLIENT, SERVER, 1, "S", b"")).unwrap();
    h.feed(T0 + 1, &tcp(SERVER, CLIENT, 1, "SA", b""));
    h.feed(T0 + 2, &tcp(CLIENT, SERVER, 2, "A", b""));
    let victim = h.table.get(a.slot).id;
    for i in 0..10_000u32 {
        let src_ip = [10, (i >> 16) as u8, (i >> 8) as u8, i as u8];
        let f = tcp(
            ([2, 0, 0, 0, 0, 1], src_ip, (i % 60000) as u16 + 1024),
            SERVER,
            i,
            "S",
            b"",
        );
        h.feed(T0 + 3 + i as i64, &f);
        assert!(h.table.len() <= 100);
    }
    assert_eq!(h.table.counters.created, 10_001);
    assert_eq!(h.table.counters.evicted, 10_001 - 100);
    assert!(
        h.ended.iter().all(|f| f.id != victim),
        "the established connection was evicted"
    );
    assert!(h
        .ended
        .iter()
        .all(|f| f.end_reason == Some(EndReason::Evicted)));
}

#[test]
fn a_new_syn_on_a_closed_tuple_starts_a_new_flow() {
    let mut h = Harness::new(FlowConfig::default(), 1);
    h.feed(T0, &tcp(CLIENT, SERVER, 1, "S", b""));
    h.feed(T0 + 1, &tcp(SERVER, CLIENT, 1, "R", b""));
    let b = h
        .feed(T0 + 2, &tcp(CLIENT, SERVER, 7777, "S", b""))
        .unwrap();
    assert!(b.new);
    assert_eq!(h.ended.len(), 1);
    assert_eq!(h.ended[0].end_reason, Some(EndReason::Reused));
    assert_eq!(h.table.counters.reused, 1);
}

#[test]
fn flow_ids_and_end_order_do_not_depend_on_the_hash_seed() {
    let frames: Vec<Vec<u8>> = (0..50u8)
        .map(|i| {
            udp(
                (MAC_A, [192, 168, 1, i], 1000 + i as u16),
                (MAC_B, IP_B, 53),
                b"x",
            )
        })
        .collect();
    let run = |seed| {
        let mut h = Harness::new(FlowConfig::default(), seed);
        for (i, f) in frames.iter().enumerate() {
            h.feed(T0 + i as i64 * 1000, f);
        }
        h.table.drain(&mut h.ended);
        h.ended.iter().map(|f| f.id).collect::<Vec<_>>()
    };
    assert_eq!(run(1), run(0xdead_beef));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn table_stays_bounded_and_accounts_every_flow(
        ops in proptest::collection::vec((0u8..8, 0u8..8, 0u16..4, 0u8..5, 0i64..5_000_000), 1..400),
        max in 1usize..20,
    ) {
        let cfg = FlowConfig { max_flows: max, ..FlowConfig::default() };
        let mut h = Harness::new(cfg, 3);
        let mut t = T0;
        for (a, b, port, kind, dt) in ops {
            t += dt;
            let src = ([2, 0, 0, 0, 0, a], [10, 0, 0, a], 1000 + port);
            let dst = ([2, 0, 0, 0, 1, b], [10, 0, 1, b], 80);
            let f = match kind {
                0 => tcp(src, dst, 1, "S", b""),
                1 => tcp(dst, src, 1, "SA", b""),
                2 => tcp(src, dst, 2, "PA", b"data"),
                3 => tcp(src, dst, 3, "R", b""),
                _ => udp(src, dst, b"u"),
            };
            h.feed(t, &f);
            prop_assert!(h.table.len() <= max);
        }
        h.table.drain(&mut h.ended);
        prop_assert_eq!(h.ended.len() as u64, h.table.counters.created);
        prop_assert!(h.table.is_empty());
    }
}

/// A million flows must fit the memory target with room for the rest.
#[test]
fn flow_stays_small() {
    assert!(
        std::mem::size_of::<Flow>() <= 144,
        "size_of::<Flow>() = {}",
        std::mem::size_of::<Flow>()
    );
}

#[test]
fn slab_grows_across_chunks_and_reuses_slots() {
    let mut h = Harness::new(FlowConfig::default(), 7);
    let n = CHUNK as u16 * 2 + 10;
    let mut slots = Vec::new();
    for p in 0..n {
        let frame = udp((MAC_A, IP_A, 1000 + p), (MAC_B, IP_B, 53), b"q");
        slots.push(h.feed(T0, &frame).unwrap().slot);
    }
    assert_eq!(h.table.len(), n as usize);
    for (p, &s) in slots.iter().enumerate() {
        assert_eq!(h.table.get(s).src_port, 1000 + p as u16);
        // The same packet again finds the same flow.
        let frame = udp((MAC_A, IP_A, 1000 + p as u16), (MAC_B, IP_B, 53), b"q");
        let again = h.feed(T0 + 1, &frame).unwrap();
        assert_eq!((again.slot, again.new), (s, false));
    }
    h.table.expire_idle(Timestamp(T0 + 120 * S), &mut h.ended);
    assert!(h.table.is_empty());
    assert_eq!(h.ended.len(), n as usize);
    // Freed slots are used again: no new chunk for the next flows.
    let chunks = h.table.slab.chunks.len();
    for p in 0..n {
        let frame = udp((MAC_A, IP_A, 1000 + p), (MAC_B, IP_B, 5353), b"q");
        h.feed(T0 + 121 * S, &frame).unwrap();
    }
    assert_eq!(h.table.slab.chunks.len(), chunks);
}

#[test]
fn next_seq_reads_the_direction_set_next_seq_wrote() {
    let mut f = Flow::default();
    assert_eq!(f.next_seq(9), None); // shifted a u8 by 9: overflow
    f.set_next_seq(3, 77);
    assert_eq!(f.next_seq(3), Some(77));
    assert_eq!(f.next_seq(1), Some(77));
    assert_eq!(f.next_seq(0), None);
}

/// Every packet reads or writes these; they must stay in the first 128
/// bytes of a `Flow` so that a packet touches as few cache lines as it can.
#[test]
fn per_packet_fields_are_in_the_first_128_bytes() {
    use std::mem::offset_of;
    for (name, end) in [
        ("src_ip", offset_of!(Flow, src_ip) + 17),
        ("dst_ip", offset_of!(Flow, dst_ip) + 17),
        ("vlan", offset_of!(Flow, vlan) + 4),
        ("pkts", offset_of!(Flow, pkts) + 8),
        ("next_seq", offset_of!(Flow, next_seq) + 8),
        ("seq_known", offset_of!(Flow, seq_known) + 1),
        ("last", offset_of!(Flow, last) + 8),
        ("bytes", offset_of!(Flow, bytes) + 16),
        ("payload_bytes", offset_of!(Flow, payload_bytes) + 8),
        ("parser", offset_of!(Flow, parser) + 16),
        ("src_mac", offset_of!(Flow, src_mac) + 7),
        ("dst_mac", offset_of!(Flow, dst_mac) + 7),
    ] {
        assert!(end <= 128, "{name} ends at byte {end}");
    }
}

/// Ending a table through `begin_shutdown` (which releases the index and
/// the recency lists first) ends the same flows, in the same order and with
/// the same contents, as `drain`; afterwards the table is empty and takes
/// packets again.
#[test]
fn shutdown_in_batches_ends_what_drain_ends() {
    let build = || {
        let mut h = Harness::new(FlowConfig::default(), 11);
        for p in 0..300u16 {
            let frame = udp((MAC_A, IP_A, 2000 + p), (MAC_B, IP_B, 53), b"q");
            h.feed(T0 + i64::from(p % 7) * S, &frame).unwrap();
        }
        let frame = udp((MAC_A, IP_A, 2005), (MAC_B, IP_B, 53), b"again");
        h.feed(T0 + 9 * S, &frame).unwrap();
        h
    };
    let summary = |f: &Flow| (f.id, f.src_port, f.pkts, f.last, f.end_reason);
    let mut a = build();
    a.table.drain(&mut a.ended);
    let drained: Vec<_> = a.ended.iter().map(summary).collect();

    let mut b = build();
    let order = b.table.begin_shutdown();
    assert!(b.table.is_empty());
    let ended: Vec<_> = order
        .iter()
        .map(|&s| summary(&b.table.end_at_shutdown(s)))
        .collect();
    b.table.finish_shutdown();
    assert_eq!(ended, drained);
    assert_eq!(ended.len(), 300);

    let frame = udp((MAC_A, IP_A, 2000), (MAC_B, IP_B, 53), b"q");
    let h = b.feed(T0 + 20 * S, &frame).unwrap();
    assert!(h.new);
    assert_eq!(b.table.len(), 1);
    assert_eq!(b.table.get(h.slot).src_port, 2000);
}

proptest! {
    /// `Key::new` orders endpoints as the plain tuple comparison did (flow
    /// ids hash the normalised key, so the order must not change).
    #[test]
    fn key_order_is_the_tuple_order(
        a in proptest::array::uniform16(any::<u8>()),
        b in proptest::array::uniform16(any::<u8>()),
        pa: u16,
        pb: u16,
        same_ip: bool,
    ) {
        let b = if same_ip { a } else { b };
        let k = Key::new((a, pa), (b, pb), 6, true, 0);
        let (lo, hi) = if (a, pa) <= (b, pb) { ((a, pa), (b, pb)) } else { ((b, pb), (a, pa)) };
        prop_assert_eq!((k.lo_ip, k.lo_port, k.hi_ip, k.hi_port), (lo.0, lo.1, hi.0, hi.1));
    }
}
