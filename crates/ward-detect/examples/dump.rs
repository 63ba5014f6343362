//! Debug helper: print every alert and the final stats for captures.
use ward_capture::{MergedReader, RawPacket};
use ward_core::{Engine, EngineConfig, EventType, Timestamp, VecSink};
fn main() {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    let dets = if std::env::var_os("NO_DETECTORS").is_some() {
        Vec::new()
    } else {
        ward_detect::detectors(None).expect("config")
    };
    let mut engine = Engine::new(
        EngineConfig {
            emit_flows: Some(false),
            ..Default::default()
        },
        42,
        dets,
    );
    let mut sink = VecSink::default();
    let mut reader = MergedReader::open(&paths).expect("open");
    let mut pkt = RawPacket::default();
    let t0 = std::time::Instant::now();
    while reader.next_packet(&mut pkt) {
        engine.process(
            Timestamp::from_nanos(pkt.ts_nanos),
            pkt.linktype,
            &pkt.data,
            pkt.orig_len,
            &mut sink,
        );
        for e in sink.0.drain(..) {
            if e.event_type == EventType::Alert {
                println!("{}", e.to_json());
            }
        }
    }
    engine.finish(&mut sink);
    for e in sink.0.drain(..) {
        if e.event_type == EventType::Alert
            || (e.event_type == EventType::Stats && std::env::var_os("STATS").is_some())
        {
            println!("{}", e.to_json());
        }
    }
    eprintln!("wall {:?}", t0.elapsed());
}
