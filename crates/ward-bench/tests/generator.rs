//! The generator's promises: deterministic per seed, frames ward decodes
//! without a single anomaly, the protocol mix ward's parsers recognise, and
//! about `concurrent_flows` flows open at once.

use std::io::Cursor;
use std::path::Path;

use ward_bench::pcap::{pcapng, PcapWriter, LINKTYPE_ETHERNET};
use ward_bench::traffic::{Config, Generator};
use ward_capture::{CaptureReader, RawPacket};
use ward_core::decode::linktype;
use ward_core::engine::EngineConfig;
use ward_core::flow::{FlowConfig, FlowTable};
use ward_core::{decode, Engine, Timestamp, VecSink};

fn frames(cfg: Config) -> Vec<(i64, Vec<u8>)> {
    let mut g = Generator::new(cfg);
    let mut v = Vec::new();
    while let Some((ts, f)) = g.next_frame() {
        v.push((ts, f.to_vec()));
    }
    v
}

fn cfg(packets: u64, flows: usize, seed: u64) -> Config {
    Config {
        packets,
        concurrent_flows: flows,
        seed,
        ..Config::default()
    }
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let a = frames(cfg(5_000, 300, 9));
    let b = frames(cfg(5_000, 300, 9));
    let c = frames(cfg(5_000, 300, 10));
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(a.windows(2).all(|w| w[0].0 <= w[1].0), "timestamps go back");
}

#[test]
fn every_frame_decodes_cleanly_and_parsers_recognise_the_mix() {
    let frames = frames(cfg(40_000, 2_000, 3));
    for (ts, f) in &frames {
        let pkt = decode(Timestamp(*ts), linktype::ETHERNET, f, f.len() as u32);
        assert_eq!(pkt.anomaly, None, "frame at {ts} decodes with an anomaly");
    }
    let mut engine = Engine::new(EngineConfig::default(), 1, Vec::new());
    let mut sink = VecSink::default();
    for (ts, f) in &frames {
        engine.process(
            Timestamp(*ts),
            linktype::ETHERNET,
            f,
            f.len() as u32,
            &mut sink,
        );
    }
    let stats = engine.stats();
    for proto in ["tls", "http", "mqtt", "dns", "mdns", "ssdp", "ntp", "dhcp"] {
        assert!(
            stats.app_protos.get(proto).copied().unwrap_or(0) > 0,
            "no {proto} flow recognised: {:?}",
            stats.app_protos
        );
    }
    for proto in ["TCP", "UDP", "ICMP", "ARP"] {
        assert!(
            engine.protocols().contains_key(proto),
            "{:?}",
            engine.protocols()
        );
    }
}

#[test]
fn flow_table_holds_about_the_requested_concurrent_flows() {
    let m = 3_000;
    let frames = frames(cfg(60_000, m, 4));
    let mut table = FlowTable::new(FlowConfig::default(), 1);
    let mut ended = Vec::new();
    let mut peak = 0;
    for (ts, f) in &frames {
        let pkt = decode(Timestamp(*ts), linktype::ETHERNET, f, f.len() as u32);
        table.update(&pkt, &mut ended);
        ended.clear();
        peak = peak.max(table.len());
    }
    // Open conversations plus recently ended ones still inside their
    // closed/UDP timeouts; with the default 10 s round that is 3–5 × m.
    assert!(peak >= m, "peak {peak} < {m}");
    assert!(peak <= 6 * m, "peak {peak} > 6 × {m}");
}

#[test]
fn pcap_and_pcapng_round_trip_through_ward_capture() {
    let frames = frames(cfg(500, 50, 5));
    let mut w = PcapWriter::new(Vec::new(), LINKTYPE_ETHERNET).unwrap();
    for (ts, f) in &frames {
        w.write(*ts, f).unwrap();
    }
    let ng_input: Vec<(u32, u64, &[u8])> = frames
        .iter()
        .map(|(ts, f)| (0, *ts as u64 * 1000, &f[..]))
        .collect();
    let ng = pcapng(&[(1, 9)], &ng_input);
    for bytes in [w.into_inner(), ng] {
        let mut r =
            CaptureReader::from_reader(Box::new(Cursor::new(bytes)), Path::new("gen"), 0).unwrap();
        let mut p = RawPacket::default();
        let mut n = 0;
        while r.next_packet(&mut p).unwrap() {
            let (ts, f) = &frames[n];
            assert_eq!(p.ts_nanos, ts * 1000);
            assert_eq!(&p.data, f);
            assert_eq!(p.linktype, 1);
            n += 1;
        }
        assert_eq!(n, frames.len());
    }
}
